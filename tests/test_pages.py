"""The staff pages and their HTMX fragments, in process (httpx, no browser):
log-in and log-out, redirects, CSRF, the board, submit, the vote toggle, the
idea page, my ideas, the "Yours" mark, the blind promise and page headers."""

from __future__ import annotations

import html
import re
from urllib.parse import quote

import pytest
from markupsafe import escape

from ideas import clock, reveal, triage
from ideas.board.vote import vote
from ideas.tables import Event, Idea, Vote
from tests.factories import (
    PASSWORD,
    BrowserClient,
    ctx_for,
    idea_payload,
    index_terms_as_the_worker,
    submit,
)

HTMX = {"HX-Request": "true"}


def titles_in(page: str) -> list[str]:
    """Idea titles in the order the page shows them (board cards)."""
    return [
        html.unescape(t)
        for t in re.findall(r'<h2 class="idea-title"[^>]*><a href="/ideas/\d+">([^<]*)</a>', page)
    ]


async def anonymous(app) -> BrowserClient:
    import httpx

    return BrowserClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


# -- log in, log out -------------------------------------------------------------


async def test_login_page_is_a_labelled_form_with_csrf(client):
    r = await client.get("/login")
    assert r.status_code == 200
    assert '<label for="email">Email</label>' in r.text
    assert '<label for="password">Password</label>' in r.text
    assert 'name="_csrf_token"' in r.text
    assert 'autocomplete="current-password"' in r.text
    assert "Log out" not in r.text  # no staff navigation before logging in


async def test_login_lands_on_next_with_a_fresh_http_only_session(app, personas):
    alice = await personas.get("alice_support")
    c = await anonymous(app)
    async with c:
        await c.refresh_csrf()
        r = await c.post(
            "/login",
            data={
                "email": alice.email,
                "password": PASSWORD,
                "next": "/me/ideas",
                "_csrf_token": c.csrf,
            },
        )
        assert r.status_code == 303
        assert r.headers["location"] == "/me/ideas"
        cookie = r.headers["set-cookie"]
        assert "tp_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
        r = await c.get("/me/ideas")
        assert r.status_code == 200
        assert "<h1>My ideas</h1>" in r.text


@pytest.mark.parametrize("case", ["unknown email", "wrong password"])
async def test_login_failure_says_the_same_whatever_was_wrong(app, personas, case):
    alice = await personas.get("alice_support")
    email, password = (
        ("nobody@example.com", PASSWORD)
        if case == "unknown email"
        else (alice.email, "not-the-password-123")
    )
    c = await anonymous(app)
    async with c:
        await c.refresh_csrf()
        r = await c.post(
            "/login", data={"email": email, "password": password, "_csrf_token": c.csrf}
        )
        assert r.status_code == 400
        assert "Wrong email or password, or the account is inactive." in r.text
        assert f'value="{email}"' in r.text  # the email is kept, the password is not
        assert password not in r.text
        assert "tp_session" not in r.cookies
        assert (await c.get("/")).status_code == 303  # still logged out


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example",
        "//evil.example",
        "/\\evil.example",
        "/\t/evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        "evil.example",
    ],
)
async def test_login_next_never_leaves_the_site(app, personas, target):
    alice = await personas.get("alice_support")
    c = await anonymous(app)
    async with c:
        page = await c.get("/login", params={"next": target})
        assert '<input type="hidden" name="next" value="/">' in page.text
        await c.refresh_csrf()
        r = await c.post(
            "/login",
            data={
                "email": alice.email,
                "password": PASSWORD,
                "next": target,
                "_csrf_token": c.csrf,
            },
        )
        assert r.status_code == 303
        assert r.headers["location"] == "/"


async def test_login_next_keeps_a_local_path_and_query(app, personas):
    alice = await personas.get("alice_support")
    c = await anonymous(app)
    async with c:
        await c.refresh_csrf()
        r = await c.post(
            "/login",
            data={
                "email": alice.email,
                "password": PASSWORD,
                "next": "/?sort=new&q=invoice",
                "_csrf_token": c.csrf,
            },
        )
        assert r.headers["location"] == "/?sort=new&q=invoice"


async def test_logout_ends_the_session_for_good(personas):
    alice = await personas.get("alice_support")
    c = await alice.browser()
    session = c.cookies.get("tp_session")
    assert (await c.get("/")).status_code == 200
    r = await c.form("/logout", {})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert (await c.get("/")).status_code == 303
    c.cookies.set("tp_session", session)  # the old cookie is dead server-side too
    r = await c.get("/me/ideas")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


@pytest.mark.parametrize(
    "path", ["/", "/ideas/new", "/me/ideas", "/ideas/1", "/?sort=new&q=po+number"]
)
async def test_pages_send_a_logged_out_visitor_to_login_and_back(client, path):
    r = await client.get(path)
    assert r.status_code == 303
    assert r.headers["location"] == f"/login?next={quote(path, safe='')}"


async def test_htmx_calls_of_a_logged_out_visitor_redirect_the_whole_page(client):
    r = await client.get("/fragments/similar?title=invoice", headers=HTMX)
    assert r.status_code == 401
    assert r.headers["HX-Redirect"].startswith("/login?next=")


# -- CSRF --------------------------------------------------------------------------


async def test_a_form_post_without_csrf_is_refused_and_writes_nothing(personas):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    idea_id = await submit(dan, direct=True)
    c = await alice.browser()
    r = await c.post("/ideas/new", data=idea_payload(title="No token, no idea at all"))
    assert r.status_code == 403
    r = await c.post(f"/ideas/{idea_id}/vote", data={"action": "vote"}, headers=HTMX)
    assert r.status_code == 403
    r = await c.post(
        f"/ideas/{idea_id}/vote", data={"action": "vote", "_csrf_token": "forged"}, headers=HTMX
    )
    assert r.status_code == 403
    assert await Idea.count().run() == 1
    assert await Vote.count().run() == 0
    assert (await c.post("/logout")).status_code == 403
    assert (await c.get("/")).status_code == 200  # still logged in


# -- the board ----------------------------------------------------------------------


async def test_board_sorts_by_votes_or_by_newest(personas):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    erin = await personas.get("erin_it")
    old = await submit(alice, title="Oldest idea with the most votes", direct=True)
    mid = await submit(alice, title="Middle idea with one vote", direct=True)
    await submit(alice, title="Newest idea with no votes", direct=True)
    for p in (dan, erin):
        await vote(ctx_for(p.viewer), int(old))
    await vote(ctx_for(dan.viewer), int(mid))
    c = await erin.browser()
    top = (await c.get("/")).text
    assert titles_in(top) == [
        "Oldest idea with the most votes",
        "Middle idea with one vote",
        "Newest idea with no votes",
    ]
    new = (await c.get("/?sort=new")).text
    assert titles_in(new) == [
        "Newest idea with no votes",
        "Middle idea with one vote",
        "Oldest idea with the most votes",
    ]
    assert '<option value="new" selected>' in new


async def test_board_filters_by_status_touchpoint_and_search(personas):
    alice = await personas.get("alice_support")
    await submit(
        alice, title="Invoices in the customer's language", touchpoint="billing", direct=True
    )
    await submit(
        alice,
        direct=True,
        title="Faster password reset by text",
        problem="Customers wait a day for a password reset e-mail to arrive.",
        proposal="Send the reset code by text message when the customer asks for it.",
        touchpoint="support",
    )
    declined = await submit(
        alice, title="Declined idea about invoices", touchpoint="billing", direct=True
    )
    await Idea.update({Idea.status: "declined"}).where(Idea.id == int(declined)).run()
    c = await alice.browser()
    assert titles_in((await c.get("/?touchpoint=support")).text) == [
        "Faster password reset by text"
    ]
    assert titles_in((await c.get("/?status=declined")).text) == ["Declined idea about invoices"]
    assert sorted(titles_in((await c.get("/?q=INVOICES&status=any")).text)) == [
        "Declined idea about invoices",
        "Invoices in the customer's language",
    ]
    # the board opens on ideas open for votes: the declined one is a filter away
    assert titles_in((await c.get("/?q=INVOICES")).text) == ["Invoices in the customer's language"]
    both = (await c.get("/?q=invoices&status=new&touchpoint=billing")).text
    assert titles_in(both) == ["Invoices in the customer's language"]
    none = await c.get("/?q=nothing+like+this")
    assert titles_in(none.text) == [] and "No ideas match these filters." in none.text


async def test_board_says_what_is_wrong_with_a_bad_filter(personas):
    alice = await personas.get("alice_support")
    c = await alice.browser()
    r = await c.get("/?sort=loudest")
    assert r.status_code == 200
    assert 'class="errors" role="alert"' in r.text and "sort" in r.text


async def test_board_htmx_answers_only_the_list_for_the_list_target(personas):
    alice = await personas.get("alice_support")
    await submit(
        alice, title="Invoices in the customer's language", touchpoint="billing", direct=True
    )
    await submit(alice, title="Faster password reset by text", touchpoint="support", direct=True)
    c = await alice.browser()
    r = await c.htmx_get("/?touchpoint=billing", target="idea-list")
    assert r.status_code == 200
    assert r.text.strip().startswith('<div id="idea-list"')
    assert "<html" not in r.text and "<form" in r.text  # vote forms only
    assert 'class="filters' not in r.text
    assert titles_in(r.text) == ["Invoices in the customer's language"]
    full = await c.htmx_get("/?touchpoint=billing")  # another target: the whole page
    assert "<html" in full.text


async def test_board_pages_with_a_next_page_link(personas):
    alice = await personas.get("alice_support")
    for n in range(27):
        await submit(alice, title=f"Numbered idea number {n:02d}", direct=True)
    c = await alice.browser()
    first = (await c.get("/?sort=new")).text
    assert len(titles_in(first)) == 25
    link = re.search(r'href="(/\?sort=new[^"]*cursor=[^"]+)">Next page</a>', first)
    assert link, "no next page link"
    second = (await c.get(html.unescape(link.group(1)))).text
    assert titles_in(second) == ["Numbered idea number 01", "Numbered idea number 00"]
    assert "Next page" not in second and ">First page</a>" in second


# -- submit -------------------------------------------------------------------------


async def test_submit_form_is_labelled_and_carries_csrf(personas):
    alice = await personas.get("alice_support")
    c = await alice.browser()
    r = await c.get("/ideas/new")
    assert r.status_code == 200
    for name in ("title", "touchpoint", "problem", "proposal"):
        assert f'<label for="{name}">' in r.text
        assert f'id="{name}"' in r.text
    assert 'name="_csrf_token"' in r.text
    assert 'hx-get="/fragments/similar"' in r.text


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("title", "short", "The title needs at least 8 characters."),
        ("title", "x" * 141, "The title can have at most 140 characters."),
        ("problem", "too short", "The problem needs at least 20 characters."),
        ("proposal", "p" * 5001, "The proposal can have at most 5000 characters."),
        ("touchpoint", "website", "Choose one of the options for the touchpoint."),
    ],
)
async def test_submit_names_the_bad_field_next_to_it_and_writes_nothing(
    personas, field, value, message
):
    alice = await personas.get("alice_support")
    c = await alice.browser()
    r = await c.form("/ideas/new", idea_payload(**{field: value}))
    assert r.status_code == 422
    assert f'<p class="field-error" id="{field}-error">{message}</p>' in r.text
    assert r.text.count('class="field-error"') == 1
    control = re.search(rf'<(input|select|textarea) id="{field}"[^>]*>', r.text).group(0)
    assert 'aria-invalid="true"' in control
    assert f"{field}-error" in re.search(r'aria-describedby="([^"]*)"', control).group(1)
    # the error sits in the field's own block, right after the control
    block = r.text.split(f'id="{field}"', 1)[1].split('<div class="field">', 1)[0]
    assert f'id="{field}-error"' in block
    assert await Idea.count().run() == 0


async def test_submit_with_everything_missing_names_every_field(personas):
    alice = await personas.get("alice_support")
    c = await alice.browser()
    r = await c.form("/ideas/new", {})
    assert r.status_code == 422
    for field in ("title", "touchpoint", "problem", "proposal"):
        assert f'id="{field}-error"' in r.text
        assert f'<a href="#{field}">' in r.text  # the summary links to the field
    assert await Idea.count().run() == 0


async def test_submit_keeps_what_was_typed_escaped(personas):
    alice = await personas.get("alice_support")
    c = await alice.browser()
    r = await c.form("/ideas/new", idea_payload(title="<b>", problem='"><script>alert(1)</script>'))
    assert r.status_code == 422
    assert "<script>alert(1)</script>" not in r.text and "<b>" not in r.text
    assert 'value="&lt;b&gt;"' in r.text
    assert "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</textarea>" in r.text


async def test_submit_success_goes_to_the_new_idea(personas):
    alice = await personas.get("alice_support")
    c = await alice.browser()
    r = await c.form("/ideas/new", idea_payload())
    assert r.status_code == 303
    location = r.headers["location"]
    assert re.fullmatch(r"/ideas/\d+", location)
    page = await c.get(location)
    assert page.status_code == 200
    assert f'<h1 id="idea-{location.rsplit("/", 1)[1]}-title">' in page.text
    assert str(escape(idea_payload()["title"])) in page.text
    assert "Yours" in page.text
    assert await Idea.count().run() == 1


async def test_similar_fragment_offers_a_vote_for_each_twin(personas):
    dan = await personas.get("dan_sales")
    alice = await personas.get("alice_support")
    twin = await submit(dan, direct=True)
    await index_terms_as_the_worker()  # its similar-search terms (ideas.term_index)
    c = await alice.browser()
    r = await c.htmx_get("/fragments/similar?title=PO+number+on+invoices", target="similar")
    assert r.status_code == 200
    assert r.text.strip().startswith('<div id="similar"')
    assert "<html" not in r.text
    assert f'href="/ideas/{twin}"' in r.text
    assert f'hx-post="/ideas/{twin}/vote"' in r.text
    short = await c.htmx_get("/fragments/similar?title=PO", target="similar")
    assert "<li" not in short.text


# -- the vote toggle -------------------------------------------------------------------


async def test_vote_toggle_answers_the_button_to_htmx(personas):
    dan = await personas.get("dan_sales")
    alice = await personas.get("alice_support")
    idea_id = await submit(dan, direct=True)
    c = await alice.browser()
    r = await c.form(f"/ideas/{idea_id}/vote", {"action": "vote"}, htmx=True)
    assert r.status_code == 200
    assert r.text.strip().startswith('<form class="vote-form"')
    assert "<html" not in r.text
    assert 'aria-pressed="true"' in r.text
    assert '<span class="vote-count">1</span>' in r.text
    assert 'name="action" value="unvote"' in r.text
    assert 'name="_csrf_token"' in r.text  # the swapped-in form still works without JS
    r = await c.form(f"/ideas/{idea_id}/vote", {"action": "unvote"}, htmx=True)
    assert 'aria-pressed="false"' in r.text
    assert '<span class="vote-count">0</span>' in r.text
    assert await Vote.count().run() == 0


async def test_vote_twice_counts_once(personas):
    dan = await personas.get("dan_sales")
    alice = await personas.get("alice_support")
    idea_id = await submit(dan, direct=True)
    c = await alice.browser()
    for _ in range(2):
        r = await c.form(f"/ideas/{idea_id}/vote", {"action": "vote"}, htmx=True)
    assert '<span class="vote-count">1</span>' in r.text
    assert await Vote.count().run() == 1


@pytest.mark.parametrize(
    ("back", "expected"),
    [
        ("/?sort=new#idea-{id}", "/?sort=new#idea-{id}"),
        (None, "/ideas/{id}"),
        ("https://evil.example/", "/"),
        ("//evil.example", "/"),
    ],
)
async def test_vote_without_javascript_goes_back_to_a_local_page(personas, back, expected):
    dan = await personas.get("dan_sales")
    alice = await personas.get("alice_support")
    idea_id = await submit(dan, direct=True)
    c = await alice.browser()
    data = {"action": "vote"}
    if back:
        data["back"] = back.format(id=idea_id)
    r = await c.form(f"/ideas/{idea_id}/vote", data)
    assert r.status_code == 303
    assert r.headers["location"] == expected.format(id=idea_id)
    page = await c.get(f"/ideas/{idea_id}")
    assert 'aria-pressed="true"' in page.text


async def test_board_vote_form_returns_to_the_same_board_view(personas):
    dan = await personas.get("dan_sales")
    alice = await personas.get("alice_support")
    idea_id = await submit(dan, direct=True)
    c = await alice.browser()
    r = await c.get("/?sort=new&touchpoint=billing")
    assert f'name="back" value="/?sort=new&amp;touchpoint=billing#idea-{idea_id}"' in r.text


async def test_closed_ideas_show_a_disabled_button_and_refuse_votes(personas):
    dan = await personas.get("dan_sales")
    alice = await personas.get("alice_support")
    idea_id = await submit(dan, direct=True)
    await Idea.update({Idea.status: "declined"}).where(Idea.id == int(idea_id)).run()
    c = await alice.browser()
    page = await c.get(f"/ideas/{idea_id}")
    button = re.search(rf'<button[^>]*id="vote-{idea_id}"[^>]*>', page.text).group(0)
    assert "disabled" in button
    r = await c.form(f"/ideas/{idea_id}/vote", {"action": "vote"}, htmx=True)
    assert r.status_code == 409
    assert "take no votes" in r.text
    assert await Vote.count().run() == 0


async def test_vote_on_an_unknown_idea_is_404(personas):
    alice = await personas.get("alice_support")
    c = await alice.browser()
    assert (await c.form("/ideas/999/vote", {"action": "vote"}, htmx=True)).status_code == 404
    assert (await c.form("/ideas/nope/vote", {"action": "vote"}, htmx=True)).status_code == 404


# -- the idea page and my ideas -----------------------------------------------------------


async def test_idea_page_shows_the_idea_and_its_public_timeline(personas):
    dan = await personas.get("dan_sales")
    bob = await personas.get("bob_finance_council")
    alice = await personas.get("alice_support")
    adam = await personas.get("adam_admin")
    idea_id = int(await submit(dan, direct=True))
    # through the council's real services: on the agenda (in review), then a question
    members = [
        bob,
        await personas.get("cora_hr_council"),
        await personas.get("pat_product_council"),
    ]
    session = await triage.open_session(ctx_for(bob.viewer), clock.today(), [m.id for m in members])
    for member in members[1:]:
        await triage.attend(ctx_for(member.viewer), session.id)
    await triage.decide(
        ctx_for(bob.viewer),
        idea_id,
        triage.DecisionIn(
            session_id=session.id,
            outcome="needs_info",
            question="Which customers asked for it?",
            note="Which customers asked for <this>?",
        ),
    )
    # a non-public event (a reveal) stays off the timeline
    await reveal.reveal_submitter(
        ctx_for(adam.viewer), idea_id, "SECRET check of a reported account"
    )
    c = await alice.browser()
    r = await c.get(f"/ideas/{idea_id}")
    assert r.status_code == 200
    text = r.text
    assert str(escape(idea_payload()["title"])) in text
    assert "Accounting departments bounce our invoices" in text
    timeline = text.split('id="timeline-heading"', 1)[1]
    assert timeline.count("<li>") == 2
    assert "In review" in timeline or "in review" in timeline.lower()
    assert "by CX council" in timeline
    assert "Which customers asked for &lt;this&gt;?" in timeline
    assert "SECRET" not in text
    assert bob.name not in text and bob.email not in text
    assert not re.search(r"\d{2}:\d{2}", timeline), "times are shown to the day only"
    for slot in ("question", "actions", "credit", "comments"):
        assert f'hx-get="/fragments/ideas/{idea_id}/{slot}"' in text


async def test_idea_page_for_an_unknown_idea_is_a_404_page(personas):
    alice = await personas.get("alice_support")
    c = await alice.browser()
    for path in ("/ideas/999", "/ideas/abc"):
        r = await c.get(path)
        assert r.status_code == 404
        assert "Not found" in r.text and "Back to the board" in r.text


async def test_my_ideas_lists_only_the_callers_ideas_with_their_timeline(personas):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    mine = int(await submit(alice, title="Alice's own idea about invoices", direct=True))
    await submit(dan, title="Dan's idea about invoices", direct=True)
    await Idea.update({Idea.status: "in_review"}).where(Idea.id == mine).run()
    await Event.insert(
        Event(idea=mine, kind="status", status="in_review", actor_label="CX council")
    ).run()
    c = await alice.browser()
    r = await c.get("/me/ideas")
    assert r.status_code == 200
    assert "Alice&#39;s own idea about invoices" in r.text
    assert "Dan&#39;s idea" not in r.text
    section = r.text.split(f'id="my-idea-{mine}"', 1)[1]
    assert "by CX council" in section
    d = await dan.browser()
    assert "Alice&#39;s own idea" not in (await d.get("/me/ideas")).text


async def test_my_ideas_when_there_are_none(personas):
    alice = await personas.get("alice_support")
    c = await alice.browser()
    r = await c.get("/me/ideas")
    assert "You have not submitted an idea yet." in r.text


# -- "Yours" and the blind promise ---------------------------------------------------------


async def test_the_yours_mark_shows_only_to_the_submitter(personas):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    idea_id = await submit(alice, direct=True)
    a = await alice.browser()
    d = await dan.browser()
    for path in ("/", f"/ideas/{idea_id}", "/fragments/similar?title=PO+number+invoice"):
        assert ">Yours</span>" in (await a.get(path)).text or path.startswith("/fragments")
        assert ">Yours</span>" not in (await d.get(path)).text, path
    assert f'id="idea-{idea_id}"' in (await d.get("/")).text


async def test_no_page_names_the_submitter_to_another_staff_member(personas):
    submitter = await personas.make(
        "quinn_quality",
        "Quinn Quarrington",
        "Head of Quality Assurance",
        "Quality Guild",
        email="quinn.quarrington@example.com",
    )
    bob = await personas.get("bob_finance_council")
    alice = await personas.get("alice_support")
    idea_id = int(await submit(submitter, direct=True))
    await Event.insert(
        Event(
            idea=idea_id,
            kind="status",
            status="in_review",
            actor_label="CX council",
            actor=bob.viewer.id,
        )
    ).run()
    secrets = [*submitter.identity_strings(), "Quality Guild", "Quarrington", "quinn"]
    for viewer in (alice, bob):
        c = await viewer.browser()
        pages = [
            await c.get("/"),
            await c.htmx_get("/", target="idea-list"),
            await c.get("/?q=invoice"),
            await c.get(f"/ideas/{idea_id}"),
            await c.get("/me/ideas"),
            await c.htmx_get("/fragments/similar?title=PO+number+on+invoices", target="similar"),
            await c.form(f"/ideas/{idea_id}/vote", {"action": "vote"}, htmx=True),
        ]
        for r in pages:
            assert r.status_code == 200, (r.request.url, r.status_code)
            shown = r.text.lower()
            for secret in secrets:
                assert secret.lower() not in shown, (viewer.key, str(r.request.url), secret)


# -- headers -------------------------------------------------------------------------------


async def test_pages_are_private_and_carry_the_csp(personas, client):
    alice = await personas.get("alice_support")
    idea_id = await submit(alice, direct=True)
    c = await alice.browser()
    answers = [
        await client.get("/login"),
        await c.get("/"),
        await c.htmx_get("/", target="idea-list"),
        await c.get("/ideas/new"),
        await c.get(f"/ideas/{idea_id}"),
        await c.get("/me/ideas"),
        await c.htmx_get("/fragments/similar?title=invoice"),
        await c.form(f"/ideas/{idea_id}/vote", {"action": "vote"}, htmx=True),
        await c.form("/ideas/new", {}),
        await c.get("/ideas/999"),
    ]
    for r in answers:
        where = f"{r.request.method} {r.request.url.path}"
        assert r.headers.get("cache-control") == "private, no-store", where
        csp = r.headers.get("content-security-policy", "")
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, where
        assert "unsafe-inline" not in csp, where
        assert r.headers.get("x-content-type-options") == "nosniff", where


async def test_pages_have_no_inline_script_or_style(personas):
    alice = await personas.get("alice_support")
    idea_id = await submit(alice, direct=True)
    c = await alice.browser()
    for path in ("/", "/ideas/new", f"/ideas/{idea_id}", "/me/ideas", "/login"):
        text = (await c.get(path)).text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), path
        assert "<style" not in text and " style=" not in text, path
        assert not re.search(r"\son[a-z]+=", text), path
        assert "hx-on" not in text, path


async def test_an_expired_form_says_so_in_plain_words(personas):
    alice = await personas.get("alice_support")
    c = await alice.browser()
    r = await c.post("/ideas/new", data={**idea_payload(), "_csrf_token": "stale"})
    assert r.status_code == 403
    assert "This form expired" in r.text and "Nothing was saved." in r.text
    assert "CSRF" not in r.text


async def test_the_board_list_fragment_tells_screen_readers_what_it_shows(personas):
    alice = await personas.get("alice_support")
    await submit(alice, title="Invoices in the customer's language", direct=True)
    c = await alice.browser()
    page = (await c.get("/")).text
    assert '<p id="list-status" class="sr-only" role="status"></p>' in page
    r = await c.htmx_get("/?q=invoices", target="idea-list")
    assert 'id="list-status"' in r.text and 'hx-swap-oob="true"' in r.text
    assert "Showing 1 idea." in r.text
    r = await c.htmx_get("/?q=nothing+at+all", target="idea-list")
    assert "No ideas match." in r.text


def test_a_leaderboard_table_shows_the_first_25_and_counts_the_rest():
    """At scale thousands of people hold a credit: the page shows 25 per
    table and says how many more the CSV holds (the API returns them all)."""
    from web.app import create_app

    template = create_app().template_engine.get_template("_leaders_table.html")

    def rows(n: int) -> str:
        entries = [
            {"rank": k + 1, "name": f"Person {k + 1}", "shipped": 100 - k, "kind": "person"}
            for k in range(n)
        ]
        return template.render(table_id="t", caption="c", entries=entries, empty="none")

    many = rows(30)
    assert many.count('<td class="num">') == 2 * 25
    assert "Person 25<" in many and "Person 26<" not in many
    assert "and 5 more, every one of them in the leaderboard CSV" in many
    exact = rows(25)
    assert "Person 25<" in exact and "more, every one" not in exact
    assert "none" in rows(0)
