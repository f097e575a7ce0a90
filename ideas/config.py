"""Configuration read from the environment, checked once, with one-line errors.

Every variable is optional; a bad value raises `ConfigError` naming the variable
so the command line can print it without a traceback.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    redis_url: str | None
    secret_key: str
    smtp_url: str | None
    mail_from: str
    base_url: str
    triage_sla_days: int = 14
    quorum_departments: int = 3
    agenda_size: int = 30
    k_anonymity: int = 5
    argon2_profile: str = "production"
    #: how long /leaders figures are reused per process (LEADERS_CACHE_SECONDS)
    leaders_cache_seconds: int = 60
    rate_limits: dict[str, int] = field(default_factory=dict)
    #: the largest request body accepted, multipart uploads aside (REQUEST_MAX_BYTES)
    request_max_bytes: int = 1024 * 1024
    #: every Redis call of a request ends within this (REDIS_DEADLINE_MS) ...
    redis_deadline_ms: int = 500
    #: ... and after a failure Redis is skipped this long (REDIS_COOLDOWN_S)
    redis_cooldown_s: int = 5
    #: proxies whose X-Forwarded-For is believed (FORWARDED_ALLOW_IPS); none by default
    forwarded_allow_ips: str = ""
    env_overrides: frozenset[str] = frozenset()

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgres://", "postgresql://"))

    @property
    def sqlite_path(self) -> Path:
        return Path(self.database_url.removeprefix("sqlite:///"))

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
#: environment overrides them when set.
TUNABLE = {
    "triage_sla_days": ("TRIAGE_SLA_DAYS", 14, 1, 365),
    "quorum_departments": ("QUORUM_DEPARTMENTS", 3, 1, 20),
    "agenda_size": ("AGENDA_SIZE", 30, 1, 500),
    "k_anonymity": ("K_ANONYMITY", 5, 1, 100),
}


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
    return Path(env.get("TOUCHPOINT_DATA_DIR") or "./.touchpoint").resolve()


def database_url_from(env: dict[str, str]) -> str:
    """DATABASE_URL, or the SQLite file in the data directory."""
    url = _url(env, "DATABASE_URL", ("sqlite", "postgres", "postgresql"))
    return url or f"sqlite:///{data_dir_from(env) / 'touchpoint.sqlite3'}"


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
    tunables = {key: _int(env, var, d, lo, hi) for key, (var, d, lo, hi) in TUNABLE.items()}
    overrides = frozenset(key for key, (var, *_rest) in TUNABLE.items() if env.get(var))
    rates = {
        name: _int(env, var, default, 0, 1_000_000)
        for name, (var, default) in RATE_LIMIT_DEFAULTS.items()
    }
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
        rate_limits=rates,
        request_max_bytes=_int(env, "REQUEST_MAX_BYTES", 1024 * 1024, 1024, 64 * 1024 * 1024),
        redis_deadline_ms=_int(env, "REDIS_DEADLINE_MS", 500, 10, 10_000),
        redis_cooldown_s=_int(env, "REDIS_COOLDOWN_S", 5, 0, 300),
        forwarded_allow_ips=_forwarded_allow_ips(env),
        env_overrides=overrides,
        **tunables,
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
