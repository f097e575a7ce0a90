"""A person's own account: their API tokens, their browser sessions, their
password. Everyone sees and changes only their own; times are days.

A password set through a reset or an invitation link, and a deactivation,
end every session and token of the person (`end_everything`).
"""

from __future__ import annotations

import datetime as dt
from uuid import UUID

from pydantic import BaseModel

from ideas import clock, people, security
from ideas.config import get_settings
from ideas.db import write_transaction
from ideas.errors import Invalid, NotFound
from ideas.tables import ApiToken, BrowserSession, User
from ideas.viewer import Viewer

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


def _session_pattern(user_id: UUID) -> str:
    # what web/auth.start_session writes: json.dumps({"user_id": "<uuid>"})
    return f'%"user_id": "{user_id}"%'


async def end_sessions(user_id: UUID, keep: str | None = None) -> int:
    """Delete the person's browser sessions (all but `keep`)."""
    query = BrowserSession.delete().where(BrowserSession.value.like(_session_pattern(user_id)))
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


def _info(row: dict) -> TokenInfo:
    expires = people.token_expiry(row["created_at"], row["expires_at"])
    return TokenInfo(
        id=str(row["id"]),
        name=row["name"],
        created_on=row["created_at"].date(),
        last_used_on=row["last_used_at"].date() if row["last_used_at"] else None,
        expires_on=expires.date(),
    )


async def list_tokens(viewer: Viewer, at: dt.datetime | None = None) -> list[TokenInfo]:
    """The caller's working tokens (unrevoked, unexpired), newest first."""
    at = at or clock.now()
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
    return [_info(r) for r in rows if people.token_expiry(r["created_at"], r["expires_at"]) > at]


async def create_named_token(viewer: Viewer, name: str) -> NewToken:
    """A new token with a name the person chose (shown once)."""
    name = (name or "").strip()
    if not 1 <= len(name) <= 80:
        raise Invalid("name", "must be 1–80 characters")
    if len(await list_tokens(viewer)) >= MAX_TOKENS:
        raise Invalid("name", f"you have {MAX_TOKENS} tokens already: revoke one first")
    token = await people.create_token(viewer, name)
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


async def revoke_own_token(viewer: Viewer, token_id: str) -> None:
    """Revoke one of the caller's tokens; another person's answers 404."""
    revoked = (
        await ApiToken.update({ApiToken.revoked_at: clock.now()})
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


async def revoke_own_tokens(viewer: Viewer) -> int:
    return await revoke_all_tokens(viewer.id)


async def has_password(viewer: Viewer) -> bool:
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
    viewer: Viewer, current: str, new: str, new_again: str, keep_session: str | None
) -> None:
    """Change one's own password: the current one is needed, and every other
    session and every token ends."""
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
