"""Importing people from a CSV file: the admin pages and `touchpoint users
import` alike; the rows are written by the people service's own steps.

The file has a header naming the columns `email, name, title, department,
roles` (`title` and `roles` may be absent); roles are separated by `;`.
Importing is two steps: `plan_import` says what would happen — each row is
created, updated, unchanged or rejected with its reason — and writes
nothing; `apply_import` writes the created and updated rows in one
transaction, refusing a plan the directory has moved on from since.

A row is rejected for a bad email, a missing name or department, an unknown
role, a value too long, an email that appears more than once in the file,
or a change that would leave no active admin. Nothing is written for a
rejected row; the other rows still go in.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from uuid import UUID

from ideas import audit, policy
from ideas import text as text_rules
from ideas.context import Context
from ideas.db import write_transaction
from ideas.errors import Conflict, Invalid
from ideas.people import invitations, service
from ideas.people.directory import normalise_email
from ideas.people.import_file import Row, parse_people_csv
from ideas.people.roles import (
    LAST_ADMIN,
    OWN_ROLE,
    ROLES,
    admin_rule,
    lock_admins,
    roles_of,
    sorted_roles,
)
from ideas.tables import Department, User

#: column → (low, high) length after trimming
LIMITS = {"name": (1, 120), "title": (0, 120), "department": (1, 80)}


@dataclass(frozen=True)
class PlannedRow:
    line: int
    email: str
    name: str
    title: str
    department: str
    #: always includes "staff"
    roles: tuple[str, ...]
    #: the person's id when they exist already
    user_id: UUID | None = None
    #: for an update: {field: {"before": ..., "after": ...}}, changed fields only
    changes: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Rejected:
    line: int
    email: str
    name: str
    reason: str


@dataclass
class ImportPlan:
    created: list[PlannedRow] = field(default_factory=list)
    updated: list[PlannedRow] = field(default_factory=list)
    unchanged: list[PlannedRow] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    #: departments that the created/updated rows need and that do not exist yet
    new_departments: list[str] = field(default_factory=list)

    @property
    def writes(self) -> int:
        return len(self.created) + len(self.updated)

    def fingerprint(self) -> str:
        """A digest of what applying would write (and what it expects to find):
        equal fingerprints mean the same import."""
        payload = {
            "created": [_canon(r) for r in self.created],
            "updated": [_canon(r) for r in self.updated],
            "new_departments": self.new_departments,
        }
        raw = json.dumps(payload, sort_keys=True, default=str).encode()
        return hashlib.sha256(raw).hexdigest()


def _canon(row: PlannedRow) -> dict:
    data = asdict(row)
    data.pop("line")
    return data


@dataclass(frozen=True)
class ImportResult:
    created: list[str]
    updated: list[str]
    unchanged: int
    rejected: int
    new_departments: list[str]
    #: invitations sent, and those whose mail failed (the link exists)
    invited: list[str] = field(default_factory=list)
    invite_failed: list[str] = field(default_factory=list)


# -- planning ------------------------------------------------------------------


def _check(row: Row) -> tuple[str, str]:
    """(normalised email, reason); reason is "" for a good row."""
    if row.problem:
        return "", row.problem
    if not row.email:
        return "", "email is missing"
    try:
        email = normalise_email(row.email)
    except Invalid as exc:
        return "", f"bad email: {exc.reason}"
    if not row.name:
        return email, "name is missing"
    if not row.department:
        return email, "department is missing"
    for column, (low, high) in LIMITS.items():
        if not low <= len(getattr(row, column)) <= high:
            return email, f"{column} must be {low}–{high} characters"
        reason = text_rules.problem(getattr(row, column), min(low, 1))
        if reason:
            return email, f"{column} {reason}"
    if text_rules.looks_like_role_label(row.name):
        return email, "name is a role label and cannot be a person's name"
    bad = [r for r in row.roles if r not in ROLES]
    if bad:
        return email, f"unknown role {bad[0]!r}; roles are {', '.join(ROLES)}"
    return email, ""


async def _existing_users(emails: list[str]) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for start in range(0, len(emails), 500):
        chunk = emails[start : start + 500]
        rows = (
            await User.select(
                User.id,
                User.email,
                User.name,
                User.title,
                User.department.name.as_alias("department_name"),
                User.is_council,
                User.is_leader,
                User.is_admin,
                User.active,
            )
            .where(User.email.is_in(chunk))
            .run()
        )
        found.update({r["email"]: r for r in rows})
    return found


async def _department_names() -> dict[str, str]:
    """Existing department names by their case-folded form."""
    rows = await Department.select(Department.name).run()
    return {r["name"].casefold(): r["name"] for r in rows}


async def plan_import(ctx: Context, rows: list[Row]) -> ImportPlan:
    """What importing these rows would do. Writes nothing.

    Existing people are matched by email and updated (name, title,
    department, roles); a department is matched by name ignoring case and
    created when missing. The admin rule holds: the actor may not remove
    their own admin role; nobody may remove the last active admin's.
    """
    policy.authorize(ctx.actor, "admin.manage")
    plan = ImportPlan()
    checked: list[tuple[Row, str, str]] = [(row, *_check(row)) for row in rows]
    lines_of: dict[str, list[int]] = {}
    for row, email, _reason in checked:
        if email:
            lines_of.setdefault(email, []).append(row.line)
    existing = await _existing_users([e for e in lines_of if len(lines_of[e]) == 1])
    departments = await _department_names()
    admins = await lock_admins()
    new_departments: dict[str, str] = {}
    losing_admin: list[PlannedRow] = []

    for row, email, reason in checked:
        if not reason and len(lines_of.get(email, [])) > 1:
            others = ", ".join(str(n) for n in lines_of[email])
            reason = f"email appears more than once in the file (lines {others})"
        if reason:
            plan.rejected.append(Rejected(row.line, row.email, row.name, reason))
            continue
        folded = row.department.casefold()
        department = departments.get(folded) or new_departments.setdefault(folded, row.department)
        roles = tuple(sorted_roles(set(row.roles) | {"staff"}))
        current = existing.get(email)
        if current is None:
            plan.created.append(PlannedRow(row.line, email, row.name, row.title, department, roles))
            continue
        before = {
            "name": current["name"],
            "title": current["title"],
            "department": current["department_name"],
            "roles": sorted_roles(roles_of(current)),
        }
        after = {
            "name": row.name,
            "title": row.title,
            "department": department,
            "roles": list(roles),
        }
        changes = audit.diff(before, after)
        planned = PlannedRow(
            row.line, email, row.name, row.title, department, roles, current["id"], changes
        )
        if not changes:
            plan.unchanged.append(planned)
            continue
        if "admin" not in roles and current["id"] in admins:
            if admin_rule(ctx.actor.id, admins, demoted=[current["id"]]) == OWN_ROLE:
                plan.rejected.append(
                    Rejected(
                        row.line,
                        row.email,
                        row.name,
                        "you cannot remove your own admin role; ask another admin",
                    )
                )
                continue
            losing_admin.append(planned)
        plan.updated.append(planned)

    losing = [p.user_id for p in losing_admin]
    if admin_rule(ctx.actor.id, admins, demoted=losing) == LAST_ADMIN:
        for planned in losing_admin:
            plan.updated.remove(planned)
            plan.rejected.append(
                Rejected(
                    planned.line,
                    planned.email,
                    planned.name,
                    "would leave no active admin: keep the admin role on someone",
                )
            )
    plan.rejected.sort(key=lambda r: r.line)
    used = {r.department.casefold() for r in plan.created + plan.updated}
    plan.new_departments = sorted(v for k, v in new_departments.items() if k in used)
    return plan


# -- applying ------------------------------------------------------------------


class PlanChanged(Conflict):
    """The directory moved on between preview and confirm: here is the new plan."""

    def __init__(self, plan: ImportPlan) -> None:
        super().__init__("The directory changed since the preview. Check the new preview.")
        self.plan = plan


async def preview_import(ctx: Context, text: str) -> ImportPlan:
    """What importing this CSV would do; writes nothing."""
    return await plan_import(ctx, parse_people_csv(text))


async def confirm_import(ctx: Context, text: str, fingerprint: str, invite: bool) -> ImportResult:
    """Apply exactly the previewed import, or raise PlanChanged (nothing written)."""
    plan = await preview_import(ctx, text)
    if plan.fingerprint() != fingerprint:
        raise PlanChanged(plan)
    if not plan.writes:
        raise Conflict("Nothing to import: every row is unchanged or rejected.")
    try:
        return await apply_import(ctx, plan, invite=invite)
    except Conflict:
        raise PlanChanged(await preview_import(ctx, text)) from None


async def apply_import(ctx: Context, plan: ImportPlan, invite: bool = False) -> ImportResult:
    """Write a plan's created and updated rows in one transaction, with an
    audit entry per person and one for the import. Refuses (409, nothing
    written) when the directory changed since the plan was made. With
    `invite`, each created person is mailed a one-time link to set a
    password, after the commit."""
    changed = "the directory changed since this import was previewed: preview it again"
    with service.duplicates_refused(changed):
        links = await _apply(ctx, plan, invite)
    failed = await invitations.send_links(links)
    return ImportResult(
        created=[r.email for r in plan.created],
        updated=[r.email for r in plan.updated],
        unchanged=len(plan.unchanged),
        rejected=len(plan.rejected),
        new_departments=list(plan.new_departments),
        invited=[i.email for i in links],
        invite_failed=failed,
    )


async def _apply(ctx: Context, plan: ImportPlan, invite: bool) -> list[invitations.Issued]:
    async with write_transaction():
        written = plan.created + plan.updated
        fresh = await plan_import(
            ctx, [Row(r.line, r.email, r.name, r.title, r.department, r.roles) for r in written]
        )
        if fresh.fingerprint() != plan.fingerprint():
            raise Conflict("the directory changed since this import was previewed")
        department_ids = {}
        for name in sorted({r.department for r in written}):
            await Department.insert(Department(name=name)).on_conflict(action="DO NOTHING").run()
            rows = await Department.select(Department.id).where(Department.name == name).run()
            department_ids[name] = rows[0]["id"]
        for name in plan.new_departments:
            await audit.record(ctx.actor, "department.create", name, {"via": "import"})
        users = [
            service.new_user(r.email, r.name, r.title, department_ids[r.department], r.roles)
            for r in plan.created
        ]
        departments = [r.department for r in plan.created]
        await service.insert_people(ctx, users, departments, {"via": "import"})
        for r in plan.updated:
            values = {
                "name": r.name,
                "title": r.title,
                "department_id": department_ids[r.department],
                "roles": r.roles,
            }
            await service.write_person(
                ctx, r.user_id, r.email, values, r.changes, {"via": "import"}
            )
        if plan.writes:
            await audit.record(
                ctx.actor,
                "people.import",
                f"{plan.writes} people",
                {
                    "created": len(plan.created),
                    "updated": len(plan.updated),
                    "unchanged": len(plan.unchanged),
                    "rejected": len(plan.rejected),
                    "new_departments": plan.new_departments,
                },
            )
        if not invite:
            return []
        return await invitations.issue_invites(ctx, [u.id for u in users])
