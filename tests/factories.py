"""Named personas and ways to act as them: by API token, or by browser
session (with CSRF) for HTML pages and HTMX fragments."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import httpx

from ideas import security
from ideas.people import accounts, directory, service
from ideas.viewer import Viewer

PASSWORD = "correct horse battery staple"

#: name → (display name, title, department, roles)
KNOWN = {
    "alice_support": ("Alice Andersson", "Senior Support Agent", "Support", ()),
    "dan_sales": ("Dan Dimitrov", "Account Executive", "Sales", ()),
    "erin_it": ("Erin Eriksen", "Platform Engineer", "IT", ()),
    "bob_finance_council": ("Bob Baranski", "Billing Lead", "Finance", ("council",)),
    "cora_hr_council": ("Cora Castellanos", "People Partner", "HR", ("council",)),
    "pat_product_council": ("Pat Pemberton", "Product Manager", "Product", ("council",)),
    "carol_leader": ("Carol Okonkwo", "Chief Customer Officer", "Marketing", ("leader",)),
    "adam_admin": ("Adam Adeyemi", "IT Administrator", "IT", ("admin",)),
}

IDEA = {
    "title": "Print the customer's PO number on every invoice",
    "problem": "Accounting departments bounce our invoices when the PO number is missing.",
    "proposal": "Add a PO number field at checkout and print it on each invoice we send.",
    "touchpoint": "billing",
}


def idea_payload(**overrides: Any) -> dict[str, Any]:
    return {**IDEA, **overrides}


async def submit(
    persona: Persona,
    title: str | None = None,
    *,
    distinct: bool = False,
    direct: bool = False,
    **overrides: Any,
) -> str:
    """Submit an idea as `persona` (`IDEA` with `title` and `overrides`); its
    id. The one helper every test file uses.

    `distinct`: the problem and the proposal are made from the title, so no
    two ideas share their text. `direct`: through the domain service in a unit
    of work (`ideas.board.submit`), not the API (no HTTP, no rate limit)."""
    if title is not None:
        overrides["title"] = title
    if distinct:
        named = overrides.get("title", IDEA["title"])
        overrides = {
            "problem": f"Customers struggle today: {named.lower()} would help them a lot.",
            "proposal": f"Proposal: {named}. Start small, measure, then roll out widely.",
            **overrides,
        }
    payload = idea_payload(**overrides)
    if direct:
        from ideas.board.submit import submit_idea
        from ideas.schemas import IdeaIn

        return (await submit_idea(ctx_for(persona.viewer), IdeaIn(**payload))).id
    r = await persona.api().post("/api/v1/ideas", json=payload)
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def confirm_attendance(session_id: str, *members: Persona) -> None:
    """Each member confirms attending a triage session (docs/api.md v1.1: a
    session decides only once confirmed attendees span the quorum)."""
    for member in members:
        r = await member.api().post(f"/api/v1/triage/sessions/{session_id}/attend")
        assert r.status_code == 200, r.text


@dataclass
class Persona:
    key: str
    viewer: Viewer
    email: str
    name: str
    title: str
    department: str
    password: str = PASSWORD
    token: str = ""
    app: Any = None
    _clients: list = field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.viewer.id)

    def identity_strings(self) -> list[str]:
        """What must never appear next to an idea this persona submitted."""
        return [self.name, self.email, self.title, self.id]

    def api(self) -> httpx.AsyncClient:
        """A client that sends this persona's bearer token."""
        c = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url="http://testserver",
            headers={"Authorization": f"Bearer {self.token}"},
        )
        self._clients.append(c)
        return c

    async def browser(self) -> BrowserClient:
        """A logged-in cookie client; `.csrf` holds the CSRF token."""
        c = BrowserClient(transport=httpx.ASGITransport(app=self.app), base_url="http://testserver")
        self._clients.append(c)
        await c.login(self.email, self.password)
        return c


class BrowserClient(httpx.AsyncClient):
    csrf: str = ""

    async def refresh_csrf(self) -> str:
        r = await self.get("/login")
        self.csrf = self.cookies.get("tp_csrf") or _csrf_from(r.text)
        return self.csrf

    async def login(self, email: str, password: str) -> httpx.Response:
        await self.refresh_csrf()
        r = await self.post(
            "/login",
            data={"email": email, "password": password, "next": "/", "_csrf_token": self.csrf},
        )
        assert r.status_code == 303, f"login failed: {r.status_code} {r.text[:200]}"
        await self.refresh_csrf()  # the session's own CSRF token from now on
        return r

    async def form(self, url: str, data: dict[str, Any], htmx: bool = False) -> httpx.Response:
        """POST a form the way the page does (CSRF field; HTMX header if asked)."""
        headers = {"HX-Request": "true", "x-csrftoken": self.csrf} if htmx else {}
        return await self.post(url, data={**data, "_csrf_token": self.csrf}, headers=headers)

    async def htmx_get(self, url: str, target: str | None = None) -> httpx.Response:
        headers = {"HX-Request": "true"}
        if target:
            headers["HX-Target"] = target
        return await self.get(url, headers=headers)


def _csrf_from(html: str) -> str:
    m = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    return m.group(1) if m else ""


class Personas:
    """`await personas.get("alice_support")`, or `await personas.make(...)`."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._made: dict[str, Persona] = {}

    async def get(self, key: str) -> Persona:
        if key not in self._made:
            name, title, department, roles = KNOWN[key]
            self._made[key] = await self.make(key, name, title, department, roles)
        return self._made[key]

    async def make(
        self,
        key: str,
        name: str,
        title: str,
        department: str,
        roles: tuple[str, ...] = (),
        email: str | None = None,
    ) -> Persona:
        email = email or f"{key}@example.com"
        # a fixture, not an admin's change: the row without an audit entry
        department_id = await directory.department_by_name(department, create=True)
        password_hash = await security.hash_password_in_thread(PASSWORD)
        user = service.new_user(email, name, title, department_id, roles, password_hash)
        await user.save().run()
        viewer = await accounts.authenticate(email, PASSWORD)
        assert viewer is not None
        token = await accounts.create_token(ctx_for(viewer))
        persona = Persona(
            key=key,
            viewer=viewer,
            email=email,
            name=name,
            title=title,
            department=department,
            token=token,
            app=self.app,
        )
        self._made[key] = persona
        return persona

    async def close(self) -> None:
        for p in self._made.values():
            for c in p._clients:
                await c.aclose()


def ctx_for(actor: Any, now: Any = None):
    """A unit-of-work context for calling a use case directly from a test:
    `triage.decide(ctx_for(viewer), ...)` (`now`: the moment it acts at)."""
    from ideas import context

    return context.make(actor, now=now)


async def index_terms_as_the_worker() -> None:
    """What the worker's terms sweep does (workers.tasks.terms_sweep): index
    the similar-search terms of every idea that has none yet. A submit leaves
    them to the worker (ideas.term_index); services called directly, outside
    a unit of work, enqueue no job, so the sweep is what finds them."""
    from workers import tasks

    await tasks.terms_sweep({})
