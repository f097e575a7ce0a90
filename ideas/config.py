"""Configuration read from the environment, checked once, with one-line errors.

Every variable the product reads is parsed here, in `load_settings`, and
nowhere else: modules read `get_settings()`, never `os.environ`. Every
variable is optional; a bad value raises `ConfigError` naming the variable and
the reason, so the command line prints one line (exit status 2) instead of a
traceback. `VARIABLES` lists them all (the tests check each one).

One name is read elsewhere on purpose: `PICCOLO_CONF` (Piccolo's own;
`touchpoint` sets it).

Size: over 400 lines: one loader, by design — every variable, its parser and
its one-line error in one table (`VARIABLES`).
"""

from __future__ import annotations

import math
import os
import re
import secrets
import shutil
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlparse


class ConfigError(ValueError):
    """A configuration variable has a value we cannot use."""


def _int(env: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}: must be between {low} and {high}, got {value}")
    return value


def _float(env: dict[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected a number, got {raw!r}") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise ConfigError(f"{name}: must be between {low:g} and {high:g}, got {raw}")
    return value


def _bool(env: dict[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}: expected true or false, got {raw!r}")


def _file(env: dict[str, str], name: str) -> Path | None:
    raw = (env.get(name) or "").strip()
    if raw == "":
        return None
    path = Path(raw)
    if not path.is_file():
        raise ConfigError(f"{name}: no such file: {raw!r}")
    return path


def _url(env: dict[str, str], name: str, schemes: tuple[str, ...]) -> str | None:
    raw = env.get(name)
    if raw is None or raw == "":
        return None
    parsed = urlparse(raw)
    if parsed.scheme not in schemes:
        raise ConfigError(f"{name}: scheme must be one of {', '.join(schemes)}, got {raw!r}")
    if parsed.scheme not in ("sqlite",) and not parsed.hostname:
        raise ConfigError(f"{name}: no host in {raw!r}")
    try:
        parsed.port  # noqa: B018 - validates the port
    except ValueError:
        raise ConfigError(f"{name}: bad port in {raw!r}") from None
    return raw


ROLE_NAMES = ("council", "leader", "admin")


@dataclass(frozen=True)
class OidcSettings:
    """Sign-in with OpenID Connect (on when issuer, client id and secret are set)."""

    issuer: str
    client_id: str
    client_secret: str
    scopes: str = "openid email profile"
    #: the login page's button: "Sign in with <provider_name>"
    provider_name: str = "single sign-on"
    email_claim: str = "email"
    name_claim: str = "name"
    #: "" = not taken from the provider
    department_claim: str = ""
    title_claim: str = ""
    groups_claim: str = ""
    #: provider group name → Touchpoint role (council, leader, admin)
    group_roles: dict[str, str] = field(default_factory=dict)
    #: e-mail domains allowed to sign in; empty = any
    allowed_domains: frozenset[str] = frozenset()
    #: a new person's department when the provider sends none
    default_department: str = "Unassigned"

    @property
    def metadata_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


@dataclass(frozen=True)
class WorkerTuning:
    """The worker's knobs (`TOUCHPOINT_*`; short values in tests)."""

    #: the sweep leaves events this young to the after-commit enqueue
    grace_s: float = 10.0
    #: notices per fan-out statement, and a pause between statements
    fanout_chunk: int = 1000
    fanout_pause_s: float = 0.0
    #: exponential backoff of retries: base * 2**(try-1), capped
    retry_base_s: float = 5.0
    retry_cap_s: float = 900.0
    #: tries of a delivery job, and of one e-mail (enough for hours of outage)
    job_max_tries: int = 5
    mail_max_tries: int = 20
    #: deliveries of one event tried at most this often before the sweep gives up
    event_max_attempts: int = 20
    #: the longest a job may run; a killed worker's job runs again this + 10 s
    #: later (arq), so it is short and the work comes in bounded chunks
    job_timeout_s: float = 20.0
    #: the same for e-mail jobs (their own queue): above the whole SMTP send
    mail_job_timeout_s: float = 20.0
    sweep_every_s: int = 60
    sweep_limit: int = 5000
    #: seconds between the worker's polls of Redis for new jobs
    poll_delay_s: float = 0.5
    #: outgoing webhooks: one attempt at most this long, bytes of an answer read
    webhook_timeout_s: float = 10.0
    webhook_max_response_bytes: int = 64 * 1024
    #: back-off of webhook attempts: base * 2**(attempt-1), capped
    webhook_retry_base_s: float = 30.0
    webhook_retry_cap_s: float = 3600.0
    #: a delivery is given up after this many attempts (bounded time: ~1 day)
    webhook_max_attempts: int = 12
    #: an endpoint is switched off after this many failed attempts in a row
    webhook_disable_after: int = 25


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    redis_url: str | None
    secret_key: str
    smtp_url: str | None
    mail_from: str
    base_url: str
    argon2_profile: str = "production"
    #: how long /leaders figures are reused per process (LEADERS_CACHE_SECONDS)
    leaders_cache_seconds: int = 60
    #: similar ideas by meaning (SIMILAR_SEMANTIC); off = lexical ranking only
    similar_semantic: bool = True
    #: the ONNX model file (SIMILAR_MODEL_PATH); None = the packaged one
    similar_model_path: Path | None = None
    rate_limits: dict[str, int] = field(default_factory=dict)
    #: organisation settings set in the environment (key → value), which win
    #: over the admins' (see `ideas.org_settings`)
    org_overrides: dict[str, int] = field(default_factory=dict)
    #: seconds to wait for the SMTP server at each step (SMTP_TIMEOUT)
    smtp_timeout: float = 20.0
    #: a folder of mail templates overriding the built-in ones by file name
    mail_templates: Path | None = None
    #: the redis-server binary `touchpoint up` runs (REDIS_SERVER_BIN), resolved
    redis_server_bin: str | None = None
    worker: WorkerTuning = field(default_factory=WorkerTuning)
    #: new ideas and submitter comments reach anyone else (channels, webhooks
    #: too) at the next multiple of this many minutes, UTC (PUBLISH_DELAY_MINUTES)
    publish_delay_minutes: int = 60
    #: hosts and networks webhooks may reach although private (WEBHOOK_ALLOWED_HOSTS)
    webhook_allowed_hosts: tuple[str, ...] = ()
    #: the Slack app: request signing secret, bot token, Web API base URL
    slack_signing_secret: str | None = None
    slack_bot_token: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    #: lifetime of a new API token in days (API_TOKEN_DAYS)
    api_token_days: int = 90
    oidc: OidcSettings | None = None
    #: password sign-in only for break-glass accounts (SSO_ONLY)
    sso_only: bool = False
    #: the largest request body accepted, multipart uploads aside (REQUEST_MAX_BYTES)
    request_max_bytes: int = 1024 * 1024
    #: every Redis call of a request ends within this (REDIS_DEADLINE_MS) ...
    redis_deadline_ms: int = 500
    #: ... and after a failure Redis is skipped this long (REDIS_COOLDOWN_S)
    redis_cooldown_s: int = 5
    #: proxies whose X-Forwarded-For is believed (FORWARDED_ALLOW_IPS); none by default
    forwarded_allow_ips: str = ""
    #: the password of `touchpoint users add/set-password` without a prompt
    #: (TOUCHPOINT_PASSWORD; the command line's only, never shown)
    cli_password: str | None = field(default=None, repr=False)

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")


#: Rate limits: name → (environment variable, default requests per minute).
RATE_LIMIT_DEFAULTS: dict[str, tuple[str, int]] = {
    "login": ("RATE_LIMIT_LOGIN", 10),
    "login_account": ("RATE_LIMIT_LOGIN_ACCOUNT", 5),
    "token": ("RATE_LIMIT_TOKEN", 10),
    "idea": ("RATE_LIMIT_IDEA", 10),
    "comment": ("RATE_LIMIT_COMMENT", 20),
    "vote": ("RATE_LIMIT_VOTE", 120),
    # any request with a body from someone not logged in, counted before it is read
    "anonymous": ("RATE_LIMIT_ANONYMOUS", 60),
}

#: Organisation settings that admins may change in the database; the
#: environment overrides them when set: key → (variable, default, low, high).
TUNABLE = {
    "triage_sla_days": ("TRIAGE_SLA_DAYS", 14, 1, 365),
    "quorum_departments": ("QUORUM_DEPARTMENTS", 3, 1, 20),
    "agenda_size": ("AGENDA_SIZE", 30, 1, 500),
    "k_anonymity": ("K_ANONYMITY", 5, 3, 100),
    "digest_weekday": ("DIGEST_WEEKDAY", 0, 0, 6),  # 0 = Monday
    "digest_hour": ("DIGEST_HOUR", 8, 0, 23),
}

#: The worker's tuning: field → (variable, low, high); whole numbers where
#: the field is an int. `TOUCHPOINT_FANOUT_PAUSE_MS` is milliseconds.
WORKER_TUNING: dict[str, tuple[str, float, float]] = {
    "grace_s": ("TOUCHPOINT_OUTBOX_GRACE_S", 0, 86_400),
    "fanout_chunk": ("TOUCHPOINT_FANOUT_CHUNK", 1, 1_000_000),
    "fanout_pause_s": ("TOUCHPOINT_FANOUT_PAUSE_MS", 0, 60_000),
    "retry_base_s": ("TOUCHPOINT_RETRY_BASE_S", 0, 86_400),
    "retry_cap_s": ("TOUCHPOINT_RETRY_CAP_S", 0, 86_400),
    "job_max_tries": ("TOUCHPOINT_JOB_MAX_TRIES", 1, 1_000_000),
    "mail_max_tries": ("TOUCHPOINT_MAIL_MAX_TRIES", 1, 1_000_000),
    "event_max_attempts": ("TOUCHPOINT_EVENT_MAX_ATTEMPTS", 1, 1_000_000),
    "job_timeout_s": ("TOUCHPOINT_JOB_TIMEOUT_S", 0.1, 86_400),
    "mail_job_timeout_s": ("TOUCHPOINT_MAIL_JOB_TIMEOUT_S", 0.1, 86_400),
    "sweep_every_s": ("TOUCHPOINT_SWEEP_EVERY_S", 1, 60),
    "sweep_limit": ("TOUCHPOINT_SWEEP_LIMIT", 1, 1_000_000),
    "poll_delay_s": ("TOUCHPOINT_POLL_DELAY_S", 0.01, 60),
    "webhook_timeout_s": ("TOUCHPOINT_WEBHOOK_TIMEOUT_S", 0.1, 120),
    "webhook_max_response_bytes": ("TOUCHPOINT_WEBHOOK_MAX_RESPONSE_BYTES", 1, 10_000_000),
    "webhook_retry_base_s": ("TOUCHPOINT_WEBHOOK_RETRY_BASE_S", 0, 86_400),
    "webhook_retry_cap_s": ("TOUCHPOINT_WEBHOOK_RETRY_CAP_S", 0, 86_400),
    "webhook_max_attempts": ("TOUCHPOINT_WEBHOOK_MAX_ATTEMPTS", 1, 1000),
    "webhook_disable_after": ("TOUCHPOINT_WEBHOOK_DISABLE_AFTER", 1, 1000),
}

#: what OpenID Connect sign-in reads besides the issuer, client id and secret
OIDC_EXTRAS = (
    "OIDC_SCOPES",
    "OIDC_PROVIDER_NAME",
    "OIDC_EMAIL_CLAIM",
    "OIDC_NAME_CLAIM",
    "OIDC_DEPARTMENT_CLAIM",
    "OIDC_TITLE_CLAIM",
    "OIDC_GROUPS_CLAIM",
    "OIDC_GROUP_ROLES",
    "OIDC_ALLOWED_DOMAINS",
    "OIDC_DEFAULT_DEPARTMENT",
)


#: Every variable the product reads (the tests give each a bad value).
VARIABLES: tuple[str, ...] = (
    "TOUCHPOINT_DATA_DIR",
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "BASE_URL",
    "SMTP_URL",
    "MAIL_FROM",
    "SMTP_TIMEOUT",
    "TOUCHPOINT_MAIL_TEMPLATES",
    "TOUCHPOINT_ARGON2",
    "LEADERS_CACHE_SECONDS",
    "REDIS_SERVER_BIN",
    "SIMILAR_SEMANTIC",
    "SIMILAR_MODEL_PATH",
    "PUBLISH_DELAY_MINUTES",
    "WEBHOOK_ALLOWED_HOSTS",
    "SLACK_SIGNING_SECRET",
    "SLACK_BOT_TOKEN",
    "SLACK_API_URL",
    "API_TOKEN_DAYS",
    "OIDC_ISSUER",
    "OIDC_CLIENT_ID",
    "OIDC_CLIENT_SECRET",
    *OIDC_EXTRAS,
    "SSO_ONLY",
    "REQUEST_MAX_BYTES",
    "REDIS_DEADLINE_MS",
    "REDIS_COOLDOWN_S",
    "FORWARDED_ALLOW_IPS",
    "TOUCHPOINT_PASSWORD",
    *(var for var, *_rest in TUNABLE.values()),
    *(var for var, _default in RATE_LIMIT_DEFAULTS.values()),
    *(var for var, *_rest in WORKER_TUNING.values()),
)


def _worker_tuning(env: dict[str, str]) -> WorkerTuning:
    defaults = WorkerTuning()
    whole = {f.name for f in fields(WorkerTuning) if f.type == "int"}
    values: dict[str, float] = {}
    for key, (var, low, high) in WORKER_TUNING.items():
        default = getattr(defaults, key)
        if key == "fanout_pause_s":
            values[key] = _float(env, var, default * 1000, low, high) / 1000
        elif key in whole:
            values[key] = _int(env, var, default, int(low), int(high))
        else:
            values[key] = _float(env, var, default, low, high)
    return WorkerTuning(**values)


def _mail_templates(env: dict[str, str]) -> Path | None:
    raw = env.get("TOUCHPOINT_MAIL_TEMPLATES")
    if not raw:
        return None
    path = Path(raw)
    if not path.is_dir():
        raise ConfigError(f"TOUCHPOINT_MAIL_TEMPLATES: {raw!r} is not a directory")
    return path


def _redis_server_bin(env: dict[str, str]) -> str | None:
    raw = (env.get("REDIS_SERVER_BIN") or "").strip()
    if not raw:
        return None
    found = shutil.which(raw)
    if found is None:
        raise ConfigError(
            f"REDIS_SERVER_BIN: {raw!r} is not an executable file (nor a command on PATH)"
        )
    return os.path.abspath(found)


def _secret_key(env: dict[str, str], data_dir: Path) -> str:
    key = env.get("SECRET_KEY")
    if key:
        if len(key) < 16:
            raise ConfigError("SECRET_KEY: must be at least 16 characters")
        return key
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def data_dir_from(env: dict[str, str]) -> Path:
    raw = env.get("TOUCHPOINT_DATA_DIR") or "./.touchpoint"
    path = Path(raw).resolve()
    if path.exists() and not path.is_dir():
        raise ConfigError(f"TOUCHPOINT_DATA_DIR: {raw!r} exists and is not a directory")
    return path


def database_url_from(env: dict[str, str]) -> str:
    """DATABASE_URL, or the SQLite file in the data directory."""
    url = _url(env, "DATABASE_URL", ("sqlite", "postgres", "postgresql"))
    return url or f"sqlite:///{data_dir_from(env) / 'touchpoint.sqlite3'}"


def _allowed_hosts(env: dict[str, str]) -> tuple[str, ...]:
    """WEBHOOK_ALLOWED_HOSTS: comma-separated host names, addresses or networks."""
    import ipaddress

    out = []
    for raw in (env.get("WEBHOOK_ALLOWED_HOSTS") or "").split(","):
        item = raw.strip().lower()
        if not item:
            continue
        if "/" in item or item.replace(".", "").isdigit() or ":" in item:
            try:
                ipaddress.ip_network(item.strip("[]"), strict=False)
            except ValueError:
                raise ConfigError(
                    f"WEBHOOK_ALLOWED_HOSTS: {raw.strip()!r} is neither a host name nor a network"
                ) from None
        elif not all(part and part.replace("-", "").isalnum() for part in item.split(".")):
            raise ConfigError(f"WEBHOOK_ALLOWED_HOSTS: {raw.strip()!r} is not a host name")
        out.append(item.strip("[]"))
    return tuple(out)


def _secret(env: dict[str, str], name: str, prefix: str = "") -> str | None:
    """A secret pasted from another product: one word, with its usual prefix."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return None
    if any(ch.isspace() for ch in raw):
        raise ConfigError(f"{name}: must be one word without spaces")
    if prefix and not raw.startswith(prefix):
        raise ConfigError(f"{name}: must start with {prefix!r} (as Slack shows it)")
    return raw


def _slack_api_url(env: dict[str, str]) -> str:
    url = _url(env, "SLACK_API_URL", ("http", "https")) or "https://slack.com/api/"
    if not url.endswith("/"):
        raise ConfigError(
            f"SLACK_API_URL: must end with '/', e.g. https://slack.com/api/, got {url!r}"
        )
    return url


_CLAIM = re.compile(r"^[A-Za-z0-9_:./\-]{1,100}$")


def _claim(env: dict[str, str], name: str, default: str) -> str:
    raw = env.get(name)
    value = default if raw is None else raw.strip()
    if value and not _CLAIM.match(value):
        raise ConfigError(f"{name}: not a claim name: {value!r}")
    return value


def _group_roles(env: dict[str, str]) -> dict[str, str]:
    """OIDC_GROUP_ROLES: `group=role` pairs separated by commas."""
    raw = env.get("OIDC_GROUP_ROLES") or ""
    mapping: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in raw.split(","))):
        group, sep, role = (x.strip() for x in pair.rpartition("="))
        if not sep or not group:
            raise ConfigError(f"OIDC_GROUP_ROLES: expected group=role, got {pair!r}")
        if role not in ROLE_NAMES:
            raise ConfigError(
                f"OIDC_GROUP_ROLES: unknown role {role!r} for group {group!r}; "
                f"roles are {', '.join(ROLE_NAMES)}"
            )
        mapping[group] = role
    return mapping


def _oidc(env: dict[str, str]) -> OidcSettings | None:
    names = ("OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET")
    given = {n: (env.get(n) or "").strip() for n in names}
    if not any(given.values()):
        # the other OIDC_* variables mean nothing alone: say so, never ignore them
        for extra in OIDC_EXTRAS:
            if (env.get(extra) or "").strip():
                raise ConfigError(
                    f"{extra}: set OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET too "
                    "(OpenID Connect is off without them)"
                )
        return None
    missing = [n for n in names if not given[n]]
    if missing:
        raise ConfigError(
            f"{missing[0]}: OpenID Connect needs OIDC_ISSUER, OIDC_CLIENT_ID and "
            "OIDC_CLIENT_SECRET together"
        )
    issuer = given["OIDC_ISSUER"]
    parsed = urlparse(issuer)
    loopback = parsed.hostname in ("127.0.0.1", "localhost", "::1")
    if not parsed.hostname or not (
        parsed.scheme == "https" or (parsed.scheme == "http" and loopback)
    ):
        raise ConfigError(
            f"OIDC_ISSUER: expected an https URL (http only on loopback), got {issuer!r}"
        )
    scopes = " ".join((env.get("OIDC_SCOPES") or "openid email profile").split())
    if "openid" not in scopes.split():
        raise ConfigError(f"OIDC_SCOPES: must include 'openid', got {scopes!r}")
    domains = frozenset(
        d.strip().lower().lstrip("@")
        for d in (env.get("OIDC_ALLOWED_DOMAINS") or "").split(",")
        if d.strip()
    )
    for domain in domains:
        if "." not in domain or any(c in domain for c in " /@:"):
            raise ConfigError(f"OIDC_ALLOWED_DOMAINS: not an e-mail domain: {domain!r}")
    provider_name = (env.get("OIDC_PROVIDER_NAME") or "single sign-on").strip()
    if len(provider_name) > 60:
        raise ConfigError("OIDC_PROVIDER_NAME: at most 60 characters")
    default_department = (env.get("OIDC_DEFAULT_DEPARTMENT") or "Unassigned").strip()
    if len(default_department) > 80:
        raise ConfigError("OIDC_DEFAULT_DEPARTMENT: at most 80 characters")
    email_claim = _claim(env, "OIDC_EMAIL_CLAIM", "email")
    name_claim = _claim(env, "OIDC_NAME_CLAIM", "name")
    if not email_claim:
        raise ConfigError("OIDC_EMAIL_CLAIM: must not be empty")
    if not name_claim:
        raise ConfigError("OIDC_NAME_CLAIM: must not be empty")
    group_roles = _group_roles(env)
    groups_claim = _claim(env, "OIDC_GROUPS_CLAIM", "")
    if group_roles and not groups_claim:
        raise ConfigError("OIDC_GROUP_ROLES: set OIDC_GROUPS_CLAIM too (which claim lists groups)")
    return OidcSettings(
        issuer=issuer.rstrip("/"),
        client_id=given["OIDC_CLIENT_ID"],
        client_secret=given["OIDC_CLIENT_SECRET"],
        scopes=scopes,
        provider_name=provider_name,
        email_claim=email_claim,
        name_claim=name_claim,
        department_claim=_claim(env, "OIDC_DEPARTMENT_CLAIM", ""),
        title_claim=_claim(env, "OIDC_TITLE_CLAIM", ""),
        groups_claim=groups_claim,
        group_roles=group_roles,
        allowed_domains=domains,
        default_department=default_department,
    )


def _forwarded_allow_ips(env: dict[str, str]) -> str:
    """Addresses or networks (comma-separated) of the proxies in front; `*`
    trusts any peer (only when nothing else can reach the port)."""
    import ipaddress

    raw = (env.get("FORWARDED_ALLOW_IPS") or "").strip()
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    for part in parts:
        if part == "*":
            continue
        try:
            ipaddress.ip_network(part, strict=False)
        except ValueError:
            raise ConfigError(
                f"FORWARDED_ALLOW_IPS: {part!r} is not an address or network"
            ) from None
    return ",".join(parts)


def _cli_password(env: dict[str, str]) -> str | None:
    """TOUCHPOINT_PASSWORD, held to the password rule (ideas.security)."""
    raw = env.get("TOUCHPOINT_PASSWORD")
    if not raw:
        return None
    from ideas.security import password_problem  # (ideas.security reads the settings)

    problem = password_problem(raw)
    if problem:
        raise ConfigError(f"TOUCHPOINT_PASSWORD: {problem}")
    return raw


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Read and check the environment; raises ConfigError on a bad value."""
    env = dict(os.environ if env is None else env)
    data_dir = data_dir_from(env)
    database_url = database_url_from(env)
    redis_url = _url(env, "REDIS_URL", ("redis", "rediss", "unix"))
    smtp_url = _url(env, "SMTP_URL", ("smtp", "smtps"))
    base_url = env.get("BASE_URL") or "http://127.0.0.1:8000"
    if urlparse(base_url).scheme not in ("http", "https") or not urlparse(base_url).hostname:
        raise ConfigError(f"BASE_URL: expected an http(s) URL, got {base_url!r}")
    mail_from = env.get("MAIL_FROM") or "Touchpoint <touchpoint@localhost>"
    if "@" not in mail_from:
        raise ConfigError(f"MAIL_FROM: expected an e-mail address, got {mail_from!r}")
    profile = env.get("TOUCHPOINT_ARGON2") or "production"
    if profile not in ("production", "fast-insecure-for-tests"):
        raise ConfigError("TOUCHPOINT_ARGON2: expected 'production' or 'fast-insecure-for-tests'")
    overrides = {
        key: _int(env, var, default, low, high)
        for key, (var, default, low, high) in TUNABLE.items()
        if env.get(var)
    }
    rates = {
        name: _int(env, var, default, 0, 1_000_000)
        for name, (var, default) in RATE_LIMIT_DEFAULTS.items()
    }
    oidc = _oidc(env)
    sso_only = _bool(env, "SSO_ONLY", False)
    if sso_only and oidc is None:
        raise ConfigError("SSO_ONLY: needs OpenID Connect (OIDC_ISSUER, OIDC_CLIENT_ID, ...)")
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        redis_url=redis_url,
        secret_key=_secret_key(env, data_dir),
        smtp_url=smtp_url,
        mail_from=mail_from,
        base_url=base_url.rstrip("/"),
        argon2_profile=profile,
        leaders_cache_seconds=_int(env, "LEADERS_CACHE_SECONDS", 60, 0, 3600),
        similar_semantic=_bool(env, "SIMILAR_SEMANTIC", True),
        similar_model_path=_file(env, "SIMILAR_MODEL_PATH"),
        publish_delay_minutes=_int(env, "PUBLISH_DELAY_MINUTES", 60, 0, 1440),
        webhook_allowed_hosts=_allowed_hosts(env),
        slack_signing_secret=_secret(env, "SLACK_SIGNING_SECRET"),
        slack_bot_token=_secret(env, "SLACK_BOT_TOKEN", "xox"),
        slack_api_url=_slack_api_url(env),
        rate_limits=rates,
        org_overrides=overrides,
        smtp_timeout=_float(env, "SMTP_TIMEOUT", 20.0, 0.1, 3600),
        mail_templates=_mail_templates(env),
        redis_server_bin=_redis_server_bin(env),
        worker=_worker_tuning(env),
        api_token_days=_int(env, "API_TOKEN_DAYS", 90, 1, 3650),
        oidc=oidc,
        sso_only=sso_only,
        request_max_bytes=_int(env, "REQUEST_MAX_BYTES", 1024 * 1024, 1024, 64 * 1024 * 1024),
        redis_deadline_ms=_int(env, "REDIS_DEADLINE_MS", 500, 10, 10_000),
        redis_cooldown_s=_int(env, "REDIS_COOLDOWN_S", 5, 0, 300),
        forwarded_allow_ips=_forwarded_allow_ips(env),
        cli_password=_cli_password(env),
    )


_settings: Settings | None = None


def get_settings() -> Settings:
    """The process-wide settings, loaded on first use."""
    global _settings
    if _settings is None:
        _settings = load_settings()
    return _settings


def reset_settings(settings: Settings | None = None) -> None:
    """Replace (or forget) the cached settings; used by tests and the CLI."""
    global _settings
    _settings = settings
