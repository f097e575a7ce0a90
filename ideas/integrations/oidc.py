"""Sign-in with OpenID Connect: authorization code flow with PKCE, `state`
and `nonce`, through Authlib.

Authlib does the protocol: discovery, the authorization URL (PKCE S256,
nonce), the code exchange (`client_secret_basic`), and the ID token's
signature (the provider's JWKS), issuer, audience, expiry and nonce. This
module only decides who the signed-in person is in Touchpoint:

- a person already linked to the token's `sub` is that person, and so is
  the person SCIM provisioned with that `externalId` (the token's `sub`, or
  Entra ID's `oid`);
- else the person with the same e-mail is linked only when the provider
  says `email_verified: true`;
- else a new person is made just in time (refused when the provider says
  the e-mail is not verified);
- the e-mail domain allow-list and deactivation refuse a sign-in;
- name, department, title and roles (from groups) come from the claims
  configured, and are updated at each sign-in.

Making and changing the person is the people service's
(`ideas.people.provisioning`): the same audit entries as the admin pages
("via single sign-on"), and the one admin rule — groups that no longer map
to admin do not take the role from the last active admin (the sign-in goes
through, the role is kept, the entry says so).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, replace
from typing import Any

from authlib.common.security import generate_token
from authlib.integrations.base_client import BaseApp, OAuthError
from authlib.integrations.base_client.async_app import AsyncOAuth2Mixin
from authlib.integrations.base_client.async_openid import AsyncOpenIDMixin
from authlib.integrations.httpx_client import AsyncOAuth2Client

# The HTTP client Authlib's integration uses: httpx2 when it is installed (it
# comes with tokenizers' huggingface_hub), else httpx. Transports and errors
# must be that module's, or a provider's failure escapes as a 500.
try:
    import httpx2 as http
except ImportError:  # pragma: no cover - depends on what else is installed
    import httpx as http
from joserfc.errors import JoseError

from ideas import audit
from ideas import context as units
from ideas.config import OidcSettings
from ideas.context import System
from ideas.db import write_transaction
from ideas.errors import DomainError, Invalid
from ideas.people import accounts, directory, provisioning
from ideas.tables import User
from ideas.viewer import Viewer, viewer_from_row

log = logging.getLogger("touchpoint.oidc")
#: how audit entries name the sign-ins that create or change people
SINGLE_SIGN_ON = System("single sign-on")
#: the audit entries' `via`
VIA = "single sign-on"

#: how long a started sign-in may take at the provider
PENDING_TTL = dt.timedelta(minutes=10)


class SignInRefused(DomainError):
    """The provider's answer does not sign anyone in; `reason` is for the log
    and the tests, `detail` for the person."""

    status = 403

    def __init__(self, reason: str, detail: str, status: int = 403) -> None:
        super().__init__(detail)
        self.reason = reason
        self.status = status


class _OidcApp(AsyncOAuth2Mixin, AsyncOpenIDMixin, BaseApp):
    client_cls = AsyncOAuth2Client


#: tests may route the provider's answers through a transport of theirs
#: (tests/test_oidc.py plays a tampering network this way)
_transport: http.AsyncBaseTransport | None = None
_apps: dict[tuple[str, str, int], _OidcApp] = {}


def use_transport(transport: http.AsyncBaseTransport | None) -> None:
    global _transport
    _transport = transport
    _apps.clear()


def _app(settings: OidcSettings) -> _OidcApp:
    """One Authlib client per configuration (it caches discovery and JWKS)."""
    key = (settings.issuer, settings.client_id, id(_transport))
    if key not in _apps:
        client_kwargs: dict[str, Any] = {
            "scope": settings.scopes,
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": "client_secret_basic",
            "timeout": 10,
        }
        if _transport is not None:
            client_kwargs["transport"] = _transport
        _apps[key] = _OidcApp(
            framework=None,
            name="oidc",
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            server_metadata_url=settings.metadata_url,
            client_kwargs=client_kwargs,
        )
    return _apps[key]


@dataclass(frozen=True)
class Started:
    """A sign-in sent to the provider: what the callback needs to finish it."""

    url: str
    state: str
    nonce: str
    code_verifier: str


async def start(settings: OidcSettings, redirect_uri: str) -> Started:
    try:
        made = await _app(settings).create_authorization_url(
            redirect_uri=redirect_uri, state=generate_token(32)
        )
    except (http.HTTPError, ValueError, RuntimeError) as exc:
        log.warning("OpenID Connect discovery failed: %s", exc)
        raise SignInRefused(
            "provider_unreachable",
            f"{settings.provider_name} cannot be reached just now. Try again in a minute.",
            status=502,
        ) from None
    return Started(made["url"], made["state"], made["nonce"], made["code_verifier"])


async def claims_from_code(
    settings: OidcSettings, code: str, redirect_uri: str, code_verifier: str, nonce: str
) -> tuple[dict[str, Any], str]:
    """Exchange the code and check the ID token (Authlib: signature, iss,
    aud, exp, iat, nonce); answers the claims and the raw ID token."""
    app = _app(settings)
    try:
        token = await app.fetch_access_token(
            redirect_uri=redirect_uri, code=code, code_verifier=code_verifier
        )
    except OAuthError as exc:
        raise SignInRefused(
            "code_refused",
            f"{settings.provider_name} did not confirm this sign-in ({exc.error}). Start again.",
            status=400,
        ) from None
    except http.HTTPError as exc:
        log.warning("OpenID Connect token request failed: %s", exc)
        raise SignInRefused(
            "provider_unreachable",
            f"{settings.provider_name} cannot be reached just now. Try again in a minute.",
            status=502,
        ) from None
    if "id_token" not in token:
        raise SignInRefused("no_id_token", "The provider sent no ID token.", status=400)
    try:
        claims = await app.parse_id_token(token, nonce=nonce, leeway=60)
    except (JoseError, ValueError) as exc:
        log.warning("ID token refused: %s", exc)
        raise SignInRefused(
            "id_token_invalid", "The provider's answer could not be verified. Start again.", 400
        ) from None
    return dict(claims), token["id_token"]


async def logout_url(
    settings: OidcSettings, id_token: str | None, post_logout_redirect_uri: str
) -> str | None:
    """The provider's end-session URL (RP-initiated logout), or None when
    its discovery document has no `end_session_endpoint`."""
    app = _app(settings)
    try:
        metadata = await app.load_server_metadata()
    except http.HTTPError:
        return None
    if not metadata.get("end_session_endpoint"):
        return None
    made = await app.create_logout_url(
        post_logout_redirect_uri=post_logout_redirect_uri,
        id_token_hint=id_token,
        client_id=settings.client_id,
    )
    return made["url"]


# -- who signed in ---------------------------------------------------------------


def _text(claims: dict[str, Any], name: str) -> str:
    value = claims.get(name) if name else None
    return value.strip() if isinstance(value, str) else ""


def _groups(claims: dict[str, Any], name: str) -> list[str]:
    value = claims.get(name) if name else None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [g for g in value if isinstance(g, str)]
    return []


@dataclass(frozen=True)
class Profile:
    """What the claims say about the person, as Touchpoint needs it."""

    subject: str
    email: str
    email_verified: bool | None
    name: str
    department: str
    title: str | None
    roles: frozenset[str] | None


def profile_from_claims(settings: OidcSettings, claims: dict[str, Any]) -> Profile:
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise SignInRefused("no_subject", "The provider sent no subject.", 400)
    raw_email = _text(claims, settings.email_claim)
    try:
        email = directory.normalise_email(raw_email)
    except Invalid:
        raise SignInRefused(
            "no_email",
            f"{settings.provider_name} sent no usable e-mail address for you.",
        ) from None
    verified = claims.get("email_verified")
    if isinstance(verified, str):  # some providers send "true"/"false"
        verified = verified.lower() == "true"
    if settings.allowed_domains and email.rpartition("@")[2] not in settings.allowed_domains:
        raise SignInRefused(
            "domain_not_allowed",
            "Your e-mail domain may not sign in to Touchpoint. Ask your administrator.",
        )
    name = _text(claims, settings.name_claim)[:120] or email.partition("@")[0]
    department = _text(claims, settings.department_claim)[:80]
    title = _text(claims, settings.title_claim)[:120] if settings.title_claim else None
    roles = None
    if settings.groups_claim and settings.group_roles:
        groups = _groups(claims, settings.groups_claim)
        roles = frozenset(settings.group_roles[g] for g in groups if g in settings.group_roles)
    return Profile(
        subject=subject,
        email=email,
        email_verified=verified if isinstance(verified, bool) else None,
        name=name,
        department=department,
        title=title,
        roles=roles,
    )


_DEACTIVATED = "Your Touchpoint account is deactivated. Ask your administrator."


async def sign_in(settings: OidcSettings, claims: dict[str, Any]) -> Viewer:
    """The person these (verified) claims sign in: linked, found, or made."""
    profile = profile_from_claims(settings, claims)
    ctx = _context()
    async with write_transaction():
        columns = (*accounts.USER_COLUMNS, User.oidc_subject)
        rows = await User.select(*columns).where(User.oidc_subject == profile.subject).run()
        if not rows:
            # provisioned by SCIM from the same provider: its externalId is the
            # provider's id for the person (Okta: `sub`; Entra ID: `oid`)
            ids = [v for v in (profile.subject, claims.get("oid")) if isinstance(v, str) and v]
            rows = (
                await User.select(*columns)
                .where(
                    User.external_id.is_in(ids),
                    User.oidc_subject == "",
                    User.scim_deleted.eq(False),
                )
                .run()
            )
        if rows:
            row = rows[0]
        else:
            rows = await User.select(*columns).where(User.email == profile.email).run()
            row = rows[0] if rows else None
            if row is not None:
                if row["oidc_subject"]:
                    raise SignInRefused(
                        "linked_elsewhere",
                        "This e-mail address belongs to another single sign-on account.",
                    )
                if profile.email_verified is not True:
                    raise SignInRefused(
                        "email_not_verified",
                        f"{settings.provider_name} has not verified your e-mail address, so it "
                        "cannot be linked to your Touchpoint account.",
                    )
        if row is None:
            if profile.email_verified is False:
                raise SignInRefused(
                    "email_not_verified",
                    f"{settings.provider_name} has not verified your e-mail address.",
                )
            return await _create(ctx, settings, profile)
        if not row["active"]:
            raise SignInRefused("deactivated", _DEACTIVATED)
        return await _update(ctx, row, profile)


def _context() -> units.Context:
    """The unit of work of this sign-in, acted in by single sign-on."""
    current = units.current()
    if current is None:
        return units.make(SINGLE_SIGN_ON)
    return replace(current, actor=SINGLE_SIGN_ON)


async def _viewer(user_id) -> Viewer:
    rows = await User.select(*accounts.USER_COLUMNS).where(User.id == user_id).run()
    return viewer_from_row(rows[0])


async def _create(ctx: units.Context, settings: OidcSettings, profile: Profile) -> Viewer:
    user_id = await provisioning.provision_person(
        ctx,
        email=profile.email,
        name=profile.name,
        title=profile.title or "",
        department=profile.department or settings.default_department,
        roles=profile.roles or (),
        via=VIA,
        columns={User.oidc_subject: profile.subject},
    )
    return await _viewer(user_id)


async def _update(ctx: units.Context, row: dict, profile: Profile) -> Viewer:
    """What the claims say, each sign-in (what they do not carry stays)."""
    said: dict[str, Any] = {"name": profile.name}
    if profile.department:
        said["department"] = profile.department
    if profile.title is not None:
        said["title"] = profile.title
    if profile.roles is not None:
        said["roles"] = profile.roles
    linked = {} if row["oidc_subject"] else {"linked": audit.change(False, True)}
    await provisioning.sync_person(
        ctx,
        row["id"],
        said,
        via=VIA,
        columns={User.oidc_subject: profile.subject},
        noted=linked,
    )
    return await _viewer(row["id"])
