"""The review queue of possible duplicate people: the one owner of ``duplicate_pair``.

``duplicates find`` puts the pairs it scored at or above the threshold here (:func:`queue`);
a manager or governance officer reviews each one: the same person (a merge, see
:mod:`server.records.people`) or not (:func:`not_same`, and the pair is never queued again).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, func, select

from server import audit
from server.audit import AuditEvent
from server.linkage.find import Pair
from server.models import DuplicatePair
from server.records.governance import GovernanceError, given_reason

OPEN, NOT_SAME, MERGED = "open", "not_same", "merged"


class QueueError(GovernanceError):
    """A review that cannot be recorded (``str`` is the plain message)."""


@dataclass
class Queued:
    """What :func:`queue` did with the pairs it was given."""

    new: int = 0
    again: int = 0  # already waiting for review (their score brought up to date)
    not_same: int = 0  # a reviewer said they are not the same person: left out
    merged: int = 0  # already merged


def key(a: str | uuid.UUID, b: str | uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    """A pair's key: its two ids in order."""
    first, second = sorted((uuid.UUID(str(a)), uuid.UUID(str(b))), key=str)
    return first, second


def queue(session: Session, pairs: list[Pair], *, at: datetime, by: str) -> Queued:
    """Put ``pairs`` in the queue (the caller commits). A pair reviewed before is not asked
    about again; one waiting has its score and reasons brought up to date."""
    known = {(row.person_a, row.person_b): row for row in session.exec(select(DuplicatePair))}
    done = Queued()
    for pair in pairs:
        a, b = key(pair.person_a, pair.person_b)
        row = known.get((a, b))
        if row is None:
            session.add(
                DuplicatePair(
                    person_a=a,
                    person_b=b,
                    probability=pair.probability,
                    reasons=pair.reasons,
                    found_at=at,
                )
            )
            done.new += 1
        elif row.state == OPEN:
            row.probability, row.reasons, row.found_at = pair.probability, pair.reasons, at
            session.add(row)
            done.again += 1
        elif row.state == NOT_SAME:
            done.not_same += 1
        else:
            done.merged += 1
    audit.append(
        session,
        [AuditEvent("duplicates_found", actor=by, detail={"pairs": len(pairs), "new": done.new})],
        at=at,
    )
    return done


def waiting(session: Session, *, limit: int | None = None) -> list[DuplicatePair]:
    """The pairs waiting for review, most likely first."""
    query = (
        select(DuplicatePair)
        .where(DuplicatePair.state == OPEN)
        .order_by(col(DuplicatePair.probability).desc(), col(DuplicatePair.person_a))
    )
    if limit is not None:
        query = query.limit(limit)
    return list(session.exec(query))


def waiting_count(session: Session) -> int:
    """How many pairs are waiting for review."""
    query = select(func.count()).select_from(DuplicatePair).where(DuplicatePair.state == OPEN)
    return int(session.exec(query).one())


def pair_of(session: Session, a: str | uuid.UUID, b: str | uuid.UUID) -> DuplicatePair | None:
    return session.get(DuplicatePair, key(a, b))


def not_same(
    session: Session, a: uuid.UUID, b: uuid.UUID, *, reason: str, by: str, at: datetime
) -> DuplicatePair:
    """A reviewer says ``a`` and ``b`` are not the same person: the pair leaves the queue and
    is never put back (the caller commits)."""
    why = given_reason(reason, why="why they are not the same person")
    row = pair_of(session, a, b)
    if row is None:
        first, second = key(a, b)
        row = DuplicatePair(person_a=first, person_b=second, probability=0, found_at=at)
    elif row.state == MERGED:
        raise QueueError(
            f"{a} and {b} were merged (merge {row.merge_id}); to undo it, split the merge: "
            f"`fieldcase-server admin duplicates split {row.merge_id}`."
        )
    row.state, row.decided_by, row.decided_at = NOT_SAME, by, at
    session.add(row)
    audit.append(
        session,
        [
            AuditEvent(
                "duplicate_dismissed",
                actor=by,
                record_kind="person",
                record_id=str(row.person_a),
                detail={"other": str(row.person_b), "reason": why},
            )
        ],
        at=at,
    )
    return row


def mark_merged(
    session: Session, a: uuid.UUID, b: uuid.UUID, *, merge_id: int, by: str, at: datetime
) -> None:
    """The pair ``a``, ``b`` was merged (queued or not): it leaves the queue."""
    row = pair_of(session, a, b)
    if row is None:
        first, second = key(a, b)
        row = DuplicatePair(person_a=first, person_b=second, probability=0, found_at=at)
    row.state, row.decided_by, row.decided_at, row.merge_id = MERGED, by, at, merge_id
    session.add(row)


def reopen(session: Session, merge_id: int) -> None:
    """A merge was split: its pair is to review again (the caller commits)."""
    for row in session.exec(select(DuplicatePair).where(DuplicatePair.merge_id == merge_id)):
        row.state, row.decided_by, row.decided_at, row.merge_id = OPEN, None, None, None
        session.add(row)
