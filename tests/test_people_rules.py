"""The admin rule and the role mapping, as pure functions (no database)."""

from __future__ import annotations

import uuid

import pytest

from ideas.errors import Invalid
from ideas.people.roles import (
    LAST_ADMIN,
    OWN_ROLE,
    admin_rule,
    check_roles,
    role_values,
    with_staff,
)

ADA, BEN, CY = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


@pytest.mark.parametrize(
    ("actor", "admins", "demoted", "deactivated", "answer"),
    [
        # another admin stays: fine
        (ADA, {ADA, BEN}, {BEN}, set(), ""),
        (ADA, {ADA, BEN}, set(), {BEN}, ""),
        # nobody removes their own admin role, even with other admins left
        (ADA, {ADA, BEN}, {ADA}, set(), OWN_ROLE),
        # deactivating oneself is allowed while another admin stays ...
        (ADA, {ADA, BEN}, set(), {ADA}, ""),
        # ... but never the last one, by anyone (the command line has no id)
        (ADA, {ADA}, set(), {ADA}, LAST_ADMIN),
        (None, {ADA}, {ADA}, set(), LAST_ADMIN),
        (None, {ADA}, set(), {ADA}, LAST_ADMIN),
        # several at once (an import): the set is judged, not each person
        (None, {ADA, BEN}, {ADA, BEN}, set(), LAST_ADMIN),
        (None, {ADA, BEN}, {ADA}, {BEN}, LAST_ADMIN),
        # people who are not active admins lose nothing
        (None, {ADA}, {CY}, {BEN}, ""),
    ],
)
def test_the_admin_rule(actor, admins, demoted, deactivated, answer):
    assert admin_rule(actor, admins, demoted=demoted, deactivated=deactivated) == answer


def test_one_role_mapping():
    assert check_roles(["admin"]) == {"staff", "admin"}
    with pytest.raises(Invalid, match="unknown role 'boss'"):
        check_roles(["council", "boss"])
    assert with_staff(["admin", "council"]) == ["staff", "council", "admin"]
    assert role_values(["leader", "staff"]) == {
        "is_council": False,
        "is_leader": True,
        "is_admin": False,
    }
