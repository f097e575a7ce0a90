"""People: departments, users, roles, log-in and API tokens."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from uuid import UUID

import email_validator
from email_validator import EmailNotValidError, validate_email

from ideas import clock, security
from ideas import text as text_rules
from ideas.config import get_settings
from ideas.db import write_transaction
from ideas.errors import Conflict, Invalid, NotFound
from ideas.schemas import MeOut, Ref
from ideas.tables import ApiToken, Department, User
from ideas.viewer import ROLES, Viewer, roles_of, sorted_roles, viewer_from_row

USER_COLUMNS = (
    User.id,
    User.email,
    User.name,
    User.title,
    User.department,
    User.is_council,
    User.is_leader,
    User.is_admin,
    User.active,
)

#: the columns of USER_COLUMNS as plain SQL over `tp_user u`: the per-request
#: look-ups (every request authenticates) skip the query builder
VIEWER_SQL = (
    "u.id, u.email, u.name, u.title, u.department, u.is_council, u.is_leader, u.is_admin, u.active"
)


# Company directories often live on internal domains (acme.local, acme.internal,
# acme.corp): addresses there are real for the people who use Touchpoint.
# email-validator's documented way to allow `.local` is to drop it from its
# special-use list; `.internal`/`.corp` pass with globally_deliverable=False.
if "local" in email_validator.SPECIAL_USE_DOMAIN_NAMES:
    email_validator.SPECIAL_USE_DOMAIN_NAMES.remove("local")


def normalise_email(raw: str, field: str = "email") -> str:
    try:
        return validate_email(
            raw.strip(), check_deliverability=False, globally_deliverable=False
        ).normalized.lower()
    except EmailNotValidError as exc:
        raise Invalid(field, str(exc)) from None


def check_roles(roles: list[str] | tuple[str, ...], field: str = "roles") -> frozenset[str]:
    bad = [r for r in roles if r not in ROLES]
    if bad:
        raise Invalid(field, f"unknown role {bad[0]!r}; roles are {', '.join(ROLES)}")
    return frozenset(roles) | {"staff"}


def _role_columns(roles: frozenset[str]) -> dict:
    return {
        User.is_council: "council" in roles,
        User.is_leader: "leader" in roles,
        User.is_admin: "admin" in roles,
    }


def _clean_text(value: str, field: str, low: int, high: int) -> str:
    value = (value or "").strip()
    if not low <= len(value) <= high:
        raise Invalid(field, f"must be {low}–{high} characters")
    if field == "name":  # a person's display name: never a role label
        return text_rules.check_person_name(value, field, high)
    return text_rules.check(value, field, low, high)


async def department_by_name(name: str, create: bool = False) -> int:
    name = _clean_text(name, "department", 1, 80)
    rows = await Department.select(Department.id).where(Department.name == name).run()
    if rows:
        return rows[0]["id"]
    if not create:
        raise Invalid("department", f"no department named {name!r}")
    await Department.insert(Department(name=name)).on_conflict(action="DO NOTHING").run()
    rows = await Department.select(Department.id).where(Department.name == name).run()
    return rows[0]["id"]


async def list_departments() -> list[Ref]:
    rows = await Department.select(Department.id, Department.name).order_by(Department.name).run()
    return [Ref(id=str(r["id"]), name=r["name"]) for r in rows]


@dataclass
class NewUser:
    email: str
    name: str
    title: str
    department: str
    roles: tuple[str, ...] = ()
    password: str | None = None


def _check_new_user(data: NewUser) -> tuple[str, str, str, frozenset[str]]:
    email = normalise_email(data.email)
    name = _clean_text(data.name, "name", 1, 120)
    title = _clean_text(data.title, "title", 0, 120)
    roles = check_roles(list(data.roles))
    if data.password is not None:
        problem = security.password_problem(data.password)
        if problem:
            raise Invalid("password", problem)
    return email, name, title, roles


async def create_user(data: NewUser, password_hash: str | None = None) -> UUID:
    """Add a person; the department is created when missing. Duplicate email → 409."""
    email, name, title, roles = _check_new_user(data)
    if password_hash is None and data.password:
        password_hash = await security.hash_password_in_thread(data.password)
    async with write_transaction():
        if await User.exists().where(User.email == email).run():
            raise Conflict(f"a user with email {email} already exists")
        department_id = await department_by_name(data.department, create=True)
        user = User(
            email=email,
            name=name,
            title=title,
            department=department_id,
            password_hash=password_hash or "",
            is_council="council" in roles,
            is_leader="leader" in roles,
            is_admin="admin" in roles,
        )
        await user.save().run()
    return user.id


async def note_moves(which, department_id: int) -> None:
    """Record when the people matched by `which` move to `department_id`
    (before the update that moves them): leadership figures do not lean on
    just-moved people (ideas.leadership.department_groups)."""
    await (
        User.update({User.department_since: clock.now()})
        .where(which, User.department != department_id)
        .run()
    )


async def user_by_email(email: str) -> dict | None:
    rows = (
        await User.select(*USER_COLUMNS, User.password_hash, User.break_glass)
        .where(User.email == email)
        .run()
    )
    return rows[0] if rows else None


async def set_password(email: str, password: str) -> None:
    problem = security.password_problem(password)
    if problem:
        raise Invalid("password", problem)
    email = normalise_email(email)
    updated = (
        await User.update({User.password_hash: await security.hash_password_in_thread(password)})
        .where(User.email == email)
        .returning(User.id)
        .run()
    )
    if not updated:
        raise NotFound(f"no user with email {email}")


async def authenticate(email: str, password: str) -> Viewer | None:
    """The active user with this email and password, or None (same answer,
    same cost, for an unknown email, a wrong password or a deactivated user)."""
    try:
        email = normalise_email(email)
    except Invalid:
        await security.verify_password_in_thread(None, password)
        return None
    row = await user_by_email(email)
    ok = await security.verify_password_in_thread(row["password_hash"] if row else None, password)
    if not ok or row is None or not row["active"]:
        return None
    if get_settings().sso_only and not row["break_glass"]:
        return None  # SSO_ONLY: passwords work for break-glass accounts only
    return viewer_from_row(row)


async def viewer_by_id(user_id: UUID | str) -> Viewer | None:
    try:
        uid = user_id if isinstance(user_id, UUID) else UUID(str(user_id))
    except ValueError:
        return None
    rows = await User.raw(
        f"SELECT {VIEWER_SQL} FROM tp_user u WHERE u.id = {{}} AND u.active", str(uid)
    ).run()
    return viewer_from_row(rows[0]) if rows else None


async def me(viewer: Viewer) -> MeOut:
    rows = (
        await User.select(*USER_COLUMNS, User.department.name.as_alias("department_name"))
        .where(User.id == viewer.id)
        .run()
    )
    row = rows[0]
    return MeOut(
        id=str(row["id"]),
        name=row["name"],
        email=row["email"],
        title=row["title"],
        department=Ref(id=str(row["department"]), name=row["department_name"]),
        roles=sorted_roles(roles_of(row)),
    )


async def create_token(viewer: Viewer, name: str = "", at: dt.datetime | None = None) -> str:
    """A new API token for `viewer`, valid API_TOKEN_DAYS from `at` (now)."""
    at = at or clock.now()
    # a token's label, not a person's name: any visible text
    name = text_rules.check((name or "").strip(), "name", 0, 80)
    token, hashed = security.new_secret()
    expires_at = at + dt.timedelta(days=get_settings().api_token_days)
    await ApiToken.insert(
        ApiToken(user=viewer.id, token_hash=hashed, name=name, created_at=at, expires_at=expires_at)
    ).run()
    return token


def token_expiry(created_at: dt.datetime, expires_at: dt.datetime | None) -> dt.datetime:
    """When a token stops working: tokens made before tokens had a lifetime
    expire API_TOKEN_DAYS after they were made."""
    if expires_at is not None:
        return expires_at
    return created_at + dt.timedelta(days=get_settings().api_token_days)


async def viewer_by_token(token: str) -> Viewer | None:
    """The active user an unrevoked, unexpired token belongs to: one query
    per API call (and a write at most once a day, for "last used")."""
    rows = await ApiToken.raw(
        f"SELECT t.id AS token_id, t.created_at AS token_created_at, "
        f"t.expires_at AS token_expires_at, t.last_used_at AS token_last_used_at, {VIEWER_SQL} "
        'FROM api_token t JOIN tp_user u ON u.id = t."user" '
        "WHERE t.token_hash = {} AND t.revoked_at IS NULL AND u.active",
        security.digest(token),
    ).run()
    if not rows:
        return None
    row = rows[0]
    at = clock.now()
    if token_expiry(row["token_created_at"], row["token_expires_at"]) <= at:
        return None
    last_used = row["token_last_used_at"]
    if last_used is None or last_used.date() != at.date():
        await (
            ApiToken.update({ApiToken.last_used_at: at}).where(ApiToken.id == row["token_id"]).run()
        )
    return viewer_from_row(row)


async def revoke_token(token: str) -> bool:
    revoked = (
        await ApiToken.update({ApiToken.revoked_at: clock.now()})
        .where(ApiToken.token_hash == security.digest(token), ApiToken.revoked_at.is_null())
        .returning(ApiToken.id)
        .run()
    )
    return bool(revoked)


async def active_user_count() -> int:
    return await User.count().where(User.active.eq(True)).run()
