"""Legal holds: a case under a hold is never erased, by the retention schedule or on request,
until the hold is released. The one owner of holds: erasure and retention ask :func:`held`.

Placing and releasing are audited (``hold_placed``, ``hold_released``) with the case's id and
reference, the officer and the reason.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from server import audit
from server.audit import AuditEvent
from server.models import CaseScope, LegalHold
from server.records.governance import GovernanceError, given_reason
from server.records.scope import find_case_by_ref
from sync.clock import Clock


class HoldError(GovernanceError):
    """A hold that cannot be placed or released (``str`` is the plain message)."""


@dataclass(frozen=True)
class Hold:
    case_id: uuid.UUID
    ref: str | None
    reason: str
    placed_by: str
    placed_at: datetime


def _case(session: Session, ref: str) -> CaseScope:
    scope = find_case_by_ref(session, ref)
    if scope is None:
        raise HoldError(f"There is no case with reference {ref!r}.")
    return scope


def held(session: Session, case_id: uuid.UUID) -> LegalHold | None:
    """The hold on a case, if it has one."""
    return session.get(LegalHold, case_id)


def place(session: Session, ref: str, reason: str, *, by: str, clock: Clock) -> bool:
    """Put a hold on the case ``ref``; False when it already had one (nothing changes)."""
    reason = given_reason(reason, why="why the case is held")
    scope = _case(session, ref)
    if held(session, scope.case_id) is not None:
        return False
    session.add(
        LegalHold(case_id=scope.case_id, reason=reason, placed_by=by, placed_at=clock.now())
    )
    audit.append(
        session,
        [
            AuditEvent(
                "hold_placed",
                actor=by,
                case_id=str(scope.case_id),
                detail={"ref": ref, "reason": reason},
            )
        ],
        at=clock.now(),
    )
    return True


def release(session: Session, ref: str, *, by: str, clock: Clock) -> Hold:
    """Release the hold on the case ``ref``; returns the hold that was there."""
    scope = _case(session, ref)
    hold = held(session, scope.case_id)
    if hold is None:
        raise HoldError(f"The case {ref} is not held.")
    was = Hold(scope.case_id, scope.ref, hold.reason, hold.placed_by, hold.placed_at)
    session.delete(hold)
    audit.append(
        session,
        [
            AuditEvent(
                "hold_released",
                actor=by,
                case_id=str(scope.case_id),
                detail={"ref": ref, "reason": hold.reason},
            )
        ],
        at=clock.now(),
    )
    return was


def all_holds(session: Session) -> list[Hold]:
    """Every hold, the oldest first."""
    rows = session.exec(
        select(LegalHold, CaseScope.ref)
        .join(CaseScope, col(CaseScope.case_id) == col(LegalHold.case_id), isouter=True)
        .order_by(col(LegalHold.placed_at))
    ).all()
    return [
        Hold(hold.case_id, ref, hold.reason, hold.placed_by, hold.placed_at) for hold, ref in rows
    ]
