"""Stored XSS, tried in a real browser: a payload corpus (script tags, `img
onerror`, `javascript:` links, SVG onload, attribute and element breakouts,
template syntax, style breakouts, HTMX attributes, off-site images) is written
through the services and the API into every field of user text — idea
titles, problems and proposals, comments, the council's questions and the
submitter's answers, decision notes, action titles, ship notes and impact
measures, people's names and job titles, department names, an admin's reveal
reason — and every page where that text appears is rendered in Chromium, as
each role that sees it (HTMX fragments included).

A page fails on any dialog, console error (a CSP refusal of injected code
is one), page error, request to a non-local host, on an element the payload
managed to create (an `on*` handler, a `javascript:` URL, a foreign script,
a style element, an iframe, an `hx-*` attribute carrying the payload), or on
"tpl49tpl" where `tpl{{7*7}}tpl` was written. Each page must also show the
payload as text: escaped, not dropped."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.async_api import expect

from ideas import reveal
from ideas.people import directory
from ideas.tables import Department
from tests.e2e.journey import log_out
from tests.factories import confirm_attendance, ctx_for
from tests.notify_helpers import drain

pytestmark = pytest.mark.browser

TEMPLATE = "tpl{{7*7}}tpl"
EVALUATED = "tpl49tpl"

CORPUS = [
    '<script>alert("xss-script")</script>',
    '<img src=x onerror=alert("xss-img")>',
    '<svg onload=alert("xss-svg")>',
    '"><svg onload=alert("xss-break")>',
    "'><img src=x onerror=alert('xss-single')>",
    "<a href=\"javascript:alert('xss-href')\">click me</a>",
    '[click me](javascript:alert("xss-md"))',
    "<iframe src=\"javascript:alert('xss-iframe')\"></iframe>",
    '</textarea></title></style></script><script>alert("xss-close")</script>',
    "<style>body{display:none}</style>",
    '<div style="background:url(javascript:alert(1))">styled</div>',
    '<img src="http://evil.example/pixel.png">',
    '<a href="http://evil.example/">plain off-site link</a>',
    '<a hx-get="/xss-hx" hx-trigger="load" href="#">htmx</a>',
    TEMPLATE,
    "{% raw %}" + TEMPLATE + "{% endraw %}",
    "${7*7} #{7*7} <%= 7*7 %>",
    '<math><mtext><table><mglyph><style><img src=x onerror=alert("xss-mxss")>',
    '<details open ontoggle=alert("xss-toggle")>',
    '<input autofocus onfocus=alert("xss-focus")>',
    '<a href="data:text/html,<script>alert(1)</script>">data link</a>',
    "<<script>alert('xss-nested');//<</script>",
]
LONG = "Payloads follow, as text:\n\n" + "\n\n".join(CORPUS)
#: the first idea's problem opens with a real sentence: its vector is built from
#: title + problem, and the payloads alone leave too little meaning for the draft
#: typed on /ideas/new (a paraphrase of its title) to reach the product's
#: similarity threshold (ideas.board.similar.SEMANTIC_MIN_SCORE)
PO_PROBLEM = (
    "Customers cannot match our invoices to their purchase orders because "
    "invoices do not show the PO number. " + LONG
)

TITLES = [
    'Invoices <script>alert("xss-t1")</script> show PO numbers',
    'Declined "><svg onload=alert("xss-t2")> ' + TEMPLATE,
    "Merged '><img src=x onerror=alert('xss-t3')>",
    "Question <a href=\"javascript:alert('xss-t4')\">x</a> {% raw %}",
    'Accepted </title></textarea><script>alert("xss-t5")</script>',
    'Undecided <img src="http://evil.example/t6.png"> ${7*7}',
    "New idea <style>body{display:none}</style><iframe src=javascript:alert(7)>",
]
NAMES = {
    "sub": 'Zed Sub "><svg onload=alert("xss-n1")> ' + TEMPLATE,
    "owner": "Zed Owner '><img src=x onerror=alert('xss-n2')>",
    "council": 'Zed Council <script>alert("xss-n3")</script>',
    "four": "Zed Four <a href=\"javascript:alert('xss-n4')\">x</a>",
    "five": "Zed Five </style><style>*{color:red}</style>",
}
JOB_TITLE = '<img src=x onerror=alert("xss-job")> ' + TEMPLATE
DEPARTMENT = 'Dept "><img src=x onerror=alert("xss-d")> ' + TEMPLATE
RENAMED_HR = "HR </option></select><script>alert('xss-d2')</script>"
ACTION = '</li><script>alert("xss-action")</script> "><svg onload=alert(1)>'
METRIC = "calls <img src=x onerror=alert('xss-metric')> " + TEMPLATE

#: What the DOM must not contain (returns descriptions of offenders).
DOM_CHECK = """() => {
  const bad = [];
  const ownScripts = [
    '/static/htmx.min.js', '/static/app.js', '/static/axe.min.js', '/static/triage-keys.js',
  ];
  const urlAttrs = ['href', 'src', 'action', 'formaction', 'xlink:href', 'data', 'poster'];
  const scriptScheme = /^(javascript|vbscript|data:text)/;
  for (const el of document.querySelectorAll('*')) {
    const tag = el.tagName.toLowerCase();
    for (const a of el.attributes) {
      const name = a.name.toLowerCase();
      const value = a.value.trim().toLowerCase();
      const seen = `<${tag} ${name}="${a.value}">`;
      if (name.startsWith('on')) bad.push(seen);
      const scheme = value.replace(/\\s/g, '');
      if (urlAttrs.includes(name) && scriptScheme.test(scheme)) bad.push(seen);
      if (name.startsWith('hx-') && value.includes('xss')) bad.push(seen);
      if (name === 'style' && value) bad.push(seen);
    }
    if (tag === 'script') {
      const path = el.src ? new URL(el.src, location.href).pathname : '(inline)';
      if (!ownScripts.includes(path)) bad.push(`<script> ${path}: ${el.textContent.slice(0, 80)}`);
    }
    if (tag === 'style') bad.push(`<style> ${el.textContent.slice(0, 80)}`);
    if (['iframe', 'object', 'embed', 'frame', 'base'].includes(tag)) bad.push(`<${tag}>`);
    if (tag === 'link' && !new URL(el.href, location.href).pathname.startsWith('/static/'))
      bad.push(`<link href="${el.href}">`);
  }
  return bad;
}"""


async def _api(persona, method: str, url: str, **kwargs) -> dict:
    r = await persona.api().request(method, url, **kwargs)
    assert r.status_code in (200, 201), f"{method} {url}: {r.status_code} {r.text}"
    return r.json()


async def _plant(personas) -> dict:
    """Every user-text field filled with the corpus, through the real services."""
    p = {}
    p["sub"] = await personas.make("xss_sub", NAMES["sub"], JOB_TITLE, DEPARTMENT)
    p["owner"] = await personas.make("xss_owner", NAMES["owner"], JOB_TITLE, DEPARTMENT)
    p["council"] = await personas.make(
        "xss_council", NAMES["council"], JOB_TITLE, DEPARTMENT, ("council",)
    )
    for key in ("four", "five"):  # five people: the department is shown in leadership
        await personas.make(f"xss_{key}", NAMES[key], JOB_TITLE, DEPARTMENT)
    p["cora"] = await personas.get("cora_hr_council")
    p["pat"] = await personas.get("pat_product_council")
    p["dan"] = await personas.get("dan_sales")
    p["carol"] = await personas.get("carol_leader")
    p["adam"] = await personas.get("adam_admin")
    sub, owner, council, dan = p["sub"], p["owner"], p["council"], p["dan"]

    ideas = []
    for n, title in enumerate(TITLES[:6]):
        problem = PO_PROBLEM if n == 0 else LONG
        idea = await _api(
            sub,
            "POST",
            "/api/v1/ideas",
            json={"title": title, "problem": problem, "proposal": LONG, "touchpoint": "billing"},
        )
        ideas.append(idea["id"])
    shipped, declined, merged, asked, accepted, undecided = ideas
    for idea_id in (shipped, declined, merged):
        await _api(dan, "PUT", f"/api/v1/ideas/{idea_id}/vote")  # voters are notified too

    # the machine's clock here and below: a browser test talks to a live server in another
    # process, which reads the real clock (tests/conftest.py does not freeze it)
    session = await _api(
        council,
        "POST",
        "/api/v1/triage/sessions",
        json={
            "held_on": dt.datetime.now(dt.UTC).date().isoformat(),
            "attendee_ids": [council.id, p["cora"].id, p["pat"].id],
        },
    )
    await confirm_attendance(session["id"], p["cora"], p["pat"])
    departments = (await _api(council, "GET", "/api/v1/departments"))["items"]
    department_id = next(d["id"] for d in departments if d["name"] == DEPARTMENT)

    async def decide(idea_id: str, outcome: str, **fields) -> None:
        await _api(
            council,
            "POST",
            f"/api/v1/ideas/{idea_id}/decision",
            json={"session_id": session["id"], "outcome": outcome, **fields},
        )

    await decide(shipped, "accept", owning_department_id=department_id, note=LONG)
    await decide(accepted, "accept", owning_department_id=department_id, note=LONG)
    await decide(declined, "decline", note=LONG)
    await decide(merged, "duplicate", duplicate_of=shipped, note=LONG)
    await decide(asked, "needs_info", question=LONG)
    await _api(sub, "POST", f"/api/v1/ideas/{asked}/answer", json={"answer": LONG})
    await _api(
        sub,
        "POST",
        "/api/v1/ideas",
        json={"title": TITLES[6], "problem": LONG, "proposal": LONG, "touchpoint": "support"},
    )

    today = dt.datetime.now(dt.UTC).date().isoformat()
    action = await _api(
        council,
        "POST",
        f"/api/v1/ideas/{shipped}/actions",
        json={"title": ACTION, "owner_id": owner.id, "due_on": today},
    )
    await _api(owner, "PATCH", f"/api/v1/actions/{action['id']}", json={"status": "done"})
    await _api(
        council,
        "POST",
        f"/api/v1/ideas/{accepted}/actions",
        json={"title": ACTION, "owner_id": owner.id, "due_on": "2020-01-01"},  # overdue
    )
    await _api(
        council,
        "POST",
        f"/api/v1/ideas/{shipped}/ship",
        json={"note": LONG, "impact_metric": METRIC, "impact_before": 140, "impact_after": 60},
    )
    await _api(sub, "PUT", f"/api/v1/ideas/{shipped}/credit", json={"credit": True})

    for idea_id, author, body in (
        (shipped, sub, {"body": LONG}),
        (shipped, owner, {"body": LONG}),
        (shipped, council, {"body": LONG, "as_council": True}),
        (asked, dan, {"body": LONG}),
    ):
        await _api(author, "POST", f"/api/v1/ideas/{idea_id}/comments", json=body)

    # admin actions with user text, for the audit log
    hr = await Department.select(Department.id).where(Department.name == "HR").first().run()
    await directory.rename_department(ctx_for(p["adam"].viewer), hr["id"], RENAMED_HR)
    await reveal.reveal_submitter(
        ctx_for(p["adam"].viewer), int(declined), "Abuse report: " + LONG[:900]
    )

    await drain()  # the notification worker fills the inboxes
    p.update(
        session=session["id"],
        shipped=shipped,
        declined=declined,
        merged=merged,
        asked=asked,
        accepted=accepted,
        undecided=undecided,
    )
    return p


class Inspector:
    def __init__(self, ui) -> None:
        self.ui = ui
        self.literal_template_on: list[str] = []
        #: whose view this is (names the screenshots)
        self.who = ""

    async def check(self, page, label: str, shows_payload: bool = True) -> None:
        """The page as it stands (HTMX settled): nothing injected, nothing evaluated."""
        ui = self.ui
        await ui.htmx_settled(page)
        offenders = await page.evaluate(DOM_CHECK)
        assert offenders == [], f"{label} ({page.url}): injected markup: {offenders}"
        text = await page.evaluate("document.body.innerText")
        assert EVALUATED not in text, f"{label} ({page.url}): template syntax was evaluated"
        if TEMPLATE in text:
            self.literal_template_on.append(label)
        if shows_payload:
            assert "alert(" in text, f"{label} ({page.url}): no payload shown as text"
        ui.assert_clean()
        await ui.screenshot(page, f"{self.who}-{label}")

    async def visit(self, page, path: str, shows_payload: bool = True) -> None:
        await self.ui.goto(page, path)
        await self.check(page, path, shows_payload)


async def test_payloads_in_every_user_text_field_render_inert_on_every_page(ui, personas):
    p = await _plant(personas)
    look = Inspector(ui)
    page = await ui.new_page()
    ideas = [p[k] for k in ("shipped", "declined", "merged", "asked", "accepted", "undecided")]

    # -- the submitter ------------------------------------------------------------
    look.who = "submitter"
    await ui.login(page, p["sub"])
    await look.check(page, "open board", shows_payload=False)
    await ui.goto(page, "/?status=any")  # the board opens on open ideas: all of them here
    await look.check(page, "board")
    for idea_id in ideas:
        await look.visit(page, f"/ideas/{idea_id}")
    await look.visit(page, "/me/ideas")
    await look.visit(page, "/shipped")
    await look.visit(page, "/me/notifications")
    await look.visit(page, "/?q=Invoices&status=any")  # closed ones too (issue 17)
    await look.visit(page, "/roadmap")
    # the similar-ideas fragment while typing a title
    await ui.goto(page, "/ideas/new")
    await page.get_by_label("Title").press_sequentially("Invoices show PO numbers", delay=20)
    await expect(page.locator("#similar a").first).to_be_visible()
    await look.check(page, "similar ideas")
    await log_out(page)

    # -- the action owner -----------------------------------------------------------
    look.who = "owner"
    await ui.login(page, p["owner"])
    await look.visit(page, "/me/actions")
    await look.visit(page, "/me/notifications")
    await log_out(page)

    # -- a voter: notices of the decline, the merge and the ship ------------------
    look.who = "voter"
    await ui.login(page, p["dan"])
    await look.visit(page, "/me/notifications")
    await look.visit(page, f"/ideas/{p['declined']}")
    await log_out(page)

    # -- the council ------------------------------------------------------------------
    look.who = "council"
    await ui.login(page, p["council"])
    await look.visit(page, "/triage")
    await look.visit(page, "/triage/sessions")
    await look.visit(page, f"/triage/sessions/{p['session']}")
    await look.visit(page, "/delivery")
    for idea_id in ideas:
        await look.visit(page, f"/ideas/{idea_id}")
    # the owner picker's search fragment lists people by (payload) name
    await ui.goto(page, f"/ideas/{p['accepted']}")
    await ui.htmx_settled(page)
    add = page.get_by_test_id("add-action-form")
    if not await add.is_visible():
        await page.get_by_text("Add an action", exact=True).click()
    await add.get_by_placeholder("Search people by name").fill("Zed")
    await expect(add.get_by_test_id("owner-option").first).to_be_visible()
    await look.check(page, "owner picker")
    await log_out(page)

    # -- a leader ---------------------------------------------------------------------
    look.who = "leader"
    await ui.login(page, p["carol"])
    await look.visit(page, "/leaders")
    await page.locator("select#period").select_option(index=1)  # this quarter, in place
    await expect(page.locator("#leaderboard-heading")).not_to_have_text("Shipped ideas, all time")
    await look.check(page, "leaders, this quarter")
    await log_out(page)

    # -- an admin ---------------------------------------------------------------------
    look.who = "admin"
    await ui.login(page, p["adam"])
    await look.visit(page, "/admin")
    await look.visit(page, "/admin/people")
    await look.visit(page, "/admin/people?q=Zed")
    await look.visit(page, f"/admin/people/{p['sub'].id}")
    await look.visit(page, "/admin/departments")
    await look.visit(page, "/admin/audit")
    await look.visit(page, f"/admin/ideas/{p['declined']}/reveal")
    await look.visit(page, "/admin/import", shows_payload=False)
    await log_out(page)

    # the literal template text was shown, not evaluated (and not dropped)
    for label in ("board", "/me/ideas", "/leaders", "/admin/departments"):
        assert label in look.literal_template_on, (label, look.literal_template_on)


async def test_the_inspection_catches_the_corpus_when_it_is_rendered_raw(ui):
    """Planted: the corpus put into a page as markup, the way a template
    missing its escaping would. The same checks must fail on it."""
    look = Inspector(ui)
    page = await ui.new_page()
    await ui.goto(page, "/login")
    await page.evaluate(
        "html => document.querySelector('main').insertAdjacentHTML('beforeend', html)",
        "\n".join(CORPUS).replace(TEMPLATE, EVALUATED),
    )
    await page.wait_for_timeout(300)  # let the planted onerror handlers try to run
    offenders = "\n".join(await page.evaluate(DOM_CHECK))
    for found in ("onerror", "<style>", "<iframe>", "javascript:", 'hx-get="/xss-hx"'):
        assert found in offenders, (found, offenders)
    seen = "\n".join(ui.problems)
    ui.problems = []
    assert "Content Security Policy" in seen  # the planted handlers were refused, and reported
    assert "evil.example/pixel.png" in seen  # refused by the CSP, or blocked by the harness
    with pytest.raises(AssertionError, match="injected markup"):
        await look.check(page, "planted")
    ui.problems = []
