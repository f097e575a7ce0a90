"""The framework and database's ceiling: a minimal Litestar app answering
Touchpoint's own request lists with one SQL statement per request.

Served exactly like Touchpoint in the benchmark (uvicorn, 2 workers, uvloop,
httptools, no access log) against the same seeded database, so the share of
an endpoint's ceiling is what Touchpoint's own layers cost on top of the
framework, the driver and the one statement the work needs:

* ``GET /ping``: a constant (the framework alone);
* ``PUT``/``DELETE /api/v1/ideas/{id}/vote``: the token look-up, the vote
  and the counter in one CTE, returning the count;
* ``GET /api/v1/ideas``: the token look-up and the top 25 with the caller's
  vote state, as JSON;
* ``GET /``: the session look-up and the top 25 as HTML (one small template);
* ``GET /ideas/{id}``: the session look-up and the idea as HTML;
* ``POST /api/v1/ideas``: the token look-up, the idea and its submitter row
  in one ``INSERT … RETURNING``.

No access check beyond "the token or session exists", no blind projection,
no rate limit, no CSRF, no outbox: a floor under the work, not an app.
"""

from __future__ import annotations

import json
import os
import secrets
from typing import Any

import asyncpg
from jinja2 import Environment
from litestar import Litestar, Request, Response, delete, get, post, put
from litestar.exceptions import NotAuthorizedException, NotFoundException

from ideas.policy import OPEN_FOR_VOTES

_OPEN = sorted(OPEN_FOR_VOTES)
_pool: asyncpg.Pool | None = None

_TEMPLATES = Environment(autoescape=True)
BOARD = _TEMPLATES.from_string(
    """<!doctype html><html lang="en"><head><title>Ideas</title></head><body><main>
<h1>Ideas</h1><ul class="ideas">{% for i in ideas %}
<li class="idea-card" id="idea-{{ i.id }}"><a href="/ideas/{{ i.id }}">{{ i.title }}</a>
<span class="status">{{ i.status }}</span> <span class="tp">{{ i.touchpoint }}</span>
<form method="post" action="/ideas/{{ i.id }}/vote">
<button aria-pressed="{{ 'true' if i.voted else 'false' }}">{{ i.votes }} votes</button>
</form></li>{% endfor %}
</ul></main></body></html>"""
)
IDEA = _TEMPLATES.from_string(
    """<!doctype html><html lang="en"><head><title>{{ i.title }}</title></head><body><main>
<h1>{{ i.title }}</h1>
<p class="status">{{ i.status }} · {{ i.touchpoint }} · {{ i.submitted_on }}</p>
<h2>Problem</h2><p>{{ i.problem }}</p><h2>Proposal</h2><p>{{ i.proposal }}</p>
<form method="post" action="/ideas/{{ i.id }}/vote">
<button aria-pressed="{{ 'true' if i.voted else 'false' }}">{{ i.votes }} votes</button>
</form></main></body></html>"""
)

_VISIBLE = "i.status <> 'duplicate' AND (i.published_at IS NULL OR i.published_at <= now())"
_TOKEN = (
    "SELECT \"user\" FROM api_token WHERE token_hash = encode(sha256(convert_to($1, 'UTF8')), "
    "'hex') AND revoked_at IS NULL"
)
_SESSION = (
    "SELECT (value::json->>'user_id')::uuid AS \"user\" FROM browser_session "
    "WHERE key = $1 AND expires_at > now()"
)
LIST_SQL = f"""
WITH u AS ({_TOKEN})
SELECT i.id, i.title, i.problem, i.proposal, i.touchpoint, i.status, i.votes, i.submitted_on,
       EXISTS (SELECT 1 FROM vote v WHERE v.idea = i.id AND v."user" = u."user") AS voted
FROM u, idea i WHERE {_VISIBLE} ORDER BY i.votes DESC, i.id DESC LIMIT 25"""
BOARD_SQL = LIST_SQL.replace(_TOKEN, _SESSION).replace("i.problem, i.proposal, ", "")
IDEA_SQL = f"""
WITH u AS ({_SESSION})
SELECT i.id, i.title, i.problem, i.proposal, i.touchpoint, i.status, i.votes, i.submitted_on,
       EXISTS (SELECT 1 FROM vote v WHERE v.idea = i.id AND v."user" = u."user") AS voted
FROM u, idea i WHERE i.id = $2 AND {_VISIBLE}"""
VOTE_SQL = f"""
WITH u AS ({_TOKEN}),
ins AS (
  INSERT INTO vote (idea, "user", created_at)
  SELECT idea.id, u."user", now() FROM idea, u
  WHERE idea.id = $2 AND idea.status = ANY($3::text[])
  ON CONFLICT DO NOTHING RETURNING idea)
UPDATE idea SET votes = votes + 1 WHERE id IN (SELECT idea FROM ins) RETURNING votes"""
UNVOTE_SQL = f"""
WITH u AS ({_TOKEN}),
del AS (
  DELETE FROM vote USING u WHERE vote.idea = $2 AND vote."user" = u."user"
  AND vote.idea IN (SELECT id FROM idea WHERE id = $2 AND status = ANY($3::text[]))
  RETURNING vote.idea)
UPDATE idea SET votes = votes - 1 WHERE id IN (SELECT idea FROM del) RETURNING votes"""
CREATE_SQL = f"""
WITH u AS ({_TOKEN}),
i AS (
  INSERT INTO idea (id, title, problem, proposal, touchpoint, status, votes, created_at,
                    updated_at, submitted_on, published_at, answered, ship_note, impact_metric,
                    ship_proposal)
  SELECT $2, $3, $4, $5, $6, 'new', 0, now(), now(), current_date, now(), false, '', '', '{{}}'
  FROM u RETURNING id, title, problem, proposal, touchpoint, status, votes, submitted_on),
s AS (INSERT INTO submission (idea, "user", role, created_at)
      SELECT i.id, u."user", 'submitter', now() FROM i, u)
SELECT * FROM i"""


async def _startup() -> None:
    global _pool
    _pool = await asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=4, max_size=10)


async def _shutdown() -> None:
    if _pool is not None:
        await _pool.close()


def _bearer(request: Request) -> str:
    auth = request.headers.get("authorization", "")
    if not auth.startswith("Bearer "):
        raise NotAuthorizedException()
    return auth[7:]


def _item(row: asyncpg.Record) -> dict[str, Any]:
    out = dict(row)
    out["id"] = str(out["id"])
    out["submitted_on"] = out["submitted_on"].isoformat()
    return out


@get("/ping", sync_to_thread=False)
def ping() -> dict[str, str]:
    return {"pong": "ok"}


@get("/api/v1/ideas")
async def ideas_list(request: Request) -> dict[str, Any]:
    rows = await _pool.fetch(LIST_SQL, _bearer(request))
    return {"items": [_item(r) for r in rows], "next_cursor": None}


@put("/api/v1/ideas/{idea_id:int}/vote")
async def vote(request: Request, idea_id: int) -> dict[str, Any]:
    votes = await _pool.fetchval(VOTE_SQL, _bearer(request), idea_id, _OPEN)
    return {"votes": votes, "voted": True}


@delete("/api/v1/ideas/{idea_id:int}/vote", status_code=200)
async def unvote(request: Request, idea_id: int) -> dict[str, Any]:
    votes = await _pool.fetchval(UNVOTE_SQL, _bearer(request), idea_id, _OPEN)
    return {"votes": votes, "voted": False}


@post("/api/v1/ideas")
async def create(request: Request) -> Response:
    data = json.loads(await request.body())
    row = await _pool.fetchrow(
        CREATE_SQL,
        _bearer(request),
        secrets.randbelow(2**31 - 10**9) + 10**9,
        data["title"],
        data["problem"],
        data["proposal"],
        data["touchpoint"],
    )
    if row is None:
        raise NotAuthorizedException()
    return Response(_item(row), status_code=201)


@get("/")
async def board(request: Request) -> Response:
    rows = await _pool.fetch(BOARD_SQL, request.cookies.get("tp_session", ""))
    return Response(BOARD.render(ideas=rows), media_type="text/html")


@get("/ideas/{idea_id:int}")
async def idea_page(request: Request, idea_id: int) -> Response:
    row = await _pool.fetchrow(IDEA_SQL, request.cookies.get("tp_session", ""), idea_id)
    if row is None:
        raise NotFoundException()
    return Response(IDEA.render(i=row), media_type="text/html")


def create_app() -> Litestar:
    return Litestar(
        route_handlers=[ping, ideas_list, vote, unvote, create, board, idea_page],
        on_startup=[_startup],
        on_shutdown=[_shutdown],
        debug=False,
        openapi_config=None,
    )
