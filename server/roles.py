"""Roles and what each may do: the one place the service decides it (docs/roles.md is this
table in words, and a test keeps the two the same).

* ``caseworker``: their team's cases, on an enrolled laptop.
* ``manager``: their team's cases, with the full history of who saw and changed them, and the
  review of duplicate people.
* ``governance``: records management across every team: subject access, retention, erasure,
  legal holds, the audit trail.
* ``admin``: accounts, devices and configuration; never any case content (an admin cannot
  enrol a laptop, and a laptop whose user becomes an admin is refused at its next sync).

Every action that needs more than a signed-in user checks :func:`allows` (a route through
:func:`require`), so a new action is added here first.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from server.audit import AuditEvent
from server.errors import ApiError
from sync.protocol import ErrorCode

if TYPE_CHECKING:
    from server.crud import Actor


class Role(StrEnum):
    CASEWORKER = "caseworker"
    MANAGER = "manager"
    GOVERNANCE = "governance"
    ADMIN = "admin"


class Can(StrEnum):
    """What a role may do (each a line of docs/roles.md)."""

    HOLD_CASES = "hold their team's cases on an enrolled laptop"
    SEE_FULL_HISTORY = "see the full history of who viewed and changed their team's cases"
    REVIEW_DUPLICATES = "review possible duplicate people"
    ANY_TEAM = "look at the records of any team"
    SUBJECT_ACCESS = "export a person's record for a subject access request"
    RETENTION = "run the retention schedule"
    ERASE = "erase a case or a person"
    HOLD = "put or release a legal hold"
    READ_AUDIT = "read the audit trail"
    MANAGE_ACCOUNTS = "add users, set roles and passwords, disable users"
    MANAGE_DEVICES = "list and revoke laptops"
    CONFIGURE = "change the service's configuration"


ALLOWED: dict[Role, frozenset[Can]] = {
    Role.CASEWORKER: frozenset({Can.HOLD_CASES}),
    Role.MANAGER: frozenset({Can.HOLD_CASES, Can.SEE_FULL_HISTORY, Can.REVIEW_DUPLICATES}),
    Role.GOVERNANCE: frozenset(
        {
            Can.HOLD_CASES,
            Can.SEE_FULL_HISTORY,
            Can.REVIEW_DUPLICATES,
            Can.ANY_TEAM,
            Can.SUBJECT_ACCESS,
            Can.RETENTION,
            Can.ERASE,
            Can.HOLD,
            Can.READ_AUDIT,
        }
    ),
    Role.ADMIN: frozenset({Can.MANAGE_ACCOUNTS, Can.MANAGE_DEVICES, Can.CONFIGURE}),
}

#: The role names, in the order they are listed to a person.
NAMES: tuple[str, ...] = tuple(role.value for role in Role)

#: What a person is told when their role does not allow something, by what they tried.
REFUSALS: dict[Can, str] = {
    Can.HOLD_CASES: (
        "This account is for administration and cannot hold case records on a laptop. "
        "Ask IT for a caseworker account, or to change this account's role."
    ),
}


def allows(role: str, can: Can) -> bool:
    """Whether ``role`` (a user's stored role) may do ``can``; an unknown role may do nothing."""
    try:
        return can in ALLOWED[Role(role)]
    except ValueError:
        return False


def require(role: str, can: Can) -> None:
    """Refuse (403 ``forbidden``, in plain words) unless ``role`` may do ``can``."""
    if not allows(role, can):
        said = REFUSALS.get(can, f"Your role ({role}) does not allow you to {can.value}.")
        raise ApiError(ErrorCode.FORBIDDEN, said)


def refused(
    actor: Actor,
    message: str,
    *,
    reason: str,
    record_kind: str,
    record_id: str | None = None,
    case_id: str | None = None,
) -> ApiError:
    """403 ``forbidden`` in plain words, with its ``access_denied`` audit entry (kept although
    the request fails): for an action the actor's role or team does not allow."""
    denied = AuditEvent(
        "access_denied",
        actor=actor.username,
        device_id=actor.device_key,
        record_kind=record_kind,
        record_id=record_id,
        case_id=case_id,
        detail={"reason": reason},
    )
    return ApiError(ErrorCode.FORBIDDEN, message, audit=[denied])
