"""Who is asking: the caller as every rule in the domain sees them."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

ROLES = ("staff", "council", "leader", "admin")


@dataclass(frozen=True)
class Viewer:
    id: UUID
    name: str
    email: str
    department_id: int
    roles: frozenset[str] = field(default_factory=lambda: frozenset({"staff"}))

    @property
    def is_council(self) -> bool:
        return "council" in self.roles

    @property
    def is_leader(self) -> bool:
        return "leader" in self.roles

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def has(self, role: str) -> bool:
        return role in self.roles


def roles_of(user_row: dict) -> frozenset[str]:
    roles = {"staff"}
    for role in ("council", "leader", "admin"):
        if user_row.get(f"is_{role}"):
            roles.add(role)
    return frozenset(roles)


def sorted_roles(roles: frozenset[str] | set[str]) -> list[str]:
    return [r for r in ROLES if r in roles]


def viewer_from_row(row: dict) -> Viewer:
    dept = row["department"]
    return Viewer(
        id=row["id"] if isinstance(row["id"], UUID) else UUID(str(row["id"])),
        name=row["name"],
        email=row["email"],
        department_id=dept if isinstance(dept, int) else int(dept),
        roles=roles_of(row),
    )
