"""Admin in the browser: people, departments, settings, CSV import, audit log —
and the blind promise on every admin page."""

from __future__ import annotations

import asyncio
import csv
import io
import re

import pytest

from ideas import org_settings
from ideas.context import COMMAND_LINE
from ideas.errors import Invalid
from ideas.people import import_file, imports, service
from ideas.tables import AuditLog, Department, Idea, User
from tests.factories import ctx_for, idea_payload

ADMIN_PAGES = [
    "/admin",
    "/admin/people",
    "/admin/people/new",
    "/admin/import",
    "/admin/departments",
    "/admin/settings",
    "/admin/audit",
    "/admin/audit.csv",
]


async def department_id(name: str) -> int:
    rows = await Department.select(Department.id).where(Department.name == name).run()
    return rows[0]["id"]


async def user_row(email: str) -> dict:
    rows = await User.select().where(User.email == email).run()
    return rows[0]


async def audit_actions() -> list[str]:
    rows = await AuditLog.select(AuditLog.action).order_by(AuditLog.id).run()
    return [r["action"] for r in rows]


# -- who may enter -----------------------------------------------------------------


@pytest.mark.parametrize("who", ["alice_support", "bob_finance_council", "carol_leader"])
async def test_admin_pages_answer_403_to_everyone_but_admins(personas, who):
    person = await personas.get(who)
    alice = await personas.get("alice_support")
    browser = await person.browser()
    for url in [*ADMIN_PAGES, f"/admin/people/{alice.id}"]:
        r = await browser.get(url)
        assert r.status_code == 403, url
    posts = [
        ("/admin/people/new", {"email": "x@example.com", "name": "X", "department_id": "1"}),
        (f"/admin/people/{alice.id}/deactivate", {}),
        (f"/admin/people/{alice.id}/invite", {}),
        ("/admin/departments", {"name": "Legal"}),
        ("/admin/settings", {"quorum_departments": "1"}),
        ("/admin/import/confirm", {"csv_text": "email,name,department\n", "fingerprint": "x"}),
    ]
    for url, data in posts:
        r = await browser.form(url, data)
        assert r.status_code == 403, url
    assert await User.count().where(User.email == "x@example.com").run() == 0
    assert await audit_actions() == []


async def test_admin_pages_send_a_logged_out_visitor_to_log_in(client):
    r = await client.get("/admin/people")
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=")


async def test_admin_sees_every_admin_page(personas):
    adam = await personas.get("adam_admin")
    browser = await adam.browser()
    for url in [*ADMIN_PAGES, f"/admin/people/{adam.id}"]:
        r = await browser.get(url)
        assert r.status_code == 200, url
    assert "<script>" not in r.text


# -- people ------------------------------------------------------------------------


async def test_people_search_filters_by_text_department_and_role(personas):
    adam = await personas.get("adam_admin")
    await personas.get("alice_support")
    await personas.get("bob_finance_council")
    await personas.get("cora_hr_council")
    browser = await adam.browser()

    r = await browser.get("/admin/people", params={"role": "council"})
    assert "Bob Baranski" in r.text and "Cora Castellanos" in r.text
    assert "Alice Andersson" not in r.text

    finance = await department_id("Finance")
    r = await browser.get("/admin/people", params={"department": finance, "role": "council"})
    assert "Bob Baranski" in r.text and "Cora Castellanos" not in r.text

    r = await browser.htmx_get("/admin/people?q=support+agent", target="people-list")
    assert r.status_code == 200
    assert "Alice Andersson" in r.text and "Bob Baranski" not in r.text
    assert "<html" not in r.text  # the fragment only

    r = await browser.get("/admin/people", params={"role": "pirate"})
    assert r.status_code == 200 and "choose one of" in r.text


async def test_add_person_without_invitation_is_audited(personas):
    adam = await personas.get("adam_admin")
    await personas.get("alice_support")
    support = await department_id("Support")
    browser = await adam.browser()
    r = await browser.form(
        "/admin/people/new",
        {
            "email": "Nina.New@Example.com",
            "name": "Nina New",
            "title": "Support Agent",
            "department_id": str(support),
            "role_council": "on",
        },
    )
    assert r.status_code == 303
    page = await browser.get(r.headers["location"])
    assert "Person added." in page.text and "Not invited yet" in page.text
    row = await user_row("nina.new@example.com")
    assert row["is_council"] and not row["is_admin"] and row["password_hash"] == ""
    entries = (
        await AuditLog.select()
        .where(AuditLog.action == "person.create")
        .output(load_json=True)
        .run()
    )
    assert len(entries) == 1
    assert entries[0]["target"] == "nina.new@example.com"
    assert entries[0]["actor"] == adam.viewer.id


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "not-an-email", "email"),
        ("name", "", "The name cannot be empty."),
        ("department_id", "999999", "No such department"),
        ("email", "alice_support@example.com", "already"),
    ],
)
async def test_add_person_shows_the_bad_field_and_writes_nothing(personas, field, value, message):
    adam = await personas.get("adam_admin")
    await personas.get("alice_support")
    data = {
        "email": "new.person@example.com",
        "name": "New Person",
        "department_id": str(await department_id("Support")),
        field: value,
    }
    before = await User.count().run()
    r = await (await adam.browser()).form("/admin/people/new", data)
    assert r.status_code == 422
    assert f'id="{field}-error"' in r.text
    assert message in r.text
    assert await User.count().run() == before
    assert "person.create" not in await audit_actions()


async def test_edit_person_changes_roles_and_audits_before_and_after(personas):
    adam = await personas.get("adam_admin")
    alice = await personas.get("alice_support")
    browser = await adam.browser()
    r = await browser.form(
        f"/admin/people/{alice.id}",
        {
            "name": "Alice Andersson-Berg",
            "title": "Support Team Lead",
            "department_id": str(await department_id("Support")),
            "role_council": "on",
        },
    )
    assert r.status_code == 303
    row = await user_row(alice.email)
    assert row["name"] == "Alice Andersson-Berg" and row["is_council"]
    entry = (
        await AuditLog.select()
        .where(AuditLog.action == "person.update")
        .output(load_json=True)
        .run()
    )[0]
    assert entry["target"] == alice.email
    assert entry["details"]["roles"] == {"before": ["staff"], "after": ["staff", "council"]}
    assert entry["details"]["name"]["before"] == "Alice Andersson"
    assert "department" not in entry["details"]  # only what changed
    audit_page = await browser.get("/admin/audit")
    assert "Person changed" in audit_page.text and "Support Team Lead" in audit_page.text


async def test_an_admin_cannot_remove_their_own_admin_role(personas):
    adam = await personas.get("adam_admin")
    await personas.make("ada_admin", "Ada Admin", "Ops", "IT", ("admin",))
    browser = await adam.browser()
    r = await browser.form(
        f"/admin/people/{adam.id}",
        {"name": adam.name, "title": adam.title, "department_id": str(adam.viewer.department_id)},
    )
    assert r.status_code == 409
    assert "your own admin role" in r.text
    assert (await user_row(adam.email))["is_admin"]
    assert "person.update" not in await audit_actions()


async def test_the_last_admin_cannot_deactivate_themselves(personas):
    adam = await personas.get("adam_admin")
    ada = await personas.make("ada_admin", "Ada Admin", "Ops", "IT", ("admin",))
    browser = await adam.browser()

    r = await browser.form(f"/admin/people/{ada.id}/deactivate", {})
    assert r.status_code == 303
    assert not (await user_row(ada.email))["active"]

    r = await browser.form(f"/admin/people/{adam.id}/deactivate", {})
    assert r.status_code == 409
    assert "last active admin" in r.text
    assert (await user_row(adam.email))["active"]
    assert (await browser.get("/admin")).status_code == 200  # still in


async def test_an_admin_may_leave_when_another_admin_remains(personas):
    adam = await personas.get("adam_admin")
    await personas.make("ada_admin", "Ada Admin", "Ops", "IT", ("admin",))
    browser = await adam.browser()
    r = await browser.form(f"/admin/people/{adam.id}/deactivate", {})
    assert r.status_code == 303
    assert (await browser.get("/admin")).status_code == 303  # logged out: to the log-in page


async def test_deactivated_people_cannot_log_in_until_reactivated(personas, client):
    adam = await personas.get("adam_admin")
    alice = await personas.get("alice_support")
    alice_api = alice.api()
    browser = await adam.browser()
    assert (await browser.form(f"/admin/people/{alice.id}/deactivate", {})).status_code == 303
    assert (await alice_api.get("/api/v1/me")).status_code == 401  # token revoked
    login = {"email": alice.email, "password": alice.password}
    assert (await client.post("/api/v1/auth/token", json=login)).status_code == 401
    listed = await browser.get("/admin/people", params={"state": "inactive"})
    assert alice.name in listed.text

    assert (await browser.form(f"/admin/people/{alice.id}/reactivate", {})).status_code == 303
    assert (await client.post("/api/v1/auth/token", json=login)).status_code == 201
    actions = await audit_actions()
    assert actions == ["person.deactivate", "person.reactivate"]


# -- departments -------------------------------------------------------------------


async def test_merge_moves_people_and_owned_ideas_and_reveals_no_submitter(personas):
    adam = await personas.get("adam_admin")
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    r = await alice.api().post("/api/v1/ideas", json=idea_payload(title="Callback queue for VIPs"))
    idea_id = int(r.json()["id"])
    sales = await department_id("Sales")
    support = await department_id("Support")
    await Idea.update({Idea.owning_department: support}).where(Idea.id == idea_id).run()
    browser = await adam.browser()

    review = await browser.form(
        "/admin/departments/merge", {"source_id": str(support), "target_id": str(sales)}
    )
    assert review.status_code == 200
    assert "Merge Support into Sales?" in review.text
    assert await Department.exists().where(Department.id == support).run()  # not yet

    done = await browser.form(
        "/admin/departments/merge",
        {"source_id": str(support), "target_id": str(sales), "confirm": "yes"},
    )
    assert done.status_code == 303
    assert (await user_row(alice.email))["department"] == sales
    assert (await user_row(dan.email))["department"] == sales
    owner = await Idea.select(Idea.owning_department).where(Idea.id == idea_id).run()
    assert owner[0]["owning_department"] == sales
    assert not await Department.exists().where(Department.id == support).run()
    entry = (
        await AuditLog.select()
        .where(AuditLog.action == "department.merge")
        .output(load_json=True)
        .run()
    )[0]
    assert entry["details"]["people_moved"] == 1
    log = (await browser.get("/admin/audit")).text + (await browser.get("/admin/audit.csv")).text
    for secret in (alice.name, alice.email, "Callback queue"):
        assert secret not in log
    me = await alice.api().get("/api/v1/me")
    assert me.json()["department"]["name"] == "Sales"


async def test_departments_add_rename_and_refuse_duplicates(personas):
    adam = await personas.get("adam_admin")
    browser = await adam.browser()
    assert (await browser.form("/admin/departments", {"name": "Legal"})).status_code == 303
    r = await browser.form("/admin/departments", {"name": "legal"})
    assert r.status_code == 422 and "already" in r.text
    legal = await department_id("Legal")
    r = await browser.form(f"/admin/departments/{legal}/rename", {"name": "Legal & Compliance"})
    assert r.status_code == 303
    r = await browser.form(f"/admin/departments/{legal}/rename", {"name": "IT"})
    assert r.status_code == 422
    names = sorted(d["name"] for d in await Department.select(Department.name).run())
    assert names == ["IT", "Legal & Compliance"]
    assert await audit_actions() == ["department.create", "department.rename"]
    r = await browser.form(
        "/admin/departments/merge", {"source_id": str(legal), "target_id": str(legal)}
    )
    assert r.status_code == 422 and "different department" in r.text


# -- settings ----------------------------------------------------------------------


async def test_a_settings_change_takes_effect_without_a_restart(personas, monkeypatch):
    monkeypatch.delenv("QUORUM_DEPARTMENTS", raising=False)
    adam = await personas.get("adam_admin")
    browser = await adam.browser()
    assert await org_settings.get_setting("quorum_departments") == 3
    page = await browser.get("/admin/settings")
    assert "Quorum (departments)" in page.text and "default" in page.text

    r = await browser.form("/admin/settings", {"quorum_departments": "2", "digest_weekday": "4"})
    assert r.status_code == 303
    assert await org_settings.get_setting("quorum_departments") == 2
    assert await org_settings.get_setting("digest_weekday") == 4
    page = await browser.get("/admin/settings")
    assert "set by an admin" in page.text
    entries = (
        await AuditLog.select()
        .where(AuditLog.action == "setting.change")
        .output(load_json=True)
        .run()
    )
    changed = {e["target"]: e["details"]["value"] for e in entries}
    assert changed == {
        "quorum_departments": {"before": 3, "after": 2},
        "digest_weekday": {"before": 0, "after": 4},
    }


async def test_the_environment_still_wins_and_says_so(personas, environment):
    adam = await personas.get("adam_admin")
    browser = await adam.browser()
    environment(AGENDA_SIZE="12")
    page = await browser.get("/admin/settings")
    assert "environment (AGENDA_SIZE)" in page.text
    r = await browser.form("/admin/settings", {"agenda_size": "40"})
    assert r.status_code == 422 and "AGENDA_SIZE" in r.text
    assert await org_settings.get_setting("agenda_size") == 12


@pytest.mark.parametrize("value", ["0", "abc", "21"])
async def test_settings_refuse_bad_values_and_store_nothing(personas, value):
    adam = await personas.get("adam_admin")
    r = await (await adam.browser()).form(
        "/admin/settings", {"triage_sla_days": "7", "quorum_departments": value}
    )
    assert r.status_code == 422
    assert 'id="quorum_departments-error"' in r.text
    assert await org_settings.get_setting("triage_sla_days") == 14  # all or nothing
    assert await audit_actions() == []


# -- audit log ---------------------------------------------------------------------


async def test_every_admin_action_is_in_the_audit_log(personas):
    adam = await personas.get("adam_admin")
    alice = await personas.get("alice_support")
    browser = await adam.browser()
    support = str(await department_id("Support"))
    await browser.form("/admin/departments", {"name": "Legal"})
    await browser.form(
        "/admin/people/new",
        {"email": "lee@example.com", "name": "Lee", "department_id": support, "invite": "on"},
    )
    await browser.form(
        f"/admin/people/{alice.id}",
        {"name": alice.name, "department_id": support, "role_leader": "on"},
    )
    await browser.form(f"/admin/people/{alice.id}/deactivate", {})
    await browser.form(f"/admin/people/{alice.id}/reactivate", {})
    await browser.form(f"/admin/people/{alice.id}/invite", {})
    await browser.form("/admin/settings", {"k_anonymity": "7"})
    legal = str(await department_id("Legal"))
    await browser.form(
        "/admin/departments/merge", {"source_id": legal, "target_id": support, "confirm": "yes"}
    )
    assert set(await audit_actions()) == {
        "department.create",
        "person.create",
        "person.invite",
        "person.update",
        "person.deactivate",
        "person.reactivate",
        "setting.change",
        "department.merge",
    }
    actors = await AuditLog.select(AuditLog.actor).distinct().run()
    assert [a["actor"] for a in actors] == [adam.viewer.id]


async def test_every_door_names_its_actor_alike_and_old_entries_stay_readable(personas):
    """A person by id, a System actor by its name; entries written before the
    System actor was kept (no person, no name) still read as before."""
    from ideas import audit
    from ideas.context import System

    adam = await personas.get("adam_admin")
    alice = await personas.get("alice_support")
    await service.set_roles(ctx_for(COMMAND_LINE), alice.id, ["council"])
    await service.set_roles(ctx_for(adam.viewer), alice.id, [])
    await audit.record(System("SCIM (Okta)"), "scim.user.update", alice.email, {})
    old = {"actor": None, "action": "person.update", "target": alice.email}
    await AuditLog.insert(
        AuditLog(**old, details={"password": "set"}),
        AuditLog(**old, details={"via": "SCIM", "token": "Old IdP"}),
    ).run()

    entries, _ = await audit.list_entries(
        ctx_for(adam.viewer), audit.make_filter(target=alice.email)
    )
    assert [e.actor for e in entries] == [
        "SCIM (Old IdP)",  # an old SCIM entry, named from its details
        "Command line",  # an old command-line entry
        "SCIM (Okta)",
        f"{adam.name} <{adam.email}>",
        "Command line",
    ]
    # the command line and the web write one format: the same change, the same details
    assert entries[4].details == {"roles": {"before": ["staff"], "after": ["staff", "council"]}}
    assert entries[3].details == {"roles": {"before": ["staff", "council"], "after": ["staff"]}}
    cli, _ = await audit.list_entries(
        ctx_for(adam.viewer), audit.make_filter(actor="cli", target=alice.email)
    )
    found = {e.id for e in cli}
    assert {entries[1].id, entries[4].id} <= found  # the command line's, old and new
    assert entries[2].id not in found and entries[3].id not in found
    with pytest.raises(ValueError, match="needs an actor"):
        await audit.record(None, "person.update", alice.email)


async def test_audit_log_filters_and_exports_csv(personas):
    adam = await personas.get("adam_admin")
    alice = await personas.get("alice_support")
    browser = await adam.browser()
    await browser.form(f"/admin/people/{alice.id}/deactivate", {})
    await browser.form("/admin/settings", {"agenda_size": "25"})

    r = await browser.get("/admin/audit", params={"action": "setting.change"})
    assert "agenda_size" in r.text and alice.email not in r.text
    r = await browser.htmx_get(f"/admin/audit?target={alice.email}", target="audit-list")
    assert alice.email in r.text and "agenda_size" not in r.text
    r = await browser.get("/admin/audit", params={"actor": "cli"})
    assert "No entries match" in r.text
    r = await browser.get("/admin/audit", params={"since": "yesterday"})
    assert r.status_code == 200 and "since" in r.text

    export = await browser.get("/admin/audit.csv", params={"action": "setting.change"})
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    assert "attachment" in export.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert len(rows) == 1
    assert rows[0]["target"] == "agenda_size"
    assert (rows[0]["before"], rows[0]["after"]) == ("30", "25")
    assert rows[0]["actor"].startswith(adam.name)
    assert "T" not in rows[0]["day"]  # to the day


# -- CSV import --------------------------------------------------------------------

IMPORT_CSV = (
    "email,name,title,department,roles\n"
    "nora@example.com,Nora North,Support Agent,Support,\n"
    "omar@example.com,Omar Ortiz,Billing Clerk,Finance,council\n"
    "bad-address,Pia Park,Clerk,Finance,\n"
    "quinn@example.com,Quinn Quade,Clerk,Finance,wizard\n"
    "alice_support@example.com,Alice Andersson,Support Lead,Support,\n"
)


async def test_import_preview_writes_nothing_then_confirm_writes(personas):
    adam = await personas.get("adam_admin")
    await personas.get("alice_support")
    browser = await adam.browser()
    users_before = await User.count().run()

    preview = await browser.post(
        "/admin/import",
        data={"_csrf_token": browser.csrf},
        files={"file": ("people.csv", IMPORT_CSV.encode(), "text/csv")},
    )
    assert preview.status_code == 200
    text = preview.text
    assert "Nothing has been written yet." in text
    assert "2 to create, 1 to update, 0 unchanged, 2 rejected" in text
    assert "bad email" in text and "unknown role &#39;wizard&#39;" in text
    assert "Support Agent → Support Lead" in text
    assert await User.count().run() == users_before
    assert await audit_actions() == []

    fingerprint = text.split('name="fingerprint" value="')[1].split('"')[0]
    done = await browser.form(
        "/admin/import/confirm", {"csv_text": IMPORT_CSV, "fingerprint": fingerprint}
    )
    assert done.status_code == 200
    assert "2 created, 1 updated, 0 unchanged, 2 rejected" in done.text
    assert await User.count().run() == users_before + 2
    omar = await user_row("omar@example.com")
    assert omar["is_council"] and omar["password_hash"] == ""
    assert (await user_row("alice_support@example.com"))["title"] == "Support Lead"
    assert not await User.exists().where(User.email == "quinn@example.com").run()
    actions = await audit_actions()
    assert actions.count("person.create") == 2 and actions.count("person.update") == 1
    assert "people.import" in actions


async def test_import_confirm_refuses_a_stale_preview_and_writes_nothing(personas):
    adam = await personas.get("adam_admin")
    browser = await adam.browser()
    csv_text = "email,name,department\nnora@example.com,Nora North,Support\n"
    preview = await browser.form("/admin/import", {"csv_text": csv_text})
    fingerprint = preview.text.split('name="fingerprint" value="')[1].split('"')[0]
    # someone adds Nora in between
    await browser.form("/admin/departments", {"name": "Support"})
    await browser.form(
        "/admin/people/new",
        {
            "email": "nora@example.com",
            "name": "Nora N.",
            "department_id": str(await department_id("Support")),
        },
    )
    r = await browser.form(
        "/admin/import/confirm", {"csv_text": csv_text, "fingerprint": fingerprint}
    )
    assert r.status_code == 409
    assert "changed since the preview" in r.text
    assert "1 to update" in r.text
    assert (await user_row("nora@example.com"))["name"] == "Nora N."


async def test_import_refuses_a_file_without_the_columns(personas):
    adam = await personas.get("adam_admin")
    browser = await adam.browser()
    r = await browser.post(
        "/admin/import",
        data={"_csrf_token": browser.csrf},
        files={"file": ("x.csv", b"mail,full name\na@example.com,A\n", "text/csv")},
    )
    assert r.status_code == 422
    assert 'id="file-error"' in r.text and "missing: email, name, department" in r.text
    r = await browser.post(
        "/admin/import",
        data={"_csrf_token": browser.csrf},
        files={"file": ("x.csv", "email,name\n".encode("utf-16"), "text/csv")},
    )
    assert r.status_code == 422 and "UTF-8" in r.text


def test_parse_people_csv_reads_roles_bom_and_semicolon_files():
    rows = import_file.parse_people_csv(
        "\ufeffEmail,Name,Title,Department,Roles\r\n"
        "a@example.com, Ann ,Lead,Support, Council ; admin\r\n"
        "\r\n"
        "b@example.com,Ben,,Sales,\r\n"
    )
    assert [(r.line, r.email, r.name, r.roles) for r in rows] == [
        (2, "a@example.com", "Ann", ("council", "admin")),
        (4, "b@example.com", "Ben", ()),
    ]
    semi = import_file.parse_people_csv(
        "email;name;title;department;roles\nc@example.com;Cy;;IT;council\n"
    )
    assert semi[0].department == "IT" and semi[0].roles == ("council",)
    with pytest.raises(Invalid) as err:
        import_file.parse_people_csv("")
    assert err.value.field == "file"
    with pytest.raises(Invalid):
        import_file.parse_people_csv("email,name,department\n")


async def test_plan_import_rejects_each_bad_row_with_its_reason(personas):
    await personas.get("alice_support")
    rows = import_file.parse_people_csv(
        "email,name,title,department,roles\n"
        "ok@example.com,Okay,,Support,leader\n"
        "dup@example.com,One,,Support,\n"
        "nobody-at-all,Bad Mail,,Support,\n"
        "noname@example.com,,,Support,\n"
        "DUP@example.com,Two,,Support,\n"
        "role@example.com,Role,,Support,ceo\n"
        "nodept@example.com,No Dept,,,\n"
        "extra@example.com,Extra,,Support,,surprise\n"
        "alice_support@example.com,Alice Andersson,Senior Support Agent,support,\n"
    )
    plan = await imports.plan_import(ctx_for(COMMAND_LINE), rows)
    reasons = {r.line: r.reason for r in plan.rejected}
    assert reasons[4].startswith("bad email")
    assert reasons[5] == "name is missing"
    assert reasons[3] == reasons[6] == "email appears more than once in the file (lines 3, 6)"
    assert reasons[7].startswith("unknown role 'ceo'")
    assert reasons[8] == "department is missing"
    assert "values" in reasons[9]
    assert [r.email for r in plan.created] == ["ok@example.com"]
    assert plan.created[0].roles == ("staff", "leader")
    assert [r.email for r in plan.unchanged] == ["alice_support@example.com"]  # case of dept
    assert plan.updated == [] and plan.new_departments == []
    assert await User.count().where(User.email == "ok@example.com").run() == 0


async def test_import_never_removes_the_last_admin(personas):
    adam = await personas.get("adam_admin")
    rows = import_file.parse_people_csv(
        f"email,name,title,department,roles\n{adam.email},{adam.name},{adam.title},IT,\n"
    )
    plan = await imports.plan_import(ctx_for(COMMAND_LINE), rows)
    assert plan.updated == []
    assert "no active admin" in plan.rejected[0].reason
    own = await imports.plan_import(ctx_for(adam.viewer), rows)
    assert "your own admin role" in own.rejected[0].reason


async def test_apply_import_from_the_command_line_is_audited_as_such(personas):
    adam = await personas.get("adam_admin")
    rows = import_file.parse_people_csv(
        "email,name,department,roles\nzed@example.com,Zed,Legal,council;leader\n"
    )
    plan = await imports.plan_import(ctx_for(COMMAND_LINE), rows)
    assert plan.new_departments == ["Legal"]
    result = await imports.apply_import(ctx_for(COMMAND_LINE), plan)
    assert result.created == ["zed@example.com"] and result.invited == []
    zed = await user_row("zed@example.com")
    assert zed["is_council"] and zed["is_leader"] and not zed["is_admin"]
    again = await imports.plan_import(ctx_for(COMMAND_LINE), rows)
    assert again.writes == 0 and len(again.unchanged) == 1
    page = await (await adam.browser()).get("/admin/audit", params={"actor": "cli"})
    assert "Command line" in page.text and "zed@example.com" in page.text


# -- the blind promise -------------------------------------------------------------


async def test_no_admin_page_connects_a_person_to_their_ideas(personas):
    adam = await personas.get("adam_admin")
    alice = await personas.get("alice_support")
    titles = ["Refund status page for customers", "Warm hand-off between support tiers"]
    for title in titles:
        r = await alice.api().post("/api/v1/ideas", json=idea_payload(title=title))
        assert r.status_code == 201
    browser = await adam.browser()
    urls = [
        *ADMIN_PAGES,
        f"/admin/people/{alice.id}",
        f"/admin/people?q={alice.name}",
        "/admin/people?state=all",
        f"/admin/audit?target={alice.email}",
    ]
    for url in urls:
        r = await browser.get(url)
        assert r.status_code == 200, url
        lowered = r.text.lower()
        for title in titles:
            assert title.lower() not in lowered, url
        assert not re.search(r"/ideas/\d", r.text), url
    people = await browser.get("/admin/people")
    assert alice.name in people.text  # the directory names people, and carries no idea


async def test_adding_the_same_person_twice_at_once_writes_one(personas):
    from ideas.errors import Conflict

    adam = await personas.get("adam_admin")
    data = service.PersonIn(
        email="twin@example.com",
        name="Twin",
        department_id=adam.viewer.department_id,
        invite=False,
    )
    results = await asyncio.gather(
        *[service.add_person(ctx_for(adam.viewer), data) for _ in range(4)], return_exceptions=True
    )
    ok = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, Invalid | Conflict)]
    assert len(ok) == 1 and len(refused) == 3, results
    assert await User.count().where(User.email == "twin@example.com").run() == 1
    assert (await audit_actions()).count("person.create") == 1
