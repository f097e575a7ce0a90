"""SCIM 2.0 provisioning (RFC 7643/7644): the identity provider creates,
changes and deactivates people here, through `scim2-models`.

- **Users** are people. `userName` is kept as sent (people made otherwise
  answer their e-mail address); the e-mail address is `userName` when it is
  one, else the primary of `emails`. `displayName` (or `name`) is the name,
  `title` the job title, the enterprise extension's `department` the
  department. `active: false` deactivates through the people service
  (`ideas.people.service`): sessions and API tokens end at once, and the
  last active admin is kept (409). DELETE deactivates too and hides the
  person from SCIM; the person stays, because their ideas, votes and the
  council's history stay.
- **Groups are departments** (a person is in exactly one). Adding someone to
  a group moves them there; removing them moves them to the default
  department. Roles (council, leader, admin) are not groups here: they are
  powers over the blind review, granted on Touchpoint's admin pages or from
  the provider's groups at sign-in (OIDC_GROUP_ROLES), never by whoever
  holds a provisioning token.
- Every change is in the audit log ("scim.*"), its actor the System
  "SCIM (<token name>)".
- Errors are SCIM errors (`ScimError` → `urn:…:Error`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

from piccolo.columns.combination import WhereRaw
from pydantic import ValidationError
from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    EnterpriseUser,
    ETag,
    Filter,
    Group,
    GroupMember,
    Meta,
    Name,
    Patch,
    PatchOp,
    ResourceType,
    Schema,
    SCIMException,
    ServiceProviderConfig,
    Sort,
    User,
)

from ideas import audit, clock, policy, security
from ideas import context as units
from ideas.config import get_settings
from ideas.db import write_transaction
from ideas.errors import DomainError, Invalid, NotFound
from ideas.people import directory, service
from ideas.tables import Department, Idea, ScimToken
from ideas.tables import User as Person

UserResource = User[EnterpriseUser]
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
MAX_COUNT = 200
DEFAULT_COUNT = 100


class ScimError(DomainError):
    """An answer in SCIM's error format (RFC 7644 §3.12)."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.scim_type = scim_type

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": str(self.status),
            "detail": self.detail,
        }
        if self.scim_type:
            body["scimType"] = self.scim_type
        return body


def _not_found(kind: str) -> ScimError:
    return ScimError(404, f"no such {kind}")


# -- tokens --------------------------------------------------------------------


@dataclass(frozen=True)
class ScimClient:
    """Who is provisioning: a SCIM token (by its name)."""

    token_id: int
    name: str

    @property
    def actor(self) -> units.System:
        """How audit entries name it."""
        return units.System(f"SCIM ({self.name})")

    def context(self) -> units.Context:
        """The request's unit of work, acted in by this client."""
        current = units.current()
        if current is None:
            return units.make(self.actor)
        return replace(current, actor=self.actor)


@dataclass(frozen=True)
class ScimTokenInfo:
    id: int
    name: str
    created_on: dt.date
    last_used_on: dt.date | None
    revoked: bool


def _token_name(name: str) -> str:
    name = (name or "").strip()
    if not 1 <= len(name) <= 80:
        raise Invalid("name", "must be 1–80 characters")
    return name


async def create_token(ctx: units.Context, name: str) -> str:
    """A new SCIM bearer token, answered once (only its SHA-256 is kept)."""
    policy.authorize(ctx.actor, "admin.manage")
    name = _token_name(name)
    token = "scim_" + security.new_secret()[0]
    hashed = security.digest(token)
    async with write_transaction():
        await ScimToken.insert(
            ScimToken(
                name=name,
                token_hash=hashed,
                created_by=ctx.actor.id,
                created_at=ctx.now,
            )
        ).run()
        await audit.record(ctx.actor, "scim.token.create", name)
    return token


async def list_tokens() -> list[ScimTokenInfo]:
    rows = await ScimToken.select().order_by(ScimToken.id, ascending=False).run()
    return [
        ScimTokenInfo(
            id=r["id"],
            name=r["name"],
            created_on=r["created_at"].date(),
            last_used_on=r["last_used_at"].date() if r["last_used_at"] else None,
            revoked=r["revoked_at"] is not None,
        )
        for r in rows
    ]


async def revoke_token(ctx: units.Context, token_id: int) -> None:
    policy.authorize(ctx.actor, "admin.manage")
    async with write_transaction():
        revoked = (
            await ScimToken.update({ScimToken.revoked_at: ctx.now})
            .where(ScimToken.id == token_id, ScimToken.revoked_at.is_null())
            .returning(ScimToken.name)
            .run()
        )
        if not revoked:
            raise NotFound("no such SCIM token, or revoked already")
        await audit.record(ctx.actor, "scim.token.revoke", revoked[0]["name"])


async def client_by_token(token: str) -> ScimClient | None:
    rows = (
        await ScimToken.select(ScimToken.id, ScimToken.name, ScimToken.last_used_at)
        .where(ScimToken.token_hash == security.digest(token), ScimToken.revoked_at.is_null())
        .run()
    )
    if not rows:
        return None
    now = clock.now()
    if rows[0]["last_used_at"] is None or rows[0]["last_used_at"].date() != now.date():
        await (
            ScimToken.update({ScimToken.last_used_at: now})
            .where(ScimToken.id == rows[0]["id"])
            .run()
        )
    return ScimClient(rows[0]["id"], rows[0]["name"])


async def _audit(client: ScimClient, action: str, target: str, details: dict) -> None:
    await audit.record(client.actor, action, target, details)


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


def _location(base_url: str, kind: str, ident: str) -> str:
    return f"{base_url}/scim/v2/{kind}/{ident}"


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


_EQ = re.compile(r'^\s*([A-Za-z.:0-9]+)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$', re.IGNORECASE)


def _eq_filter(raw: str | None, allowed: dict[str, str]) -> tuple[str, str] | None:
    """`attribute eq "value"` for the attributes named in `allowed` (lower
    case → what it filters); anything else is refused as SCIM says."""
    if raw is None or not raw.strip():
        return None
    match = _EQ.match(raw)
    if not match or match.group(1).lower() not in allowed:
        raise ScimError(
            400,
            f"only {' or '.join(repr(a + ' eq') for a in allowed)} filters are supported",
            "invalidFilter",
        )
    value = match.group(2).replace('\\"', '"').replace("\\\\", "\\")
    return allowed[match.group(1).lower()], value


def _paging(start_index: int | None, count: int | None) -> tuple[int, int]:
    start = max(1, start_index or 1)
    size = DEFAULT_COUNT if count is None else max(0, min(MAX_COUNT, count))
    return start, size


def list_response(resources: list[dict], total: int, start: int) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


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


def _parse(model: Any, body: Any, context: Context) -> Any:
    if not isinstance(body, dict):
        raise ScimError(400, "the body must be a JSON object", "invalidSyntax")
    try:
        return model.model_validate(body, scim_ctx=context)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise ScimError(400, f"{where}: {first['msg']}", "invalidValue") from None


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
    user = _parse(UserResource, body, Context.RESOURCE_CREATION_REQUEST)
    fields = _user_fields(user)
    async with write_transaction():
        if await _user_name_taken(fields.user_name, None):
            raise ScimError(409, "userName: taken already", "uniqueness")
        rows = (
            await Person.select(Person.id, Person.scim_deleted)
            .where(Person.email == fields.email)
            .run()
        )
        if rows and not rows[0]["scim_deleted"]:
            raise ScimError(409, "userName: a person with this e-mail exists", "uniqueness")
        department = fields.department or _default_department()
        department_id = await directory.department_by_name(department, create=True)
        values = {
            Person.email: fields.email,
            Person.name: fields.name,
            Person.title: fields.title,
            Person.department: department_id,
            Person.external_id: fields.external_id,
            Person.scim_user_name: fields.user_name,
            Person.scim_deleted: False,
            Person.active: True,
        }
        if rows:  # provisioned again after a DELETE: the same person comes back
            user_id = rows[0]["id"]
            await directory.note_moves(Person.id == user_id, department_id)
            await Person.update(values).where(Person.id == user_id).run()
        else:
            person = Person(**{column._meta.name: value for column, value in values.items()})
            await person.save().run()
            user_id = person.id
        await _audit(
            client,
            "scim.user.create",
            fields.email,
            {"department": department, "title": fields.title, "returning": bool(rows)},
        )
        if fields.active is False:
            await _set_active(client, user_id, fields.email, False)
        return user_resource(await _user_row(user_id), base_url)


def _default_department() -> str:
    oidc = get_settings().oidc
    return oidc.default_department if oidc else "Unassigned"


async def _apply(
    client: ScimClient, row: dict, fields: _UserFields, base_url: str
) -> dict[str, Any]:
    """Write what a PUT or PATCH leaves the user as (inside a transaction)."""
    user_id: UUID = row["id"]
    if await _user_name_taken(fields.user_name, user_id):
        raise ScimError(409, "userName: taken already", "uniqueness")
    if await _email_taken(fields.email, user_id):
        raise ScimError(409, "userName: a person with this e-mail exists", "uniqueness")
    values: dict[Any, Any] = {
        Person.email: fields.email,
        Person.name: fields.name,
        Person.title: fields.title,
        Person.external_id: fields.external_id,
        Person.scim_user_name: fields.user_name,
    }
    before = {
        "email": row["email"],
        "name": row["name"],
        "title": row["title"],
        "department": row["department_name"],
    }
    after = {"email": fields.email, "name": fields.name, "title": fields.title}
    if fields.department and fields.department != row["department_name"]:
        department_id = await directory.department_by_name(fields.department, create=True)
        await directory.note_moves(Person.id == user_id, department_id)
        values[Person.department] = department_id
        after["department"] = fields.department
    await Person.update(values).where(Person.id == user_id).run()
    changes = audit.diff(before, after)
    if changes:
        await _audit(client, "scim.user.update", fields.email, changes)
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


# -- discovery ------------------------------------------------------------------------

#: what Touchpoint keeps of a User and a Group: the schemas say only that
#: (`name` and an e-mail's `type` are read on input but not kept: Touchpoint
#: has one display name and one work address)
USER_ATTRIBUTES = {"userName", "displayName", "title", "active", "emails"}
EMAIL_ATTRIBUTES = {"value"}
MEMBER_ATTRIBUTES = {"value", "$ref", "type"}
ENTERPRISE_ATTRIBUTES = {"department"}


#: what every person has in Touchpoint (input without them is taken, with defaults)
REQUIRED = {"userName", "displayName", "active", "emails", "department"}


def _trim(schema: Schema, keep: set[str], sub: dict[str, set[str]] | None = None) -> Schema:
    schema = schema.model_copy(deep=True)
    schema.attributes = [a for a in schema.attributes or [] if a.name in keep]
    for attribute in schema.attributes:
        if attribute.name in REQUIRED:
            attribute.required = True
            for sub_attribute in attribute.sub_attributes or []:
                if sub_attribute.name == "value":
                    sub_attribute.required = True
        if sub and attribute.name in sub and attribute.sub_attributes:
            attribute.sub_attributes = [
                s for s in attribute.sub_attributes if s.name in sub[attribute.name]
            ]
    return schema


def _schemas() -> list[Schema]:
    return [
        _trim(User.to_schema(), USER_ATTRIBUTES, {"emails": EMAIL_ATTRIBUTES}),
        _trim(EnterpriseUser.to_schema(), ENTERPRISE_ATTRIBUTES),
        _trim(Group.to_schema(), {"displayName", "members"}, {"members": MEMBER_ATTRIBUTES}),
    ]


def _with_meta(obj: Any, base_url: str, kind: str, ident: str) -> dict[str, Any]:
    obj.meta = Meta(resource_type=kind, location=_location(base_url, kind + "s", ident))
    return obj.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


def schemas(base_url: str) -> list[dict[str, Any]]:
    return [_with_meta(s, base_url, "Schema", s.id) for s in _schemas()]


def schema(base_url: str, schema_id: str) -> dict[str, Any]:
    for s in schemas(base_url):
        if s["id"] == schema_id:
            return s
    raise _not_found("Schema")


def resource_types(base_url: str) -> list[dict[str, Any]]:
    user_type = ResourceType.from_resource(UserResource)
    for extension in user_type.schema_extensions or []:
        extension.required = True  # every person has a department
    types = [user_type, ResourceType.from_resource(Group)]
    return [_with_meta(t, base_url, "ResourceType", t.id) for t in types]


def resource_type(base_url: str, type_id: str) -> dict[str, Any]:
    for t in resource_types(base_url):
        if t["id"] == type_id:
            return t
    raise _not_found("ResourceType")


def service_provider_config(base_url: str) -> dict[str, Any]:
    config = ServiceProviderConfig(
        documentation_uri=None,
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_COUNT),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        authentication_schemes=[
            AuthenticationScheme(
                type="oauthbearertoken",
                name="Bearer token",
                description="A SCIM token an admin made on Touchpoint's admin pages "
                "or with `touchpoint scim token create`",
                primary=True,
            )
        ],
        meta=Meta(
            resource_type="ServiceProviderConfig",
            location=f"{base_url}/scim/v2/ServiceProviderConfig",
        ),
    )
    return config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


# -- attributes= and excludedAttributes= (RFC 7644 §3.9) ------------------------------

ALWAYS_RETURNED = {"schemas", "id", "meta"}


def attribute_names(raw: str | list[str] | None) -> list[str]:
    if raw is None:
        return []
    items = raw.split(",") if isinstance(raw, str) else raw
    return [str(i).strip() for i in items if str(i).strip()]


def _split(name: str) -> tuple[str, str | None]:
    """("urn:…:User", "department") for an extension attribute, ("title", None)
    for a core one (sub-attributes count as their parent)."""
    for urn in (ENTERPRISE,):
        if name.lower().startswith(urn.lower()):
            rest = name[len(urn) :].lstrip(":")
            return urn, (rest.split(".")[0] or None)
    if name.lower().startswith("urn:"):
        name = name.rpartition(":")[2]
    return name.split(".")[0], None


def project(
    resource: dict[str, Any],
    attributes: str | list[str] | None,
    excluded: str | list[str] | None,
) -> dict[str, Any]:
    """Only the attributes asked for (plus schemas, id, meta), or all but the
    excluded ones."""
    lower = {key.lower(): key for key in resource}
    wanted = attribute_names(attributes)
    if wanted:
        kept: dict[str, Any] = {}
        for name in wanted:
            top, sub = _split(name)
            key = lower.get(top.lower())
            if key is None:
                continue
            if sub and isinstance(resource[key], dict):
                inner = {k: v for k, v in resource[key].items() if k.lower() == sub.lower()}
                kept[key] = {**kept.get(key, {}), **inner}
            else:
                kept[key] = resource[key]
        return {**{k: v for k, v in resource.items() if k in ALWAYS_RETURNED}, **kept}
    out = dict(resource)
    for name in attribute_names(excluded):
        top, sub = _split(name)
        key = lower.get(top.lower())
        if key is None or key in ALWAYS_RETURNED:
            continue
        if sub and isinstance(out.get(key), dict):
            out[key] = {k: v for k, v in out[key].items() if k.lower() != sub.lower()}
        else:
            out.pop(key, None)
    return out


def project_list(listed: dict[str, Any], attributes: Any, excluded: Any) -> dict[str, Any]:
    return {**listed, "Resources": [project(r, attributes, excluded) for r in listed["Resources"]]}
