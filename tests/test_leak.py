"""THE LEAK TEST: the blind promise, checked by crawling everything.

Two submitter personas with identity strings found nowhere else — Zebulon
Quartermaine, "Chief Llama Whisperer" in "Xylophone Logistics", and Ottoline
Vexworth, "Principal Origami Auditor" in "Quokka Provisioning" (departments
nobody else is in) — submit ideas that go through every triage path: merged
(both ways: their idea into another, and another into theirs, which makes
them co-submitters), declined, accepted with an action, asked a question and
answered, left waiting, commented on by themselves, the council and others;
they vote on others' ideas; an admin reveals one submitter (audited); the
notices of every event are delivered when the notification module exists.

Then, as a council member, a leader, an admin and another staff member, the
crawler in `tests/leakcrawl.py` walks every HTML page and fragment reachable
by links and `hx-get` from `/`, and calls every GET route of the OpenAPI
document with the real ids of these ideas and sessions. The assertion is the
promise of docs/product.md, made precise:

- a submitter's name, email, job title and user id appear in no answer at
  all, except in declared directories of people (`leakcrawl.DIRECTORY_PATHS`,
  e.g. the admin's people list, and `data-directory` elements such as
  an attendee picker), which themselves must carry no idea;
- a submitter's department name appears only in answers that carry no idea
  (department lists, directories, aggregate figures): department names are
  legitimately shown where people are listed, so it is the co-occurrence
  with an idea that would be a leak — and since nobody else is in these
  departments, any appearance next to an idea points at the submitter.

`test_the_crawler_catches_a_planted_leak` and the crawler's own tests show
that each rule fires when broken.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
import pytest

from ideas import blind, clock
from ideas.integrations import slack, teams, webhooks
from ideas.org_settings import set_setting
from ideas.tables import WebhookDelivery
from tests.factories import confirm_attendance, ctx_for, index_terms_as_the_worker, submit
from tests.leakcrawl import Identity, LeakCrawler

ZEBULON = ("Zebulon Quartermaine", "Chief Llama Whisperer", "Xylophone Logistics")
OTTOLINE = ("Ottoline Vexworth", "Principal Origami Auditor", "Quokka Provisioning")

CRAWLERS = ("bob_finance_council", "carol_leader", "adam_admin", "alice_support")
PROBES = ("invoice", "subscription")


#: an action's due date a month ahead, whatever day the tests run


def identity(persona) -> Identity:
    return Identity(
        label=persona.name,
        name=persona.name,
        email=persona.email,
        title=persona.title,
        user_id=persona.id,
        department=persona.department,
    )


async def make_submitters(personas):
    zeb = await personas.make("zebulon", *ZEBULON, email="zebulon.quartermaine@example.com")
    otto = await personas.make("ottoline", *OTTOLINE, email="ottoline.vexworth@example.com")
    return zeb, otto


async def ok(response: httpx.Response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


async def build_world(personas) -> dict:
    """Ideas by the two personas through every path; returns ids and titles."""
    zeb, otto = await make_submitters(personas)
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    bob = await personas.get("bob_finance_council")
    cora = await personas.get("cora_hr_council")
    pat = await personas.get("pat_product_council")
    await personas.get("carol_leader")
    adam = await personas.get("adam_admin")

    titles = {
        "z_accepted": "Let customers pause a subscription for a month",
        "z_merged": "Show delivery windows on the order page",
        "z_declined": "Send invoices in the customer's own language",
        "z_answered": "Offer a callback instead of hold music",
        "z_waiting": "Add a status page link to every outage email",
        "z_new": "Remember the last payment method at checkout",
        "o_merged": "Merge the two onboarding emails into one",
        "o_asked": "Let support see the last three orders at a glance",
        "a_target": "Show expected delivery dates before payment",
    }
    # a webhook, a Slack channel and a Teams channel that want every event
    hook = await webhooks.create_endpoint(
        ctx_for(adam.viewer), "https://hooks.example.com/touchpoint", list(webhooks.EVENTS)
    )
    await webhooks.create_endpoint(ctx_for(adam.viewer), "C0CXIDEAS", [], "slack")
    await webhooks.create_endpoint(
        ctx_for(adam.viewer), "https://example.com/workflows/cx", [], "teams"
    )
    authors = {"z": zeb, "o": otto, "a": alice}
    ids: dict[str, str] = {}
    for key, title in titles.items():
        if key == "z_new":
            continue
        ids[key] = await submit(authors[key[0]], title, distinct=True)
    for voter, key in ((zeb, "o_asked"), (zeb, "a_target"), (dan, "z_merged"), (alice, "z_merged")):
        await ok(await voter.api().put(f"/api/v1/ideas/{ids[key]}/vote"))
    await ok(await otto.api().put(f"/api/v1/ideas/{ids['z_accepted']}/vote"))
    await ok(await dan.api().put(f"/api/v1/ideas/{ids['z_declined']}/vote"))

    session = await ok(
        await bob.api().post(
            "/api/v1/triage/sessions",
            json={"held_on": "2026-11-23", "attendee_ids": [bob.id, cora.id, pat.id]},
        ),
        201,
    )
    sid = session["id"]
    await confirm_attendance(sid, cora, pat)
    product = next(
        d
        for d in (await bob.api().get("/api/v1/departments")).json()["items"]
        if d["name"] == "Product"
    )

    async def decide(key: str, outcome: str, **fields) -> None:
        body = {"session_id": sid, "outcome": outcome, **fields}
        await ok(await bob.api().post(f"/api/v1/ideas/{ids[key]}/decision", json=body))

    await decide("z_merged", "duplicate", duplicate_of=ids["a_target"])
    await decide("o_merged", "duplicate", duplicate_of=ids["z_accepted"])
    await decide("z_declined", "decline", note="We cannot translate legal invoice text yet.")
    await decide("z_accepted", "accept", owning_department_id=product["id"])
    await decide("z_answered", "needs_info", question="How long do callers wait today?")
    await decide("o_asked", "needs_info", question="Which orders matter most to agents?")
    await ok(
        await zeb.api().post(
            f"/api/v1/ideas/{ids['z_answered']}/answer",
            json={"answer": "About twelve minutes at peak, per the phone reports."},
        )
    )
    ids["z_new"] = await submit(zeb, titles["z_new"], distinct=True, touchpoint="purchase")

    comments = [
        (zeb, "z_accepted", {"body": "Happy to share the churn numbers I have."}),
        (bob, "z_accepted", {"body": "Thanks, the council will follow up.", "as_council": True}),
        (alice, "z_accepted", {"body": "Support hears this request every week."}),
        (otto, "o_asked", {"body": "Agents asked for this in the last survey."}),
        (pat, "z_answered", {"body": "Twelve minutes is long; worth a pilot."}),
        (zeb, "a_target", {"body": "This would help with my old idea too."}),
    ]
    for author, key, body in comments:
        await ok(await author.api().post(f"/api/v1/ideas/{ids[key]}/comments", json=body), 201)

    action = await bob.api().post(
        f"/api/v1/ideas/{ids['z_accepted']}/actions",
        json={
            "title": "Design the pause screen",
            "owner_id": alice.id,
            "due_on": (clock.today() + dt.timedelta(days=30)).isoformat(),
        },
    )
    assert action.status_code == 201, action.text

    reveal = await (await adam.browser()).form(
        f"/admin/ideas/{ids['o_merged']}/reveal",
        {"reason": "Reported as spam by two colleagues; checking the account."},
    )
    assert reveal.status_code == 200 and otto.name in reveal.text

    await deliver_all_events()
    return {
        "ids": ids,
        "titles": titles,
        "session_id": sid,
        "zeb": zeb,
        "otto": otto,
        "webhook": hook.id,
    }


async def deliver_all_events() -> None:
    """Create the in-app notices and the webhook and channel deliveries of
    every event, so inboxes and delivery logs are crawled too."""
    from ideas.notify import fanout
    from ideas.tables import Event

    for row in await Event.select(Event.id).order_by(Event.id).run():
        await webhooks.plan_event(row["id"])
        await fanout.deliver_event(row["id"])


def crawler_for(world: dict) -> LeakCrawler:
    return LeakCrawler(
        [identity(world["zeb"]), identity(world["otto"])],
        idea_ids=world["ids"].values(),
        idea_titles=world["titles"].values(),
        probes=PROBES,
    )


async def crawl_as(crawler: LeakCrawler, personas, key: str, world: dict) -> None:
    persona = await personas.get(key)
    browser = await persona.browser()
    await crawler.crawl_html(key, browser, "/")
    await crawler.crawl_api(
        key,
        persona.api(),
        {
            "idea_id": list(world["ids"].values()),
            "session_id": [world["session_id"]],
            **({"webhook_id": [world["webhook"]]} if "webhook" in world else {}),
        },
    )


async def test_no_page_fragment_or_api_answer_names_a_submitter(personas):
    world = await build_world(personas)
    await set_setting("triage_sla_days", 1)  # so SLA flags and reminders show too
    crawler = crawler_for(world)
    for key in CRAWLERS:
        await crawl_as(crawler, personas, key, world)

    assert not crawler.findings, "the blind promise leaks:\n" + crawler.report()
    assert not crawler.failures, "\n".join(crawler.failures[:30])
    unreached = crawler.unreached_routes()
    assert not unreached, (
        "these GET routes never answered 2xx in the leak crawl; give the crawler real ids "
        f"for them (crawl_as) or seed the data they need (build_world): {unreached}"
    )

    # it really went everywhere that carries these ideas
    ok_paths = {v.url.split("?")[0] for v in crawler.visits if v.status == 200}
    ids = world["ids"]
    expected = {
        "/",
        "/roadmap",
        "/me",  # the profile page: the caller's own name, department and title only
        "/api/v1/me/tokens",
        "/me/ideas",
        "/triage",
        "/triage/sessions",
        f"/triage/sessions/{world['session_id']}",
        f"/api/v1/triage/sessions/{world['session_id']}",
        "/api/v1/triage/queue",
        "/api/v1/ideas",
    }
    for key in ("z_accepted", "z_merged", "z_declined", "z_answered", "o_asked", "a_target"):
        expected |= {
            f"/ideas/{ids[key]}",
            f"/fragments/ideas/{ids[key]}/comments",
            f"/fragments/ideas/{ids[key]}/question",
            f"/api/v1/ideas/{ids[key]}",
            f"/api/v1/ideas/{ids[key]}/comments",
            f"/api/v1/ideas/{ids[key]}/events",
        }
    assert expected <= ok_paths, sorted(expected - ok_paths)
    carrying = [v for v in crawler.visits if v.carries_idea and v.status == 200]
    assert len(carrying) > 100

    # nor can anyone find a submitter's ideas by searching for them
    alice = await personas.get("alice_support")
    for word in ("Zebulon", "Quartermaine", "Llama", "Xylophone", "Vexworth"):
        found = (await alice.api().get("/api/v1/ideas", params={"q": word})).json()
        assert found["items"] == [], word


async def test_no_webhook_payload_or_channel_message_names_a_submitter(personas):
    """Every webhook payload, Slack post, Teams card and link unfurl is checked
    as the crawler checks a page: what a channel's least-privileged reader sees."""
    world = await build_world(personas)
    later = clock.now() + dt.timedelta(hours=2)
    await webhooks.release_batched(later)
    await webhooks.plan_summary(later + dt.timedelta(days=7))
    crawler = crawler_for(world)
    rows = await WebhookDelivery.select(
        WebhookDelivery.event,
        WebhookDelivery.payload,
        WebhookDelivery.endpoint.kind.as_alias("kind"),
    ).run()
    seen = set()
    for row in rows:
        envelope = json.loads(row["payload"])
        seen.add((row["kind"], row["event"]))
        url = f"http://testserver/{row['kind']}/{row['event']}"
        if row["kind"] == "webhook":
            message: Any = envelope
        elif row["kind"] == "slack":
            message = slack.message_for(envelope)
        else:
            message = teams.message_for(envelope)
        crawler.check("channel", url, row["kind"], httpx.Response(200, json=message))
    ideas = await webhooks.staff_ideas([int(i) for i in world["ids"].values()])
    for idea_id, idea in ideas.items():
        blocks = slack.unfurl_blocks(idea)
        url = f"http://testserver/unfurl/ideas/{idea_id}"
        crawler.check("channel", url, "unfurl", httpx.Response(200, json=blocks))
    for event in ("idea.submitted", "idea.status_changed", "idea.merged", "comment.created"):
        assert ("webhook", event) in seen, event
    assert {("slack", "summary.weekly"), ("teams", "summary.weekly")} <= seen
    assert sum(v.carries_idea for v in crawler.visits) > 20
    assert not crawler.findings, "a channel message leaks:\n" + crawler.report()


async def test_the_crawler_catches_a_planted_leak(personas, monkeypatch):
    """Plant the kind of bug the crawl exists for — the projection of a card
    appending the submitter's title, and a template filter printing their
    email and department next to every date — and watch it get reported."""
    zeb, otto = await make_submitters(personas)
    idea = await submit(zeb, "Let customers pause a subscription for a month", distinct=True)
    await index_terms_as_the_worker()  # its similar-search terms (ideas.term_index)
    alice = await personas.get("alice_support")

    real_card = blind._card

    def leaky_card(*args, **kwargs):
        card = real_card(*args, **kwargs)
        return card.model_copy(update={"title": f"{card.title} ({zeb.title})"})

    monkeypatch.setattr(blind, "_card", leaky_card)
    app = alice.app
    env = app.template_engine.engine
    real_day = env.filters["day"]
    monkeypatch.setitem(
        env.filters, "day", lambda v: f"{real_day(v)} · {zeb.email} · {zeb.department}"
    )

    world = {
        "ids": {"z": idea},
        "titles": {"z": "Let customers pause a subscription for a month"},
        "session_id": "0",
        "zeb": zeb,
        "otto": otto,
    }
    crawler = crawler_for(world)
    await crawl_as(crawler, personas, "alice_support", world)
    caught = {(f.url.split("?")[0], f.what) for f in crawler.findings}
    assert ("/api/v1/ideas", "title") in caught  # the JSON list
    assert ("/", "title") in caught  # the board
    assert ("/fragments/similar", "title") in caught  # an hx-get probed with a text
    assert (f"/ideas/{idea}", "email") in caught and (f"/ideas/{idea}", "department") in caught
    assert all(f.identity == zeb.name for f in crawler.findings)
    assert "Chief Llama Whisperer" in crawler.report()


# -- the crawler's own rules, on a tiny site ------------------------------------------------

PERSON = Identity(
    label="Zed",
    name="Zed Zebra",
    email="zed@example.com",
    title="Head of Stripes",
    user_id="7f1c0000-0000-0000-0000-000000000001",
    department="Savanna Dept",
)
IDEA_TITLE = "Paint the stripes blue"


def tiny_site(pages: dict[str, str]) -> httpx.AsyncClient:
    def handler(request: httpx.Request) -> httpx.Response:
        body = pages.get(request.url.path)
        if body is None:
            return httpx.Response(404, text="not found")
        kind = "application/json" if body.startswith("{") else "text/html; charset=utf-8"
        return httpx.Response(200, text=body, headers={"content-type": kind})

    return httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://testserver")


async def crawl_tiny(pages: dict[str, str]) -> LeakCrawler:
    crawler = LeakCrawler(
        [PERSON], idea_ids=["7"], idea_titles=[IDEA_TITLE], directory_paths=("/people",)
    )
    async with tiny_site(pages) as client:
        await crawler.crawl_html("tester", client, "/")
    return crawler


@pytest.mark.parametrize(
    ("pages", "expected"),
    [
        # a name in a fragment loaded by hx-get from a linked page
        (
            {
                "/": '<a href="/ideas/7">idea</a>',
                "/ideas/7": f'<h1>{IDEA_TITLE}</h1><div hx-get="/frag/7" hx-trigger="load"></div>',
                "/frag/7": "<p>by ZED ZEBRA</p>",
            },
            {("/frag/7", "name")},
        ),
        # an email in an attribute, entity-encoded, and a URL-escaped user id
        (
            {
                "/": f'<p data-x="zed&#64;example.com">{IDEA_TITLE}</p>'
                '<a href="/x?u=7f1c0000%2D0000-0000-0000-000000000001">x</a>',
                "/x": "<p>nothing</p>",
            },
            {("/", "email"), ("/", "user id")},
        ),
        # the department next to an idea is a leak; without one it is not
        (
            {
                "/": f'<p>{IDEA_TITLE}, from Savanna Dept</p><a href="/departments">d</a>',
                "/departments": "<ul><li>Savanna Dept</li></ul>",
            },
            {("/", "department")},
        ),
        # directories name people, on their own paths or in marked elements
        (
            {
                "/": f"<h1>{IDEA_TITLE}</h1><ul data-directory><li>Zed Zebra "
                "<b>Savanna Dept</b></li></ul><p>after</p>"
                '<a href="/people">people</a>',
                "/people": "<table><tr><td>Zed Zebra</td><td>Head of Stripes</td></tr></table>",
            },
            set(),
        ),
        # but not past the end of the marked element
        (
            {
                "/": f"<h1>{IDEA_TITLE}</h1><ul data-directory><li>x</li></ul><p>Zed Zebra</p>",
            },
            {("/", "name")},
        ),
        # a JSON answer, found through a link
        (
            {
                "/": '<a href="/api/v1/thing">api</a>',
                "/api/v1/thing": '{"idea_id": "7", "text": "Head of Stripes liked it"}',
            },
            {("/api/v1/thing", "title")},
        ),
    ],
)
async def test_crawler_rules(pages, expected):
    crawler = await crawl_tiny(pages)
    assert {(f.url, f.what) for f in crawler.findings} == expected


async def test_crawler_flags_a_directory_that_carries_an_idea():
    crawler = await crawl_tiny(
        {"/": '<a href="/people">p</a>', "/people": f"<p>Zed Zebra likes {IDEA_TITLE}</p>"}
    )
    assert {(f.url, f.what) for f in crawler.findings} == {("/people", "name")}
    assert crawler.failures == ["[tester] /people: a directory of people carries an idea"]


async def test_crawler_follows_get_forms_and_skips_logout_and_static():
    crawler = await crawl_tiny(
        {
            "/": '<form method="get" action="/search"><select name="sort">'
            '<option value="a">A</option><option value="b">B</option></select></form>'
            '<a href="/logout">out</a><a href="/static/app.css">css</a>'
            '<form method="post" action="/vote"><input name="q"></form>',
            "/search": "<p>ok</p>",
        }
    )
    visited = {v.url for v in crawler.visits}
    assert {"/", "/search", "/search?sort=a", "/search?sort=b"} <= visited
    assert not any(u.startswith(("/logout", "/static", "/vote")) for u in visited)
