"""SCIM Users are people: create, read, list, replace, patch, deactivate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from piccolo.columns.combination import WhereRaw
from pydantic import ValidationError
from scim2_models import (
    Context,
    EnterpriseUser,
    Meta,
    Name,
    PatchOp,
    SCIMException,
)

from ideas.config import get_settings
from ideas.db import write_transaction
from ideas.errors import Invalid
from ideas.integrations.scim.base import ScimError, UserResource, _location, _not_found, _parse
from ideas.integrations.scim.filters import _eq_filter, _paging, list_response
from ideas.integrations.scim.tokens import ScimClient, _audit
from ideas.people import directory, provisioning, service
from ideas.tables import User as Person

#: the audit entries' `via` (the actor names the token)
VIA = "SCIM"

# -- users -----------------------------------------------------------------------

_USER_COLUMNS = (
    Person.id,
    Person.email,
    Person.name,
    Person.title,
    Person.active,
    Person.external_id,
    Person.scim_user_name,
    Person.created_at,
    Person.department,
    Person.department.name.as_alias("department_name"),
)


def user_resource(row: dict, base_url: str) -> dict[str, Any]:
    user = UserResource(
        id=str(row["id"]),
        external_id=row["external_id"] or None,
        user_name=row["scim_user_name"] or row["email"],
        display_name=row["name"],
        title=row["title"] or None,
        active=row["active"],
        emails=[{"value": row["email"]}],
        meta=Meta(
            resource_type="User",
            created=row["created_at"],
            last_modified=row["created_at"],
            location=_location(base_url, "Users", str(row["id"])),
        ),
    )
    user[EnterpriseUser] = EnterpriseUser(department=row["department_name"])
    return user.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


def _user_id(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise _not_found("User") from None


async def _user_row(user_id: UUID) -> dict:
    rows = (
        await Person.select(*_USER_COLUMNS)
        .where(Person.id == user_id, Person.scim_deleted.eq(False))
        .run()
    )
    if not rows:
        raise _not_found("User")
    return rows[0]


async def get_user(raw_id: str, base_url: str) -> dict[str, Any]:
    return user_resource(await _user_row(_user_id(raw_id)), base_url)


async def list_users(
    filter: str | None, start_index: int | None, count: int | None, base_url: str
) -> dict[str, Any]:
    wanted = _eq_filter(
        filter, {"username": "userName", "externalid": "externalId", "emails.value": "email"}
    )
    start, size = _paging(start_index, count)
    query = Person.select(*_USER_COLUMNS).where(Person.scim_deleted.eq(False))
    counting = Person.count().where(Person.scim_deleted.eq(False))
    if wanted is not None:
        attribute, value = wanted
        if attribute == "userName":
            lowered = value.lower()
            condition = _user_name_is(value) | (
                (Person.scim_user_name == "") & (Person.email == lowered)
            )
        elif attribute == "externalId":
            condition = Person.external_id == value
        else:
            condition = Person.email == value.lower()
        query = query.where(condition)
        counting = counting.where(condition)
    total = await counting.run()
    rows = (
        await query.order_by(Person.created_at)
        .order_by(Person.id)
        .offset(start - 1)
        .limit(size)
        .run()
        if size
        else []
    )
    return list_response([user_resource(r, base_url) for r in rows], total, start)


def _user_name_is(user_name: str) -> WhereRaw:
    """userName is not case-sensitive (RFC 7643 §4.1.1)."""
    return WhereRaw("LOWER(scim_user_name) = {}", user_name.lower())


@dataclass
class _UserFields:
    user_name: str
    email: str
    name: str
    title: str
    department: str | None
    active: bool | None
    external_id: str


def _user_fields(user: UserResource) -> _UserFields:
    user_name = (user.user_name or "").strip()
    if not user_name or len(user_name) > 254:
        raise ScimError(400, "userName: required, at most 254 characters", "invalidValue")
    try:
        email = directory.normalise_email(user_name)
    except Invalid:
        primary = [e for e in user.emails or [] if e.primary] or list(user.emails or [])
        try:
            email = directory.normalise_email(primary[0].value or "") if primary else ""
        except Invalid:
            email = ""
    if not email:
        raise ScimError(
            400, "userName: an e-mail address, or give one in emails (primary)", "invalidValue"
        )
    name = (user.display_name or "").strip()
    if not name and user.name is not None:
        name = (user.name.formatted or "").strip() or " ".join(
            p for p in (user.name.given_name, user.name.family_name) if p
        )
    name = (name or email.partition("@")[0])[:120]
    extension = user[EnterpriseUser]
    department = (extension.department or "").strip()[:80] if extension else ""
    return _UserFields(
        user_name=user_name,
        email=email,
        name=name,
        title=(user.title or "").strip()[:120],
        department=department or None,
        active=user.active,
        external_id=(user.external_id or "").strip()[:255],
    )


async def _email_taken(email: str, except_id: UUID | None) -> bool:
    query = Person.exists().where(Person.email == email)
    if except_id is not None:
        query = query.where(Person.id != except_id)
    return await query.run()


async def _user_name_taken(user_name: str, except_id: UUID | None) -> bool:
    query = Person.exists().where(_user_name_is(user_name), Person.scim_deleted.eq(False))
    if except_id is not None:
        query = query.where(Person.id != except_id)
    return await query.run()


async def _set_active(client: ScimClient, user_id: UUID, email: str, active: bool) -> None:
    """Deactivated at once (sessions, API tokens and one-time links end), or
    active again: the people service's step, under its admin rule."""
    ctx = client.context()
    if not active:
        await service.keep_an_admin(ctx, user_id, demoted=False, deactivated=True)
    action = "scim.user.reactivate" if active else "scim.user.deactivate"
    await service.write_active(ctx, user_id, email, active, action)


async def create_user(client: ScimClient, body: Any, base_url: str) -> dict[str, Any]:
    """A new person, made by the people service ("person.create", via SCIM);
    an address SCIM deleted before brings the same person back."""
    user = _parse(UserResource, body, Context.RESOURCE_CREATION_REQUEST)
    fields = _user_fields(user)
    ctx = client.context()
    async with write_transaction():
        if await _user_name_taken(fields.user_name, None):
            raise ScimError(409, "userName: taken already", "uniqueness")
        rows = (
            await Person.select(Person.id, Person.scim_deleted, Person.active)
            .where(Person.email == fields.email)
            .run()
        )
        if rows and not rows[0]["scim_deleted"]:
            raise ScimError(409, "userName: a person with this e-mail exists", "uniqueness")
        department = fields.department or _default_department()
        ids = {Person.external_id: fields.external_id, Person.scim_user_name: fields.user_name}
        if rows:  # provisioned again after a DELETE: the same person comes back
            user_id = rows[0]["id"]
            said = {"name": fields.name, "title": fields.title, "department": department}
            await provisioning.sync_person(
                ctx,
                user_id,
                said,
                via=VIA,
                columns={**ids, Person.scim_deleted: False},
                noted={"returning": True},
            )
            active = rows[0]["active"]
        else:
            user_id = await provisioning.provision_person(
                ctx,
                email=fields.email,
                name=fields.name,
                title=fields.title,
                department=department,
                via=VIA,
                columns=ids,
            )
            active = True
        if active != (fields.active is not False):
            await _set_active(client, user_id, fields.email, not active)
        return user_resource(await _user_row(user_id), base_url)


def _default_department() -> str:
    oidc = get_settings().oidc
    return oidc.default_department if oidc else "Unassigned"


async def _apply(
    client: ScimClient, row: dict, fields: _UserFields, base_url: str
) -> dict[str, Any]:
    """Write what a PUT or PATCH leaves the user as (inside a transaction),
    through the people service ("person.update", via SCIM)."""
    user_id: UUID = row["id"]
    if await _user_name_taken(fields.user_name, user_id):
        raise ScimError(409, "userName: taken already", "uniqueness")
    if await _email_taken(fields.email, user_id):
        raise ScimError(409, "userName: a person with this e-mail exists", "uniqueness")
    said = {"email": fields.email, "name": fields.name, "title": fields.title}
    if fields.department:
        said["department"] = fields.department
    await provisioning.sync_person(
        client.context(),
        user_id,
        said,
        via=VIA,
        columns={Person.external_id: fields.external_id, Person.scim_user_name: fields.user_name},
    )
    if fields.active is False and row["active"]:
        await _set_active(client, user_id, fields.email, False)
    elif fields.active is True and not row["active"]:
        await _set_active(client, user_id, fields.email, True)
    return user_resource(await _user_row(user_id), base_url)


async def replace_user(client: ScimClient, raw_id: str, body: Any, base_url: str) -> dict:
    user = _parse(UserResource, body, Context.RESOURCE_REPLACEMENT_REQUEST)
    fields = _user_fields(user)
    async with write_transaction():
        row = await _user_row(_user_id(raw_id))
        return await _apply(client, row, fields, base_url)


def _apply_patch(patch: Any, resource: Any) -> None:
    """scim2-models applies the operations; its refusals become SCIM errors."""
    try:
        patch.patch(resource)
    except SCIMException as exc:
        raise ScimError(exc.status, str(exc)[:300], exc.scim_type or "invalidValue") from None
    except (ValueError, ValidationError) as exc:
        raise ScimError(400, str(exc).splitlines()[0][:300], "invalidValue") from None


async def patch_user(client: ScimClient, raw_id: str, body: Any, base_url: str) -> dict:
    """PATCH in the shapes Okta and Entra ID send: with or without a path,
    "Replace"/"replace", `"False"` for false, the enterprise URN as a path."""
    patch = _parse(PatchOp[UserResource], body, Context.RESOURCE_PATCH_REQUEST)
    async with write_transaction():
        row = await _user_row(_user_id(raw_id))
        current = UserResource.model_validate(
            user_resource(row, base_url), scim_ctx=Context.RESOURCE_QUERY_RESPONSE
        )
        # we keep one name: split it so a change of one part (Entra ID sends
        # name.familyName alone) keeps the other
        given, _, family = (current.display_name or "").partition(" ")
        current.name = Name(formatted=None, given_name=given or None, family_name=family or None)
        before_name = current.name.model_copy()
        for email in current.emails or []:
            email.type = "work"  # the one address is the work address (Entra ID selects it so)
        _apply_patch(patch, current)
        if (
            current.name != before_name
            and current.name is not None
            and not any(
                op.path and str(op.path).lower() == "displayname" for op in patch.operations or []
            )
        ):
            # a new name (given/family) wins over the displayName we hold
            current.display_name = current.name.formatted or " ".join(
                p for p in (current.name.given_name, current.name.family_name) if p
            )
        return await _apply(client, row, _user_fields(current), base_url)


async def delete_user(client: ScimClient, raw_id: str) -> None:
    """Deprovisioned: deactivated (sessions and tokens end) and hidden from
    SCIM; the person's history stays."""
    async with write_transaction():
        row = await _user_row(_user_id(raw_id))
        if row["active"]:
            await _set_active(client, row["id"], row["email"], False)
        await Person.update({Person.scim_deleted: True}).where(Person.id == row["id"]).run()
        await _audit(client, "scim.user.delete", row["email"], {})
