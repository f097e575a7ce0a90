"""The audit log: who did what to whom, and what changed.

Every admin action (and the audited identity reveal) writes one entry inside
the change's own transaction, so an action and its entry exist together or
not at all. The entry names its actor the same way from every door: a person
by id, a System actor (the command line, a SCIM client, single sign-on) by
its name. Entries carry people and settings, never an idea's submitter —
the reveal entries are the one, deliberate exception.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from ideas import clock, policy, sql
from ideas.errors import Invalid
from ideas.tables import AuditLog
from ideas.viewer import Viewer

if TYPE_CHECKING:
    from ideas.context import Actor, Context

#: the System actor the "cli" filter finds (entries from before actors were
#: named carry "" and no person: the command line wrote those too)
COMMAND_LINE = "command line"

#: action → what the filter shows; actions not listed still show (as their key)
ACTION_LABELS = {
    "person.create": "Person added",
    "person.update": "Person changed",
    "person.deactivate": "Person deactivated",
    "person.reactivate": "Person reactivated",
    "person.invite": "Invitation sent",
    "people.import": "People imported",
    "department.create": "Department added",
    "department.rename": "Department renamed",
    "department.merge": "Departments merged",
    "setting.change": "Setting changed",
    "identity_reveal": "Submitter identity revealed",
    "person.break_glass": "Break-glass account changed",
    "scim.token.create": "SCIM token created",
    "scim.token.revoke": "SCIM token revoked",
    "scim.user.create": "SCIM: person added",
    "scim.user.update": "SCIM: person changed",
    "scim.user.deactivate": "SCIM: person deactivated",
    "scim.user.reactivate": "SCIM: person reactivated",
    "scim.user.delete": "SCIM: person removed",
    "scim.group.create": "SCIM: department added",
    "scim.group.rename": "SCIM: department renamed",
    "scim.group.members": "SCIM: department members changed",
    "scim.group.delete": "SCIM: department removed",
}

PAGE_SIZE = 50
EXPORT_MAX = 100_000


def change(before: Any, after: Any) -> dict[str, Any]:
    return {"before": before, "after": after}


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Only the fields that changed, as {field: {before, after}}."""
    return {k: change(before.get(k), v) for k, v in after.items() if before.get(k) != v}


async def record(
    actor: Actor,
    action: str,
    target: str = "",
    details: dict[str, Any] | None = None,
) -> None:
    """Write one entry naming `actor` (a person or a System, never None);
    call inside the action's transaction."""
    if actor is None:
        raise ValueError("an audit entry needs an actor (a person or a System)")
    person = isinstance(actor, Viewer)
    await AuditLog.insert(
        AuditLog(
            actor=actor.id if person else None,
            system_actor="" if person else actor.name[:80],
            action=action[:60],
            target=target[:200],
            details=details or {},
            created_at=clock.now(),
        )
    ).run()


@dataclass(frozen=True)
class AuditFilter:
    action: str = ""
    #: who acted: a user id, or "cli" for the command line
    actor: str = ""
    #: text contained in the target (an email, a department, a setting)
    target: str = ""
    since: dt.date | None = None
    until: dt.date | None = None


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: dt.datetime
    actor: str
    action: str
    action_label: str
    target: str
    details: dict[str, Any]

    def changes(self) -> list[tuple[str, str, str]]:
        """(field, before, after) for entries shaped {field: {before, after}};
        other details as (key, "", value)."""
        out = []
        for key, value in self.details.items():
            if isinstance(value, dict) and set(value) == {"before", "after"}:
                out.append((key, _text(value["before"]), _text(value["after"])))
            else:
                out.append((key, "", _text(value)))
        return out


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "—"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _date(raw: str | None, field: str) -> dt.date | None:
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise Invalid(field, "must be a date, YYYY-MM-DD") from None


def make_filter(
    action: str | None = None,
    actor: str | None = None,
    target: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> AuditFilter:
    """A checked filter from query-string values (422 naming a bad field)."""
    actor = (actor or "").strip()
    if actor and actor != "cli":
        try:
            UUID(actor)
        except ValueError:
            raise Invalid("actor", "unknown actor") from None
    return AuditFilter(
        action=(action or "").strip()[:60],
        actor=actor,
        target=(target or "").strip()[:200],
        since=_date(since, "since"),
        until=_date(until, "until"),
    )


def _query(f: AuditFilter):
    query = AuditLog.select(
        AuditLog.id,
        AuditLog.created_at,
        AuditLog.action,
        AuditLog.target,
        AuditLog.details,
        AuditLog.system_actor,
        AuditLog.actor.name.as_alias("actor_name"),
        AuditLog.actor.email.as_alias("actor_email"),
    )
    if f.action:
        query = query.where(AuditLog.action == f.action)
    if f.actor == "cli":
        query = query.where(
            AuditLog.actor.is_null(), AuditLog.system_actor.is_in(["", COMMAND_LINE])
        )
    elif f.actor:
        query = query.where(AuditLog.actor == UUID(f.actor))
    if f.target:
        query = query.where(sql.name_contains(AuditLog.target, f"%{f.target}%"))
    if f.since:
        start = dt.datetime.combine(f.since, dt.time.min, tzinfo=dt.UTC)
        query = query.where(AuditLog.created_at >= start)
    if f.until:
        end = dt.datetime.combine(f.until + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
        query = query.where(AuditLog.created_at < end)
    return query.order_by(AuditLog.id, ascending=False)


def _entry(row: dict) -> AuditEntry:
    details = row["details"]
    if isinstance(details, str):
        details = json.loads(details or "{}")
    if row["actor_name"]:
        actor = f"{row['actor_name']} <{row['actor_email']}>"
    elif row["system_actor"]:
        actor = row["system_actor"][:1].upper() + row["system_actor"][1:]
    # entries written before the System actor was kept
    elif isinstance(details, dict) and details.get("via") == "SCIM":
        actor = f"SCIM ({details.get('token', '')})"
    elif isinstance(details, dict) and details.get("via") == "single sign-on":
        actor = "Single sign-on"
    else:
        actor = "Command line"
    return AuditEntry(
        id=row["id"],
        at=row["created_at"],
        actor=actor,
        action=row["action"],
        action_label=ACTION_LABELS.get(row["action"], row["action"]),
        target=row["target"],
        details=details or {},
    )


async def list_entries(
    ctx: Context, f: AuditFilter, page: int = 1
) -> tuple[list[AuditEntry], bool]:
    """One page of entries, newest first, and whether there are more."""
    policy.authorize(ctx.actor, "admin.audit.read")
    page = max(1, page)
    rows = await _query(f).limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE).run()
    return [_entry(r) for r in rows[:PAGE_SIZE]], len(rows) > PAGE_SIZE


async def export_csv(ctx: Context, f: AuditFilter) -> str:
    """Every matching entry as CSV (day, actor, action, target, field, before, after)."""
    policy.authorize(ctx.actor, "admin.audit.read")
    rows = await _query(f).limit(EXPORT_MAX).run()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "day", "actor", "action", "target", "field", "before", "after"])
    for row in rows:
        entry = _entry(row)
        changes = entry.changes() or [("", "", "")]
        for field, before, after in changes:
            writer.writerow(
                [
                    entry.id,
                    entry.at.date().isoformat(),
                    _csv_safe(entry.actor),
                    entry.action,
                    _csv_safe(entry.target),
                    _csv_safe(field),
                    _csv_safe(before),
                    _csv_safe(after),
                ]
            )
    return out.getvalue()


def _csv_safe(value: str) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas: defuse them."""
    if value and value[0] in "=+-@\t\r":
        return "'" + value
    return value


async def actors(ctx: Context) -> list[dict[str, str]]:
    """The people who appear as actors (for the filter), by name."""
    policy.authorize(ctx.actor, "admin.audit.read")
    rows = (
        await AuditLog.select(
            AuditLog.actor.id.as_alias("id"), AuditLog.actor.name.as_alias("name")
        )
        .where(AuditLog.actor.is_not_null())
        .distinct()
        .run()
    )
    seen = {str(r["id"]): r["name"] for r in rows if r["id"]}
    return [{"id": k, "name": v} for k, v in sorted(seen.items(), key=lambda kv: kv[1])]


async def actions(ctx: Context) -> list[dict[str, str]]:
    """Every action the filter offers: those recorded and those labelled."""
    policy.authorize(ctx.actor, "admin.audit.read")
    rows = await AuditLog.select(AuditLog.action).distinct().run()
    keys = sorted({r["action"] for r in rows} | set(ACTION_LABELS))
    return [{"key": k, "label": ACTION_LABELS.get(k, k)} for k in keys]
