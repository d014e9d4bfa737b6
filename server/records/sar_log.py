"""The SAR log: each subject access request, the day it was received, the day the answer is
due, and when it was answered. The one owner of the due date.

The answer is due one calendar month after the day the request is received: the same date in
the next month, or that month's last day when it has no such date (31 January -> 28 or 29
February); a due date on a Saturday or Sunday moves to the Monday. (Bank holidays are the
officer's to allow for: they differ between the nations of the UK.) The log holds person ids
only, never a name.
"""

from __future__ import annotations

import calendar
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session, col, select

from server.audit import AuditEvent
from server.audit import append as audit_append
from server.models import SubjectAccessRequest
from server.records.governance import GovernanceError
from sync import words
from sync.clock import Clock


def due_date(received: date) -> date:
    """One calendar month after ``received`` (see the module's words), on a weekday."""
    year, month = (
        (received.year + 1, 1) if received.month == 12 else (received.year, received.month + 1)
    )
    day = min(received.day, calendar.monthrange(year, month)[1])
    due = date(year, month, day)
    while due.weekday() >= 5:
        due += timedelta(days=1)
    return due


def reference(request: SubjectAccessRequest) -> str:
    return f"SAR-{request.id}"


def log_request(
    session: Session,
    person_ids: Iterable[uuid.UUID],
    *,
    received: date,
    by: str,
    clock: Clock,
) -> tuple[SubjectAccessRequest, bool]:
    """Log the request (the caller commits); ``(request, False)`` when the same people's
    request received that day is already in the log."""
    people = sorted(str(p) for p in person_ids)
    if received > clock.now().date():
        raise GovernanceError(
            f"The request cannot have been received on {words.day(received)}: that is in the "
            "future. Give the day it reached the council."
        )
    for request in session.exec(
        select(SubjectAccessRequest).where(col(SubjectAccessRequest.received_on) == received)
    ):
        if sorted(request.person_ids) == people:
            return request, False
    request = SubjectAccessRequest(
        received_on=received,
        due_on=due_date(received),
        person_ids=people,
        logged_by=by,
        logged_at=clock.now(),
    )
    session.add(request)
    session.flush()
    audit_append(
        session,
        [
            AuditEvent(
                "sar_logged",
                actor=by,
                record_kind="person",
                detail={"request": reference(request), "person_ids": people},
            )
        ],
        at=clock.now(),
    )
    return request, True


def answer(
    session: Session, person_ids: Iterable[uuid.UUID], *, by: str, clock: Clock
) -> list[SubjectAccessRequest]:
    """Mark answered every open request that the export of ``person_ids`` covers."""
    people = {str(p) for p in person_ids}
    answered = []
    for request in open_requests(session):
        if set(request.person_ids) <= people:
            request.answered_by = by
            request.answered_at = clock.now()
            session.add(request)
            answered.append(request)
    return answered


def open_requests(session: Session) -> list[SubjectAccessRequest]:
    """Requests not yet answered, the soonest due first."""
    return list(
        session.exec(
            select(SubjectAccessRequest)
            .where(col(SubjectAccessRequest.answered_at).is_(None))
            .order_by(col(SubjectAccessRequest.due_on), col(SubjectAccessRequest.id))
        ).all()
    )


def all_requests(session: Session) -> list[SubjectAccessRequest]:
    return list(
        session.exec(
            select(SubjectAccessRequest).order_by(col(SubjectAccessRequest.received_on))
        ).all()
    )


@dataclass(frozen=True)
class Standing:
    """How an open request stands today, in words."""

    overdue: bool
    words: str


def standing(request: SubjectAccessRequest, today: date) -> Standing:
    if request.answered_at is not None:
        return Standing(False, f"answered on {words.day(request.answered_at.date())}")
    left = (request.due_on - today).days
    if left < 0:
        return Standing(True, f"OVERDUE by {words.plural(-left, 'day')}")
    if left == 0:
        return Standing(False, "due today")
    return Standing(False, f"due in {words.plural(left, 'day')}")
