"""The version of what the leadership figures count: bumped in the same
transaction as every change they count at once (a status change — a
decision, a merge, a ship, a withdrawal — and a credit choice), and part of
the key of the kept figures (ideas/leadership/kept.py), so a leader who
opens /leaders right after a ship sees it; votes and submissions, which
change all day, show within LEADERS_CACHE_SECONDS."""

from __future__ import annotations

from ideas.tables import Setting

KEY = "figures_version"


async def bump() -> None:
    """Call inside the change's transaction."""
    await Setting.raw(
        "INSERT INTO setting (key, value) VALUES ({}, '1') ON CONFLICT (key) DO UPDATE "
        "SET value = CAST(CAST(setting.value AS INTEGER) + 1 AS VARCHAR(200))",
        KEY,
    ).run()


async def current() -> int:
    rows = await Setting.select(Setting.value).where(Setting.key == KEY).run()
    try:
        return int(rows[0]["value"]) if rows else 0
    except ValueError:
        return 0


__all__ = ["KEY", "bump", "current"]
