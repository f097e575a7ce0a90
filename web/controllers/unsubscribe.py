"""One-click unsubscribe from a kind of e-mail (RFC 8058). The mail client
POSTs `List-Unsubscribe=One-Click` to the link; a person who opens it in a
browser sees a generic question and a button (a GET changes nothing, so
link scanners cannot unsubscribe anyone). The signed token is the only
credential: no log-in, no CSRF token (the route is exempt). Neither page
names the kind of mail: anyone who saw the header (a mail gateway, a log)
can open the link, and "a status change of an idea you submitted" would tell
them the recipient wrote an idea."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Template

from ideas import unsubscribe
from web.auth import public
from web.controllers.pages import page


class UnsubscribePages(Controller):
    path = "/unsubscribe"
    guards = [public]
    include_in_schema = False

    @get("/{token:str}")
    async def confirm(self, request: Request, token: FromPath[str]) -> Template:
        unsubscribe.read(token)  # 404 for a link this server did not sign
        return page(request, "unsubscribe.html", token=token, done=False)

    @post("/{token:str}", status_code=200)
    async def one_click(self, request: Request, token: FromPath[str]) -> Template:
        await unsubscribe.apply(token)
        return page(request, "unsubscribe.html", token=token, done=True)


ROUTES = [UnsubscribePages]
