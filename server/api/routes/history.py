"""A case's full history (who saw and changed it, on which laptop, when it reached the
service): for managers (their team's cases) and governance officers (any case)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from server import audit
from server.api.deps import ClockDep, CurrentActor, SessionDep
from server.api.responses import ERRORS
from server.audit import AuditEvent
from server.errors import ApiError
from server.models import CaseScope
from server.records import erasure, history
from server.records.scope import can_see
from server.roles import Can, allows, refused, require
from sync.protocol import CaseHistory, ErrorCode, HistoryItem

router = APIRouter(prefix="/cases", tags=["history"])


@router.get("/{case_id}/history", response_model=CaseHistory, responses=ERRORS)
def case_history(
    case_id: uuid.UUID, actor: CurrentActor, session: SessionDep, clock: ClockDep
) -> CaseHistory:
    """Everything done to the case, oldest first. Reading it is audited (``history_viewed``)."""
    require(actor.role, Can.HOLD_CASES)  # an admin account: never case content
    scope = session.get(CaseScope, case_id)
    tomb = erasure.tombstone(session, case_id) if scope is None else None
    visible = scope is not None and can_see(scope, actor.team, actor.username)
    if not allows(actor.role, Can.SEE_FULL_HISTORY) or not (
        visible or allows(actor.role, Can.ANY_TEAM)
    ):
        raise refused(
            actor,
            _refusal(actor.role, visible),
            reason="history",
            record_kind="case",
            record_id=str(case_id),
            case_id=str(case_id),
        )
    if scope is None and tomb is None:
        raise ApiError(ErrorCode.NOT_FOUND, "There is no such case on the central service.")
    lines = history.case_history(session, case_id)
    audit.append(
        session,
        [
            AuditEvent(
                "history_viewed",
                actor=actor.username,
                device_id=actor.device_key,
                case_id=str(case_id),
            )
        ],
        at=clock.now(),
    )
    return CaseHistory(
        case_id=case_id,
        ref=scope.ref if scope is not None else (tomb.ref if tomb else None),
        items=[
            HistoryItem(
                at=line.at,
                received_at=line.received_at,
                actor=line.actor,
                action=line.action,
                record_kind=line.record_kind,
                from_laptop=line.from_laptop,
                text=line.sentence(),
            )
            for line in lines
        ],
    )


def _refusal(role: str, visible: bool) -> str:
    if not allows(role, Can.SEE_FULL_HISTORY):
        return (
            "Only a manager or a governance officer may read a case's full history. "
            "This laptop's own record of the case is shown instead."
        )
    if visible:  # pragma: no cover - a visible case is refused only for the role
        return "Your role does not allow you to read this history."
    return "This case belongs to another team, so its history is not shown to you."
