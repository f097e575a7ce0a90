"""The people service for identity providers: a person made just in time by
a single sign-on or provisioned by SCIM, and what a provider says about
someone at each sign-in or SCIM change (`ideas.integrations.oidc`,
`ideas.integrations.scim`).

Built on the steps of `ideas.people.service`, so these write the same audit
entries as the admin pages, the CSV import and the command line
("person.create" with name, title, department and roles; "person.update"
with {field: {before, after}}), `via` naming the door, the actor naming the
provider; a move of department is recorded for the settled-members rule.

The one admin rule holds here too, but a provider's word cannot be answered
with a 409: a sign-in must not fail because the person left a group. So
when a provider's groups would take the admin role from the last active
admin, the change goes through except for that: the admin role is kept, the
"person.update" entry says so (`ADMIN_KEPT`), and a warning is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from ideas import audit, policy
from ideas.context import Context
from ideas.db import write_transaction
from ideas.people import service
from ideas.people.directory import department_by_name, department_name
from ideas.people.roles import roles_of, sorted_roles, with_staff

log = logging.getLogger("touchpoint.people")

#: the "person.update" entry's key when the last active admin kept the role
ADMIN_KEPT = "admin_kept"
ADMIN_KEPT_NOTE = "the last active admin keeps the admin role"

#: what a provider may say about someone (`department` by name)
SAID = ("email", "name", "title", "department", "roles")


async def provision_person(
    ctx: Context,
    *,
    email: str,
    name: str,
    title: str,
    department: str,
    roles: Iterable[str] = (),
    via: str,
    columns: dict | None = None,
    extra: dict | None = None,
) -> UUID:
    """Make a person a provider names (the department by name, made when
    new; `columns`: the provider's ids); one "person.create" entry. Answers
    the person's id."""
    policy.authorize(ctx.actor, "admin.manage")
    async with write_transaction():
        department_id = await department_by_name(department, create=True)
        by_name = {column._meta.name: value for column, value in (columns or {}).items()}
        user = service.new_user(email, name, title, department_id, with_staff(roles), **by_name)
        details = {"via": via, **(extra or {})}
        await service.insert_people(ctx, [user], [await department_name(department_id)], details)
    return user.id


async def sync_person(
    ctx: Context,
    user_id: UUID,
    said: dict[str, Any],
    *,
    via: str,
    columns: dict | None = None,
    noted: dict | None = None,
) -> dict[str, Any]:
    """Bring someone to what a provider says (`said`: any of SAID; what it
    does not say stays), and set `columns` (the provider's ids, not audited).
    One "person.update" entry with the changes and `noted` (further changes
    the caller knows of, such as a link), when there are any. The last
    active admin keeps the admin role (see the module). Answers the changes."""
    policy.authorize(ctx.actor, "admin.manage")
    unknown = set(said) - set(SAID)
    if unknown:
        raise ValueError(f"a provider cannot say {sorted(unknown)}")
    async with write_transaction():
        row = await service.person_row(user_id)
        before = {
            "email": row["email"],
            "name": row["name"],
            "title": row["title"],
            "department": row["department_name"],
            "roles": sorted_roles(roles_of(row)),
        }
        after = dict(said)
        changes = dict(noted or {})
        if "roles" in after:
            after["roles"] = with_staff(after["roles"])
            if "admin" in before["roles"] and "admin" not in after["roles"]:
                if await service.admin_problem(ctx, user_id, demoted=True, deactivated=False):
                    after["roles"] = with_staff([*after["roles"], "admin"])
                    changes[ADMIN_KEPT] = ADMIN_KEPT_NOTE
                    log.warning(
                        "%s would take the admin role from %s, the last active admin: kept",
                        ctx.actor.label,
                        user_id,
                    )
        values = {key: after[key] for key in ("email", "name", "title", "roles") if key in after}
        if "department" in after and after["department"] != before["department"]:
            values["department_id"] = await department_by_name(after["department"], create=True)
        changes = {**audit.diff({key: before[key] for key in after}, after), **changes}
        email = after.get("email", row["email"])
        await service.write_person(ctx, user_id, email, values, changes, {"via": via}, columns)
    return changes
