"""SCIM Groups are departments: a person is in exactly one; adding someone to
a group moves them there, removing them moves them to the default department."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from scim2_models import (
    Context,
    Group,
    GroupMember,
    Meta,
    PatchOp,
)

from ideas import audit
from ideas.db import write_transaction
from ideas.integrations.scim.base import ScimError, _location, _not_found, _parse
from ideas.integrations.scim.filters import _eq_filter, _paging, list_response
from ideas.integrations.scim.tokens import ScimClient, _audit
from ideas.integrations.scim.users import _apply_patch, _default_department
from ideas.people import directory
from ideas.tables import Department, Idea
from ideas.tables import User as Person

# -- groups = departments -------------------------------------------------------------


async def _members(department_id: int, base_url: str) -> list[dict[str, Any]]:
    rows = (
        await Person.select(Person.id)
        .where(
            Person.department == department_id,
            Person.scim_deleted.eq(False),
        )
        .order_by(Person.created_at)
        .order_by(Person.id)
        .run()
    )
    return [
        {"value": str(r["id"]), "$ref": _location(base_url, "Users", str(r["id"])), "type": "User"}
        for r in rows
    ]


async def group_resource(row: dict, base_url: str, members: bool = True) -> dict[str, Any]:
    group = Group(
        id=str(row["id"]),
        external_id=row["external_id"] or None,
        display_name=row["name"],
        members=[GroupMember(**m) for m in await _members(row["id"], base_url)]
        if members
        else None,
        meta=Meta(
            resource_type="Group",
            created=row["created_at"],
            last_modified=row["created_at"],
            location=_location(base_url, "Groups", str(row["id"])),
        ),
    )
    return group.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


_GROUP_COLUMNS = (Department.id, Department.name, Department.created_at, Department.external_id)


def _group_id(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 12:
        raise _not_found("Group")
    return int(raw)


async def _group_row(group_id: int) -> dict:
    rows = await Department.select(*_GROUP_COLUMNS).where(Department.id == group_id).run()
    if not rows:
        raise _not_found("Group")
    return rows[0]


async def get_group(raw_id: str, base_url: str, members: bool = True) -> dict[str, Any]:
    return await group_resource(await _group_row(_group_id(raw_id)), base_url, members)


async def list_groups(
    filter: str | None,
    start_index: int | None,
    count: int | None,
    base_url: str,
    members: bool = True,
) -> dict[str, Any]:
    wanted = _eq_filter(filter, {"displayname": "displayName"})
    start, size = _paging(start_index, count)
    query = Department.select(*_GROUP_COLUMNS)
    counting = Department.count()
    if wanted is not None:
        query = query.where(Department.name == wanted[1])
        counting = counting.where(Department.name == wanted[1])
    total = await counting.run()
    rows = await query.order_by(Department.id).offset(start - 1).limit(size).run() if size else []
    return list_response([await group_resource(r, base_url, members) for r in rows], total, start)


def _group_name(group: Group) -> str:
    name = (group.display_name or "").strip()
    if not 1 <= len(name) <= 80:
        raise ScimError(400, "displayName: required, 1–80 characters", "invalidValue")
    return name


def _member_ids(group: Group) -> list[UUID]:
    ids = []
    for member in group.members or []:
        try:
            ids.append(UUID(str(member.value)))
        except ValueError:
            raise ScimError(
                400, f"members: no such User {member.value!r}", "invalidValue"
            ) from None
    return ids


async def _set_members(
    client: ScimClient, department_id: int, name: str, wanted: list[UUID]
) -> None:
    """The group's members become exactly `wanted`: others move to the
    default department, the listed move in."""
    known = {
        r["id"]
        for r in await Person.select(Person.id)
        .where(Person.id.is_in(wanted or [UUID(int=0)]), Person.scim_deleted.eq(False))
        .run()
    }
    missing = [str(u) for u in wanted if u not in known]
    if missing:
        raise ScimError(400, f"members: no such User {missing[0]}", "invalidValue")
    current = {
        r["id"]
        for r in await Person.select(Person.id)
        .where(
            Person.department == department_id,
            Person.scim_deleted.eq(False),
        )
        .run()
    }
    leaving = current - set(wanted)
    joining = set(wanted) - current
    if leaving:
        fallback = _default_department()
        if fallback == name:
            raise ScimError(
                400, f"members: the default department {name!r} keeps its people", "mutability"
            )
        fallback_id = await directory.department_by_name(fallback, create=True)
        await directory.note_moves(Person.id.is_in(list(leaving)), fallback_id)
        await (
            Person.update({Person.department: fallback_id})
            .where(Person.id.is_in(list(leaving)))
            .run()
        )
    if joining:
        await directory.note_moves(Person.id.is_in(list(joining)), department_id)
        await (
            Person.update({Person.department: department_id})
            .where(Person.id.is_in(list(joining)))
            .run()
        )
    if leaving or joining:
        await _audit(
            client,
            "scim.group.members",
            name,
            {"joined": len(joining), "left": len(leaving)},
        )


async def _name_free(name: str, except_id: int | None) -> None:
    query = Department.exists().where(Department.name == name)
    if except_id is not None:
        query = query.where(Department.id != except_id)
    if await query.run():
        raise ScimError(409, f"displayName: a department named {name!r} exists", "uniqueness")


async def create_group(client: ScimClient, body: Any, base_url: str) -> dict[str, Any]:
    group = _parse(Group, body, Context.RESOURCE_CREATION_REQUEST)
    name = _group_name(group)
    members = _member_ids(group)
    async with write_transaction():
        await _name_free(name, None)
        department_id = await directory.department_by_name(name, create=True)
        await (
            Department.update({Department.external_id: (group.external_id or "")[:255]})
            .where(Department.id == department_id)
            .run()
        )
        await _audit(client, "scim.group.create", name, {})
        await _set_members(client, department_id, name, members)
        return await group_resource(await _group_row(department_id), base_url)


async def _write_group(
    client: ScimClient,
    row: dict,
    name: str,
    members: list[UUID] | None,
    base_url: str,
    external_id: str | None,
) -> dict[str, Any]:
    external_id = (external_id or "").strip()[:255]
    if external_id != row["external_id"]:
        await (
            Department.update({Department.external_id: external_id})
            .where(Department.id == row["id"])
            .run()
        )
    if name != row["name"]:
        await _name_free(name, row["id"])
        await Department.update({Department.name: name}).where(Department.id == row["id"]).run()
        await _audit(client, "scim.group.rename", name, {"name": audit.change(row["name"], name)})
    if members is not None:
        await _set_members(client, row["id"], name, members)
    return await group_resource(await _group_row(row["id"]), base_url)


async def replace_group(client: ScimClient, raw_id: str, body: Any, base_url: str) -> dict:
    group = _parse(Group, body, Context.RESOURCE_REPLACEMENT_REQUEST)
    async with write_transaction():
        row = await _group_row(_group_id(raw_id))
        return await _write_group(
            client, row, _group_name(group), _member_ids(group), base_url, group.external_id
        )


def _entra_member_removals(body: Any) -> Any:
    """Entra ID removes members with `path: "members"` and the members as
    `value`, where RFC 7644 reads `path: "members"` as "all of them": make it
    one `members[value eq "…"]` removal per member named."""
    if not isinstance(body, dict) or not isinstance(body.get("Operations"), list):
        return body
    operations = []
    for op in body["Operations"]:
        if (
            isinstance(op, dict)
            and str(op.get("op", "")).lower() == "remove"
            and str(op.get("path", "")).lower() == "members"
            and isinstance(op.get("value"), list)
        ):
            for member in op["value"]:
                value = member.get("value") if isinstance(member, dict) else None
                if isinstance(value, str) and '"' not in value:
                    operations.append({"op": "remove", "path": f'members[value eq "{value}"]'})
        else:
            operations.append(op)
    return {**body, "Operations": operations}


async def patch_group(client: ScimClient, raw_id: str, body: Any, base_url: str) -> dict:
    body = _entra_member_removals(body)
    patch = _parse(PatchOp[Group], body, Context.RESOURCE_PATCH_REQUEST)
    async with write_transaction():
        row = await _group_row(_group_id(raw_id))
        current = Group.model_validate(
            await group_resource(row, base_url), scim_ctx=Context.RESOURCE_QUERY_RESPONSE
        )
        _apply_patch(patch, current)
        return await _write_group(
            client, row, _group_name(current), _member_ids(current), base_url, current.external_id
        )


async def delete_group(client: ScimClient, raw_id: str) -> None:
    """A department goes only when nothing needs it any more: its people
    move to the default department; one that owns ideas stays (409)."""
    async with write_transaction():
        row = await _group_row(_group_id(raw_id))
        if await Idea.exists().where(Idea.owning_department == row["id"]).run():
            raise ScimError(
                409, "this department owns ideas: merge it on the admin pages instead", "mutability"
            )
        await _set_members(client, row["id"], row["name"], [])
        try:
            await Department.delete().where(Department.id == row["id"]).run()
        except Exception:  # still referenced (history): keep it
            raise ScimError(409, "this department is still referenced", "mutability") from None
        await _audit(client, "scim.group.delete", row["name"], {})
