"""Roles (server/roles.py): docs/roles.md says exactly what the code allows, and an unknown
role may do nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from server import crud, roles
from server.errors import ApiError

DOC = Path(__file__).resolve().parents[2] / "docs" / "roles.md"


def _table() -> dict[str, dict[str, bool]]:
    """What the document's table says: the thing -> role -> yes/no."""
    rows = [line for line in DOC.read_text(encoding="utf-8").splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    said: dict[str, dict[str, bool]] = {}
    for row in rows[2:]:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert all(cell in ("yes", "no") for cell in cells[1:]), row
        said[cells[0]] = {
            role: cell == "yes" for role, cell in zip(header[1:], cells[1:], strict=True)
        }
    return said


def test_the_document_says_what_the_code_allows() -> None:
    said = _table()
    assert set(said) == {can.value for can in roles.Can}
    for can in roles.Can:
        assert set(said[can.value]) == set(roles.NAMES), can
        for role in roles.Role:
            assert said[can.value][role.value] == roles.allows(role.value, can), (can, role)


def test_the_roles_an_account_can_have_are_the_documented_four() -> None:
    assert crud.ROLES == roles.NAMES == ("caseworker", "manager", "governance", "admin")


def test_an_unknown_role_may_do_nothing_and_is_told_in_plain_words() -> None:
    assert not any(roles.allows("superuser", can) for can in roles.Can)
    with pytest.raises(ApiError) as refused:
        roles.require("caseworker", roles.Can.ERASE)
    assert "does not allow you to erase a case or a person" in refused.value.message
    assert refused.value.status == 403
    assert not roles.allows("admin", roles.Can.HOLD_CASES)
    assert roles.allows("governance", roles.Can.ANY_TEAM)
