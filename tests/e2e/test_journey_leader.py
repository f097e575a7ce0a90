"""A leader's journey in Chromium, by clicks only: open Leadership from the
nav, read the leaderboard, charts and participation, switch the period to
the current quarter (the figures swap in place and the address follows),
and download the ideas CSV. A staff member is turned away. axe-core checks
every page visited; screenshots are kept."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from playwright.async_api import expect

from ideas import participation
from ideas.tables import Idea
from tests.e2e.journey import NoReload, check_page, click_nav, heading, log_out, post_idea
from tests.notify_helpers import decide, open_session

pytestmark = pytest.mark.browser

# the machine's clock: a browser test talks to a live server in another
# process, which reads the real clock (tests/conftest.py does not freeze it)
NOW = dt.datetime.now(dt.UTC)
QUARTER = f"{NOW.year}-Q{(NOW.month - 1) // 3 + 1}"
QUARTER_NAME = QUARTER.replace("-", " ")
OLD = NOW.replace(year=NOW.year - 2)

CREDITED = "Show the delivery date in the order confirmation"
ANONYMOUS = "Text customers when their support ticket is answered"
LAST_YEARS = "Print the customer's PO number on every invoice"


async def _ship(bob, erin, idea_id: str, session_id: str, department_id: str) -> None:
    await decide(bob, idea_id, session_id, "accept", owning_department_id=department_id)
    r = await bob.api().post(
        f"/api/v1/ideas/{idea_id}/actions",
        json={"title": "Make the change", "owner_id": erin.id, "due_on": NOW.date().isoformat()},
    )
    assert r.status_code == 201, r.text
    r = await erin.api().patch(f"/api/v1/actions/{r.json()['id']}", json={"status": "done"})
    assert r.status_code == 200, r.text
    r = await bob.api().post(
        f"/api/v1/ideas/{idea_id}/ship",
        json={"note": "Customers now see the change on every order they place."},
    )
    assert r.status_code == 200, r.text


async def _organisation(personas) -> dict:
    """Support has five people (enough to be shown) and owns the ideas;
    Marketing has only the leader (never shown on its own). Three ideas
    shipped: two this quarter (one credited, one not), one two years ago
    (credited)."""
    alice = await personas.get("alice_support")
    support_people = [alice]
    for n in range(4):
        support_people.append(
            await personas.make(f"support_{n}", f"Support Person {n}", "Support Agent", "Support")
        )
    dan = await personas.get("dan_sales")
    erin = await personas.get("erin_it")
    carol = await personas.get("carol_leader")
    credited = await post_idea(alice, title=CREDITED, touchpoint="purchase")
    anonymous = await post_idea(dan, title=ANONYMOUS, touchpoint="support")
    old = await post_idea(alice, title=LAST_YEARS)
    bob, session_id = await open_session(personas)
    r = await bob.api().get("/api/v1/departments")
    support = next(d["id"] for d in r.json()["items"] if d["name"] == "Support")
    for idea_id in (credited, anonymous, old):
        await _ship(bob, erin, idea_id, session_id, support)
    for idea_id in (credited, old):
        r = await alice.api().put(f"/api/v1/ideas/{idea_id}/credit", json={"credit": True})
        assert r.status_code == 200, r.text
    # the old one was submitted and shipped two years ago
    await (
        Idea.update(
            {
                Idea.created_at: OLD,
                Idea.accepted_at: OLD,
                Idea.shipped_at: OLD + dt.timedelta(days=20),
            }
        )
        .where(Idea.id == int(old))
        .run()
    )
    # Support's people all took part back then: a settled department, shown
    # on its own (participation is published for closed quarters only)
    for person in support_people:
        await participation.record(person.viewer.id, person.viewer.department_id, OLD)
    return {"alice": alice, "dan": dan, "carol": carol, "credited": credited, "old": old}


def _cells(rows: list[list[str]]) -> dict[str, str]:
    return {r[0]: r[1] for r in rows}


async def _board(page, table_id: str) -> dict[str, str]:
    """{name: shipped} from one leaderboard table, as a person reads it."""
    rows = await page.locator(f"#{table_id} tbody tr").evaluate_all(
        "rows => rows.map(r => Array.from(r.querySelectorAll('th, td'))"
        ".map(c => c.textContent.trim()))"
    )
    # rank, name, shipped — whatever the leading cells, the last two are name and count
    return {r[-2]: r[-1] for r in rows if len(r) >= 2}


async def test_leader_switches_the_period_and_downloads_the_csv(ui, personas):
    org = await _organisation(personas)
    alice, dan, carol = org["alice"], org["dan"], org["carol"]

    page = await ui.new_page()
    await ui.login(page, carol)
    await click_nav(page, "Leaders")
    await expect(page).to_have_url(re.compile(r"/leaders$"))
    await heading(page, "Leadership")
    await expect(page.locator("svg[role=img]")).to_have_count(3)
    for table in ("board-department", "board-person", "board-owner", "table-participation"):
        await expect(page.locator(f"#{table}")).to_be_visible()
    await expect(page.locator("#leaderboard-heading")).to_have_text("Shipped ideas, all time")

    by_person = await _board(page, "board-person")
    assert by_person.get(alice.name) == "2", by_person
    assert dan.name not in by_person  # not opted in: never named
    assert (await _board(page, "board-owner")).get("Support") == "3"
    by_department = await _board(page, "board-department")
    assert by_department.get("Support") == "2" and by_department.get("Anonymous") == "1"
    participation = page.locator("#table-participation")
    await expect(participation).to_contain_text("Support")
    await expect(participation).not_to_contain_text("Marketing")  # one person: k-anonymity
    await check_page(ui, page, "leaders-all-time", phone=True)

    # -- the current quarter: figures swap in place, the address follows ------
    async with NoReload(page):
        await page.locator("select#period").select_option(QUARTER)
        await expect(page.locator("#leaderboard-heading")).to_have_text(
            f"Shipped ideas, {QUARTER_NAME}"
        )
        await expect(page).to_have_url(re.compile(rf"/leaders\?period={QUARTER}$"))
        await ui.htmx_settled(page)
        assert (await _board(page, "board-person")).get(alice.name) == "1"
        assert (await _board(page, "board-owner")).get("Support") == "2"
        await expect(page.locator("svg[role=img]")).to_have_count(3)
        await expect(page.locator("select#period")).to_have_value(QUARTER)
    await check_page(ui, page, "leaders-quarter", phone=True)

    # -- the ideas CSV of that quarter ------------------------------------------
    async with page.expect_download() as info:
        await page.locator("a#export-ideas").click()
    download = await info.value
    assert download.suggested_filename == f"touchpoint-ideas-{QUARTER}.csv"
    saved = ui.artifacts / download.suggested_filename
    await download.save_as(saved)
    text = saved.read_text(encoding="utf-8-sig")
    assert text.startswith("id,title,status"), text[:80]
    rows = list(csv.DictReader(io.StringIO(text)))
    titles = {r["title"]: r for r in rows}
    assert set(titles) == {CREDITED, ANONYMOUS}  # submitted this quarter only
    assert alice.name in text and dan.name not in text  # credited only
    for identity in (alice.email, alice.title, dan.email, dan.title):
        assert identity not in text

    # the pushed address reproduces the view
    await page.reload()
    await expect(page.locator("#leaderboard-heading")).to_have_text(
        f"Shipped ideas, {QUARTER_NAME}"
    )

    # -- a staff member has no Leaders link, and the page answers 403 ----------
    await log_out(page)
    await ui.login(page, dan)
    await expect(page.get_by_role("navigation", name="Main")).not_to_contain_text("Leaders")
    ui.allow_console(r"status of 403")
    await ui.goto(page, "/leaders", status=403)
    await expect(page.get_by_role("heading", level=1)).to_be_visible()
    await check_page(ui, page, "leaders-forbidden-for-staff")
