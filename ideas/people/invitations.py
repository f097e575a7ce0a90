"""One-time links to set a password: invitations (72 hours) and resets.

A link carries a random token; only its SHA-256 is stored. A link works
once, until it expires, for an active person; issuing a new link retires the
person's older ones, except that a reset link leaves the reset links of the
last `RESET_GRACE` alone: anyone can ask for a reset of anyone's address, and
that must never void the link the person is about to use (issue 13). A reset
request answers the same whether or not the address belongs to anyone: the
caller learns nothing from it.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from email.utils import formataddr
from uuid import UUID

from ideas import audit, clock, mail, policy, security
from ideas.config import get_settings
from ideas.context import Context
from ideas.db import write_transaction
from ideas.errors import Conflict, DomainError, Invalid, NotFound
from ideas.people import accounts
from ideas.people.directory import normalise_email
from ideas.tables import Invitation, User

log = logging.getLogger("touchpoint.invitations")

INVITE_TTL = dt.timedelta(hours=72)
RESET_TTL = dt.timedelta(hours=2)
#: reset links this recent survive a newer reset request
RESET_GRACE = dt.timedelta(minutes=15)
TTL = {"invite": INVITE_TTL, "reset": RESET_TTL}


class LinkInvalid(DomainError):
    """The link is unknown, used, expired, or its person is deactivated
    (one answer for all four)."""

    status = 400

    def __init__(self) -> None:
        super().__init__(
            "This link is no longer valid: it was used already, it expired, or it is wrong. "
            "Ask for a new one."
        )


def link_for(token: str) -> str:
    return f"{get_settings().base_url}/password/set?token={token}"


@dataclass(frozen=True)
class Issued:
    """A link just issued: what the mail needs (the token never touches the DB)."""

    user_id: UUID
    email: str
    name: str
    purpose: str
    token: str
    expires_at: dt.datetime

    @property
    def link(self) -> str:
        return link_for(self.token)


async def issue(user_id: UUID, purpose: str = "invite") -> Issued:
    """Create a link for an active person and retire their older unused links.
    Call inside a transaction; send the mail after the commit."""
    if purpose not in TTL:
        raise ValueError(f"unknown purpose {purpose!r}")
    rows = (
        await User.select(User.id, User.email, User.name, User.active, User.break_glass)
        .where(User.id == user_id)
        .run()
    )
    if not rows:
        raise NotFound("no such person")
    if not rows[0]["active"]:
        raise Conflict(f"{rows[0]['email']} is deactivated: reactivate them first")
    if not accounts.passwords_apply(rows[0]["break_glass"]):
        raise Conflict(
            f"{rows[0]['email']} signs in with single sign-on (SSO_ONLY): no password link"
        )
    now = clock.now()
    retire = Invitation.update({Invitation.expires_at: now}).where(
        Invitation.user == user_id,
        Invitation.used_at.is_null(),
        Invitation.expires_at > now,
    )
    if purpose == "reset":  # keep the recent reset links
        retire = retire.where(
            (Invitation.purpose != "reset") | (Invitation.created_at <= now - RESET_GRACE)
        )
    await retire.run()
    token, hashed = security.new_secret()
    expires_at = now + TTL[purpose]
    await Invitation.insert(
        Invitation(
            user=user_id,
            token_hash=hashed,
            purpose=purpose,
            created_at=now,
            expires_at=expires_at,
        )
    ).run()
    return Issued(user_id, rows[0]["email"], rows[0]["name"], purpose, token, expires_at)


#: purpose → (mail template, subject)
MAILS = {
    "invite": ("invitation", "You are invited to Touchpoint"),
    "reset": ("password_reset", "Reset your Touchpoint password"),
}


def link_mail(issued: Issued) -> mail.Mail:
    """The invitation or reset mail carrying one link."""
    template, subject = MAILS[issued.purpose]
    context = {
        "name": issued.name,
        "email": issued.email,
        "link": issued.link,
        "hours": int(TTL[issued.purpose].total_seconds() // 3600),
        "login_url": f"{get_settings().base_url}/login",
        "subject": subject,
    }
    text, html = mail.render([template], context)
    plain_name = not any(c in issued.name for c in ',;"<>')
    return mail.Mail(
        to=formataddr((issued.name, issued.email)) if plain_name else issued.email,
        subject=subject,
        text=text,
        html=html,
        message_id=mail.message_id_for(f"link:{security.digest(issued.token)}"),
    )


async def send_links(links: list[Issued]) -> list[str]:
    """Mail each link; answer the addresses that could not be sent (the link
    exists regardless, and a new one can be issued)."""
    failed = []
    for issued in links:
        try:
            await mail.send(link_mail(issued))
        except Exception as exc:  # the mail server is down: say so, keep going
            log.warning("could not mail a %s link to %s: %s", issued.purpose, issued.email, exc)
            failed.append(issued.email)
    return failed


@dataclass(frozen=True)
class InviteResult:
    invited: list[str]
    failed: list[str]


async def invite_user(ctx: Context, email: str) -> InviteResult:
    """Send one person an invitation (`touchpoint users invite EMAIL`)."""
    policy.authorize(ctx.actor, "admin.manage")
    address = normalise_email(email)
    rows = await User.select(User.id).where(User.email == address).run()
    if not rows:
        raise NotFound(f"no person with email {address}")
    return await invite_ids(ctx, [rows[0]["id"]])


async def invite_ids(ctx: Context, user_ids: list[UUID]) -> InviteResult:
    """Invite several people at once (the caller checked `admin.manage`)."""
    if not user_ids:
        return InviteResult([], [])
    async with write_transaction():
        links = await issue_invites(ctx, user_ids)
    failed = await send_links(links)
    return InviteResult([i.email for i in links], failed)


async def issue_invites(ctx: Context, user_ids: list[UUID]) -> list[Issued]:
    """Inside a transaction: a link and an audit entry per person."""
    links = []
    for user_id in user_ids:
        issued = await issue(user_id, "invite")
        await audit.record(
            ctx.actor,
            "person.invite",
            issued.email,
            {"expires_on": issued.expires_at.date().isoformat()},
        )
        links.append(issued)
    return links


async def request_password_reset(email: str, send: bool = True) -> list[Issued]:
    """Issue a reset link if the address is an active person's; otherwise do
    nothing. The caller answers the same either way. With `send=False` the
    caller mails the answered links itself (after its response, so that the
    answer takes as long for an unknown address as for a known one)."""
    try:
        address = normalise_email(email)
    except Invalid:
        return []
    rows = (
        await User.select(User.id, User.break_glass)
        .where(User.email == address, User.active.eq(True))
        .run()
    )
    if not rows or not accounts.passwords_apply(rows[0]["break_glass"]):
        return []
    async with write_transaction():
        issued = await issue(rows[0]["id"], "reset")
    if send:
        await send_links([issued])
    return [issued]


@dataclass(frozen=True)
class LinkHolder:
    name: str
    email: str
    purpose: str


async def _valid_link(token: str) -> dict:
    if not token or len(token) > 200:
        raise LinkInvalid()
    rows = (
        await Invitation.select(
            Invitation.id,
            Invitation.purpose,
            Invitation.user.id.as_alias("user_id"),
            Invitation.user.name.as_alias("name"),
            Invitation.user.email.as_alias("email"),
            Invitation.user.active.as_alias("active"),
            Invitation.user.break_glass.as_alias("break_glass"),
        )
        .where(
            Invitation.token_hash == security.digest(token),
            Invitation.used_at.is_null(),
            Invitation.expires_at > clock.now(),
        )
        .run()
    )
    if not rows or not rows[0]["active"] or not accounts.passwords_apply(rows[0]["break_glass"]):
        raise LinkInvalid()
    return rows[0]


async def link_holder(token: str) -> LinkHolder:
    """Whose link this is (for the set-password page); LinkInvalid otherwise."""
    row = await _valid_link(token)
    return LinkHolder(row["name"], row["email"], row["purpose"])


async def set_password_with_link(token: str, password: str) -> LinkHolder:
    """Use a link once: set the password, retire the person's other links, and
    end every browser session and API token of the person."""
    problem = security.password_problem(password)
    if problem:
        raise Invalid("password", problem)
    await _valid_link(token)
    # slow: outside the transaction, and off the event loop
    password_hash = await security.hash_password_in_thread(password)
    now = clock.now()
    async with write_transaction():
        used = (
            await Invitation.update({Invitation.used_at: now})
            .where(
                Invitation.token_hash == security.digest(token),
                Invitation.used_at.is_null(),
                Invitation.expires_at > now,
            )
            .returning(Invitation.user, Invitation.purpose)
            .run()
        )
        if not used:
            raise LinkInvalid()
        user_id = used[0]["user"]
        rows = (
            await User.update({User.password_hash: password_hash})
            .where(User.id == user_id, User.active.eq(True))
            .returning(User.name, User.email)
            .run()
        )
        if not rows:
            raise LinkInvalid()
        await (
            Invitation.update({Invitation.expires_at: now})
            .where(
                Invitation.user == user_id,
                Invitation.used_at.is_null(),
                Invitation.expires_at > now,
            )
            .run()
        )
        # whoever held the old password (or a token made with it) is out
        await accounts.end_everything(user_id)
    return LinkHolder(rows[0]["name"], rows[0]["email"], used[0]["purpose"])
