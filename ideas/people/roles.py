"""Roles: the one mapping between role names and the person's columns, and
the one rule that keeps the organisation administrable — nobody removes
their own admin role, and the last active admin is neither demoted nor
deactivated. Every door (admin pages, CSV import, command line, SCIM,
single sign-on) asks `admin_rule` before a change that takes the admin role
away; the admin pages answer 409, a sign-in keeps the role instead
(`ideas.people.provisioning`)."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from ideas import sql
from ideas.errors import Invalid
from ideas.tables import User
from ideas.viewer import ROLES, roles_of, sorted_roles

__all__ = ["ROLES", "roles_of", "sorted_roles"]

#: role → its column on the person (staff is everyone's, it has no column)
COLUMNS = {"council": User.is_council, "leader": User.is_leader, "admin": User.is_admin}


def check_roles(roles: Iterable[str], field: str = "roles") -> frozenset[str]:
    """Known role names (422 naming the first unknown one), staff included."""
    roles = list(roles)
    bad = [r for r in roles if r not in ROLES]
    if bad:
        raise Invalid(field, f"unknown role {bad[0]!r}; roles are {', '.join(ROLES)}")
    return frozenset(roles) | {"staff"}


def with_staff(roles: Iterable[str]) -> list[str]:
    """The roles in the table's order, staff always among them."""
    return sorted_roles(set(roles) | {"staff"})


def role_columns(roles: Iterable[str]) -> dict:
    """{column: bool} for an update of the person's roles."""
    roles = set(roles)
    return {column: role in roles for role, column in COLUMNS.items()}


def role_values(roles: Iterable[str]) -> dict[str, bool]:
    """{"is_council": bool, ...} for a new `User(...)`."""
    return {column._meta.name: value for column, value in role_columns(roles).items()}


async def lock_admins() -> set[UUID]:
    """The active admins, locked on PostgreSQL until the transaction ends (so
    two admins demoting each other cannot both succeed)."""
    query = User.select(User.id).where(User.is_admin.eq(True), User.active.eq(True))
    return {r["id"] for r in await sql.locked(query).run()}


#: what `admin_rule` answers
OWN_ROLE = "own admin role"
LAST_ADMIN = "last admin"


def admin_rule(
    actor_id: UUID | None,
    admins: set[UUID],
    *,
    demoted: Iterable[UUID] = (),
    deactivated: Iterable[UUID] = (),
) -> str:
    """Whether taking the admin role from `demoted` and deactivating
    `deactivated` keeps the rule: "" when it does, else OWN_ROLE (the actor
    demotes themselves) or LAST_ADMIN (no active admin would be left).
    Deactivating oneself is allowed while another admin stays."""
    demoted, deactivated = set(demoted) & admins, set(deactivated) & admins
    if actor_id is not None and actor_id in demoted:
        return OWN_ROLE
    if (demoted or deactivated) and not admins - demoted - deactivated:
        return LAST_ADMIN
    return ""
