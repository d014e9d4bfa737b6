"""Possible duplicate people, reviewed from a laptop's Possible duplicates window: team
managers (pairs about their team's people) and governance officers (every pair)."""

from __future__ import annotations

from fastapi import APIRouter, Query

from server import audit
from server.api.deps import ClockDep, CurrentActor, SessionDep
from server.api.responses import ERRORS
from server.audit import AuditEvent
from server.errors import ApiError
from server.linkage import review
from server.records.governance import GovernanceError
from server.roles import Can, allows, refused, require
from sync.protocol import DuplicateDecided, DuplicateDecision, DuplicatePairs, ErrorCode

router = APIRouter(prefix="/duplicates", tags=["duplicates"])

NOT_FOR_ROLE = "Only a team manager or a governance officer may review possible duplicate people."


def _require_reviewer(actor: CurrentActor) -> None:
    require(actor.role, Can.HOLD_CASES)  # an admin account: never case content
    if not allows(actor.role, Can.REVIEW_DUPLICATES):
        raise refused(actor, NOT_FOR_ROLE, reason="duplicates", record_kind="person")


@router.get("", response_model=DuplicatePairs, responses=ERRORS)
def waiting_pairs(
    actor: CurrentActor,
    session: SessionDep,
    clock: ClockDep,
    limit: int = Query(default=50, ge=1, le=review.MAX_SHOWN),
) -> DuplicatePairs:
    """The pairs waiting for review that this reviewer may see, most likely first. Reading
    them is audited (``duplicates_viewed``, with the person ids shown)."""
    _require_reviewer(actor)
    answer = review.pairs_for(session, actor, limit=limit)
    shown = sorted(
        {str(p.a.person_id) for p in answer.pairs} | {str(p.b.person_id) for p in answer.pairs}
    )
    audit.append(
        session,
        [
            AuditEvent(
                "duplicates_viewed",
                actor=actor.username,
                device_id=actor.device_key,
                record_kind="person",
                detail={"people": shown},
            )
        ],
        at=clock.now(),
    )
    return answer


@router.post("/decide", response_model=DuplicateDecided, responses=ERRORS)
def decide(
    decision: DuplicateDecision, actor: CurrentActor, session: SessionDep, clock: ClockDep
) -> DuplicateDecided:
    """Merge the two (``same``) or say they are not the same person; audited either way."""
    _require_reviewer(actor)
    try:
        return review.decide(session, actor, decision, clock=clock)
    except review.NotYours as err:
        raise refused(
            actor,
            str(err),
            reason="duplicates",
            record_kind="person",
            record_id=str(decision.other),
        ) from None
    except GovernanceError as err:
        raise ApiError(ErrorCode.CONFLICT, str(err)) from None
