"""Sign-in with OpenID Connect against a real provider (npm's oidc-provider
on loopback, tests/oidc_provider.py): the whole flow, who gets signed in,
and every way a sign-in must fail.

The provider is real; for the failures a provider never produces by itself
(a forged signature, another audience, an expired or replayed ID token) the
test stands between Touchpoint and the provider like an attacker on the
network would, and rewrites the token endpoint's answer (`Tamper`).
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import datetime as dt
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx
import pytest
from joserfc.jwk import RSAKey

from ideas.config import ConfigError, get_settings, load_settings, reset_settings
from ideas.context import COMMAND_LINE
from ideas.integrations import oidc
from ideas.people import service
from ideas.tables import AuditLog, User
from tests.factories import PASSWORD as TP_PASSWORD
from tests.factories import _csrf_from, ctx_for
from tests.oidc_provider import PASSWORD, TestProvider

BASE = "http://testserver"
CALLBACK = f"{BASE}/auth/oidc/callback"


@pytest.fixture(scope="module")
def provider():
    idp = TestProvider([CALLBACK], [f"{BASE}/login"]).start()
    yield idp
    idp.stop()


def sso_settings(provider: TestProvider, **env: str):
    base = load_settings(
        {
            **provider.env(
                OIDC_PROVIDER_NAME="Test IdP",
                OIDC_DEPARTMENT_CLAIM="department",
                OIDC_TITLE_CLAIM="title",
                OIDC_GROUPS_CLAIM="groups",
                OIDC_GROUP_ROLES="cx-council=council,execs=leader,tp-admins=admin",
            ),
            **env,
            "SECRET_KEY": get_settings().secret_key,
            "BASE_URL": BASE,
            "TOUCHPOINT_ARGON2": "fast-insecure-for-tests",
        }
    )
    return dataclasses.replace(get_settings(), oidc=base.oidc, sso_only=base.sso_only)


@pytest.fixture
async def sso(app, provider):
    """An app configured for the test provider (sharing the test app's Redis)."""
    from web.app import create_app

    settings = sso_settings(provider)
    before = get_settings()
    reset_settings(settings)
    sso_app = create_app(settings)
    sso_app.state.redis = app.state.redis
    sso_app.state.limiter = app.state.limiter
    yield sso_app
    reset_settings(before)
    oidc.use_transport(None)


def browser(sso_app) -> httpx.AsyncClient:
    """One browser: Touchpoint in process, the provider over loopback."""
    return httpx.AsyncClient(mounts={f"{BASE}": httpx.ASGITransport(app=sso_app)}, timeout=10)


async def to_callback(client: httpx.AsyncClient, login: str, next: str = "/") -> str:
    """Start at Touchpoint, sign in at the provider's page, and answer the
    URL the provider sends the browser back to (not followed)."""
    r = await client.get(f"{BASE}/auth/oidc/login", params={"next": next})
    assert r.status_code == 303, r.text[:300]
    url = r.headers["location"]
    for _ in range(20):
        if url.startswith(CALLBACK):
            return url
        r = await client.get(url)
        if r.status_code == 200 and 'name="login"' in r.text:
            action = r.text.split('action="')[1].split('"')[0]
            r = await client.post(urljoin(url, action), data={"login": login, "password": PASSWORD})
        assert r.status_code in (302, 303), (r.status_code, r.text[:500])
        url = urljoin(url, r.headers["location"])
    raise AssertionError("the provider never sent the browser back")


async def sign_in(client: httpx.AsyncClient, login: str, next: str = "/") -> httpx.Response:
    return await client.get(await to_callback(client, login, next))


def claims_of(id_token: str) -> dict[str, Any]:
    payload = id_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


class Tamper(oidc.http.AsyncBaseTransport):
    """The network between Touchpoint and the provider, rewriting the ID
    token in the token endpoint's answer."""

    def __init__(self, rewrite: Callable[[str], str]) -> None:
        self.real = oidc.http.AsyncHTTPTransport()
        self.rewrite = rewrite

    async def handle_async_request(self, request):
        response = await self.real.handle_async_request(request)
        if request.method != "POST" or not request.url.path.endswith("/token"):
            return response
        await response.aread()
        body = response.json()
        if "id_token" in body:
            body["id_token"] = self.rewrite(body["id_token"])
        return oidc.http.Response(response.status_code, json=body)


def employee(email: str = "nina@corp.example", **claims: Any) -> dict[str, Any]:
    return {
        "email": email,
        "email_verified": True,
        "name": "Nina Newhire",
        "department": "Customer Success",
        "title": "Onboarding Specialist",
        "groups": ["everyone"],
        **claims,
    }


async def person(email: str) -> dict | None:
    rows = await User.select(
        User.id,
        User.name,
        User.title,
        User.active,
        User.oidc_subject,
        User.is_council,
        User.is_leader,
        User.is_admin,
        User.department.name.as_alias("department"),
    ).where(User.email == email)
    return rows[0] if rows else None


def details(entry: dict) -> dict:
    value = entry["details"]
    return json.loads(value) if isinstance(value, str) else value


async def whoami(client: httpx.AsyncClient) -> str | None:
    r = await client.get(f"{BASE}/me")
    if r.status_code != 200:
        return None
    return r.text.split('id="me-name">')[1].split("<")[0]


# -- the flow ------------------------------------------------------------------------------


async def test_a_new_employee_signs_in_and_is_made_from_the_claims(sso, provider):
    provider.set_account("nina", employee(groups=["everyone", "cx-council"]))
    async with browser(sso) as client:
        login = await client.get(f"{BASE}/login")
        assert "Sign in with Test IdP" in login.text
        r = await sign_in(client, "nina", next="/me/ideas")
        assert r.status_code == 303 and r.headers["location"] == "/me/ideas"
        assert await whoami(client) == "Nina Newhire"
        board = await client.get(f"{BASE}/")
        assert board.status_code == 200 and "Signed in as" in board.text

    nina = await person("nina@corp.example")
    assert nina["department"] == "Customer Success"
    assert nina["title"] == "Onboarding Specialist"
    assert nina["oidc_subject"] == "nina"
    assert (nina["is_council"], nina["is_leader"], nina["is_admin"]) == (True, False, False)
    [entry] = await AuditLog.select().where(AuditLog.action == "person.create").run()
    assert entry["target"] == "nina@corp.example"
    assert details(entry)["via"] == "single sign-on"


async def test_the_next_sign_in_brings_the_new_department_title_and_roles(sso, provider):
    provider.set_account("nina", employee(groups=["cx-council"]))
    async with browser(sso) as client:
        assert (await sign_in(client, "nina")).status_code == 303
    provider.set_account(
        "nina", employee(department="Finance", title="Billing Analyst", groups=["execs"])
    )
    async with browser(sso) as client:
        assert (await sign_in(client, "nina")).status_code == 303
        page = (await client.get(f"{BASE}/me")).text
    assert 'id="me-department">Finance<' in page
    nina = await person("nina@corp.example")
    assert (nina["department"], nina["title"]) == ("Finance", "Billing Analyst")
    assert (nina["is_council"], nina["is_leader"]) == (False, True)
    [change] = await AuditLog.select().where(AuditLog.action == "person.update").run()
    assert details(change)["department"] == {"before": "Customer Success", "after": "Finance"}


async def test_a_new_department_claim_records_when_the_person_moved(sso, provider):
    """Leadership counts only settled members of a department (k-anonymity):
    a move by a sign-in's department claim records `department_since` like a
    move on the admin pages."""
    long_ago = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)

    async def since() -> dt.datetime | None:
        rows = await User.select(User.department_since).where(User.email == "nina@corp.example")
        return rows[0]["department_since"]

    provider.set_account("nina", employee())
    async with browser(sso) as client:
        assert (await sign_in(client, "nina")).status_code == 303
    await (
        User.update({User.department_since: long_ago})
        .where(User.email == "nina@corp.example")
        .run()
    )
    async with browser(sso) as client:  # the same department: nothing moves
        assert (await sign_in(client, "nina")).status_code == 303
    assert await since() == long_ago
    provider.set_account("nina", employee(department="Finance"))
    async with browser(sso) as client:
        assert (await sign_in(client, "nina")).status_code == 303
    assert (await person("nina@corp.example"))["department"] == "Finance"
    moved = await since()
    assert moved is not None and moved > long_ago


async def test_groups_never_take_the_admin_role_from_the_last_active_admin(
    sso, provider, personas, caplog
):
    """The people service's admin rule holds at sign-in too: groups that no
    longer map to admin leave the last active admin their role (the sign-in
    succeeds, the audit entry and a log line say why); with another admin
    present, the provider's word goes."""
    adam = await personas.get("adam_admin")
    assert await User.count().where(User.is_admin.eq(True), User.active.eq(True)) == 1
    provider.set_account(
        "adam-at-idp", employee(adam.email, name=adam.name, groups=["everyone", "execs"])
    )
    with caplog.at_level("WARNING", logger="touchpoint.people"):
        async with browser(sso) as client:
            assert (await sign_in(client, "adam-at-idp")).status_code == 303
            assert await whoami(client) == adam.name
            assert (await client.get(f"{BASE}/admin/people")).status_code == 200
    assert "last active admin" in caplog.text
    row = await person(adam.email)
    assert (row["is_council"], row["is_leader"], row["is_admin"]) == (False, True, True)
    [kept] = await AuditLog.select().where(AuditLog.action == "person.update").run()
    assert kept["system_actor"] == "single sign-on" and kept["target"] == adam.email
    assert details(kept)["admin_kept"] == "the last active admin keeps the admin role"
    assert details(kept)["roles"] == {
        "before": ["staff", "admin"],
        "after": ["staff", "leader", "admin"],
    }
    assert details(kept)["via"] == "single sign-on"

    alice = await personas.get("alice_support")
    await service.set_roles(ctx_for(COMMAND_LINE), alice.id, ["admin"])
    async with browser(sso) as client:
        assert (await sign_in(client, "adam-at-idp")).status_code == 303
    row = await person(adam.email)
    assert (row["is_leader"], row["is_admin"]) == (True, False)
    entries = (
        await AuditLog.select()
        .where(AuditLog.action == "person.update", AuditLog.target == adam.email)
        .order_by(AuditLog.id)
        .run()
    )
    assert details(entries[-1])["roles"] == {
        "before": ["staff", "leader", "admin"],
        "after": ["staff", "leader"],
    }
    assert "admin_kept" not in details(entries[-1])


async def test_an_existing_person_is_linked_when_the_email_is_verified(sso, provider, personas):
    alice = await personas.get("alice_support")
    provider.set_account("alice-at-idp", employee(alice.email, name="Alice Andersson"))
    async with browser(sso) as client:
        assert (await sign_in(client, "alice-at-idp")).status_code == 303
        assert await whoami(client) == "Alice Andersson"
    row = await person(alice.email)
    assert row["id"] == alice.viewer.id and row["oidc_subject"] == "alice-at-idp"
    assert row["department"] == "Customer Success"  # from the claims, like any sign-in


async def test_a_person_provisioned_by_scim_is_linked_by_external_id(sso, provider):
    """Entra ID sends no `email_verified`: the SCIM externalId (the provider's
    own id for the person) links them instead."""
    from ideas.integrations import scim

    client = scim.ScimClient(1, "Entra ID")
    made = await scim.create_user(
        client,
        {"userName": "omar@corp.example", "displayName": "Omar O.", "externalId": "omar-oid"},
        BASE,
    )
    provider.set_account(
        "omar-sub",
        {"email": "omar@corp.example", "name": "Omar Osei", "oid": "omar-oid"},
    )
    async with browser(sso) as client:
        assert (await sign_in(client, "omar-sub")).status_code == 303
        assert await whoami(client) == "Omar Osei"
    row = await person("omar@corp.example")
    assert str(row["id"]) == made["id"] and row["oidc_subject"] == "omar-sub"


async def test_sign_out_also_signs_out_at_the_provider(sso, provider):
    provider.set_account("nina", employee())
    async with browser(sso) as client:
        await sign_in(client, "nina")
        # the CSRF token is bound to the session: read it from a signed-in page
        csrf = _csrf_from((await client.get(f"{BASE}/me")).text)
        r = await client.post(f"{BASE}/logout", data={"_csrf_token": csrf})
        assert r.status_code == 303
        end = urlsplit(r.headers["location"])
        assert f"{end.scheme}://{end.netloc}" == provider.issuer
        assert end.path == "/session/end"
        query = parse_qs(end.query)
        assert query["post_logout_redirect_uri"] == [f"{BASE}/login"]
        assert claims_of(query["id_token_hint"][0])["sub"] == "nina"
        assert await whoami(client) is None  # Touchpoint's session is over already
        # the provider itself accepts the request (it shows its sign-out confirmation)
        assert (await client.get(r.headers["location"])).status_code == 200


# -- refusals ------------------------------------------------------------------------------


REFUSED_STATE = "This sign-in link is not valid"


async def test_a_wrong_state_is_refused(sso, provider):
    provider.set_account("nina", employee())
    async with browser(sso) as client:
        url = await to_callback(client, "nina")
        parts = urlsplit(url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        r = await client.get(f"{CALLBACK}?{urlencode({**query, 'state': 'forged-state'})}")
        assert r.status_code == 400 and REFUSED_STATE in r.text
        assert await whoami(client) is None
    # nor can another browser (without the flow cookie) finish it
    async with browser(sso) as other:
        assert (await other.get(url)).status_code == 400
    assert await person("nina@corp.example") is None


async def test_a_replayed_code_is_refused(sso, provider):
    provider.set_account("nina", employee())
    async with browser(sso) as client:
        url = await to_callback(client, "nina")
        assert (await client.get(url)).status_code == 303
        # the same answer again: its state is used up
        again = await client.get(url)
        assert again.status_code == 400 and REFUSED_STATE in again.text
        # the old code under a fresh state: the provider refuses the code
        fresh = await client.get(f"{BASE}/auth/oidc/login")
        state = parse_qs(urlsplit(fresh.headers["location"]).query)["state"][0]
        code = parse_qs(urlsplit(url).query)["code"][0]
        r = await client.get(CALLBACK, params={"code": code, "state": state})
        assert r.status_code == 400 and "did not confirm this sign-in" in r.text


def resign(provider: TestProvider, key: RSAKey | None = None, **changes: Any):
    def rewrite(id_token: str) -> str:
        return provider.sign({**claims_of(id_token), **changes}, key)

    return rewrite


@pytest.mark.parametrize(
    "case",
    ["bad_signature", "wrong_audience", "expired", "wrong_nonce", "wrong_issuer"],
)
async def test_an_id_token_that_fails_a_check_is_refused(sso, provider, case):
    now = int(time.time())
    forger = RSAKey.generate_key(2048, parameters={"kid": "idp-key-1"}, private=True)
    rewrite = {
        "bad_signature": resign(provider, key=forger),
        "wrong_audience": resign(provider, aud="another-application"),
        "expired": resign(provider, iat=now - 7200, exp=now - 3600),
        "wrong_nonce": resign(provider, nonce="a-nonce-from-another-sign-in"),
        "wrong_issuer": resign(provider, iss="http://127.0.0.1:1"),
    }[case]
    provider.set_account("nina", employee())
    oidc.use_transport(Tamper(rewrite))
    async with browser(sso) as client:
        r = await sign_in(client, "nina")
        assert r.status_code == 400, r.text[:300]
        assert "could not be verified" in r.text
        assert await whoami(client) is None
    assert await person("nina@corp.example") is None


async def test_the_untampered_path_through_the_same_network_works(sso, provider):
    """The tampering network itself, with nothing rewritten, lets a sign-in through
    (so the refusals above come from the checks, not from the set-up)."""
    provider.set_account("nina", employee())
    oidc.use_transport(Tamper(lambda token: token))
    async with browser(sso) as client:
        assert (await sign_in(client, "nina")).status_code == 303
        assert await whoami(client) == "Nina Newhire"


async def test_an_unverified_email_links_no_one_and_makes_no_one(sso, provider, personas):
    alice = await personas.get("alice_support")
    provider.set_account("mallory", employee(alice.email, email_verified=False, name="Mallory"))
    provider.set_account("newbie", employee("newbie@corp.example", email_verified=False))
    async with browser(sso) as client:
        r = await sign_in(client, "mallory")
        assert r.status_code == 403 and "has not verified your e-mail address" in r.text
        assert await whoami(client) is None
    async with browser(sso) as client:
        r = await sign_in(client, "newbie")
        assert r.status_code == 403
    assert (await person(alice.email))["oidc_subject"] == ""
    assert await person("newbie@corp.example") is None


async def test_a_domain_outside_the_allow_list_is_refused(app, provider):
    from web.app import create_app

    settings = sso_settings(provider, OIDC_ALLOWED_DOMAINS="corp.example, corp.example.org")
    before = get_settings()
    reset_settings(settings)
    try:
        sso_app = create_app(settings)
        sso_app.state.redis, sso_app.state.limiter = app.state.redis, app.state.limiter
        provider.set_account("outsider", employee("eve@elsewhere.example"))
        provider.set_account("insider", employee("ian@corp.example.org"))
        async with browser(sso_app) as client:
            r = await sign_in(client, "outsider")
            assert r.status_code == 403 and "e-mail domain may not sign in" in r.text
        async with browser(sso_app) as client:  # a new browser: no session at the provider
            r = await sign_in(client, "insider")
            assert r.status_code == 303, r.text[-500:]
    finally:
        reset_settings(before)
    assert await person("eve@elsewhere.example") is None
    assert await person("ian@corp.example.org") is not None


async def test_a_deactivated_person_is_refused(sso, provider, personas):

    alice = await personas.get("alice_support")
    provider.set_account("alice-at-idp", employee(alice.email))
    async with browser(sso) as client:
        assert (await sign_in(client, "alice-at-idp")).status_code == 303
        await service.set_active(ctx_for(COMMAND_LINE), alice.id, False)
        assert await whoami(client) is None  # the session ended with the deactivation
        r = await sign_in(client, "alice-at-idp")
        assert r.status_code == 403 and "deactivated" in r.text
        assert await whoami(client) is None


async def test_the_provider_saying_no_signs_no_one_in(sso, provider):
    async with browser(sso) as client:
        r = await client.get(f"{BASE}/auth/oidc/login")
        state = parse_qs(urlsplit(r.headers["location"]).query)["state"][0]
        r = await client.get(CALLBACK, params={"error": "access_denied", "state": state})
        assert r.status_code == 400 and "did not sign you in (access_denied)" in r.text


# -- SSO_ONLY and the configuration --------------------------------------------------------


async def test_sso_only_turns_passwords_off_except_for_break_glass(app, provider, personas):
    from web.app import create_app

    alice = await personas.get("alice_support")
    adam = await personas.get("adam_admin")
    await User.update({User.break_glass: True}).where(User.id == adam.viewer.id).run()
    settings = sso_settings(provider, SSO_ONLY="true")
    before = get_settings()
    reset_settings(settings)
    try:
        sso_app = create_app(settings)
        sso_app.state.redis, sso_app.state.limiter = app.state.redis, app.state.limiter
        async with browser(sso_app) as client:
            page = await client.get(f"{BASE}/login")
            assert "break-glass accounts only" in page.text
            assert "Forgot your password" not in page.text
            csrf = client.cookies.get("tp_csrf")
            r = await client.post(
                f"{BASE}/login",
                data={"email": alice.email, "password": TP_PASSWORD, "_csrf_token": csrf},
            )
            assert r.status_code == 400
            r = await client.post(
                f"{BASE}/api/v1/auth/token", json={"email": alice.email, "password": TP_PASSWORD}
            )
            assert r.status_code == 401
            r = await client.post(
                f"{BASE}/login",
                data={"email": adam.email, "password": TP_PASSWORD, "_csrf_token": csrf},
            )
            assert r.status_code == 303
            # a break-glass admin keeps a password to change; others see none to change
            assert "Change your password" in (await client.get(f"{BASE}/me")).text
        provider.set_account("alice-idp", employee(alice.email))
        async with browser(sso_app) as client:
            assert (await sign_in(client, "alice-idp")).status_code == 303
            profile = await client.get(f"{BASE}/me")
            assert profile.status_code == 200 and "Change your password" not in profile.text
        # reset links and invitations don't apply either
        from ideas.errors import Conflict
        from ideas.people import accounts, invitations

        assert await invitations.request_password_reset(alice.email, send=False) == []
        with pytest.raises(Conflict, match="single sign-on"):
            await invitations.issue(alice.viewer.id, "invite")
        assert await invitations.request_password_reset(adam.email, send=False) != []
    finally:
        reset_settings(before)
    assert await accounts.authenticate(alice.email, TP_PASSWORD) is not None  # back to normal


async def test_without_configuration_the_routes_are_not_there(client):
    assert (await client.get("/auth/oidc/login")).status_code == 404
    assert (await client.get("/auth/oidc/callback?code=x&state=y")).status_code == 404
    assert "Sign in with" not in (await client.get("/login")).text


@pytest.mark.parametrize(
    "env, variable",
    [
        ({"OIDC_ISSUER": "https://idp.example"}, "OIDC_CLIENT_ID"),
        ({"OIDC_CLIENT_ID": "x", "OIDC_CLIENT_SECRET": "y"}, "OIDC_ISSUER"),
        (
            {"OIDC_ISSUER": "http://idp.example", "OIDC_CLIENT_ID": "x", "OIDC_CLIENT_SECRET": "y"},
            "OIDC_ISSUER",
        ),
        ({"SSO_ONLY": "true"}, "SSO_ONLY"),
        ({"SSO_ONLY": "maybe"}, "SSO_ONLY"),
    ],
)
def test_bad_configuration_names_the_variable(env, variable):
    with pytest.raises(ConfigError, match=f"^{variable}"):
        load_settings(env)


@pytest.mark.parametrize(
    "extra, variable",
    [
        ({"OIDC_SCOPES": "email profile"}, "OIDC_SCOPES"),
        ({"OIDC_GROUP_ROLES": "execs=king", "OIDC_GROUPS_CLAIM": "groups"}, "OIDC_GROUP_ROLES"),
        ({"OIDC_GROUP_ROLES": "execs=leader"}, "OIDC_GROUP_ROLES"),
        ({"OIDC_ALLOWED_DOMAINS": "not a domain"}, "OIDC_ALLOWED_DOMAINS"),
        ({"OIDC_EMAIL_CLAIM": "e mail"}, "OIDC_EMAIL_CLAIM"),
    ],
)
def test_bad_oidc_details_name_the_variable(extra, variable):
    env = {"OIDC_ISSUER": "https://idp.example", "OIDC_CLIENT_ID": "x", "OIDC_CLIENT_SECRET": "y"}
    with pytest.raises(ConfigError, match=f"^{variable}"):
        load_settings({**env, **extra})


def test_a_full_configuration_is_read():
    settings = load_settings(
        {
            "OIDC_ISSUER": "https://login.example.com/",
            "OIDC_CLIENT_ID": "touchpoint",
            "OIDC_CLIENT_SECRET": "s3cret",
            "OIDC_GROUP_ROLES": "CX Council=council, Leaders=leader",
            "OIDC_GROUPS_CLAIM": "groups",
            "OIDC_ALLOWED_DOMAINS": "Example.com",
            "SSO_ONLY": "yes",
        }
    ).oidc
    assert settings.issuer == "https://login.example.com"
    assert settings.metadata_url == "https://login.example.com/.well-known/openid-configuration"
    assert settings.group_roles == {"CX Council": "council", "Leaders": "leader"}
    assert settings.allowed_domains == frozenset({"example.com"})


async def test_concurrent_first_sign_ins_make_one_person(sso, provider):
    provider.set_account("nina", employee())
    async with browser(sso) as one, browser(sso) as two:
        urls = [await to_callback(one, "nina"), await to_callback(two, "nina")]
        answers = await asyncio.gather(one.get(urls[0]), two.get(urls[1]))
    assert sorted(r.status_code for r in answers)[0] == 303
    assert await User.count().where(User.email == "nina@corp.example").run() == 1
