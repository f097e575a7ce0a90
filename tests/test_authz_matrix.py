# ruff: noqa: E501  (the table below is easier to read one row per line)
"""The authorisation matrix: every route of the app × every role → the answer.

ONE table (`MATRIX`) lists each route the app registers (HTML and API, every
method) and what each caller gets: anonymous, plain staff, the idea's
submitter, an action's owner, council, leader and admin. The route list is
read from the app itself (`app.routes`), so a route added without a row fails
`test_every_route_has_a_row` naming it; a row whose route is gone fails too.

Each role walks the whole table against a world of real data built for it
(fresh tables per role): ideas in every state a route needs, a triage
session, actions, a notice, departments, a person, a one-time link. Path
parameters are filled from that world; bodies are valid, so an "ok" cell
means the request was let through AND did its work.

Each row also names the row of `ideas.policy.PERMISSIONS` its use case
checks (`policy=`), or PUBLIC / SCIM_TOKEN / SLACK_SIGNED for routes no
person's role opens. The table is held to the policy: a route's role guard
lets in exactly the roles of its row (`test_every_guard_reads_its_policy_row`),
and a role the row does not name is refused, 403, while a row with no rule
on the idea's facts lets in every role it names
(`test_the_matrix_agrees_with_the_policy`). So neither can change alone.

Cells:
  200/201/204/303  the allowed answer (303: a form's redirect, never to /login)
  LOGIN            303 to /login?next=… (an HTML route, logged-out visitor)
  401              an API route without credentials
  403              the role may not (guard or service rule)
  404              hidden: answers like a missing thing (someone else's notice)
  409              refused for this caller's relation to the thing (a vote for one's own idea)
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from ideas import clock, policy, unsubscribe
from ideas.context import COMMAND_LINE
from ideas.integrations import scim, webhooks
from ideas.notify import fanout
from ideas.people import accounts, directory, imports, invitations
from ideas.tables import Event, Notification, WebhookDelivery
from tests.factories import PASSWORD, BrowserClient, Persona, ctx_for, idea_payload, submit

LOGIN = "login"  # 303 → /login?next=<this path, query included>
LOGOUT = "logout"  # 303 → /login: logged out (tests/test_hardening.py checks the session is dead)
ROLES = ("anonymous", "staff", "submitter", "owner", "council", "leader", "admin")
PERSONA_OF = {
    "staff": "dan_sales",
    "submitter": "alice_support",
    "owner": "erin_it",
    "council": "bob_finance_council",
    "leader": "carol_leader",
    "admin": "adam_admin",
}
SHIP_NOTE = "Invoices now carry the customer's PO number on every page."
REVEAL_REASON = "Abusive language reported by three colleagues; HR case 2026-114."
NEW_PASSWORD = "a brand new passphrase"
IMPORT_CSV = "email,name,title,department,roles\nnew.person@example.com,New Person,Agent,Support,\n"

#: the roles each column's caller holds (tests/factories.py PERSONAS)
ROLES_OF = {
    "anonymous": frozenset(),
    "staff": frozenset({"staff"}),
    "submitter": frozenset({"staff"}),
    "owner": frozenset({"staff"}),
    "council": frozenset({"staff", "council"}),
    "leader": frozenset({"staff", "leader"}),
    "admin": frozenset({"staff", "admin"}),
}
#: a row's `policy` when no PERMISSIONS row applies: open to anyone (log-in,
#: health, static files, the API description)...
PUBLIC = "public"
#: ... or opened by a SCIM client's token, never a person's role
SCIM_TOKEN = "scim token"
#: ... or by Slack's signature
SLACK_SIGNED = "slack signature"
NOT_A_ROLE = (PUBLIC, SCIM_TOKEN, SLACK_SIGNED)

World = dict[str, Any]
Body = Callable[[World, str], dict[str, Any]]


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # exactly as the app lists it: "/api/v1/ideas/{idea_id:str}"
    expect: tuple[Any, ...]  # one cell per ROLES entry
    ids: dict[str, str] = field(default_factory=dict)  # path param → world key
    json: Body | None = None
    form: Body | None = None
    multipart: Body | None = None
    query: str = ""
    fresh_login: bool = False  # the request ends the caller's login: use a new one
    policy: str = ""  # the PERMISSIONS row its use case checks, or one of NOT_A_ROLE

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.path)


def R(method: str, path: str, *expect: Any, **options: Any) -> Row:
    assert len(expect) == len(ROLES), f"{method} {path}: {len(expect)} cells for {len(ROLES)} roles"
    action = options.get("policy", "")
    assert action in policy.PERMISSIONS or action in NOT_A_ROLE, (
        f"{method} {path}: policy={action!r} is neither a row of ideas.policy.PERMISSIONS "
        f"nor one of {NOT_A_ROLE}"
    )
    return Row(method, path, expect, **options)


# -- request bodies ---------------------------------------------------------------------------


def _idea(w: World, role: str) -> dict[str, Any]:
    return idea_payload(title=f"Matrix idea submitted by the {role} caller")


def _credentials(w: World, role: str) -> dict[str, Any]:
    who = w["personas"][PERSONA_OF.get(role, "dan_sales")]
    return {"email": who.email, "password": PASSWORD}


def _session(w: World, role: str) -> dict[str, Any]:
    return {"held_on": str(clock.today()), "attendee_ids": w["quorum"]}


def _decide(w: World, role: str) -> dict[str, Any]:
    return {
        "session_id": w["session"],
        "outcome": "accept",
        "note": "Worth doing this quarter.",
        "owning_department_id": str(w["finance"]),
    }


def _merge_group(w: World, role: str) -> dict[str, Any]:
    return {"target_id": w["dup_target"], "member_ids": [w["dup_target"], w["dup_member"]]}


def _batch_decline(w: World, role: str) -> dict[str, Any]:
    return {"idea_ids": [w["batch_decline"]], "note": "Not something customers asked for."}


def _answer(w: World, role: str) -> dict[str, Any]:
    return {"answer": "Yes: every customer that sends us purchase orders."}


def _new_password(w: World, role: str) -> dict[str, Any]:
    return {"token": w["link"], "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}


def _action(w: World, role: str) -> dict[str, Any]:
    return {
        "title": "Add a PO field to checkout",
        "owner_id": w["personas"]["erin_it"].id,
        "due_on": str(clock.today() + dt.timedelta(days=7)),
    }


def _comment(w: World, role: str) -> dict[str, Any]:
    return {"body": f"A comment from the {role} caller."}


def _person(w: World, role: str) -> dict[str, Any]:
    return {
        "email": f"hired.by.{role}@example.com",
        "name": "Hana Hired",
        "title": "Support Agent",
        "department_id": str(w["finance"]),
    }


def _person_edit(w: World, role: str) -> dict[str, Any]:
    return {"name": "Zoe Zimmer", "title": "Team Lead", "department_id": str(w["finance"])}


def _merge(w: World, role: str) -> dict[str, Any]:
    """Without `confirm`: the page asking to confirm (nothing merged)."""
    return {"source_id": str(w["department"]), "target_id": str(w["finance"])}


def _import_confirm(w: World, role: str) -> dict[str, Any]:
    return {"csv_text": IMPORT_CSV, "fingerprint": w["import_fingerprint"]}


SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


def _scim_user(w: World, role: str) -> dict[str, Any]:
    return {"userName": f"scim.{role}@example.com", "displayName": "Sam Scim"}


def _scim_deactivate(w: World, role: str) -> dict[str, Any]:
    patch = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    return {"schemas": [patch], "Operations": [{"op": "replace", "value": {"active": False}}]}


def fixed(**values: Any) -> Body:
    return lambda w, role: {k: v(w) if callable(v) else v for k, v in values.items()}


# -- the table --------------------------------------------------------------------------------


MATRIX: list[Row] = [
    # method  path                                                anon   staff  subm   owner  council leader admin
    # -- API: auth and the caller --
    R("POST", "/api/v1/auth/token",                               201,   201,   201,   201,   201,   201,   201, json=_credentials, policy=PUBLIC),
    R("DELETE", "/api/v1/auth/token",                             401,   200,   200,   200,   200,   200,   200, fresh_login=True, policy="account.own"),
    R("GET", "/api/v1/me",                                        401,   200,   200,   200,   200,   200,   200, policy="account.own"),
    R("GET", "/api/v1/departments",                               401,   200,   200,   200,   200,   200,   200, policy="idea.view"),
    # -- API: ideas and votes --
    R("POST", "/api/v1/ideas",                                    401,   201,   201,   201,   201,   201,   201, json=_idea, policy="idea.submit"),
    R("GET", "/api/v1/ideas",                                     401,   200,   200,   200,   200,   200,   200, policy="idea.view"),
    R("GET", "/api/v1/ideas/similar",                             401,   200,   200,   200,   200,   200,   200, query="title=invoice", policy="idea.view"),
    R("GET", "/api/v1/ideas/{idea_id:str}",                       401,   200,   200,   200,   200,   200,   200, policy="idea.view"),
    R("GET", "/api/v1/ideas/{idea_id:str}/events",                401,   200,   200,   200,   200,   200,   200, policy="idea.view"),
    # the submitter may not vote for their own idea (docs/api.md v1.1: 409)
    R("PUT", "/api/v1/ideas/{idea_id:str}/vote",                  401,   200,   409,   200,   200,   200,   200, policy="idea.vote"),
    R("DELETE", "/api/v1/ideas/{idea_id:str}/vote",               401,   200,   200,   200,   200,   200,   200, policy="idea.vote"),
    R("GET", "/api/v1/me/ideas",                                  401,   200,   200,   200,   200,   200,   200, policy="idea.view"),
    R("PATCH", "/api/v1/ideas/{idea_id:str}",                     401,   403,   200,   403,   403,   403,   403, json=fixed(title="An edited title for the matrix idea"), policy="idea.edit"),
    R("POST", "/api/v1/ideas/{idea_id:str}/withdraw",             401,   403,   200,   403,   403,   403,   403, ids={"idea_id": "withdraw_api"}, policy="idea.withdraw"),
    R("PATCH", "/api/v1/comments/{comment_id:str}",               401,   403,   200,   403,   403,   403,   403, json=fixed(body="An edited comment"), policy="comment.change"),
    R("DELETE", "/api/v1/comments/{comment_id:str}",              401,   403,   200,   403,   403,   403,   403, ids={"comment_id": "comment_delete_api"}, policy="comment.change"),
    R("PUT", "/api/v1/ideas/{idea_id:str}/follow",                401,   200,   200,   200,   200,   200,   200, policy="idea.follow"),
    R("DELETE", "/api/v1/ideas/{idea_id:str}/follow",             401,   200,   200,   200,   200,   200,   200, policy="idea.follow"),
    # -- API: triage --
    R("GET", "/api/v1/triage/queue",                              401,   403,   403,   403,   200,   403,   403, policy="triage.queue"),
    R("GET", "/api/v1/triage/sessions",                           401,   403,   403,   403,   200,   403,   403, policy="triage.session"),
    R("GET", "/api/v1/triage/sessions/{session_id:str}",          401,   403,   403,   403,   200,   403,   403, policy="triage.session"),
    R("POST", "/api/v1/ideas/{idea_id:str}/decision",             401,   403,   403,   403,   200,   403,   403, ids={"idea_id": "review_api"}, json=_decide, policy="triage.decide"),
    R("POST", "/api/v1/triage/sessions",                          401,   403,   403,   403,   201,   403,   403, json=_session, policy="triage.session"),
    R("POST", "/api/v1/triage/sessions/{session_id:str}/attend",  401,   403,   403,   403,   200,   403,   403, policy="triage.session"),
    # -- API: the conversation on an idea --
    R("GET", "/api/v1/ideas/{idea_id:str}/questions",             401,   200,   200,   200,   200,   200,   200, ids={"idea_id": "asked"}, policy="idea.questions"),
    R("POST", "/api/v1/ideas/{idea_id:str}/answer",               401,   403,   200,   403,   403,   403,   403, ids={"idea_id": "asked"}, json=_answer, policy="idea.answer"),
    R("GET", "/api/v1/ideas/{idea_id:str}/comments",              401,   200,   200,   200,   200,   200,   200, policy="idea.view"),
    R("POST", "/api/v1/ideas/{idea_id:str}/comments",             401,   201,   201,   201,   201,   201,   201, json=_comment, policy="idea.comment"),
    # -- API: delivery --
    R("GET", "/api/v1/ideas/{idea_id:str}/actions",               401,   200,   200,   200,   200,   200,   200, ids={"idea_id": "working"}, policy="idea.view"),
    R("POST", "/api/v1/ideas/{idea_id:str}/actions",              401,   403,   403,   403,   201,   403,   403, ids={"idea_id": "working"}, json=_action, policy="delivery.plan"),
    R("PATCH", "/api/v1/actions/{action_id:str}",                 401,   403,   403,   200,   200,   403,   403, ids={"action_id": "action_patch"}, json=fixed(status="doing"), policy="delivery.move_action"),
    R("DELETE", "/api/v1/actions/{action_id:str}",                401,   403,   403,   403,   204,   403,   403, ids={"action_id": "action_delete_api"}, policy="delivery.plan"),
    R("POST", "/api/v1/ideas/{idea_id:str}/ship",                 401,   403,   403,   403,   200,   403,   403, ids={"idea_id": "ship_api"}, json=fixed(note=SHIP_NOTE), policy="delivery.ship"),
    R("POST", "/api/v1/ideas/{idea_id:str}/ship-proposal",        401,   403,   403,   200,   403,   403,   403, ids={"idea_id": "propose_api"}, json=fixed(note=SHIP_NOTE), policy="delivery.propose"),
    R("PUT", "/api/v1/ideas/{idea_id:str}/credit",                401,   403,   200,   403,   403,   403,   403, json=fixed(credit=True), policy="idea.credit"),
    R("GET", "/api/v1/me/actions",                                401,   200,   200,   200,   200,   200,   200, policy="idea.view"),
    # -- API: notifications (everyone's own; another person's notice is hidden) --
    R("GET", "/api/v1/me/notifications",                          401,   200,   200,   200,   200,   200,   200, policy="inbox.read"),
    R("POST", "/api/v1/me/notifications/{notice_id:str}/read",    401,   404,   200,   404,   404,   404,   404, policy="inbox.read"),
    R("POST", "/api/v1/me/notifications/read-all",                401,   200,   200,   200,   200,   200,   200, policy="inbox.read"),
    R("GET", "/api/v1/me/notification-settings",                  401,   200,   200,   200,   200,   200,   200, policy="inbox.read"),
    R("PUT", "/api/v1/me/notification-settings",                  401,   200,   200,   200,   200,   200,   200, json=fixed(email_on=[], digest=False), policy="inbox.read"),
    # -- API: leadership --
    R("GET", "/api/v1/leaderboard",                               401,   403,   403,   403,   403,   200,   200, policy="leaders.view"),
    R("GET", "/api/v1/metrics",                                   401,   403,   403,   403,   403,   200,   200, policy="leaders.view"),
    R("GET", "/api/v1/export/ideas.csv",                          401,   403,   403,   403,   403,   200,   200, policy="leaders.view"),
    R("GET", "/api/v1/export/leaderboard.csv",                    401,   403,   403,   403,   403,   200,   200, policy="leaders.view"),
    # -- API: outgoing webhooks (admins) --
    R("POST", "/api/v1/webhooks",                                 401,   403,   403,   403,   403,   403,   201, json=fixed(url="https://hooks.example.com/new", events=["idea.shipped"]), policy="admin.manage"),
    R("GET", "/api/v1/webhooks",                                  401,   403,   403,   403,   403,   403,   200, policy="admin.manage"),
    R("GET", "/api/v1/webhooks/{webhook_id:str}/deliveries",      401,   403,   403,   403,   403,   403,   200, policy="admin.manage"),
    R("DELETE", "/api/v1/webhooks/{webhook_id:str}",              401,   403,   403,   403,   403,   403,   204, ids={"webhook_id": "webhook_delete_api"}, policy="admin.manage"),
    # -- API: the caller's own tokens (the submitter owns the world's tokens) --
    R("GET", "/api/v1/me/tokens",                                 401,   200,   200,   200,   200,   200,   200, policy="account.own"),
    R("DELETE", "/api/v1/me/tokens/{token_id:str}",               401,   404,   204,   404,   404,   404,   404, ids={"token_id": "token_api"}, policy="account.own"),
    # -- SCIM: a SCIM token only (tests/test_scim.py); no person's session or API token opens it --
    R("GET", "/scim/v2/ServiceProviderConfig",                    401,   401,   401,   401,   401,   401,   401, policy=SCIM_TOKEN),
    R("GET", "/scim/v2/ResourceTypes",                            401,   401,   401,   401,   401,   401,   401, policy=SCIM_TOKEN),
    R("GET", "/scim/v2/ResourceTypes/{type_id:str}",              401,   401,   401,   401,   401,   401,   401, policy=SCIM_TOKEN),
    R("GET", "/scim/v2/Schemas",                                  401,   401,   401,   401,   401,   401,   401, policy=SCIM_TOKEN),
    R("GET", "/scim/v2/Schemas/{schema_id:str}",                  401,   401,   401,   401,   401,   401,   401, policy=SCIM_TOKEN),
    R("POST", "/scim/v2/.search",                                 401,   401,   401,   401,   401,   401,   401, json=fixed(schemas=[SEARCH]), policy=SCIM_TOKEN),
    R("GET", "/scim/v2/Users",                                    401,   401,   401,   401,   401,   401,   401, policy=SCIM_TOKEN),
    R("POST", "/scim/v2/Users/.search",                           401,   401,   401,   401,   401,   401,   401, json=fixed(schemas=[SEARCH]), policy=SCIM_TOKEN),
    R("POST", "/scim/v2/Users",                                   401,   401,   401,   401,   401,   401,   401, json=_scim_user, policy=SCIM_TOKEN),
    R("GET", "/scim/v2/Users/{user_id:str}",                      401,   401,   401,   401,   401,   401,   401, policy=SCIM_TOKEN),
    R("PUT", "/scim/v2/Users/{user_id:str}",                      401,   401,   401,   401,   401,   401,   401, json=_scim_user, policy=SCIM_TOKEN),
    R("PATCH", "/scim/v2/Users/{user_id:str}",                    401,   401,   401,   401,   401,   401,   401, json=_scim_deactivate, policy=SCIM_TOKEN),
    R("DELETE", "/scim/v2/Users/{user_id:str}",                   401,   401,   401,   401,   401,   401,   401, policy=SCIM_TOKEN),
    R("GET", "/scim/v2/Groups",                                   401,   401,   401,   401,   401,   401,   401, policy=SCIM_TOKEN),
    R("POST", "/scim/v2/Groups/.search",                          401,   401,   401,   401,   401,   401,   401, json=fixed(schemas=[SEARCH]), policy=SCIM_TOKEN),
    R("POST", "/scim/v2/Groups",                                  401,   401,   401,   401,   401,   401,   401, json=fixed(displayName="Legal"), policy=SCIM_TOKEN),
    R("GET", "/scim/v2/Groups/{group_id:str}",                    401,   401,   401,   401,   401,   401,   401, policy=SCIM_TOKEN),
    R("PUT", "/scim/v2/Groups/{group_id:str}",                    401,   401,   401,   401,   401,   401,   401, json=fixed(displayName="Legal"), policy=SCIM_TOKEN),
    R("PATCH", "/scim/v2/Groups/{group_id:str}",                  401,   401,   401,   401,   401,   401,   401, json=_scim_deactivate, policy=SCIM_TOKEN),
    R("DELETE", "/scim/v2/Groups/{group_id:str}",                 401,   401,   401,   401,   401,   401,   401, policy=SCIM_TOKEN),
    R("GET", "/scim/v2/{rest:path}",                              401,   401,   401,   401,   401,   401,   401, policy=SCIM_TOKEN),
    R("POST", "/scim/v2/{rest:path}",                             401,   401,   401,   401,   401,   401,   401, policy=SCIM_TOKEN),
    R("PUT", "/scim/v2/{rest:path}",                              401,   401,   401,   401,   401,   401,   401, policy=SCIM_TOKEN),
    R("PATCH", "/scim/v2/{rest:path}",                            401,   401,   401,   401,   401,   401,   401, policy=SCIM_TOKEN),
    R("DELETE", "/scim/v2/{rest:path}",                           401,   401,   401,   401,   401,   401,   401, policy=SCIM_TOKEN),
    # -- public pages, static files, health, the API description --
    R("GET", "/login",                                            200,   200,   200,   200,   200,   200,   200, policy=PUBLIC),
    R("POST", "/login",                                           303,   303,   303,   303,   303,   303,   303, form=_credentials, fresh_login=True, policy=PUBLIC),
    R("GET", "/password/forgot",                                  200,   200,   200,   200,   200,   200,   200, policy=PUBLIC),
    R("POST", "/password/forgot",                                 200,   200,   200,   200,   200,   200,   200, form=fixed(email="nobody@example.com"), policy=PUBLIC),
    R("GET", "/password/set",                                     200,   200,   200,   200,   200,   200,   200, query="token={link}", policy=PUBLIC),
    R("POST", "/password/set",                                    200,   200,   200,   200,   200,   200,   200, form=_new_password, policy=PUBLIC),
    # single sign-on: public, and not there while OIDC_ISSUER is unset (tests/test_oidc.py walks it configured)
    R("GET", "/auth/oidc/login",                                  404,   404,   404,   404,   404,   404,   404, policy=PUBLIC),
    R("GET", "/auth/oidc/callback",                               404,   404,   404,   404,   404,   404,   404, query="code=c&state=s", policy=PUBLIC),
    R("GET", "/health",                                           200,   200,   200,   200,   200,   200,   200, policy=PUBLIC),
    R("GET", "/unsubscribe/{token:str}",                          200,   200,   200,   200,   200,   200,   200, policy=PUBLIC),
    R("POST", "/unsubscribe/{token:str}",                         200,   200,   200,   200,   200,   200,   200, form=fixed(), policy=PUBLIC),
    R("GET", "/static/{file_path:path}",                          200,   200,   200,   200,   200,   200,   200, policy=PUBLIC),
    R("HEAD", "/static/{file_path:path}",                         200,   200,   200,   200,   200,   200,   200, policy=PUBLIC),
    R("GET", "/schema",                                           200,   200,   200,   200,   200,   200,   200, policy=PUBLIC),
    R("GET", "/schema/openapi.json",                              200,   200,   200,   200,   200,   200,   200, policy=PUBLIC),
    R("GET", "/schema/openapi.yaml",                              200,   200,   200,   200,   200,   200,   200, policy=PUBLIC),
    R("GET", "/schema/openapi.yml",                               200,   200,   200,   200,   200,   200,   200, policy=PUBLIC),
    R("GET", "/schema/{path:str}",                                404,   404,   404,   404,   404,   404,   404, policy=PUBLIC),
    # -- Slack's requests: signed by Slack or refused, whoever the caller --
    R("POST", "/integrations/slack/commands",                     401,   401,   401,   401,   401,   401,   401, form=fixed(command="/idea", user_id="U1"), policy=SLACK_SIGNED),
    R("POST", "/integrations/slack/interactions",                 401,   401,   401,   401,   401,   401,   401, form=fixed(payload="{}"), policy=SLACK_SIGNED),
    R("POST", "/integrations/slack/events",                       401,   401,   401,   401,   401,   401,   401, json=fixed(type="url_verification", challenge="x"), policy=SLACK_SIGNED),
    # -- staff pages and fragments --
    R("GET", "/",                                                 LOGIN, 200,   200,   200,   200,   200,   200, policy="idea.view"),
    R("GET", "/ideas/new",                                        LOGIN, 200,   200,   200,   200,   200,   200, policy="idea.submit"),
    R("POST", "/ideas/new",                                       LOGIN, 303,   303,   303,   303,   303,   303, form=_idea, policy="idea.submit"),
    R("GET", "/ideas/{idea_id:str}",                              LOGIN, 200,   200,   200,   200,   200,   200, policy="idea.view"),
    R("POST", "/ideas/{idea_id:str}/vote",                        LOGIN, 303,   409,   303,   303,   303,   303, form=fixed(action="vote"), policy="idea.vote"),
    R("GET", "/me/ideas",                                         LOGIN, 200,   200,   200,   200,   200,   200, policy="idea.view"),
    R("GET", "/ideas/{idea_id:str}/edit",                         LOGIN, 403,   200,   403,   403,   403,   403, policy="idea.edit"),
    R("POST", "/ideas/{idea_id:str}/edit",                        LOGIN, 403,   303,   403,   403,   403,   403, form=_idea, policy="idea.edit"),
    R("POST", "/ideas/{idea_id:str}/withdraw",                    LOGIN, 403,   303,   403,   403,   403,   403, ids={"idea_id": "withdraw_form"}, form=fixed(), policy="idea.withdraw"),
    R("POST", "/comments/{comment_id:str}/edit",                  LOGIN, 403,   303,   403,   403,   403,   403, form=fixed(body="An edited comment"), policy="comment.change"),
    R("POST", "/comments/{comment_id:str}/delete",                LOGIN, 403,   303,   403,   403,   403,   403, ids={"comment_id": "comment_delete_form"}, form=fixed(), policy="comment.change"),
    R("POST", "/ideas/{idea_id:str}/follow",                      LOGIN, 303,   303,   303,   303,   303,   303, form=fixed(action="follow"), policy="idea.follow"),
    R("GET", "/fragments/similar",                                LOGIN, 200,   200,   200,   200,   200,   200, query="title=invoice", policy="idea.view"),
    R("GET", "/fragments/ideas/{idea_id:str}/question",           LOGIN, 200,   200,   200,   200,   200,   200, ids={"idea_id": "asked"}, policy="idea.questions"),
    R("POST", "/ideas/{idea_id:str}/answer",                      LOGIN, 403,   303,   403,   403,   403,   403, ids={"idea_id": "asked_form"}, form=_answer, policy="idea.answer"),
    R("GET", "/fragments/ideas/{idea_id:str}/comments",           LOGIN, 200,   200,   200,   200,   200,   200, policy="idea.view"),
    R("POST", "/ideas/{idea_id:str}/comments",                    LOGIN, 303,   303,   303,   303,   303,   303, form=_comment, policy="idea.comment"),
    R("GET", "/fragments/ideas/{idea_id:str}/actions",            LOGIN, 200,   200,   200,   200,   200,   200, ids={"idea_id": "working"}, policy="idea.view"),
    R("POST", "/ideas/{idea_id:str}/actions",                     LOGIN, 403,   403,   403,   303,   403,   403, ids={"idea_id": "working"}, form=_action, policy="delivery.plan"),
    R("POST", "/actions/{action_id:str}/status",                  LOGIN, 403,   403,   303,   303,   403,   403, ids={"action_id": "action_status"}, form=fixed(status="doing"), policy="delivery.move_action"),
    R("POST", "/actions/{action_id:str}/edit",                    LOGIN, 403,   403,   403,   303,   403,   403, ids={"action_id": "action_edit"}, form=fixed(title="Add a PO field to the checkout form"), policy="delivery.plan"),
    R("POST", "/actions/{action_id:str}/remove",                  LOGIN, 403,   403,   403,   303,   403,   403, ids={"action_id": "action_delete_form"}, form=fixed(), policy="delivery.plan"),
    R("POST", "/ideas/{idea_id:str}/ship",                        LOGIN, 403,   403,   403,   303,   403,   403, ids={"idea_id": "ship_form"}, form=fixed(note=SHIP_NOTE), policy="delivery.ship"),
    R("POST", "/ideas/{idea_id:str}/propose-ship",                LOGIN, 403,   403,   303,   403,   403,   403, ids={"idea_id": "propose_form"}, form=fixed(note=SHIP_NOTE), policy="delivery.propose"),
    R("POST", "/ideas/{idea_id:str}/ship-changes",                LOGIN, 403,   403,   403,   303,   403,   403, ids={"idea_id": "changes_form"}, form=fixed(note="Add the numbers for last month."), policy="delivery.ship"),
    R("GET", "/fragments/ideas/{idea_id:str}/credit",             LOGIN, 200,   200,   200,   200,   200,   200, policy="idea.view"),
    R("POST", "/ideas/{idea_id:str}/credit",                      LOGIN, 403,   303,   403,   403,   403,   403, form=fixed(credit="yes"), policy="idea.credit"),
    R("GET", "/me/actions",                                       LOGIN, 200,   200,   200,   200,   200,   200, policy="idea.view"),
    R("GET", "/shipped",                                          LOGIN, 200,   200,   200,   200,   200,   200, policy="idea.view"),
    R("GET", "/roadmap",                                          LOGIN, 200,   200,   200,   200,   200,   200, policy="roadmap.read"),
    R("GET", "/me/notifications",                                 LOGIN, 200,   200,   200,   200,   200,   200, policy="inbox.read"),
    R("POST", "/me/notifications/{notice_id:str}/read",           LOGIN, 404,   303,   404,   404,   404,   404, form=fixed(), policy="inbox.read"),
    R("POST", "/me/notifications/read-all",                       LOGIN, 303,   303,   303,   303,   303,   303, form=fixed(), policy="inbox.read"),
    R("GET", "/fragments/unread",                                 LOGIN, 200,   200,   200,   200,   200,   200, policy="inbox.read"),
    R("GET", "/me/settings",                                      LOGIN, 200,   200,   200,   200,   200,   200, policy="inbox.read"),
    R("POST", "/me/settings",                                     LOGIN, 200,   200,   200,   200,   200,   200, form=fixed(digest="on"), policy="inbox.read"),
    R("POST", "/logout",                                          LOGIN, LOGOUT, LOGOUT, LOGOUT, LOGOUT, LOGOUT, LOGOUT, form=fixed(), fresh_login=True, policy="account.own"),
    # -- the profile page (a wrong current password: the guard let it through, nothing changed) --
    R("GET", "/me",                                               LOGIN, 200,   200,   200,   200,   200,   200, policy="account.own"),
    R("POST", "/me/password",                                     LOGIN, 400,   400,   400,   400,   400,   400, form=fixed(current_password="not my password at all", password=NEW_PASSWORD, password_again=NEW_PASSWORD), policy="account.own"),
    R("POST", "/me/tokens",                                       LOGIN, 201,   201,   201,   201,   201,   201, form=fixed(name="matrix script"), policy="account.own"),
    R("POST", "/me/tokens/{token_id:str}/revoke",                 LOGIN, 404,   303,   404,   404,   404,   404, ids={"token_id": "token_page"}, form=fixed(), policy="account.own"),
    R("POST", "/me/tokens/revoke-all",                            LOGIN, 303,   303,   303,   303,   303,   303, form=fixed(), policy="account.own"),
    # -- council pages --
    R("GET", "/triage",                                           LOGIN, 403,   403,   403,   200,   403,   403, policy="triage.queue"),
    R("GET", "/triage/sessions",                                  LOGIN, 403,   403,   403,   200,   403,   403, policy="triage.session"),
    R("GET", "/triage/sessions/{session_id:str}",                 LOGIN, 403,   403,   403,   200,   403,   403, policy="triage.session"),
    R("POST", "/triage/sessions/{session_id:str}/ideas/{idea_id:str}/decision", LOGIN, 403, 403, 403, 303, 403, 403, ids={"idea_id": "review_form"}, form=_decide, policy="triage.decide"),
    R("POST", "/triage/sessions",                                 LOGIN, 403,   403,   403,   303,   403,   403, form=_session, policy="triage.session"),
    R("POST", "/triage/sessions/{session_id:str}/merge-group",    LOGIN, 403,   403,   403,   303,   403,   403, form=_merge_group, policy="triage.session"),
    R("GET", "/triage/ideas/{idea_id:str}/duplicates",            LOGIN, 403,   403,   403,   200,   403,   403, policy="triage.queue"),
    R("POST", "/triage/sessions/{session_id:str}/batch-decline",  LOGIN, 403,   403,   403,   303,   403,   403, form=_batch_decline, policy="triage.session"),
    R("POST", "/triage/sessions/{session_id:str}/attend",         LOGIN, 403,   403,   403,   303,   403,   403, form=fixed(), policy="triage.session"),
    R("GET", "/delivery",                                         LOGIN, 403,   403,   403,   200,   403,   403, policy="delivery.board"),
    R("GET", "/fragments/people",                                 LOGIN, 403,   403,   403,   200,   403,   403, query="q=er", policy="delivery.plan"),
    # -- leadership page --
    R("GET", "/leaders",                                          LOGIN, 403,   403,   403,   403,   200,   200, policy="leaders.view"),
    # -- admin pages --
    R("GET", "/admin",                                            LOGIN, 403,   403,   403,   403,   403,   200, policy="admin.people.read"),
    R("GET", "/admin/people",                                     LOGIN, 403,   403,   403,   403,   403,   200, policy="admin.people.read"),
    R("GET", "/admin/people/new",                                 LOGIN, 403,   403,   403,   403,   403,   200, policy="admin.manage"),
    R("POST", "/admin/people/new",                                LOGIN, 403,   403,   403,   403,   403,   303, form=_person, policy="admin.manage"),
    R("GET", "/admin/people/{user_id:str}",                       LOGIN, 403,   403,   403,   403,   403,   200, policy="admin.people.read"),
    R("POST", "/admin/people/{user_id:str}",                      LOGIN, 403,   403,   403,   403,   403,   303, form=_person_edit, policy="admin.manage"),
    R("POST", "/admin/people/{user_id:str}/invite",               LOGIN, 403,   403,   403,   403,   403,   303, form=fixed(), policy="admin.manage"),
    R("POST", "/admin/people/{user_id:str}/break-glass",          LOGIN, 403,   403,   403,   403,   403,   303, form=fixed(break_glass="on"), policy="admin.manage"),
    R("GET", "/admin/scim",                                       LOGIN, 403,   403,   403,   403,   403,   200, policy="admin.manage"),
    R("POST", "/admin/scim/tokens",                               LOGIN, 403,   403,   403,   403,   403,   201, form=fixed(name="Okta"), policy="admin.manage"),
    R("POST", "/admin/scim/tokens/{token_id:int}/revoke",         LOGIN, 403,   403,   403,   403,   403,   303, ids={"token_id": "scim_token"}, form=fixed(), policy="admin.manage"),
    # the reveal before any (de)activation: an admin who changed whether someone can log in cannot reveal for 24 hours (ideas/reveal.py)
    R("GET", "/admin/ideas/{idea_id:str}/reveal",                 LOGIN, 403,   403,   403,   403,   403,   200, policy="admin.reveal"),
    R("POST", "/admin/ideas/{idea_id:str}/reveal",                LOGIN, 403,   403,   403,   403,   403,   200, form=fixed(reason=REVEAL_REASON), policy="admin.reveal"),
    R("POST", "/admin/people/{user_id:str}/deactivate",           LOGIN, 403,   403,   403,   403,   403,   303, form=fixed(), policy="admin.manage"),
    R("POST", "/admin/people/{user_id:str}/reactivate",           LOGIN, 403,   403,   403,   403,   403,   303, form=fixed(), policy="admin.manage"),
    R("GET", "/admin/departments",                                LOGIN, 403,   403,   403,   403,   403,   200, policy="admin.people.read"),
    R("POST", "/admin/departments",                               LOGIN, 403,   403,   403,   403,   403,   303, form=fixed(name="Legal"), policy="admin.manage"),
    R("POST", "/admin/departments/{department_id:int}/rename",    LOGIN, 403,   403,   403,   403,   403,   303, form=fixed(name="Field Operations"), policy="admin.manage"),
    R("POST", "/admin/departments/merge",                         LOGIN, 403,   403,   403,   403,   403,   200, form=_merge, policy="admin.manage"),
    R("GET", "/admin/import",                                     LOGIN, 403,   403,   403,   403,   403,   200, policy="admin.manage"),
    R("POST", "/admin/import",                                    LOGIN, 403,   403,   403,   403,   403,   200, multipart=fixed(csv_text=IMPORT_CSV), policy="admin.manage"),
    R("POST", "/admin/import/confirm",                            LOGIN, 403,   403,   403,   403,   403,   200, form=_import_confirm, policy="admin.manage"),
    R("GET", "/admin/settings",                                   LOGIN, 403,   403,   403,   403,   403,   200, policy="admin.settings.read"),
    R("POST", "/admin/settings",                                  LOGIN, 403,   403,   403,   403,   403,   303, form=fixed(agenda_size="25"), policy="admin.manage"),
    R("GET", "/admin/audit",                                      LOGIN, 403,   403,   403,   403,   403,   200, policy="admin.audit.read"),
    R("GET", "/admin/audit.csv",                                  LOGIN, 403,   403,   403,   403,   403,   200, policy="admin.audit.read"),
    R("GET", "/admin/webhooks",                                   LOGIN, 403,   403,   403,   403,   403,   200, policy="admin.manage"),
    R("POST", "/admin/webhooks",                                  LOGIN, 403,   403,   403,   403,   403,   200, form=fixed(kind="webhook", url="https://hooks.example.com/form", **{"event:idea.shipped": "on"}), policy="admin.manage"),
    R("GET", "/admin/webhooks/{endpoint_id:str}",                 LOGIN, 403,   403,   403,   403,   403,   200, policy="admin.manage"),
    R("POST", "/admin/webhooks/{endpoint_id:str}/rotate",         LOGIN, 403,   403,   403,   403,   403,   200, form=fixed(), policy="admin.manage"),
    R("POST", "/admin/webhooks/{endpoint_id:str}/active",         LOGIN, 403,   403,   403,   403,   403,   303, form=fixed(active="off"), policy="admin.manage"),
    R("POST", "/admin/webhooks/deliveries/{delivery_id:str}/again", LOGIN, 403, 403,   403,   403,   403,   303, form=fixed(), policy="admin.manage"),
    R("POST", "/admin/webhooks/{endpoint_id:str}/delete",         LOGIN, 403,   403,   403,   403,   403,   303, ids={"endpoint_id": "webhook_delete_form"}, form=fixed(), policy="admin.manage"),
    # -- last: these revoke every token of the caller / end every session of the caller,
    #    the ones walking this table included --
    R("DELETE", "/api/v1/me/tokens",                              401,   204,   204,   204,   204,   204,   204, fresh_login=True, policy="account.own"),
    R("POST", "/me/sign-out-everywhere",                          LOGIN, LOGOUT, LOGOUT, LOGOUT, LOGOUT, LOGOUT, LOGOUT, form=fixed(), policy="account.own"),
]  # fmt: skip

#: path parameter → the world key it takes unless a row says otherwise
DEFAULT_IDS = {
    "idea_id": "fresh",
    "session_id": "session",
    "action_id": "action_patch",
    "notice_id": "notice",
    "comment_id": "comment_edit",
    "token": "unsubscribe",
    "token_id": "token_api",
    "user_id": "person",
    "department_id": "department",
    "file_path": "static_file",
    "path": "no_such_schema_page",
    "webhook_id": "webhook",
    "endpoint_id": "webhook",
    "delivery_id": "webhook_delivery",
    "type_id": "scim_type",
    "schema_id": "scim_type",
    "group_id": "department",
    "rest": "no_such_schema_page",
}


def app_routes(app) -> set[tuple[str, str]]:
    """(method, path) of every route handler the app registers. Litestar's own
    automatic OPTIONS answers are left to `test_options_answers_reveal_nothing`."""
    found = set()
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in handler.http_methods:
                if method != "OPTIONS":
                    found.add((method, route.path))
    return found


def test_every_route_has_a_row(app):
    rows = [row.key for row in MATRIX]
    duplicates = sorted({k for k in rows if rows.count(k) > 1})
    assert not duplicates, f"routes with more than one row in MATRIX: {duplicates}"
    routes = app_routes(app)
    missing = sorted(routes - set(rows))
    stale = sorted(set(rows) - routes)
    assert not missing, "routes without a row in MATRIX (tests/test_authz_matrix.py): " + ", ".join(
        f"{m} {p}" for m, p in missing
    )
    assert not stale, "rows in MATRIX for routes the app no longer has: " + ", ".join(
        f"{m} {p}" for m, p in stale
    )


def _guard_roles(handler) -> frozenset[str] | None:
    """The roles a route's guards let in (every layer's, app to handler), or
    None when no role guard stands before it (public, or any signed-in person)."""
    roles = None
    for layer in handler.ownership_layers:
        for guard in getattr(layer, "guards", None) or []:
            if hasattr(guard, "roles"):
                roles = guard.roles if roles is None else roles & guard.roles
    return roles


def test_every_guard_reads_its_policy_row(app):
    """A route behind a role guard (council, admin, leaders) lets in exactly
    the roles of the PERMISSIONS row its use case checks: a change to the
    table moves the guard with it, and the matrix below holds the answers."""
    rows = {row.key: row for row in MATRIX}
    wrong, checked = [], 0
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            guarded = _guard_roles(handler)
            for method in handler.http_methods:
                row = rows.get((method, route.path))
                if row is None or method == "OPTIONS":
                    continue
                if row.policy in NOT_A_ROLE:
                    if guarded is not None:
                        wrong.append(f"{method} {route.path}: a role guard on a {row.policy} route")
                elif guarded is not None:
                    checked += 1
                    if guarded != policy.roles_for(row.policy):
                        wrong.append(
                            f"{method} {route.path}: the guard lets in {sorted(guarded)}, "
                            f"{row.policy} names {sorted(policy.roles_for(row.policy))}"
                        )
    assert not wrong, "\n".join(wrong)
    assert checked > 50  # the council, leaders' and admin routes were found


def test_the_matrix_agrees_with_the_policy():
    """Each cell against the row its route names: a role the row does not
    name is refused (403; the log-in wall for the anonymous caller), and a
    row without a rule on the idea's facts refuses none of the roles it
    names. Rules on facts (own idea, an action's owner, the status) are
    walked by the cells themselves."""
    wrong = []
    for row in MATRIX:
        for role, cell in zip(ROLES, row.expect, strict=True):
            where = f"{row.method} {row.path} as {role}: {cell}"
            if row.policy in NOT_A_ROLE:
                if row.policy == PUBLIC and cell in (LOGIN, 401, 403):
                    wrong.append(f"{where}, but the route is public")
                continue
            permission = policy.PERMISSIONS[row.policy]
            roles = ROLES_OF[role]
            if not roles:
                login_wall = 401 if row.path.startswith("/api/") else LOGIN
                if cell != login_wall:
                    wrong.append(f"{where}, expected the log-in wall {login_wall}")
            elif not permission.roles & roles:
                if cell != 403:
                    wrong.append(f"{where}, but {row.policy} needs {sorted(permission.roles)}: 403")
            elif not permission.on_facts and cell == 403:
                wrong.append(f"{where}, but {row.policy} lets {role} in whatever the facts")
    assert not wrong, f"{len(wrong)} cells disagree with ideas.policy:\n" + "\n".join(wrong)


def test_every_row_names_a_policy_row():
    """A row without `policy=` is a route nobody has placed in the table."""
    missing = [f"{row.method} {row.path}" for row in MATRIX if not row.policy]
    assert not missing, "rows without policy=: " + ", ".join(missing)


# -- the world each role walks ----------------------------------------------------------------


async def _ok(response: httpx.Response, status: int = 200) -> dict:
    assert response.status_code == status, (response.request.url, response.text[:300])
    return response.json() if response.content else {}


async def build_world(personas) -> World:
    """Real data, made as people make it (API calls), in the states the routes need."""
    keys = ("alice_support", "dan_sales", "erin_it", "bob_finance_council", "cora_hr_council")
    keys += ("pat_product_council", "carol_leader", "adam_admin")
    cast = {key: await personas.get(key) for key in keys}
    alice, erin, bob = cast["alice_support"], cast["erin_it"], cast["bob_finance_council"]
    quorum = [cast[k].id for k in ("bob_finance_council", "cora_hr_council", "pat_product_council")]
    w: World = {"personas": cast, "quorum": quorum, "static_file": "app.css"}
    w["no_such_schema_page"] = "no-such-page"
    w["scim_type"] = "User"
    w["finance"] = await directory.department_by_name("Finance")
    w["department"] = await directory.department_by_name("Field Ops", create=True)

    titles = {
        "review_api": "Let customers pick their invoice language",
        "review_form": "Send a reminder before a card expires",
        "asked": "Explain proration on the upgrade page",
        "asked_form": "Offer a yearly plan with a discount",
        "working": "Show the delivery date on the order page",
        "ship_api": "Add a PO number field at checkout",
        "ship_form": "Let admins download every invoice at once",
        "propose_api": "Show the invoice total in the e-mail subject",
        "propose_form": "Let customers download a yearly invoice summary",
        "changes_form": "Email a receipt after every card payment",
        "dup_target": "Let customers reset their portal password themselves",
        "dup_member": "Self-service password reset link on the portal",
        "batch_decline": "Print the invoice on pink paper",
    }
    ids = {key: await submit(alice, title=title) for key, title in titles.items()}
    bob_api = bob.api()
    session = await _ok(
        await bob_api.post("/api/v1/triage/sessions", json=_session(w, "council")), 201
    )
    w["session"] = session["id"]
    for key in ("cora_hr_council", "pat_product_council"):
        await _ok(await cast[key].api().post(f"/api/v1/triage/sessions/{session['id']}/attend"))

    async def decide(idea_key: str, **decision: Any) -> None:
        body = {"session_id": session["id"], **decision}
        await _ok(await bob_api.post(f"/api/v1/ideas/{ids[idea_key]}/decision", json=body))

    for key in ("asked", "asked_form"):
        await decide(key, outcome="needs_info", question="Which customers send us POs?")
    for key in ("working", "ship_api", "ship_form", "propose_api", "propose_form", "changes_form"):
        await decide(key, outcome="accept", owning_department_id=str(w["finance"]))

    async def add_action(idea_key: str, title: str) -> str:
        body = {**_action(w, "council"), "title": title}
        r = await bob_api.post(f"/api/v1/ideas/{ids[idea_key]}/actions", json=body)
        return (await _ok(r, 201))["id"]

    for key in ("action_patch", "action_status", "action_edit"):
        w[key] = await add_action("working", f"Matrix action {key}")
    for key in ("action_delete_api", "action_delete_form"):
        w[key] = await add_action("working", f"Matrix action {key}")
    for key in ("ship_api", "ship_form", "propose_api", "propose_form", "changes_form"):
        done = await add_action(key, "Print the PO number")
        r = await erin.api().patch(f"/api/v1/actions/{done}", json={"status": "done"})
        await _ok(r)

    r = await erin.api().post(
        f"/api/v1/ideas/{ids['changes_form']}/ship-proposal", json={"note": SHIP_NOTE}
    )
    await _ok(r)
    ids["fresh"] = await submit(alice, title="Print the customer's PO number on every invoice")
    ids["withdraw_api"] = await submit(alice, title="Withdrawn through the API by its submitter")
    ids["withdraw_form"] = await submit(alice, title="Withdrawn through the form by its submitter")
    w.update(ids)
    for key in ("comment_edit", "comment_delete_api", "comment_delete_form"):
        r = await alice.api().post(
            f"/api/v1/ideas/{ids['fresh']}/comments", json={"body": f"Alice's {key}"}
        )
        w[key] = (await _ok(r, 201))["id"]

    # what the worker does with the council's question: alice's notice
    question = await Event.select(Event.id).where(Event.idea == int(ids["asked"])).run()
    await fanout.deliver_event(question[-1]["id"])
    notice = await Notification.select(Notification.id).where(Notification.user == alice.viewer.id)
    w["notice"] = str(notice[0]["id"])

    # webhooks: one with a delivery to send again, two to remove
    adam = cast["adam_admin"].viewer
    hook = "https://hooks.example.com/"
    w["webhook"] = (
        await webhooks.create_endpoint(ctx_for(adam), hook + "a", ["idea.status_changed"])
    ).id
    await webhooks.plan_event(question[-1]["id"])
    [delivery] = await WebhookDelivery.select(WebhookDelivery.id).run()
    w["webhook_delivery"] = str(delivery["id"])
    for key in ("webhook_delete_api", "webhook_delete_form"):
        w[key] = (await webhooks.create_endpoint(ctx_for(adam), hook + key, ["idea.shipped"])).id

    zoe = await personas.make("zoe_person", "Zoe Zimmer", "Team Lead", "Field Ops")
    w["person"] = zoe.id
    yan = await personas.make("yan_invited", "Yan Yilmaz", "Analyst", "Finance")
    w["link"] = (await invitations.issue(yan.viewer.id, "invite")).token

    # the signed link in alice's notice e-mails (one-click unsubscribe)
    w["unsubscribe"] = unsubscribe.token_for(alice.viewer.id, "vote_shipped")
    for key in ("token_api", "token_page"):
        made = await accounts.create_named_token(ctx_for(alice.viewer), f"alice's {key}")
        w[key] = made.info.id

    await scim.create_token(ctx_for(COMMAND_LINE), "Matrix provisioning")
    w["scim_token"] = (await scim.list_tokens(ctx_for(COMMAND_LINE)))[0].id

    plan = await imports.preview_import(ctx_for(cast["adam_admin"].viewer), IMPORT_CSV)
    w["import_fingerprint"] = plan.fingerprint()
    return w


# -- walking the table ------------------------------------------------------------------------


class Caller:
    """One role's way in: bearer token for /api/, browser session elsewhere."""

    def __init__(self, app, role: str, persona: Persona | None) -> None:
        self.app, self.role, self.persona = app, role, persona
        self.api: httpx.AsyncClient | None = None
        self.web: BrowserClient | None = None

    async def start(self) -> Caller:
        self.api = await self.new_api()
        self.web = await self.new_web()
        return self

    async def new_api(self) -> httpx.AsyncClient:
        headers = {}
        if self.persona is not None:
            headers["Authorization"] = (
                f"Bearer {await accounts.create_token(ctx_for(self.persona.viewer))}"
            )
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url="http://testserver",
            headers=headers,
        )

    async def new_web(self) -> BrowserClient:
        web = BrowserClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://testserver"
        )
        if self.persona is None:
            await web.refresh_csrf()
        else:
            await web.login(self.persona.email, self.persona.password)
        return web

    async def send(self, row: Row, w: World, htmx: bool = False) -> httpx.Response:
        api_route = row.path.startswith("/api/")
        if row.fresh_login:
            client = await (self.new_api() if api_route else self.new_web())
        else:
            client = self.api if api_route else self.web
        url = fill(row, w)
        options: dict[str, Any] = {}
        if row.json is not None:
            options["json"] = row.json(w, self.role)
        if isinstance(client, BrowserClient):
            options["headers"] = {"x-csrftoken": client.csrf}
            if htmx:
                options["headers"]["HX-Request"] = "true"
            if row.form is not None:
                options["data"] = {**row.form(w, self.role), "_csrf_token": client.csrf}
            elif row.multipart is not None:
                options["data"] = {**row.multipart(w, self.role), "_csrf_token": client.csrf}
                options["files"] = {"file": ("", b"", "text/csv")}
            elif row.method == "POST":
                options["data"] = {"_csrf_token": client.csrf}
        try:
            return await client.request(row.method, url, **options)
        finally:
            if row.fresh_login:
                await client.aclose()

    async def close(self) -> None:
        for c in (self.api, self.web):
            if c is not None:
                await c.aclose()


def fill(row: Row, w: World) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1)
        return str(w[row.ids.get(name, DEFAULT_IDS[name])])

    path = re.sub(r"\{(\w+):\w+\}", value, row.path)
    query = row.query.format(link=w.get("link", ""))
    return f"{path}?{query}" if query else path


def verdict(expected: Any, r: httpx.Response, url: str) -> str | None:
    """None when the answer is what the cell says, else what was wrong."""
    location = r.headers.get("location", "")
    if expected == LOGIN:
        if r.status_code == 303 and location == "/login?next=" + quote(url, safe=""):
            return None
        return f"expected 303 to /login?next={quote(url, safe='')}, got {r.status_code} {location}"
    if expected == LOGOUT:
        if r.status_code == 303 and location == "/login":
            return None
        return f"expected 303 to /login (logged out), got {r.status_code} {location}"
    if r.status_code != expected:
        return f"expected {expected}, got {r.status_code}: {r.text[:160]!r}"
    if expected == 303 and location.startswith("/login"):
        return f"an allowed form redirected to log in ({location})"
    return None


def htmx_verdict(r: httpx.Response, url: str) -> str | None:
    target = "/login?next=" + quote(url, safe="")
    if r.status_code == 401 and r.headers.get("hx-redirect") == target:
        return None
    return f"HTMX: expected 401 with HX-Redirect {target}, got {r.status_code} {r.headers}"


@pytest.mark.parametrize("role", ROLES)
async def test_every_route_answers_each_role_as_the_matrix_says(app, personas, role):
    w = await build_world(personas)
    persona = w["personas"][PERSONA_OF[role]] if role in PERSONA_OF else None
    caller = await Caller(app, role, persona).start()
    column = ROLES.index(role)
    wrong = []
    try:
        for row in MATRIX:
            r = await caller.send(row, w)
            problem = verdict(row.expect[column], r, fill(row, w))
            if problem is None and row.expect[column] == LOGIN:
                # what HTMX gets instead of a redirect it would swap in
                r = await caller.send(row, w, htmx=True)
                problem = htmx_verdict(r, fill(row, w))
            if problem:
                wrong.append(f"{row.method} {row.path} as {role}: {problem}")
    finally:
        await caller.close()
    assert not wrong, f"{len(wrong)} answers differ from the matrix:\n" + "\n".join(wrong)


async def test_options_answers_reveal_nothing(app, client):
    """Litestar answers OPTIONS on every path by itself: to a logged-out caller
    it is an empty 204 with `Allow`, or the same refusal as the path's guard."""
    await client.get("/login")
    wrong = []
    for _method, path in sorted(app_routes(app)):
        url = re.sub(r"\{(\w+):\w+\}", "1", path)
        r = await client.options(url)
        bearer_only = path.startswith(("/api/", "/scim/"))  # SCIM: a SCIM token, like the API
        refused = r.status_code == 401 if bearer_only else r.status_code == 303
        if refused and r.status_code == 303:
            refused = r.headers["location"].startswith("/login?next=")
        empty = r.status_code == 204 and r.content == b"" and "OPTIONS" in r.headers["allow"]
        if not (empty or refused):
            wrong.append(f"OPTIONS {url}: {r.status_code} {r.text[:80]!r}")
    assert not wrong, "\n".join(wrong)
