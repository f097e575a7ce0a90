"""Organisation settings: the environment wins, then the database (set by
admins), then the default. The database is read at use, so an admin's change
needs no restart; the environment is checked once, in `ideas.config`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ideas import audit, policy
from ideas.config import TUNABLE, get_settings
from ideas.db import write_transaction
from ideas.errors import Invalid
from ideas.tables import Setting

if TYPE_CHECKING:
    from ideas.context import Context

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


# -- the admin's settings page ---------------------------------------------------

SETTING_HELP = {
    "triage_sla_days": (
        "Triage SLA (days)",
        "An idea still new after this many days is flagged to the council.",
    ),
    "quorum_departments": (
        "Quorum (departments)",
        "A triage session needs council members from at least this many departments.",
    ),
    "agenda_size": ("Agenda size", "The most ideas one triage session takes on."),
    "k_anonymity": (
        "Smallest group shown (k-anonymity)",
        "A department with fewer active people shows no figure of its own in metrics "
        "(never under 3, and never one resting mostly on people who have not taken part "
        "yet or were moved in within 30 days).",
    ),
    "digest_weekday": ("Digest day", "The day the weekly digest goes out."),
    "digest_hour": ("Digest hour (UTC)", "The hour the weekly digest goes out."),
}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class SettingView:
    key: str
    label: str
    help: str
    value: int
    default: int
    low: int
    high: int
    env_var: str
    #: "default", "set by an admin", or "environment (VAR)"
    source: str

    @property
    def from_environment(self) -> bool:
        return self.source.startswith("environment")


async def settings_view(ctx: Context) -> list[SettingView]:
    """Every setting as the admin's settings page shows it."""
    policy.authorize(ctx.actor, "admin.settings.read")
    out = []
    for s in await all_settings():
        label, help_text = SETTING_HELP.get(s["key"], (s["key"], ""))
        out.append(
            SettingView(
                key=s["key"],
                label=label,
                help=help_text,
                value=s["value"],
                default=s["default"],
                low=s["low"],
                high=s["high"],
                env_var=s["env_var"],
                source=s["source"],
            )
        )
    return out


async def update_settings(ctx: Context, values: dict[str, str]) -> list[str]:
    """Store the changed settings (all valid, or none written); they take
    effect at once. A setting fixed by the environment cannot change here.
    Answers the keys that changed."""
    policy.authorize(ctx.actor, "admin.manage")
    current = {s.key: s for s in await settings_view(ctx)}
    wanted: dict[str, int] = {}
    for key, raw in values.items():
        if key not in current:
            continue
        setting = current[key]
        try:
            number = int(str(raw).strip())
        except ValueError:
            raise Invalid(key, "must be a whole number") from None
        if not setting.low <= number <= setting.high:
            raise Invalid(key, f"must be between {setting.low} and {setting.high}")
        if setting.from_environment:
            if number != setting.value:
                raise Invalid(
                    key, f"is set by the environment variable {setting.env_var}; change it there"
                )
            continue
        if number != setting.value:
            wanted[key] = number
    if not wanted:
        return []
    async with write_transaction():
        for key, number in wanted.items():
            await set_setting(key, number)
            await audit.record(
                ctx.actor,
                "setting.change",
                key,
                {"value": audit.change(current[key].value, number)},
            )
    return list(wanted)
