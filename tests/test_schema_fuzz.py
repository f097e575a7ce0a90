"""Schema fuzzing: schemathesis generates requests from /schema/openapi.json
for every API operation, sent with each role's bearer token; no answer may be
a 5xx, and every answer must be as documented (status code, content type,
headers, body shape). Input the description calls valid must not be refused
as malformed (400), and input it calls invalid must not be accepted.

Requests go to the app in process (httpx ASGITransport on the test's own
event loop, so the database pool is the app's); Hypothesis runs in a worker
thread and hands each generated case to that loop. Generation is
derandomized and bounded: the same cases every run, about a minute in all.
`FUZZ_EXAMPLES=100` looks deeper.

Path parameters are real ids (ideas, a session, an action, a notice) in
about half the cases and generated ones in the rest.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ideas import clock
from ideas.notify import fanout
from ideas.people import accounts, directory
from ideas.tables import Event, Notification
from tests.factories import confirm_attendance, ctx_for, idea_payload

#: examples per operation, role and mode (valid / invalid input)
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))
ROLES = {
    "staff": "dan_sales",
    "submitter": "alice_support",
    "council": "bob_finance_council",
    "leader": "carol_leader",
    "admin": "adam_admin",
}
CHECKS = [
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
#: operations that revoke the caller's token(s): sent with a spare token, and
#: the fuzzing session gets a fresh one when they may have revoked its own
REVOKE = {
    ("DELETE", "/api/v1/auth/token"),
    ("DELETE", "/api/v1/me/tokens"),
    ("DELETE", "/api/v1/me/tokens/{token_id}"),
}


async def _real_ids(personas) -> dict[str, list[str]]:
    """Ideas (new, accepted), a triage session, an action and a notice."""
    alice = await personas.get("alice_support")
    bob = await personas.get("bob_finance_council")
    council = [bob] + [await personas.get(k) for k in ("cora_hr_council", "pat_product_council")]
    erin = await personas.get("erin_it")
    alices, bobs = alice.api(), bob.api()
    ideas = []
    for title in ("Let customers pick their invoice language", "Show delivery dates on orders"):
        r = await alices.post("/api/v1/ideas", json=idea_payload(title=title))
        ideas.append(r.json()["id"])
    held = {"held_on": str(clock.today()), "attendee_ids": [m.id for m in council]}
    session = (await bobs.post("/api/v1/triage/sessions", json=held)).json()["id"]
    await confirm_attendance(session, *council)
    finance = str(await directory.department_by_name("Finance"))
    decision = {"session_id": session, "outcome": "accept", "owning_department_id": finance}
    await bobs.post(f"/api/v1/ideas/{ideas[1]}/decision", json=decision)
    action = {"title": "Add the date", "owner_id": erin.id, "due_on": str(clock.today())}
    action_id = (await bobs.post(f"/api/v1/ideas/{ideas[1]}/actions", json=action)).json()["id"]
    ideas.append((await alices.post("/api/v1/ideas", json=idea_payload())).json()["id"])
    first = await Event.select(Event.id).where(Event.idea == int(ideas[1])).run()
    await fanout.deliver_event(first[0]["id"])
    notices = await Notification.select(Notification.id).run()
    return {
        "idea_id": ideas,
        "session_id": [session],
        "action_id": [action_id],
        "notice_id": [str(n["id"]) for n in notices],
    }


def cases(operation, mode: GenerationMode, ids: dict[str, list[str]]):
    """Generated cases, half of them with real ids in the path."""
    strategies = [operation.as_strategy(generation_mode=mode)]
    names = [p.name for p in operation.path_parameters]
    if names and all(n in ids for n in names):
        real = st.fixed_dictionaries({n: st.sampled_from(ids[n]) for n in names})
        with_ids = real.flatmap(
            lambda path: operation.as_strategy(generation_mode=mode, path_parameters=path)
        )
        strategies.append(with_ids)
    return st.one_of(strategies)


def problems(case, mode: GenerationMode, response: httpx.Response) -> list[str]:
    """What is wrong with this answer (empty when nothing)."""
    if response.status_code >= 500:
        return [f"server error {response.status_code}"]
    if mode == GenerationMode.POSITIVE and response.status_code == 400:
        return ["input the description calls valid was refused as malformed"]
    checks = CHECKS + ([negative_data_rejection] if mode == GenerationMode.NEGATIVE else [])
    try:
        case.validate_response(response, checks=checks)
    except BaseExceptionGroup as group:
        return [getattr(f, "title", str(f)) for f in group.exceptions]
    except Exception as exc:
        return [getattr(exc, "title", str(exc))]
    return []


@pytest.mark.parametrize("role", list(ROLES))
async def test_every_api_operation_answers_as_documented(app, personas, role):
    ids = await _real_ids(personas)
    persona = await personas.get(ROLES[role])
    loop = asyncio.get_running_loop()
    failures: dict[tuple, str] = {}
    seen: Counter[int] = Counter()
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    session = {"token": persona.token}

    async def send(case) -> httpx.Response:
        token = session["token"]
        revoking = (case.operation.method.upper(), case.operation.path) in REVOKE
        if revoking:
            token = await accounts.create_token(
                ctx_for(persona.viewer)
            )  # revoke a spare, keep ours
        response = await _send(case, token)
        if revoking and response.is_success:  # "all", or ours by id: carry on with a new one
            session["token"] = await accounts.create_token(ctx_for(persona.viewer))
        return response

    async def _send(case, token: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"}
        sent = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
        body: dict[str, Any] = {}
        if "json" in sent:
            body["json"] = sent["json"]
        elif isinstance(sent.get("data"), (str, bytes)):
            body["content"] = sent["data"]
        elif sent.get("data") is not None:
            body["data"] = sent["data"]
        return await client.request(
            sent["method"], sent["url"], headers=sent["headers"], params=sent.get("params"), **body
        )

    def fuzz(operation, mode: GenerationMode) -> None:
        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=cases(operation, mode, ids))
        def run(case) -> None:
            response = asyncio.run_coroutine_threadsafe(send(case), loop).result(60)
            seen[response.status_code // 100 * 100] += 1
            found = problems(case, mode, response)
            key = (operation.method.upper(), operation.path, response.status_code, *found)
            if found and key not in failures:
                failures[key] = (
                    f"{' '.join(map(str, key[:3]))} as {role}, {mode.value} input: "
                    f"{'; '.join(found)}\n    {response.request.method} {response.request.url}"
                    f"\n    → {response.text[:300]!r}"
                )

        try:
            run()
        except Unsatisfiable:  # nothing to make invalid: no parameters and no body
            assert mode == GenerationMode.NEGATIVE, f"{operation.path}: no valid input at all"

    async with client:
        spec = (await client.get("/schema/openapi.json")).json()
        schema = schemathesis.openapi.from_dict(spec)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 35
        await asyncio.to_thread(lambda: [fuzz(op, mode) for op in operations for mode in MODES])

    assert not failures, f"{len(failures)} kinds of answer break the description:\n" + "\n".join(
        failures.values()
    )
    assert seen[200] >= len(operations) and seen[400] > 0, seen  # it did reach the handlers
