"""The people service: the use cases that add and change people, one each,
called alike by the admin pages, the CSV import (`ideas.people.imports`),
the command line (`touchpoint users ...`), and — through
`ideas.people.provisioning`, built on the steps below — SCIM provisioning
and single sign-on.

Each use case takes the unit of work's `ctx` first, checks `admin.manage`
itself, writes in one transaction with an audit entry naming `ctx.actor`,
and keeps the one admin rule of `ideas.people.roles` (nobody removes their
own admin role; the last active admin is neither demoted nor deactivated:
409).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any
from uuid import UUID

from asyncpg.exceptions import UniqueViolationError
from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints, ValidationError

from ideas import audit, policy, security
from ideas import text as text_rules
from ideas.context import Context
from ideas.db import write_transaction
from ideas.errors import Conflict, Invalid, NotFound
from ideas.people import accounts, invitations
from ideas.people.directory import (
    PERSON_COLUMNS,
    Person,
    department_name,
    load_person,
    normalise_email,
    note_moves,
    parse_user_id,
)
from ideas.people.roles import (
    LAST_ADMIN,
    OWN_ROLE,
    admin_rule,
    check_roles,
    lock_admins,
    role_columns,
    role_values,
    roles_of,
    sorted_roles,
    with_staff,
)
from ideas.schemas import Role
from ideas.tables import Invitation, User

#: a display name may not imitate a role label ("Submitter", "CX council"):
#: see ideas.text; no text takes bidi controls
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=120),
    AfterValidator(text_rules.person_name),
]
JobTitle = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=120),
    AfterValidator(text_rules.visible(0)),
]


class PersonEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    title: JobTitle = ""
    department_id: int
    roles: list[Role] = []


class PersonIn(PersonEdit):
    email: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=254)]
    #: mail them a one-time link to set a password
    invite: bool = True


def checked(model: type[BaseModel], **values: Any) -> Any:
    """`model(**values)`, its first refusal as Invalid (for the command line,
    which has no form to show pydantic's errors on)."""
    try:
        return model(**values)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"]) or "value"
        raise Invalid(field, error["msg"].removeprefix("Value error, ")) from None


# -- the writing steps every door shares ------------------------------------------


@contextmanager
def duplicates_refused(message: str) -> Iterator[None]:
    """A unique index refusing a row another request wrote meanwhile (a race
    the checks before the write cannot see) answers 409, not 500."""
    try:
        yield
    except (UniqueViolationError, sqlite3.IntegrityError) as exc:
        if isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" not in str(exc):
            raise
        raise Conflict(message) from None


def new_user(
    email: str,
    name: str,
    title: str,
    department_id: int,
    roles,
    password_hash: str = "",
    **columns: Any,
) -> User:
    """A person's row (not saved): the one place a person's columns are filled
    (`columns`: the identity provider's ids, by column name)."""
    return User(
        email=email,
        name=name,
        title=title,
        department=department_id,
        password_hash=password_hash,
        **role_values(roles),
        **columns,
    )


async def insert_people(
    ctx: Context, users: list[User], departments: list[str], extra: dict | None = None
) -> None:
    """Inside a transaction: save new people, one "person.create" entry each."""
    for start in range(0, len(users), 500):
        await User.insert(*users[start : start + 500]).run()
    for user, department in zip(users, departments, strict=True):
        roles = sorted_roles(roles_of({k: getattr(user, k) for k in role_values(())}))
        details = {"name": user.name, "title": user.title, "department": department}
        await audit.record(
            ctx.actor, "person.create", user.email, {**details, "roles": roles, **(extra or {})}
        )


#: the keys of `write_person`'s values that are one column each
_PLAIN = {"email": User.email, "name": User.name, "title": User.title}


async def write_person(
    ctx: Context,
    user_id: UUID,
    email: str,
    values: dict,
    changes: dict,
    extra: dict | None = None,
    columns: dict | None = None,
) -> None:
    """Inside a transaction: change a person's name, title, department, roles
    and e-mail address (any of {"name", "title", "department_id", "roles",
    "email"}; a move of department is recorded for the settled-members
    rule), and further `columns` (not audited: the provider's ids); one
    "person.update" entry with the changes, when there are any."""
    update: dict[Any, Any] = {
        column: values[key] for key, column in _PLAIN.items() if key in values
    }
    if "department_id" in values:
        await note_moves(User.id == user_id, values["department_id"])
        update[User.department] = values["department_id"]
    if "roles" in values:
        update.update(role_columns(values["roles"]))
    update.update(columns or {})
    if update:
        await User.update(update).where(User.id == user_id).run()
    if changes:
        await audit.record(ctx.actor, "person.update", email, {**changes, **(extra or {})})


async def write_active(
    ctx: Context, user_id: UUID, email: str, active: bool, action: str | None = None
) -> None:
    """Inside a transaction: (de)activate someone. Deactivated, they can no
    longer sign in; their sessions and tokens end and their links retire."""
    await User.update({User.active: active}).where(User.id == user_id).run()
    if not active:
        await accounts.end_everything(user_id)
        await (
            Invitation.update({Invitation.expires_at: ctx.now})
            .where(Invitation.user == user_id, Invitation.used_at.is_null())
            .run()
        )
    action = action or ("person.reactivate" if active else "person.deactivate")
    await audit.record(ctx.actor, action, email, {"active": audit.change(not active, active)})


async def admin_problem(ctx: Context, user_id: UUID, demoted: bool, deactivated: bool) -> str:
    """Inside a transaction: whether the change breaks the admin rule ("",
    OWN_ROLE or LAST_ADMIN), the active admins locked until the end."""
    admins = await lock_admins()
    ids = [user_id]
    return admin_rule(
        ctx.actor.id,
        admins,
        demoted=ids if demoted else (),
        deactivated=ids if deactivated else (),
    )


async def keep_an_admin(ctx: Context, user_id: UUID, demoted: bool, deactivated: bool) -> None:
    """Inside a transaction: 409 when the change breaks the admin rule."""
    problem = await admin_problem(ctx, user_id, demoted=demoted, deactivated=deactivated)
    own = user_id == ctx.actor.id
    if problem == OWN_ROLE:
        raise Conflict("You cannot remove your own admin role; ask another admin.")
    if problem == LAST_ADMIN and deactivated:
        raise Conflict(
            "You are the last active admin: make someone else admin before deactivating."
            if own
            else "This is the last active admin."
        )
    if problem == LAST_ADMIN:
        raise Conflict("This is the last active admin: make someone else admin first.")


# -- use cases -------------------------------------------------------------------


async def add_person(
    ctx: Context, data: PersonIn, password: str | None = None
) -> tuple[Person, invitations.InviteResult]:
    """Add one person (with `password`, or none yet) and, if asked, mail them
    an invitation."""
    policy.authorize(ctx.actor, "admin.manage")
    email = normalise_email(data.email)
    roles = with_staff(data.roles)
    if password is not None:
        problem = security.password_problem(password)
        if problem:
            raise Invalid("password", problem)
    password_hash = await security.hash_password_in_thread(password) if password else ""
    taken = "someone with this email is in the directory already"
    with duplicates_refused(taken):
        async with write_transaction():
            department = await department_name(data.department_id)
            if await User.exists().where(User.email == email).run():
                raise Invalid("email", taken)
            user = new_user(email, data.name, data.title, data.department_id, roles, password_hash)
            await insert_people(ctx, [user], [department])
            links = await invitations.issue_invites(ctx, [user.id]) if data.invite else []
    failed = await invitations.send_links(links)
    result = invitations.InviteResult([i.email for i in links], failed)
    return await load_person(user.id), result


async def person_row(user_id: UUID) -> dict:
    """Someone's row (PERSON_COLUMNS), or 404."""
    rows = await User.select(*PERSON_COLUMNS).where(User.id == user_id).run()
    if not rows:
        raise NotFound("no such person")
    return rows[0]


async def edit_person(ctx: Context, user_id: UUID | str, data: PersonEdit) -> Person:
    """Change name, title, department and roles; audited with before and after."""
    policy.authorize(ctx.actor, "admin.manage")
    uid = parse_user_id(str(user_id))
    async with write_transaction():
        row = await person_row(uid)
        after = {
            "name": data.name,
            "title": data.title,
            "department": await department_name(data.department_id),
            "roles": with_staff(data.roles),
        }
        await _change(ctx, row, after, data.department_id)
    return await load_person(uid)


async def set_roles(ctx: Context, user_id: UUID | str, roles: list[str]) -> Person:
    """Change only someone's roles (`touchpoint users set-roles`): the same
    rule and audit entry as a full edit."""
    policy.authorize(ctx.actor, "admin.manage")
    uid = parse_user_id(str(user_id))
    after_roles = sorted_roles(check_roles(roles))
    async with write_transaction():
        row = await person_row(uid)
        after = {
            "name": row["name"],
            "title": row["title"],
            "department": row["department_name"],
            "roles": after_roles,
        }
        await _change(ctx, row, after, row["department"])
    return await load_person(uid)


async def _change(ctx: Context, row: dict, after: dict, department_id: int) -> None:
    before = {
        "name": row["name"],
        "title": row["title"],
        "department": row["department_name"],
        "roles": sorted_roles(roles_of(row)),
    }
    demoted = "admin" in before["roles"] and "admin" not in after["roles"]
    await keep_an_admin(ctx, row["id"], demoted=demoted, deactivated=False)
    changes = audit.diff(before, after)
    if changes:
        values = {**after, "department_id": department_id}
        await write_person(ctx, row["id"], row["email"], values, changes)


async def set_active(ctx: Context, user_id: UUID | str, active: bool) -> Person:
    """Deactivate (they can no longer log in; their tokens are revoked and
    their links retired) or reactivate someone."""
    policy.authorize(ctx.actor, "admin.manage")
    uid = parse_user_id(str(user_id))
    async with write_transaction():
        row = await person_row(uid)
        if row["active"] != active:
            await keep_an_admin(ctx, uid, demoted=False, deactivated=not active)
            await write_active(ctx, uid, row["email"], active)
    return await load_person(uid)


async def deactivate(ctx: Context, user_id: UUID | str) -> Person:
    return await set_active(ctx, user_id, False)


async def set_break_glass(ctx: Context, user_id: UUID | str, on: bool) -> None:
    """Mark (or unmark) a break-glass account: it may still sign in with a
    password while SSO_ONLY is on. Audited."""
    policy.authorize(ctx.actor, "admin.manage")
    uid = parse_user_id(str(user_id))
    async with write_transaction():
        rows = await User.select(User.email, User.break_glass).where(User.id == uid).run()
        if not rows:
            raise NotFound("no such person")
        if rows[0]["break_glass"] == on:
            return
        await User.update({User.break_glass: on}).where(User.id == uid).run()
        await audit.record(
            ctx.actor,
            "person.break_glass",
            rows[0]["email"],
            {"break_glass": audit.change(not on, on)},
        )


async def set_password(ctx: Context, email: str, password: str) -> None:
    """Set someone's password (`touchpoint users set-password`). Audited."""
    policy.authorize(ctx.actor, "admin.manage")
    problem = security.password_problem(password)
    if problem:
        raise Invalid("password", problem)
    email = normalise_email(email)
    password_hash = await security.hash_password_in_thread(password)
    async with write_transaction():
        updated = (
            await User.update({User.password_hash: password_hash})
            .where(User.email == email)
            .returning(User.id)
            .run()
        )
        if not updated:
            raise NotFound(f"no user with email {email}")
        await audit.record(ctx.actor, "person.update", email, {"password": "set"})


async def invite_person(ctx: Context, user_id: UUID | str) -> invitations.InviteResult:
    """Mail someone a fresh one-time link (earlier links stop working)."""
    policy.authorize(ctx.actor, "admin.manage")
    uid = parse_user_id(str(user_id))
    if not await User.exists().where(User.id == uid).run():
        raise NotFound("no such person")
    return await invitations.invite_ids(ctx, [uid])
