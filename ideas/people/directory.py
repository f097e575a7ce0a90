"""The directory: looking people up, and the departments they belong to.

This is a directory of people. Nothing here reads `Submission`, `Vote` or
`Comment`: no page built from it can connect a person to an idea (no idea
counts, no activity per person). Changes to departments are admin use cases,
audited; changes to people are in `ideas.people.service`.

Size: over 400 lines: the directory's reads (search, one person, the
overview) and the departments' use cases (add, rename, merge, with their
checks and audit) belong together: both are the admin's "who is where".
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import email_validator
from email_validator import EmailNotValidError, validate_email
from piccolo.query.functions.aggregate import Count

from ideas import audit, clock, policy, sql
from ideas import text as text_rules
from ideas.context import Context
from ideas.db import write_transaction
from ideas.errors import Invalid, NotFound
from ideas.people.roles import COLUMNS, ROLES, roles_of, sorted_roles
from ideas.schemas import Ref
from ideas.tables import Department, Idea, Invitation, User

PAGE_SIZE = 50

# Company directories often live on internal domains (acme.local, acme.internal,
# acme.corp): addresses there are real for the people who use Touchpoint.
# email-validator's documented way to allow `.local` is to drop it from its
# special-use list; `.internal`/`.corp` pass with globally_deliverable=False.
if "local" in email_validator.SPECIAL_USE_DOMAIN_NAMES:
    email_validator.SPECIAL_USE_DOMAIN_NAMES.remove("local")


def normalise_email(raw: str, field: str = "email") -> str:
    try:
        return validate_email(
            raw.strip(), check_deliverability=False, globally_deliverable=False
        ).normalized.lower()
    except EmailNotValidError as exc:
        raise Invalid(field, str(exc)) from None


# -- people ----------------------------------------------------------------------


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
    ctx: Context,
    q: str = "",
    department_id: int | None = None,
    role: str = "",
    state: str = "active",
    page: int = 1,
) -> PeoplePage:
    """People by name, email or job title; by department; by role; active,
    deactivated or all. Ordered by name."""
    policy.authorize(ctx.actor, "admin.people.read")
    if role and role not in ROLES:
        raise Invalid("role", f"choose one of {', '.join(ROLES)}")
    if state not in STATES:
        raise Invalid("state", f"choose one of {', '.join(STATES)}")
    conditions = []
    text = q.strip()[:100]
    if text:
        conditions.append(
            sql.name_contains(User.name, f"%{text}%")
            | sql.name_contains(User.email, f"%{text}%")
            | sql.name_contains(User.title, f"%{text}%")
        )
    if department_id is not None:
        conditions.append(User.department == department_id)
    if role in COLUMNS:
        conditions.append(COLUMNS[role].eq(True))
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


def parse_user_id(raw: str) -> UUID:
    try:
        return UUID(str(raw))
    except ValueError:
        raise NotFound("no such person") from None


async def get_person(ctx: Context, user_id: UUID | str) -> Person:
    """One person as the admin pages show them."""
    policy.authorize(ctx.actor, "admin.people.read")
    return await load_person(user_id)


async def load_person(user_id: UUID | str) -> Person:
    """One person (no permission check: for use cases that checked theirs)."""
    uid = parse_user_id(str(user_id))
    rows = await User.select(*PERSON_COLUMNS).where(User.id == uid).run()
    if not rows:
        raise NotFound("no such person")
    pending = await _pending_links([uid])
    return _person(rows[0], pending)


async def person_id_by_email(email: str) -> UUID:
    email = normalise_email(email)
    rows = await User.select(User.id).where(User.email == email).run()
    if not rows:
        raise NotFound(f"no user with email {email}")
    return rows[0]["id"]


async def note_moves(which, department_id: int) -> None:
    """Record when the people matched by `which` move to `department_id`
    (before the update that moves them): leadership figures do not lean on
    just-moved people (ideas.leadership.department_groups)."""
    await (
        User.update({User.department_since: clock.now()})
        .where(which, User.department != department_id)
        .run()
    )


# -- departments -----------------------------------------------------------------


def _department_name_of(raw: str, field: str = "name") -> str:
    name = " ".join((raw or "").split())
    if not 1 <= len(name) <= 80:
        raise Invalid(field, "must be 1–80 characters")
    return text_rules.check(name, field, 1, 80)


async def department_by_name(name: str, create: bool = False) -> int:
    """The id of the department called `name` (created when missing and
    `create`; not audited: the callers' own entry says where it came from)."""
    name = (name or "").strip()
    if not 1 <= len(name) <= 80:
        raise Invalid("department", "must be 1–80 characters")
    name = text_rules.check(name, "department", 1, 80)
    rows = await Department.select(Department.id).where(Department.name == name).run()
    if rows:
        return rows[0]["id"]
    if not create:
        raise Invalid("department", f"no department named {name!r}")
    await Department.insert(Department(name=name)).on_conflict(action="DO NOTHING").run()
    rows = await Department.select(Department.id).where(Department.name == name).run()
    return rows[0]["id"]


async def department_refs() -> list[Ref]:
    """Every department, by name (the API's list)."""
    rows = await Department.select(Department.id, Department.name).order_by(Department.name).run()
    return [Ref(id=str(r["id"]), name=r["name"]) for r in rows]


async def department_name(department_id: int, field: str = "department_id") -> str:
    """The name of a department; 422 on `field` when there is none."""
    rows = await Department.select(Department.name).where(Department.id == department_id).run()
    if not rows:
        raise Invalid(field, "no such department")
    return rows[0]["name"]


@dataclass(frozen=True)
class DepartmentRow:
    id: int
    name: str
    #: active people in it (a directory figure, not about ideas)
    people: int


async def list_departments(ctx: Context) -> list[DepartmentRow]:
    """Every department with how many active people it has (admin pages)."""
    policy.authorize(ctx.actor, "admin.people.read")
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


async def add_department(ctx: Context, raw_name: str) -> DepartmentRow:
    policy.authorize(ctx.actor, "admin.manage")
    name = _department_name_of(raw_name)
    async with write_transaction():
        await _name_free(name)
        department = Department(name=name)
        await department.save().run()
        await audit.record(ctx.actor, "department.create", name, {})
    return DepartmentRow(department.id, name, 0)


async def rename_department(ctx: Context, department_id: int, raw_name: str) -> None:
    policy.authorize(ctx.actor, "admin.manage")
    name = _department_name_of(raw_name)
    async with write_transaction():
        rows = await Department.select(Department.name).where(Department.id == department_id).run()
        if not rows:
            raise NotFound("no such department")
        old = rows[0]["name"]
        if old == name:
            return
        await _name_free(name, except_id=department_id)
        await Department.update({Department.name: name}).where(Department.id == department_id).run()
        await audit.record(ctx.actor, "department.rename", name, {"name": audit.change(old, name)})


@dataclass(frozen=True)
class MergeResult:
    source: str
    target: str
    people_moved: int


async def merge_departments(ctx: Context, source_id: int, target_id: int) -> MergeResult:
    """Fold one department into another: its people move, the ideas it owns
    move, and it is removed. Says how many people moved — nothing about who
    submitted what."""
    policy.authorize(ctx.actor, "admin.manage")
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
        await note_moves(User.department == source_id, target_id)
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
            ctx.actor,
            "department.merge",
            f"{names[source_id]} → {names[target_id]}",
            {
                "department": audit.change(names[source_id], names[target_id]),
                "people_moved": len(moved),
                "owned_ideas_moved": len(owned),
            },
        )
    return MergeResult(names[source_id], names[target_id], len(moved))


# -- overview --------------------------------------------------------------------


@dataclass(frozen=True)
class Overview:
    active_people: int
    deactivated: int
    departments: int
    admins: int
    awaiting_password: int
    pending_invitations: int
    recent: list[audit.AuditEntry]


async def overview(ctx: Context) -> Overview:
    """The admin's front page: head counts and the latest audit entries."""
    policy.authorize(ctx.actor, "admin.people.read")
    recent, _more = await audit.list_entries(ctx, audit.AuditFilter())
    pending = (
        await Invitation.count()
        .where(
            Invitation.purpose == "invite",
            Invitation.used_at.is_null(),
            Invitation.expires_at > clock.now(),
        )
        .run()
    )
    return Overview(
        active_people=await User.count().where(User.active.eq(True)).run(),
        deactivated=await User.count().where(User.active.eq(False)).run(),
        departments=await Department.count().run(),
        admins=await User.count().where(User.active.eq(True), User.is_admin.eq(True)).run(),
        awaiting_password=await User.count()
        .where(User.active.eq(True), User.password_hash == "")
        .run(),
        pending_invitations=pending,
        recent=recent[:8],
    )
