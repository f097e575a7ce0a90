"""Provisioning tokens: the identity provider's credential, made and revoked
by admins (or the command line); every SCIM change is audited with its name."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from ideas import audit, clock, policy, security
from ideas import context as units
from ideas.db import write_transaction
from ideas.errors import Invalid, NotFound
from ideas.tables import ScimToken

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


async def list_tokens(ctx: units.Context) -> list[ScimTokenInfo]:
    """The SCIM tokens (names and dates, never the secret), for admins."""
    policy.authorize(ctx.actor, "admin.manage")
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
