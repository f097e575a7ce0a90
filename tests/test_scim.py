"""SCIM 2.0 provisioning at /scim/v2: the identity provider creates, finds,
changes, deactivates and removes people; groups are departments. The PATCH
bodies below are the ones Okta's and Microsoft Entra ID's SCIM documentation
show their provisioning services sending."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest

from ideas import clock
from ideas.context import COMMAND_LINE
from ideas.integrations import scim
from ideas.people import accounts, directory, service
from ideas.tables import AuditLog, Department, User
from tests.factories import BrowserClient, ctx_for

BASE = "http://testserver/scim/v2"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


@pytest.fixture
async def idp(app):
    """A SCIM client holding a token an admin made."""
    token = await scim.create_token(ctx_for(COMMAND_LINE), "Okta provisioning")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url=BASE,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"},
    ) as client:
        client.token = token
        yield client


def new_user(user_name: str = "nina@corp.example", **extra) -> dict:
    return {
        "schemas": [CORE, ENTERPRISE],
        "userName": user_name,
        "name": {"givenName": "Nina", "familyName": "Newhire"},
        "displayName": "Nina Newhire",
        "emails": [{"value": user_name, "type": "work", "primary": True}],
        "title": "Onboarding Specialist",
        "active": True,
        "externalId": "00u1abcd",
        ENTERPRISE: {"department": "Customer Success"},
        **extra,
    }


async def create(idp, **extra) -> dict:
    r = await idp.post("/Users", json=new_user(**extra))
    assert r.status_code == 201, r.text
    return r.json()


async def person(email: str) -> dict:
    rows = await User.select(
        User.id,
        User.name,
        User.title,
        User.active,
        User.email,
        User.department.name.as_alias("department"),
    ).where(User.email == email)
    return rows[0]


async def test_only_a_scim_token_opens_scim(app, idp, personas):
    adam = await personas.get("adam_admin")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as anon:
        r = await anon.get("/Users")
        assert r.status_code == 401
        assert r.headers["content-type"].startswith("application/scim+json")
        assert r.json()["schemas"] == [ERROR] and r.json()["status"] == "401"
        r = await anon.get("/Users", headers={"Authorization": f"Bearer {adam.token}"})
        assert r.status_code == 401  # a person's API token is no SCIM token, an admin's neither
    browser = await adam.browser()
    assert (await browser.get(f"{BASE}/Users")).status_code == 401
    assert (await idp.get("/Users")).status_code == 200


async def test_create_get_and_find_by_user_name(idp):
    made = await create(idp)
    assert made["userName"] == "nina@corp.example"
    assert made["displayName"] == "Nina Newhire"
    assert made[ENTERPRISE]["department"] == "Customer Success"
    assert made["meta"]["location"] == f"{BASE}/Users/{made['id']}"
    row = await person("nina@corp.example")
    assert (row["name"], row["title"], row["department"]) == (
        "Nina Newhire",
        "Onboarding Specialist",
        "Customer Success",
    )
    assert (await idp.get(f"/Users/{made['id']}")).json()["id"] == made["id"]

    found = (await idp.get("/Users", params={"filter": 'userName eq "NINA@corp.example"'})).json()
    assert found["totalResults"] == 1 and found["Resources"][0]["id"] == made["id"]
    none = (await idp.get("/Users", params={"filter": 'userName eq "nobody@corp.example"'})).json()
    assert none["totalResults"] == 0 and none["Resources"] == []

    again = await idp.post("/Users", json=new_user())
    assert again.status_code == 409 and again.json()["scimType"] == "uniqueness"


async def test_people_made_elsewhere_are_found_by_their_email(idp, personas):
    alice = await personas.get("alice_support")
    found = (await idp.get("/Users", params={"filter": f'userName eq "{alice.email}"'})).json()
    assert found["totalResults"] == 1
    assert found["Resources"][0]["id"] == alice.id


async def test_paging(idp):
    for n in range(5):
        await create(idp, userName=f"p{n}@corp.example", emails=[], externalId=f"x{n}")
    first = (await idp.get("/Users", params={"startIndex": 1, "count": 2})).json()
    second = (await idp.get("/Users", params={"startIndex": 3, "count": 2})).json()
    last = (await idp.get("/Users", params={"startIndex": 5, "count": 2})).json()
    assert first["totalResults"] == 5 and first["itemsPerPage"] == 2
    assert second["startIndex"] == 3
    names = [u["userName"] for page in (first, second, last) for u in page["Resources"]]
    assert sorted(names) == [f"p{n}@corp.example" for n in range(5)]


async def test_bad_input_is_a_scim_error_naming_the_field(idp):
    r = await idp.post("/Users", json={"schemas": [CORE], "userName": "not an address"})
    assert r.status_code == 400
    body = r.json()
    assert body["schemas"] == [ERROR] and body["scimType"] == "invalidValue"
    assert body["detail"].startswith("userName")
    r = await idp.get("/Users", params={"filter": 'title co "x"'})
    assert r.status_code == 400 and r.json()["scimType"] == "invalidFilter"
    r = await idp.post("/Users", content=b"{not json")
    assert r.status_code == 400 and r.json()["scimType"] == "invalidSyntax"
    assert (await idp.get("/Users/not-a-uuid")).json()["status"] == "404"
    assert await User.count().run() == 0  # nothing half-written


async def test_replace(idp):
    made = await create(idp)
    body = new_user(displayName="Nina Newhire-Berg", title="Team Lead")
    body[ENTERPRISE] = {"department": "Finance"}
    r = await idp.put(f"/Users/{made['id']}", json=body)
    assert r.status_code == 200, r.text
    row = await person("nina@corp.example")
    assert (row["name"], row["title"], row["department"]) == (
        "Nina Newhire-Berg",
        "Team Lead",
        "Finance",
    )


# -- PATCH as Okta and Entra ID send it ------------------------------------------------

OKTA_DEACTIVATE = {
    "schemas": [PATCH],
    "Operations": [{"op": "replace", "value": {"active": False}}],
}
ENTRA_DISABLE_OLD = {
    "schemas": [PATCH],
    "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
}
ENTRA_DISABLE = {
    "schemas": [PATCH],
    "Operations": [{"op": "Replace", "path": "active", "value": False}],
}


@pytest.mark.parametrize("body", [OKTA_DEACTIVATE, ENTRA_DISABLE_OLD, ENTRA_DISABLE])
async def test_patch_active_false_deactivates_and_ends_sessions_and_tokens(
    app, idp, body, personas
):
    made = await create(idp)
    nina = await accounts.viewer_by_id(made["id"])
    token = await accounts.create_token(ctx_for(nina), "script")
    await service.set_password(ctx_for(COMMAND_LINE), "nina@corp.example", "a long enough password")
    browser = BrowserClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    async with browser:
        await browser.login("nina@corp.example", "a long enough password")
        assert (await browser.get("/me")).status_code == 200

        r = await idp.patch(f"/Users/{made['id']}", json=body)
        assert r.status_code == 200, r.text
        assert r.json()["active"] is False

        assert (await browser.get("/me")).status_code == 303  # back to log in
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        headers={"Authorization": f"Bearer {token}"},
    ) as api:
        assert (await api.get("/api/v1/me")).status_code == 401
    assert (await person("nina@corp.example"))["active"] is False
    [entry] = await AuditLog.select().where(AuditLog.action == "scim.user.deactivate").run()
    assert entry["actor"] is None and entry["system_actor"] == "SCIM (Okta provisioning)"
    from ideas import audit

    shown, _ = await audit.list_entries(
        ctx_for(COMMAND_LINE), audit.make_filter(action="scim.user.deactivate")
    )
    assert shown[0].actor == "SCIM (Okta provisioning)"
    assert shown[0].action_label == "SCIM: person deactivated"

    back = {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": True}}]}
    assert (await idp.patch(f"/Users/{made['id']}", json=back)).json()["active"] is True


async def test_entra_attribute_updates(idp):
    made = await create(idp)
    body = {
        "schemas": [PATCH],
        "Operations": [
            {
                "op": "Replace",
                "path": 'emails[type eq "work"].value',
                "value": "nina.b@corp.example",
            },
            {"op": "Replace", "path": "name.familyName", "value": "Berg"},
            {"op": "Add", "path": "title", "value": "Team Lead"},
            {"op": "Add", "path": f"{ENTERPRISE}:department", "value": "Finance"},
        ],
    }
    r = await idp.patch(f"/Users/{made['id']}", json=body)
    assert r.status_code == 200, r.text
    row = await person("nina@corp.example")  # userName is the address: it stays
    assert (row["name"], row["title"], row["department"]) == ("Nina Berg", "Team Lead", "Finance")

    rename = {
        "schemas": [PATCH],
        "Operations": [{"op": "Replace", "path": "userName", "value": "nina.berg@corp.example"}],
    }
    r = await idp.patch(f"/Users/{made['id']}", json=rename)
    assert r.status_code == 200 and r.json()["userName"] == "nina.berg@corp.example"
    assert (await person("nina.berg@corp.example"))["id"] == (
        await accounts.viewer_by_id(made["id"])
    ).id


async def test_okta_profile_update_without_a_path(idp):
    made = await create(idp)
    body = {
        "schemas": [PATCH],
        "Operations": [
            {
                "op": "replace",
                "value": {
                    "displayName": "Nina N.",
                    "title": "Coach",
                    ENTERPRISE: {"department": "HR"},
                },
            }
        ],
    }
    r = await idp.patch(f"/Users/{made['id']}", json=body)
    assert r.status_code == 200, r.text
    row = await person("nina@corp.example")
    assert (row["name"], row["title"], row["department"]) == ("Nina N.", "Coach", "HR")


async def test_delete_deactivates_and_hides(idp):
    made = await create(idp)
    assert (await idp.delete(f"/Users/{made['id']}")).status_code == 204
    assert (await idp.get(f"/Users/{made['id']}")).status_code == 404
    row = await person("nina@corp.example")
    assert row["active"] is False  # kept for the history of ideas and votes
    # provisioned again: the same person comes back
    again = await create(idp)
    assert again["id"] == made["id"] and again["active"] is True


async def test_provisioning_keeps_the_last_active_admin(idp, personas):
    """SCIM deactivates through the people service: the same admin rule as
    the admin pages and the command line (409, nothing written)."""
    adam = await personas.get("adam_admin")
    off = {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]}
    refused = await idp.patch(f"/Users/{adam.id}", json=off)
    assert refused.status_code == 409, refused.text
    assert "last active admin" in refused.json()["detail"]
    assert (await idp.delete(f"/Users/{adam.id}")).status_code == 409
    assert (await person(adam.email))["active"] is True
    # with another admin, the provider's word goes
    await service.set_roles(ctx_for(COMMAND_LINE), (await create(idp))["id"], ["admin"])
    assert (await idp.patch(f"/Users/{adam.id}", json=off)).json()["active"] is False


# -- groups are departments ------------------------------------------------------------


async def test_groups_are_departments_and_membership_moves_people(idp):
    nina = await create(idp)
    omar = await create(idp, userName="omar@corp.example", emails=[], externalId="00u2")
    r = await idp.post(
        "/Groups",
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Billing Operations",
            "members": [{"value": nina["id"]}],
        },
    )
    assert r.status_code == 201, r.text
    group = r.json()
    assert (await person("nina@corp.example"))["department"] == "Billing Operations"

    okta_add = {
        "schemas": [PATCH],
        "Operations": [
            {"op": "add", "path": "members", "value": [{"value": omar["id"], "display": "omar"}]}
        ],
    }
    assert (await idp.patch(f"/Groups/{group['id']}", json=okta_add)).status_code == 200
    assert (await person("omar@corp.example"))["department"] == "Billing Operations"

    okta_remove = {
        "schemas": [PATCH],
        "Operations": [{"op": "remove", "path": f'members[value eq "{nina["id"]}"]'}],
    }
    r = await idp.patch(f"/Groups/{group['id']}", json=okta_remove)
    assert r.status_code == 200, r.text
    assert (await person("nina@corp.example"))["department"] == "Unassigned"
    assert [m["value"] for m in r.json()["members"]] == [omar["id"]]

    okta_rename = {
        "schemas": [PATCH],
        "Operations": [{"op": "replace", "value": {"id": group["id"], "displayName": "Billing"}}],
    }
    assert (await idp.patch(f"/Groups/{group['id']}", json=okta_rename)).status_code == 200
    assert (await person("omar@corp.example"))["department"] == "Billing"

    found = (await idp.get("/Groups", params={"filter": 'displayName eq "Billing"'})).json()
    assert found["totalResults"] == 1
    slim = (await idp.get(f"/Groups/{group['id']}?excludedAttributes=members")).json()
    assert "members" not in slim

    assert (await idp.delete(f"/Groups/{group['id']}")).status_code == 204
    assert (await idp.get(f"/Groups/{group['id']}")).status_code == 404
    assert (await person("omar@corp.example"))["department"] == "Unassigned"
    assert not await Department.exists().where(Department.name == "Billing").run()


async def _since(email: str) -> dt.datetime | None:
    rows = await User.select(User.department_since).where(User.email == email)
    return rows[0]["department_since"]


async def test_every_scim_move_records_when_the_person_moved(idp):
    """Leadership counts only settled members of a department (k-anonymity):
    a move by SCIM (PATCH, PUT, group membership) must record
    `department_since` like a move on the admin pages, or a just-moved
    person would count as settled there at once."""
    moments = [dt.datetime(2026, 11, 23, 10, m, tzinfo=dt.UTC) for m in range(7)]
    now = {"at": moments[0]}
    clock.set_clock(lambda: now["at"])
    try:
        nina = await create(idp)
        email = "nina@corp.example"
        first = await _since(email)

        now["at"] = moments[1]
        patch = {
            "schemas": [PATCH],
            "Operations": [{"op": "Add", "path": f"{ENTERPRISE}:department", "value": "Finance"}],
        }
        assert (await idp.patch(f"/Users/{nina['id']}", json=patch)).status_code == 200
        assert (await person(email))["department"] == "Finance"
        assert await _since(email) == moments[1] != first

        now["at"] = moments[2]
        body = new_user(title="Team Lead")
        body[ENTERPRISE] = {"department": "HR"}
        assert (await idp.put(f"/Users/{nina['id']}", json=body)).status_code == 200
        assert await _since(email) == moments[2]

        now["at"] = moments[3]  # no move: nothing recorded
        body["title"] = "Coach"
        assert (await idp.put(f"/Users/{nina['id']}", json=body)).status_code == 200
        assert await _since(email) == moments[2]

        now["at"] = moments[4]
        group = (await idp.post("/Groups", json={"displayName": "Support", "members": []})).json()
        add = {
            "schemas": [PATCH],
            "Operations": [{"op": "Add", "path": "members", "value": [{"value": nina["id"]}]}],
        }
        assert (await idp.patch(f"/Groups/{group['id']}", json=add)).status_code == 200
        assert (await person(email))["department"] == "Support"
        assert await _since(email) == moments[4]

        now["at"] = moments[5]
        remove = {
            "schemas": [PATCH],
            "Operations": [{"op": "Remove", "path": "members", "value": [{"value": nina["id"]}]}],
        }
        assert (await idp.patch(f"/Groups/{group['id']}", json=remove)).status_code == 200
        assert (await person(email))["department"] == "Unassigned"
        assert await _since(email) == moments[5]
    finally:
        clock.set_clock(None)


async def test_entra_group_member_add_and_remove(idp):
    nina = await create(idp)
    group = (await idp.post("/Groups", json={"displayName": "Support", "members": []})).json()
    add = {
        "schemas": [PATCH],
        "Operations": [
            {"op": "Add", "path": "members", "value": [{"$ref": None, "value": nina["id"]}]}
        ],
    }
    assert (await idp.patch(f"/Groups/{group['id']}", json=add)).status_code == 200
    assert (await person("nina@corp.example"))["department"] == "Support"
    remove = {
        "schemas": [PATCH],
        "Operations": [
            {"op": "Remove", "path": "members", "value": [{"$ref": None, "value": nina["id"]}]}
        ],
    }
    assert (await idp.patch(f"/Groups/{group['id']}", json=remove)).status_code == 200
    assert (await person("nina@corp.example"))["department"] == "Unassigned"


# -- discovery and tokens ---------------------------------------------------------------


async def test_discovery_endpoints(idp):
    config = (await idp.get("/ServiceProviderConfig")).json()
    assert config["patch"]["supported"] is True and config["bulk"]["supported"] is False
    types = (await idp.get("/ResourceTypes")).json()["Resources"]
    assert {t["id"] for t in types} == {"User", "Group"}
    schemas = (await idp.get("/Schemas")).json()["Resources"]
    user_schema = next(s for s in schemas if s["id"] == CORE)
    assert {a["name"] for a in user_schema["attributes"]} == scim.USER_ATTRIBUTES
    assert (await idp.get(f"/Schemas/{ENTERPRISE}")).status_code == 200


async def test_a_revoked_token_stops_working(app, idp):
    [info] = await scim.list_tokens(ctx_for(COMMAND_LINE))
    await scim.revoke_token(ctx_for(COMMAND_LINE), info.id)
    r = await idp.get("/Users")
    assert r.status_code == 401
    assert await AuditLog.count().where(AuditLog.action == "scim.token.revoke").run() == 1


# -- the command line and the admin pages -----------------------------------------------


async def test_the_command_line_prints_a_working_token_once(app):
    from tests.test_cli import touchpoint

    run = await touchpoint("scim", "token", "create", "--name", "Entra ID")
    assert run.code == 0, run.err
    token = run.out.strip()
    assert token.startswith("scim_") and "shown only this once" in run.err
    [info] = await scim.list_tokens(ctx_for(COMMAND_LINE))
    assert info.name == "Entra ID"
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url=BASE,
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        assert (await client.get("/ServiceProviderConfig")).status_code == 200
    from ideas.tables import ScimToken

    assert token not in str(await ScimToken.select().run())  # only its hash is kept
    bad = await touchpoint("scim", "token", "create", "--name", " ")
    assert bad.code == 1 and "name" in bad.err


async def test_an_admin_makes_and_revokes_scim_tokens_on_the_admin_pages(app, personas):
    adam = await personas.get("adam_admin")
    browser = await adam.browser()
    page = await browser.get("/admin/scim")
    assert page.status_code == 200 and "http://testserver/scim/v2" in page.text
    made = await browser.form("/admin/scim/tokens", {"name": "Okta"})
    assert made.status_code == 201
    token = made.text.split('id="new-scim-token" class="mono">')[1].split("<")[0]
    again = await browser.get("/admin/scim")
    assert token not in again.text and "Okta" in again.text
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url=BASE,
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        assert (await client.get("/Users")).status_code == 200
        [info] = await scim.list_tokens(ctx_for(COMMAND_LINE))
        r = await browser.form(f"/admin/scim/tokens/{info.id}/revoke", {})
        assert r.status_code == 303
        assert (await client.get("/Users")).status_code == 401
    assert (await browser.form("/admin/scim/tokens", {"name": ""})).status_code == 400


async def test_an_admin_marks_a_break_glass_account(personas):
    adam = await personas.get("adam_admin")
    alice = await personas.get("alice_support")
    browser = await adam.browser()
    r = await browser.form(f"/admin/people/{alice.id}/break-glass", {"break_glass": "on"})
    assert r.status_code == 303
    assert (await User.select(User.break_glass).where(User.id == alice.viewer.id))[0]["break_glass"]
    assert (
        'id="break_glass" name="break_glass" type="checkbox" value="on" checked'
        in (await browser.get(f"/admin/people/{alice.id}")).text
    )
    r = await browser.form(f"/admin/people/{alice.id}/break-glass", {})
    rows = await User.select(User.break_glass).where(User.id == alice.viewer.id)
    assert rows[0]["break_glass"] is False
    assert await AuditLog.count().where(AuditLog.action == "person.break_glass").run() == 2


async def test_only_admins_manage_scim_tokens_and_break_glass_in_the_domain_too(personas):
    from ideas.errors import Forbidden
    from ideas.people import service

    bob = await personas.get("bob_finance_council")
    with pytest.raises(Forbidden):
        await scim.create_token(ctx_for(bob.viewer), "sneaky")
    await scim.create_token(ctx_for(COMMAND_LINE), "real")
    [info] = await scim.list_tokens(ctx_for(COMMAND_LINE))
    with pytest.raises(Forbidden):
        await scim.list_tokens(ctx_for(bob.viewer))
    with pytest.raises(Forbidden):
        await scim.revoke_token(ctx_for(bob.viewer), info.id)
    with pytest.raises(Forbidden):
        await service.set_break_glass(ctx_for(bob.viewer), bob.id, True)


# -- one people service, one audit format ---------------------------------------------


def details(entry: dict) -> dict:
    value = entry["details"]
    return json.loads(value) if isinstance(value, str) else value


async def person_entries(email: str) -> list[dict]:
    return (
        await AuditLog.select()
        .where(AuditLog.target == email, AuditLog.action.like("person.%"))
        .order_by(AuditLog.id)
        .run()
    )


async def test_scim_writes_the_audit_entries_the_admin_pages_and_the_command_line_write(
    idp, personas
):
    """SCIM creates and changes people through the people service: the same
    "person.create"/"person.update" entries as the command line and the
    admin pages, `via` and the actor naming the door."""
    adam = await personas.get("adam_admin")
    support = await directory.department_by_name("Customer Success", create=True)
    finance = await directory.department_by_name("Finance", create=True)
    # the command line adds someone (`touchpoint users add`), an admin edits them on the page
    omar = service.PersonIn(
        email="omar@corp.example",
        name="Omar Osei",
        title="Onboarding Specialist",
        department_id=support,
        invite=False,
    )
    added, _ = await service.add_person(ctx_for(COMMAND_LINE), omar)
    edit = service.PersonEdit(name="Omar O. Osei", title="Team Lead", department_id=finance)
    await service.edit_person(ctx_for(adam.viewer), added.id, edit)
    [cli_create, page_update] = await person_entries("omar@corp.example")

    made = await create(idp)
    body = new_user(displayName="Nina Newhire-Berg", title="Team Lead")
    body[ENTERPRISE] = {"department": "Finance"}
    assert (await idp.put(f"/Users/{made['id']}", json=body)).status_code == 200
    patch = {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"title": "Coach"}}]}
    assert (await idp.patch(f"/Users/{made['id']}", json=patch)).status_code == 200
    [scim_create, scim_put, scim_patch] = await person_entries("nina@corp.example")

    assert (cli_create["action"], scim_create["action"]) == ("person.create", "person.create")
    assert details(cli_create) == {
        "name": "Omar Osei",
        "title": "Onboarding Specialist",
        "department": "Customer Success",
        "roles": ["staff"],
    }
    assert details(scim_create) == {
        "name": "Nina Newhire",
        "title": "Onboarding Specialist",
        "department": "Customer Success",
        "roles": ["staff"],
        "via": "SCIM",
    }
    assert [e["action"] for e in (page_update, scim_put, scim_patch)] == ["person.update"] * 3
    assert details(page_update) == {
        "name": {"before": "Omar Osei", "after": "Omar O. Osei"},
        "title": {"before": "Onboarding Specialist", "after": "Team Lead"},
        "department": {"before": "Customer Success", "after": "Finance"},
    }
    assert details(scim_put) == {
        "name": {"before": "Nina Newhire", "after": "Nina Newhire-Berg"},
        "title": {"before": "Onboarding Specialist", "after": "Team Lead"},
        "department": {"before": "Customer Success", "after": "Finance"},
        "via": "SCIM",
    }
    assert details(scim_patch) == {
        "title": {"before": "Team Lead", "after": "Coach"},
        "via": "SCIM",
    }
    for entry in (scim_create, scim_put, scim_patch):
        assert entry["actor"] is None and entry["system_actor"] == "SCIM (Okta provisioning)"
    assert (cli_create["system_actor"], page_update["actor"]) == ("command line", adam.viewer.id)


async def test_a_returning_person_is_audited_as_a_change_and_a_reactivation(idp):
    made = await create(idp)
    assert (await idp.delete(f"/Users/{made['id']}")).status_code == 204
    again = await create(idp, title="Team Lead")
    assert again["id"] == made["id"] and again["active"] is True
    entries = await AuditLog.select().order_by(AuditLog.id).run()
    actions = [e["action"] for e in entries if e["target"] == "nina@corp.example"]
    assert actions == [
        "person.create",
        "scim.user.deactivate",
        "scim.user.delete",
        "person.update",
        "scim.user.reactivate",
    ]
    [returned] = [e for e in entries if e["action"] == "person.update"]
    assert details(returned) == {
        "title": {"before": "Onboarding Specialist", "after": "Team Lead"},
        "returning": True,
        "via": "SCIM",
    }
