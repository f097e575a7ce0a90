"""Comments on ideas: every staff member may comment; the submitter shows as
"Submitter", the council as "CX council", others by name; bodies are
sanitised Markdown."""

from __future__ import annotations

from tests.factories import confirm_attendance, submit


async def test_comment_authors_are_shown_by_the_blind_rules(personas):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    bob = await personas.get("bob_finance_council")
    idea = await submit(alice)
    url = f"/api/v1/ideas/{idea}/comments"

    r = await alice.api().post(url, json={"body": "Happy to give more detail."})
    assert r.status_code == 201
    assert r.json()["author"] == "Submitter"
    assert set(r.json()) == {
        "id",
        "at",
        "author",
        "body",
        "edited",
        "deleted",
        "mine",
        "editable",
        "visible_from",
    }
    assert (
        await dan.api().post(url, json={"body": "Our customers hit this too."})
    ).status_code == 201
    r = await bob.api().post(url, json={"body": "We will look at it.", "as_council": True})
    assert r.status_code == 201 and r.json()["author"] == "CX council"
    r = await bob.api().post(url, json={"body": "Personally, I like it."})
    assert r.json()["author"] == bob.name

    body = (await dan.api().get(url)).json()
    assert body["next_cursor"] is None
    assert [(c["author"], c["body"]) for c in body["items"]] == [
        ("Submitter", "Happy to give more detail."),
        (dan.name, "Our customers hit this too."),
        ("CX council", "We will look at it."),
        (bob.name, "Personally, I like it."),
    ]
    assert alice.name not in str(body) and alice.email not in str(body)

    # only council members may speak for the council
    r = await dan.api().post(url, json={"body": "Sneaky", "as_council": True})
    assert r.status_code == 403


async def test_a_co_submitter_after_a_merge_comments_as_co_submitter(personas):
    """A merge gives credit and notices, never the voice of the target's
    submitter: "Submitter" stays the person who wrote the idea; the
    co-submitter shows as "Co-submitter", never by name."""
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    members = [
        await personas.get(k)
        for k in ("bob_finance_council", "cora_hr_council", "pat_product_council")
    ]
    target = await submit(alice)
    dup = await submit(dan)
    bob = members[0]
    session = await bob.api().post(
        "/api/v1/triage/sessions",
        json={"held_on": "2026-11-23", "attendee_ids": [m.id for m in members]},
    )
    await confirm_attendance(session.json()["id"], *members)
    r = await bob.api().post(
        f"/api/v1/ideas/{dup}/decision",
        json={"session_id": session.json()["id"], "outcome": "duplicate", "duplicate_of": target},
    )
    assert r.status_code == 200
    r = await dan.api().post(f"/api/v1/ideas/{target}/comments", json={"body": "Same as mine!"})
    assert r.json()["author"] == "Co-submitter"
    r = await alice.api().post(f"/api/v1/ideas/{target}/comments", json={"body": "Thanks!"})
    assert r.json()["author"] == "Submitter"
    fragment = await (await dan.browser()).htmx_get(f"/fragments/ideas/{target}/comments")
    assert "your comment shows as “Submitter”" not in fragment.text
    assert "your comment shows as “Co-submitter”" in fragment.text
    assert dan.name not in fragment.text


async def test_comment_validation_and_unknown_ideas(personas):
    alice = await personas.get("alice_support")
    api = alice.api()
    idea = await submit(alice)
    for body in ("", "   ", "x" * 5001):
        r = await api.post(f"/api/v1/ideas/{idea}/comments", json={"body": body})
        assert r.status_code == 400 and "body" in r.json()["detail"]
    assert (await api.get("/api/v1/ideas/99999/comments")).status_code == 404
    r = await api.post("/api/v1/ideas/99999/comments", json={"body": "hello"})
    assert r.status_code == 404
    assert (await api.get(f"/api/v1/ideas/{idea}/comments")).json()["items"] == []


async def test_markdown_is_rendered_and_sanitised(personas):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    idea = await submit(alice)
    payload = (
        "**Bold** and *soft*\n\n- one\n- two\n\n"
        "[docs](https://example.com/x) [bad](javascript:alert(1)) "
        '<script>alert("x")</script> <img src=x onerror=alert(1)>'
    )
    web = await dan.browser()
    r = await web.form(f"/ideas/{idea}/comments", {"body": payload}, htmx=True)
    assert r.status_code == 200
    html = r.text
    assert "<strong>Bold</strong>" in html and "<em>soft</em>" in html and "<li>one</li>" in html
    assert 'href="https://example.com/x"' in html
    assert "<script" not in html and 'href="javascript:' not in html
    assert "<img" not in html and "&lt;script&gt;" in html  # shown as text, never run
    # the raw text comes back as written through the API
    items = (await dan.api().get(f"/api/v1/ideas/{idea}/comments")).json()["items"]
    assert items[0]["body"] == payload


async def test_comments_fragment_and_form_for_every_role(personas):
    alice = await personas.get("alice_support")
    bob = await personas.get("bob_finance_council")
    idea = await submit(alice)
    alice_web = await alice.browser()
    fragment = await alice_web.htmx_get(f"/fragments/ideas/{idea}/comments")
    assert fragment.status_code == 200
    assert "No comments yet." in fragment.text and 'name="body"' in fragment.text
    assert "your comment shows as “Submitter”" in fragment.text
    assert 'name="as_council"' not in fragment.text

    r = await alice_web.form(f"/ideas/{idea}/comments", {"body": ""}, htmx=True)
    assert r.status_code == 200 and 'class="field-error"' in r.text
    r = await alice_web.form(f"/ideas/{idea}/comments", {"body": "More context here."}, htmx=True)
    assert r.status_code == 200 and "More context here." in r.text
    assert ">Submitter<" in r.text and alice.name not in r.text

    bob_web = await bob.browser()
    fragment = await bob_web.htmx_get(f"/fragments/ideas/{idea}/comments")
    assert 'name="as_council"' in fragment.text
    r = await bob_web.form(f"/ideas/{idea}/comments", {"body": "Thanks!", "as_council": "1"})
    assert r.status_code == 303 and r.headers["location"].startswith(f"/ideas/{idea}")
    fragment = await bob_web.htmx_get(f"/fragments/ideas/{idea}/comments")
    assert ">CX council<" in fragment.text and bob.name not in fragment.text
    assert (await bob_web.htmx_get("/fragments/ideas/4242/comments")).status_code == 404
