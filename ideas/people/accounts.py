"""Accounts: signing in (password, session, API token), a person's own API
tokens, sessions and password. Everyone sees and changes only their own;
times are days.

A password set through a reset or an invitation link, and a deactivation,
end every session and token of the person (`end_everything`). Sessions are
the web's, but each carries the id of its person (`BrowserSession.user_id`),
so the domain ends them without knowing how the web stores the rest.
"""

from __future__ import annotations

import datetime as dt
from uuid import UUID

from pydantic import BaseModel

from ideas import clock, policy, security
from ideas import text as text_rules
from ideas.config import get_settings
from ideas.context import Context
from ideas.db import write_transaction
from ideas.errors import Invalid, NotFound
from ideas.people.directory import normalise_email
from ideas.schemas import MeOut, Ref
from ideas.tables import ApiToken, BrowserSession, User
from ideas.viewer import Viewer, roles_of, sorted_roles, viewer_from_row

MAX_TOKENS = 50


class TokenInfo(BaseModel):
    """One of the caller's API tokens (never the token itself)."""

    id: str
    name: str
    created_on: dt.date
    last_used_on: dt.date | None
    expires_on: dt.date


class NewToken(BaseModel):
    token: str
    info: TokenInfo


async def end_sessions(user_id: UUID, keep: str | None = None) -> int:
    """Delete the person's browser sessions (all but `keep`)."""
    query = BrowserSession.delete().where(BrowserSession.user_id == user_id)
    if keep:
        query = query.where(BrowserSession.key != keep)
    deleted = await query.returning(BrowserSession.id).run()
    return len(deleted)


async def revoke_all_tokens(user_id: UUID, at: dt.datetime | None = None) -> int:
    revoked = (
        await ApiToken.update({ApiToken.revoked_at: at or clock.now()})
        .where(ApiToken.user == user_id, ApiToken.revoked_at.is_null())
        .returning(ApiToken.id)
        .run()
    )
    return len(revoked)


async def end_everything(user_id: UUID, keep_session: str | None = None) -> None:
    """Revoke every token and end every session of a person (inside the
    caller's transaction when there is one)."""
    async with write_transaction():
        await revoke_all_tokens(user_id)
        await end_sessions(user_id, keep=keep_session)


# -- signing in ------------------------------------------------------------------

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


async def user_by_email(email: str) -> dict | None:
    rows = (
        await User.select(*USER_COLUMNS, User.password_hash, User.break_glass)
        .where(User.email == email)
        .run()
    )
    return rows[0] if rows else None


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


async def me(ctx: Context) -> MeOut:
    viewer = policy.authorize_person(ctx.actor, "account.own")
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


async def create_token(ctx: Context, name: str = "") -> str:
    """A new API token for the person acting, valid API_TOKEN_DAYS from now."""
    viewer = policy.authorize_person(ctx.actor, "account.own")
    at = ctx.now
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


# -- one's own tokens and password ---------------------------------------------


def _info(row: dict) -> TokenInfo:
    expires = token_expiry(row["created_at"], row["expires_at"])
    return TokenInfo(
        id=str(row["id"]),
        name=row["name"],
        created_on=row["created_at"].date(),
        last_used_on=row["last_used_at"].date() if row["last_used_at"] else None,
        expires_on=expires.date(),
    )


async def list_tokens(ctx: Context) -> list[TokenInfo]:
    """The caller's working tokens (unrevoked, unexpired), newest first."""
    viewer = policy.authorize_person(ctx.actor, "account.own")
    at = ctx.now
    rows = (
        await ApiToken.select(
            ApiToken.id,
            ApiToken.name,
            ApiToken.created_at,
            ApiToken.last_used_at,
            ApiToken.expires_at,
        )
        .where(ApiToken.user == viewer.id, ApiToken.revoked_at.is_null())
        .order_by(ApiToken.id, ascending=False)
        .run()
    )
    return [_info(r) for r in rows if token_expiry(r["created_at"], r["expires_at"]) > at]


async def create_named_token(ctx: Context, name: str) -> NewToken:
    """A new token with a name the person chose (shown once)."""
    policy.authorize_person(ctx.actor, "account.own")
    name = (name or "").strip()
    if not 1 <= len(name) <= 80:
        raise Invalid("name", "must be 1–80 characters")
    if len(await list_tokens(ctx)) >= MAX_TOKENS:
        raise Invalid("name", f"you have {MAX_TOKENS} tokens already: revoke one first")
    token = await create_token(ctx, name)
    rows = (
        await ApiToken.select(
            ApiToken.id,
            ApiToken.name,
            ApiToken.created_at,
            ApiToken.last_used_at,
            ApiToken.expires_at,
        )
        .where(ApiToken.token_hash == security.digest(token))
        .run()
    )
    return NewToken(token=token, info=_info(rows[0]))


def _token_number(token_id: str) -> int:
    if not token_id.isdigit() or len(token_id) > 18:
        raise NotFound("no such token")
    return int(token_id)


async def revoke_own_token(ctx: Context, token_id: str) -> None:
    """Revoke one of the caller's tokens; another person's answers 404."""
    viewer = policy.authorize_person(ctx.actor, "account.own")
    revoked = (
        await ApiToken.update({ApiToken.revoked_at: ctx.now})
        .where(
            ApiToken.id == _token_number(token_id),
            ApiToken.user == viewer.id,
            ApiToken.revoked_at.is_null(),
        )
        .returning(ApiToken.id)
        .run()
    )
    if not revoked:
        raise NotFound("no such token")


async def revoke_own_tokens(ctx: Context) -> int:
    viewer = policy.authorize_person(ctx.actor, "account.own")
    return await revoke_all_tokens(viewer.id, at=ctx.now)


async def has_password(ctx: Context) -> bool:
    viewer = policy.authorize_person(ctx.actor, "account.own")
    rows = await User.select(User.password_hash).where(User.id == viewer.id).run()
    return bool(rows and rows[0]["password_hash"])


def passwords_apply(break_glass: bool) -> bool:
    """Whether this person may use a password at all (SSO_ONLY turns them off
    for everyone but break-glass accounts)."""
    return not get_settings().sso_only or break_glass


async def is_break_glass(user_id: UUID) -> bool:
    rows = await User.select(User.break_glass).where(User.id == user_id).run()
    return bool(rows and rows[0]["break_glass"])


async def change_password(
    ctx: Context, current: str, new: str, new_again: str, keep_session: str | None
) -> None:
    """Change one's own password: the current one is needed, and every other
    session and every token ends."""
    viewer = policy.authorize_person(ctx.actor, "account.own")
    if not passwords_apply(await is_break_glass(viewer.id)):
        raise Invalid("password", "passwords are off: sign in with single sign-on")
    if new != new_again:
        raise Invalid("password_again", "the two new passwords differ")
    problem = security.password_problem(new)
    if problem:
        raise Invalid("password", problem)
    rows = await User.select(User.password_hash).where(User.id == viewer.id).run()
    stored = rows[0]["password_hash"] if rows else None
    if not stored:
        raise Invalid("current_password", "you have no password to change")
    if not await security.verify_password_in_thread(stored, current):
        raise Invalid("current_password", "is not your current password")
    password_hash = await security.hash_password_in_thread(new)
    async with write_transaction():
        await User.update({User.password_hash: password_hash}).where(User.id == viewer.id).run()
        await end_everything(viewer.id, keep_session=keep_session)
