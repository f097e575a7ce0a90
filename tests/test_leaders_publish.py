"""Leadership figures and exports follow PUBLISH_DELAY_MINUTES too: a leader
polling the ideas CSV or the funnel learns of a new idea only with its
batch, never the minute it was submitted."""

from __future__ import annotations

import csv
import io

from tests.factories import submit
from tests.test_insider_timing import BOUNDARY, JUST_BEFORE, at, batches  # noqa: F401

PERIODS = ("all", "2026-Q4")


async def _submit(personas) -> str:
    idea = await submit(
        await personas.get("alice_support"),
        "Quarterly reconciliation statements for resellers",
        problem="Resellers reconcile our invoices by hand every quarter.",
        proposal="Send each reseller one reconciliation statement per quarter.",
        touchpoint="billing",
    )
    return str(idea)


async def _csv_ids(api) -> set[str]:
    ids = set()
    for period in PERIODS:
        r = await api.get(f"/api/v1/export/ideas.csv?period={period}")
        assert r.status_code == 200, r.text
        ids |= {row["id"] for row in csv.DictReader(io.StringIO(r.text))}
    return ids


async def test_the_ideas_csv_holds_a_new_idea_only_from_its_batch(personas, batches):  # noqa: F811
    api = (await personas.get("carol_leader")).api()
    batches.set(at(10, 5))
    idea = await _submit(personas)
    for moment in (at(10, 5), at(10, 30), JUST_BEFORE):
        batches.set(moment)
        assert idea not in await _csv_ids(api), moment
    batches.set(BOUNDARY)
    assert idea in await _csv_ids(api)


async def _funnels(api, browser) -> tuple:
    funnels = []
    for period in PERIODS:
        r = await api.get(f"/api/v1/metrics?period={period}")
        assert r.status_code == 200, r.text
        funnels.append(r.json()["funnel"])
    page = await browser.get("/leaders?period=2026-Q4")
    assert page.status_code == 200
    described = page.text.split('<desc id="chart-funnel-desc">', 1)[1].split("</desc>", 1)[0]
    return funnels, described


async def test_the_funnel_counts_a_new_idea_only_from_its_batch(personas, batches):  # noqa: F811
    carol = await personas.get("carol_leader")
    api, browser = carol.api(), await carol.browser()
    batches.set(at(10))
    before = await _funnels(api, browser)
    assert [f["submitted"] for f in before[0]] == [0, 0]
    batches.set(at(10, 5))
    await _submit(personas)
    for moment in (at(10, 5), at(10, 30), JUST_BEFORE):
        batches.set(moment)
        assert await _funnels(api, browser) == before, moment
    batches.set(BOUNDARY)
    funnels, described = await _funnels(api, browser)
    assert [f["submitted"] for f in funnels] == [1, 1]
    assert described != before[1]
