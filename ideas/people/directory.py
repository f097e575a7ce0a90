"""The admin's work: the people directory, departments, settings and CSV
imports, each change audited in its own transaction.

This is a directory of people. Nothing here reads `Submission`, `Vote` or
`Comment`: no page built from it can connect a person to an idea (no idea
counts, no activity per person). Two rules keep the organisation
administrable: an admin cannot remove their own admin role, and the last
active admin can be neither demoted nor deactivated (409).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from piccolo.query.functions.aggregate import Count
from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

from ideas import accounts, audit, clock, directory, invitations, org_settings, people
from ideas import text as text_rules
from ideas.db import is_postgres, write_transaction
from ideas.errors import Conflict, Invalid, NotFound
from ideas.people import check_roles, normalise_email
from ideas.schemas import Role
from ideas.tables import Department, Idea, Invitation, User
from ideas.viewer import ROLES, Viewer, require_role, roles_of, sorted_roles

PAGE_SIZE = 50

#: a display name may not imitate a role label ("Submitter", "CX council"):
#: see ideas.text; no text takes bidi controls
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=120),
    AfterValidator(text_rules.person_name),
]
JobTitle = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=120),
    AfterValidator(text_rules.visible(0)),
]
DepartmentName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=80),
    AfterValidator(text_rules.visible(1)),
]


class PersonEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    title: JobTitle = ""
    department_id: int
    roles: list[Role] = []


class PersonIn(PersonEdit):
    email: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=254)]
    #: mail them a one-time link to set a password
    invite: bool = True


# -- people --------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    id: str
    email: str
    name: str
    title: str
    department_id: int
    department: str
    roles: list[str]
    active: bool
    #: "active", "invited" (link pending), "no password", "inactive"
    state: str

    @property
    def state_label(self) -> str:
        return {
            "active": "Active",
            "invited": "Invited",
            "no password": "Not invited yet",
            "inactive": "Deactivated",
        }[self.state]


PERSON_COLUMNS = (
    User.id,
    User.email,
    User.name,
    User.title,
    User.department,
    User.department.name.as_alias("department_name"),
    User.is_council,
    User.is_leader,
    User.is_admin,
    User.active,
    User.password_hash,
)


async def _pending_links(user_ids: list[UUID]) -> set[UUID]:
    if not user_ids:
        return set()
    rows = (
        await Invitation.select(Invitation.user)
        .where(
            Invitation.user.is_in(user_ids),
            Invitation.purpose == "invite",
            Invitation.used_at.is_null(),
            Invitation.expires_at > clock.now(),
        )
        .run()
    )
    return {r["user"] for r in rows}


def _person(row: dict, pending: set[UUID]) -> Person:
    if not row["active"]:
        state = "inactive"
    elif row["password_hash"]:
        state = "active"
    elif row["id"] in pending:
        state = "invited"
    else:
        state = "no password"
    return Person(
        id=str(row["id"]),
        email=row["email"],
        name=row["name"],
        title=row["title"],
        department_id=row["department"],
        department=row["department_name"],
        roles=sorted_roles(roles_of(row)),
        active=row["active"],
        state=state,
    )


@dataclass(frozen=True)
class PeoplePage:
    items: list[Person]
    total: int
    page: int
    has_more: bool


STATES = ("active", "inactive", "all")


async def search_people(
    q: str = "",
    department_id: int | None = None,
    role: str = "",
    state: str = "active",
    page: int = 1,
) -> PeoplePage:
    """People by name, email or job title; by department; by role; active,
    deactivated or all. Ordered by name."""
    if role and role not in ROLES:
        raise Invalid("role", f"choose one of {', '.join(ROLES)}")
    if state not in STATES:
        raise Invalid("state", f"choose one of {', '.join(STATES)}")
    conditions = []
    text = q.strip()[:100]
    if text:
        conditions.append(
            contains(User.name, text) | contains(User.email, text) | contains(User.title, text)
        )
    if department_id is not None:
        conditions.append(User.department == department_id)
    if role in ("council", "leader", "admin"):
        conditions.append(getattr(User, f"is_{role}").eq(True))
    if state != "all":
        conditions.append(User.active.eq(state == "active"))
    page = max(1, page)
    query = User.select(*PERSON_COLUMNS).order_by(User.name).order_by(User.email)
    count = User.count()
    for condition in conditions:
        query = query.where(condition)
        count = count.where(condition)
    rows = await query.limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE).run()
    pending = await _pending_links([r["id"] for r in rows if not r["password_hash"]])
    return PeoplePage(
        items=[_person(r, pending) for r in rows[:PAGE_SIZE]],
        total=await count.run(),
        page=page,
        has_more=len(rows) > PAGE_SIZE,
    )


def contains(column, text: str):
    """Case-insensitive "contains" (SQLite's LIKE already ignores ASCII case)."""
    pattern = f"%{text}%"
    return column.ilike(pattern) if is_postgres() else column.like(pattern)


def parse_user_id(raw: str) -> UUID:
    try:
        return UUID(str(raw))
    except ValueError:
        raise NotFound("no such person") from None


async def get_person(user_id: UUID | str) -> Person:
    uid = parse_user_id(str(user_id))
    rows = await User.select(*PERSON_COLUMNS).where(User.id == uid).run()
    if not rows:
        raise NotFound("no such person")
    pending = await _pending_links([uid])
    return _person(rows[0], pending)


async def _department_name(department_id: int, field: str = "department_id") -> str:
    rows = await Department.select(Department.name).where(Department.id == department_id).run()
    if not rows:
        raise Invalid(field, "no such department")
    return rows[0]["name"]


def _role_columns(roles: list[str]) -> dict:
    return {getattr(User, f"is_{r}"): r in roles for r in ("council", "leader", "admin")}


async def _lock_admins() -> set[UUID]:
    """The active admins, locked on PostgreSQL until the transaction ends (so
    two admins demoting each other cannot both succeed)."""
    query = User.select(User.id).where(User.is_admin.eq(True), User.active.eq(True))
    if is_postgres():
        query = query.lock_rows()
    return {r["id"] for r in await query.run()}


async def add_person(actor: Viewer, data: PersonIn) -> tuple[Person, invitations.InviteResult]:
    """Add one person (no password yet) and, if asked, mail them an invitation."""
    email = normalise_email(data.email)
    roles = sorted_roles(set(data.roles) | {"staff"})
    taken = "someone with this email is in the directory already"
    with directory.duplicates_refused(taken):
        user, links = await _add_person(actor, data, email, roles)
    failed = await invitations.send_links(links)
    result = invitations.InviteResult([i.email for i in links], failed)
    return await get_person(user.id), result


async def _add_person(
    actor: Viewer, data: PersonIn, email: str, roles: list[str]
) -> tuple[User, list[invitations.Issued]]:
    async with write_transaction():
        department = await _department_name(data.department_id)
        if await User.exists().where(User.email == email).run():
            raise Invalid("email", "someone with this email is in the directory already")
        user = User(
            email=email,
            name=data.name,
            title=data.title,
            department=data.department_id,
            password_hash="",
            **{f"is_{r}": r in roles for r in ("council", "leader", "admin")},
        )
        await user.save().run()
        await audit.record(
            actor,
            "person.create",
            email,
            {"name": data.name, "title": data.title, "department": department, "roles": roles},
        )
        links = await invitations.issue_invites([user.id], actor) if data.invite else []
    return user, links


def _check_admin_kept(
    actor: Viewer | None,
    uid: UUID,
    active: bool,
    before: list[str],
    after: list[str],
    admins: set[UUID],
) -> None:
    """Nobody removes their own admin role, and the last active admin stays."""
    if "admin" in before and "admin" not in after:
        if actor is not None and uid == actor.id:
            raise Conflict("You cannot remove your own admin role; ask another admin.")
        if active and not admins - {uid}:
            raise Conflict("This is the last active admin: make someone else admin first.")


async def set_person_roles(actor: Viewer | None, user_id: UUID | str, roles: list[str]) -> Person:
    """Change only someone's roles (the command line's `users set-roles`);
    the same last-admin rule and audit entry as a full edit. `actor` None is
    the command line."""
    uid = parse_user_id(str(user_id))
    after = sorted_roles(check_roles(roles))
    async with write_transaction():
        admins = await _lock_admins()
        rows = await User.select(*PERSON_COLUMNS).where(User.id == uid).run()
        if not rows:
            raise NotFound("no such person")
        row = rows[0]
        before = sorted_roles(roles_of(row))
        _check_admin_kept(actor, uid, row["active"], before, after, admins)
        if before != after:
            await User.update(_role_columns(after)).where(User.id == uid).run()
            await audit.record(
                actor, "person.update", row["email"], {"roles": audit.change(before, after)}
            )
    return await get_person(uid)


async def person_id_by_email(email: str) -> UUID:
    email = normalise_email(email)
    rows = await User.select(User.id).where(User.email == email).run()
    if not rows:
        raise NotFound(f"no user with email {email}")
    return rows[0]["id"]


async def edit_person(actor: Viewer, user_id: UUID | str, data: PersonEdit) -> Person:
    """Change name, title, department and roles; audited with before and after."""
    uid = parse_user_id(str(user_id))
    roles = sorted_roles(set(data.roles) | {"staff"})
    async with write_transaction():
        admins = await _lock_admins()
        rows = await User.select(*PERSON_COLUMNS).where(User.id == uid).run()
        if not rows:
            raise NotFound("no such person")
        row = rows[0]
        department = await _department_name(data.department_id)
        before = {
            "name": row["name"],
            "title": row["title"],
            "department": row["department_name"],
            "roles": sorted_roles(roles_of(row)),
        }
        after = {"name": data.name, "title": data.title, "department": department, "roles": roles}
        _check_admin_kept(actor, uid, row["active"], before["roles"], roles, admins)
        changes = audit.diff(before, after)
        if changes:
            await people.note_moves(User.id == uid, data.department_id)
            await (
                User.update(
                    {
                        User.name: data.name,
                        User.title: data.title,
                        User.department: data.department_id,
                        **_role_columns(roles),
                    }
                )
                .where(User.id == uid)
                .run()
            )
            await audit.record(actor, "person.update", row["email"], changes)
    return await get_person(uid)


async def set_person_active(actor: Viewer | None, user_id: UUID | str, active: bool) -> Person:
    """Deactivate (they can no longer log in; their tokens are revoked and
    their links retired) or reactivate someone. `actor` None is the command
    line (or a test)."""
    uid = parse_user_id(str(user_id))
    now = clock.now()
    async with write_transaction():
        admins = await _lock_admins()
        rows = await User.select(User.email, User.active).where(User.id == uid).run()
        if not rows:
            raise NotFound("no such person")
        if rows[0]["active"] == active:
            return await get_person(uid)
        if not active and uid in admins and not admins - {uid}:
            raise Conflict(
                "You are the last active admin: make someone else admin before deactivating."
                if actor is not None and uid == actor.id
                else "This is the last active admin."
            )
        await User.update({User.active: active}).where(User.id == uid).run()
        if not active:
            await accounts.end_everything(uid)
            await (
                Invitation.update({Invitation.expires_at: now})
                .where(Invitation.user == uid, Invitation.used_at.is_null())
                .run()
            )
        await audit.record(
            actor,
            "person.reactivate" if active else "person.deactivate",
            rows[0]["email"],
            {"active": audit.change(not active, active)},
        )
    return await get_person(uid)


async def set_break_glass(actor: Viewer | None, user_id: UUID | str, on: bool) -> None:
    """Mark (or unmark) a break-glass account: it may still sign in with a
    password while SSO_ONLY is on. Audited."""
    if actor is not None:
        require_role(actor, "admin")
    uid = parse_user_id(str(user_id))
    async with write_transaction():
        rows = await User.select(User.email, User.break_glass).where(User.id == uid).run()
        if not rows:
            raise NotFound("no such person")
        if rows[0]["break_glass"] == on:
            return
        await User.update({User.break_glass: on}).where(User.id == uid).run()
        await audit.record(
            actor, "person.break_glass", rows[0]["email"], {"break_glass": audit.change(not on, on)}
        )


async def invite_person(actor: Viewer, user_id: UUID | str) -> invitations.InviteResult:
    """Mail someone a fresh one-time link (earlier links stop working)."""
    uid = parse_user_id(str(user_id))
    if not await User.exists().where(User.id == uid).run():
        raise NotFound("no such person")
    return await invitations.invite_ids([uid], actor)


# -- CSV import ----------------------------------------------------------------


class PlanChanged(Conflict):
    """The directory moved on between preview and confirm: here is the new plan."""

    def __init__(self, plan: directory.ImportPlan) -> None:
        super().__init__("The directory changed since the preview. Check the new preview.")
        self.plan = plan


async def preview_import(actor: Viewer, text: str) -> directory.ImportPlan:
    """What importing this CSV would do; writes nothing."""
    return await directory.plan_import(directory.parse_people_csv(text), actor)


async def confirm_import(
    actor: Viewer, text: str, fingerprint: str, invite: bool
) -> directory.ImportResult:
    """Apply exactly the previewed import, or raise PlanChanged (nothing written)."""
    plan = await preview_import(actor, text)
    if plan.fingerprint() != fingerprint:
        raise PlanChanged(plan)
    if not plan.writes:
        raise Conflict("Nothing to import: every row is unchanged or rejected.")
    try:
        return await directory.apply_import(plan, actor, invite=invite)
    except Conflict:
        raise PlanChanged(await preview_import(actor, text)) from None


# -- departments ---------------------------------------------------------------


@dataclass(frozen=True)
class DepartmentRow:
    id: int
    name: str
    #: active people in it (a directory figure, not about ideas)
    people: int


async def list_departments() -> list[DepartmentRow]:
    departments = (
        await Department.select(Department.id, Department.name).order_by(Department.name).run()
    )
    counts = (
        await User.select(User.department, Count(User.id, alias="n"))
        .where(User.active.eq(True))
        .group_by(User.department)
        .run()
    )
    by_id = {r["department"]: r["n"] for r in counts}
    return [DepartmentRow(d["id"], d["name"], by_id.get(d["id"], 0)) for d in departments]


async def _name_free(name: str, except_id: int | None = None) -> None:
    rows = await Department.select(Department.id, Department.name).run()
    for row in rows:
        if row["name"].casefold() == name.casefold() and row["id"] != except_id:
            raise Invalid("name", f"there is a department called {row['name']!r} already")


def _department_name_of(raw: str) -> str:
    name = " ".join((raw or "").split())
    if not 1 <= len(name) <= 80:
        raise Invalid("name", "must be 1–80 characters")
    return text_rules.check(name, "name", 1, 80)


async def add_department(actor: Viewer, raw_name: str) -> DepartmentRow:
    name = _department_name_of(raw_name)
    async with write_transaction():
        await _name_free(name)
        department = Department(name=name)
        await department.save().run()
        await audit.record(actor, "department.create", name, {})
    return DepartmentRow(department.id, name, 0)


async def rename_department(actor: Viewer, department_id: int, raw_name: str) -> None:
    name = _department_name_of(raw_name)
    async with write_transaction():
        old = await _department_or_404(department_id)
        if old == name:
            return
        await _name_free(name, except_id=department_id)
        await Department.update({Department.name: name}).where(Department.id == department_id).run()
        await audit.record(actor, "department.rename", name, {"name": audit.change(old, name)})


async def _department_or_404(department_id: int) -> str:
    rows = await Department.select(Department.name).where(Department.id == department_id).run()
    if not rows:
        raise NotFound("no such department")
    return rows[0]["name"]


@dataclass(frozen=True)
class MergeResult:
    source: str
    target: str
    people_moved: int


async def merge_departments(actor: Viewer, source_id: int, target_id: int) -> MergeResult:
    """Fold one department into another: its people move, the ideas it owns
    move, and it is removed. Says how many people moved — nothing about who
    submitted what."""
    if source_id == target_id:
        raise Invalid("target_id", "choose a different department to merge into")
    async with write_transaction():
        rows = (
            await Department.select(Department.id, Department.name)
            .where(Department.id.is_in([source_id, target_id]))
            .run()
        )
        names = {r["id"]: r["name"] for r in rows}
        if source_id not in names:
            raise Invalid("source_id", "no such department")
        if target_id not in names:
            raise Invalid("target_id", "no such department")
        await people.note_moves(User.department == source_id, target_id)
        moved = (
            await User.update({User.department: target_id})
            .where(User.department == source_id)
            .returning(User.id)
            .run()
        )
        owned = (
            await Idea.update({Idea.owning_department: target_id})
            .where(Idea.owning_department == source_id)
            .returning(Idea.id)
            .run()
        )
        await Department.delete().where(Department.id == source_id).run()
        await audit.record(
            actor,
            "department.merge",
            f"{names[source_id]} → {names[target_id]}",
            {
                "department": audit.change(names[source_id], names[target_id]),
                "people_moved": len(moved),
                "owned_ideas_moved": len(owned),
            },
        )
    return MergeResult(names[source_id], names[target_id], len(moved))


# -- settings ------------------------------------------------------------------

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


async def settings_view() -> list[SettingView]:
    out = []
    for s in await org_settings.all_settings():
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


async def update_settings(actor: Viewer, values: dict[str, str]) -> list[str]:
    """Store the changed settings (all valid, or none written); they take
    effect at once. A setting fixed by the environment cannot change here.
    Answers the keys that changed."""
    current = {s.key: s for s in await settings_view()}
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
            await org_settings.set_setting(key, number)
            await audit.record(
                actor, "setting.change", key, {"value": audit.change(current[key].value, number)}
            )
    return list(wanted)


# -- overview ------------------------------------------------------------------


@dataclass(frozen=True)
class Overview:
    active_people: int
    deactivated: int
    departments: int
    admins: int
    awaiting_password: int
    pending_invitations: int
    recent: list[audit.AuditEntry]


async def overview() -> Overview:
    recent, _more = await audit.list_entries(audit.AuditFilter())
    return Overview(
        active_people=await User.count().where(User.active.eq(True)).run(),
        deactivated=await User.count().where(User.active.eq(False)).run(),
        departments=await Department.count().run(),
        admins=await User.count().where(User.active.eq(True), User.is_admin.eq(True)).run(),
        awaiting_password=await User.count()
        .where(User.active.eq(True), User.password_hash == "")
        .run(),
        pending_invitations=await invitations.pending_invitations(),
        recent=recent[:8],
    )
