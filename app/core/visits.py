"""Visits and tasks: planned, then done (with their note, in one step) or cancelled; and My day,
the planned ones due today or overdue."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import text
from sqlmodel import Session

from app.core import fields as F
from app.core.errors import InvalidValue, UnknownRecord
from app.core.listing import parse_ts
from app.core.uow import CaseKey, UnitOfWork
from app.core.views import VisitRow
from app.domain.enums import VisitOutcome, VisitStatus
from app.errors import UsageError
from app.store.models import Note, Visit


def _ts(moment: datetime) -> str:
    """A UTC datetime as stored by UTCDateTime (for comparisons in raw SQL)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def add_visit(
    uow: UnitOfWork,
    ref: CaseKey,
    due: datetime | str,
    place: str,
    title: str = "Visit",
    kind: str = "visit",
) -> UUID:
    """Plan a visit or task. ``due`` is an aware datetime, or text like 2026-12-01T10:30
    (local time) or 2026-12-01 (09:00 local time)."""
    if isinstance(due, datetime):
        if due.tzinfo is None:
            raise InvalidValue("The due time must say its time zone.")
        when = due.astimezone(UTC)
    else:
        when = F.parse_when("due", due)
    visit_kind = F.parse_visit_kind(kind)
    with uow.tx() as session:
        case = uow.case(session, ref)
        visit = Visit(
            id=uuid4(),
            case_id=case.id,
            title=title.strip() or "Visit",
            kind=visit_kind,
            due=when,
            place=place.strip(),
            status=VisitStatus.PLANNED.value,
        )
        uow.create(session, visit, case.id)
    return visit.id


def _planned(uow: UnitOfWork, session: Session, visit_id: UUID | str, hint: str = "") -> Visit:
    visit = uow.find(session, Visit, visit_id, "visit")
    if visit is None:
        raise UnknownRecord("visit", str(visit_id), hint)
    if visit.status != VisitStatus.PLANNED.value:
        raise UsageError(f"That visit is already {visit.status}; nothing was changed.")
    assert isinstance(visit, Visit)
    return visit


#: Outcomes where the visit did not take place at all: it is cancelled, not done.
_CALLED_OFF = (VisitOutcome.CANCELLED_BY_PERSON.value, VisitOutcome.CANCELLED_BY_US.value)


def complete_visit(
    uow: UnitOfWork,
    visit_id: UUID | str,
    note_text: str | None = None,
    outcome: str = VisitOutcome.DONE.value,
) -> UUID | None:
    """Say what came of a planned visit (``outcome``: it was done; or no access, not in, or
    cancelled by the person or by us) and (optionally) write its note, in one transaction.
    A visit that took place, even without getting in, is done at this moment; one called off
    is cancelled. Returns the note's id when one was written."""
    chosen = F.choice(tuple(o.value for o in VisitOutcome))("outcome", outcome)
    said = (note_text or "").strip()
    with uow.tx() as session:
        visit = _planned(uow, session, visit_id, "Copy the visit's id from `fieldcase case show`.")
        values: dict[str, Any] = {"outcome": chosen, "outcome_note": said[:2_000]}
        if chosen in _CALLED_OFF:
            values["status"] = VisitStatus.CANCELLED.value
        else:
            values |= {"status": VisitStatus.DONE.value, "done_at": uow.now()}
        uow.update(session, visit, values, visit.case_id)
        if not said:
            return None
        note = Note(
            id=uuid4(),
            case_id=visit.case_id,
            text=said,
            author=uow.user,
            written_at=uow.now(),
        )
        uow.create(session, note, visit.case_id)
    return note.id


def cancel_visit(uow: UnitOfWork, visit_id: UUID | str) -> None:
    """A planned visit that will not happen (it stays in the case's list, cancelled)."""
    with uow.tx() as session:
        visit = _planned(uow, session, visit_id)
        uow.update(session, visit, {"status": VisitStatus.CANCELLED.value}, visit.case_id)


_MY_DAY_SQL = (
    "SELECT v.id, v.case_id, c.ref, coalesce(p.name, ''), v.title, v.kind,"
    " v.due, v.place, c.person_id, coalesce(p.address, ''), coalesce(c.assigned_to, '')"
    " FROM visits AS v"
    " JOIN cases AS c ON c.id = v.case_id"
    " LEFT JOIN people AS p ON p.id = c.person_id"
    " WHERE v.status = 'planned' AND v.due < :end{mine} ORDER BY v.due, c.ref"
)


def my_day(uow: UnitOfWork, today: date | None = None, *, team: bool = False) -> list[VisitRow]:
    """Planned visits and tasks due today or earlier (overdue), soonest first, with the
    person's name and address, the place and the person's active warnings. "Today" is the
    laptop's local date, from its clock. A worker's own are the visits on the cases assigned
    to them; ``team``: every case on this laptop (the team's)."""
    day = today or uow.today()
    start = datetime.combine(day, time(0), tzinfo=uow.zone())
    end = start + timedelta(days=1)
    mine = "" if team else " AND c.assigned_to = :me"
    now = uow.now()
    with uow.read() as session:
        conn = session.connection()
        rows = conn.execute(
            text(_MY_DAY_SQL.format(mine=mine)), {"end": _ts(end), "me": uow.user}
        ).all()
        people = sorted({row[8] for row in rows})
        warnings: dict[str, list[str]] = {}
        if people:
            marks = ",".join(f":p{i}" for i in range(len(people)))
            for person_id, body in conn.execute(
                text(
                    "SELECT person_id, text FROM warnings WHERE active AND"
                    f" person_id IN ({marks}) ORDER BY added_at"
                ),
                {f"p{i}": pid for i, pid in enumerate(people)},
            ).all():
                warnings.setdefault(person_id, []).append(body)
    result = []
    for row in rows:
        due = parse_ts(row[6])
        assert due is not None
        result.append(
            VisitRow(
                visit_id=UUID(row[0]),
                case_id=UUID(row[1]),
                ref=row[2],
                person_name=row[3],
                title=row[4],
                kind=row[5],
                due=due,
                place=row[7],
                overdue=due < now,
                warnings=warnings.get(row[8], []),
                person_address=row[9],
                assigned_to=row[10],
            )
        )
    return result
