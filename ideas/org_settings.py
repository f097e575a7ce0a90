"""Organisation settings: the environment wins, then the database (set by
admins), then the default. The database is read at use, so an admin's change
needs no restart; the environment is checked once, in `ideas.config`."""

from __future__ import annotations

from ideas.config import TUNABLE, get_settings
from ideas.errors import Invalid
from ideas.tables import Setting

#: settings admins may change: key → (env var, default, low, high)
SETTINGS = TUNABLE


def env_override(key: str) -> int | None:
    """The value the environment sets for `key` (checked at start-up), if any."""
    return get_settings().org_overrides.get(key)


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
            {
                "key": key,
                "value": value,
                "default": default,
                "low": low,
                "high": high,
                "env_var": var,
                "source": source,
            }
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
    await (
        Setting.insert(Setting(key=key, value=str(number)))
        .on_conflict(target=Setting.key, action="DO UPDATE", values=[Setting.value])
        .run()
    )
    return number
