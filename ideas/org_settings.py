"""Organisation settings: the environment wins, then the database (set by
admins), then the default. Read at use, so a change needs no restart."""

from __future__ import annotations

import os

from ideas.config import TUNABLE
from ideas.errors import Invalid
from ideas.tables import Setting

#: settings admins may change: key → (env var, default, low, high)
SETTINGS = {
    **TUNABLE,
    "digest_weekday": ("DIGEST_WEEKDAY", 0, 0, 6),  # 0 = Monday
    "digest_hour": ("DIGEST_HOUR", 8, 0, 23),
}


def env_override(key: str) -> int | None:
    var, _default, low, high = SETTINGS[key]
    raw = os.environ.get(var)
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if low <= value <= high else None


async def get_setting(key: str) -> int:
    """The effective value of one setting."""
    override = env_override(key)
    if override is not None:
        return override
    rows = await Setting.select(Setting.value).where(Setting.key == key).run()
    if rows:
        try:
            return int(rows[0]["value"])
        except ValueError:
            pass
    return SETTINGS[key][1]


async def all_settings() -> list[dict]:
    """Every setting with its effective value, default and source."""
    stored = {r["key"]: r["value"] for r in await Setting.select(Setting.key, Setting.value).run()}
    out = []
    for key, (var, default, low, high) in SETTINGS.items():
        override = env_override(key)
        if override is not None:
            value, source = override, f"environment ({var})"
        elif key in stored:
            value, source = int(stored[key]), "set by an admin"
        else:
            value, source = default, "default"
        out.append(
            {"key": key, "value": value, "default": default, "low": low, "high": high,
             "env_var": var, "source": source}
        )
    return out


async def set_setting(key: str, value: int | str) -> int:
    if key not in SETTINGS:
        raise Invalid("key", f"unknown setting {key!r}")
    _var, _default, low, high = SETTINGS[key]
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise Invalid(key, "must be a whole number") from None
    if not low <= number <= high:
        raise Invalid(key, f"must be between {low} and {high}")
    await Setting.insert(Setting(key=key, value=str(number))).on_conflict(
        target=Setting.key, action="DO UPDATE", values=[Setting.value]
    ).run()
    return number
