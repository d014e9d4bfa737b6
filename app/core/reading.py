"""Reading cases: one case with everything on it (recording that it was viewed), pages of
cases and their counts, a case's history, and references."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from uuid import UUID

from sqlmodel import Session, col, func, select

from app.core import listing
from app.core.errors import UnknownRecord
from app.core.uow import CaseKey, UnitOfWork
from app.core.views import (
    AuditRow,
    CaseDetail,
    CaseFilter,
    CaseRow,
    CaseSort,
    DocumentView,
    NoteView,
    VisitRow,
    WarningView,
)
from app.domain.enums import DocumentState
from app.store import outbox, people
from app.store.errors import DiskFull
from app.store.models import AuditEvent, Case, Document, Note, Person, Visit, Warning
from app.store.tables import Conflict
from sync.records import FIELDS, RecordKind

log = logging.getLogger("fieldcase.core")

CASE_FIELD_NAMES = tuple(
    f for f in FIELDS[RecordKind.CASE] if f not in ("ref", "type", "person_id")
)
PERSON_FIELD_NAMES = FIELDS[RecordKind.PERSON]


def get_case(
    uow: UnitOfWork, ref: CaseKey, *, record_view: bool = True, with_history: bool = False
) -> CaseDetail:
    """Everything about a case (and its history, when asked). Records a "viewed" audit event
    unless told not to."""
    if record_view:
        try:
            with uow.tx() as session:
                case = uow.case(session, ref)
                uow.audit(session, case.id, "viewed", case)
        except DiskFull:
            # a full disk must not hide a person's warnings from the caseworker at the door
            log.warning("could not record a case view: the disk is full")
    with uow.read() as session:
        case = uow.case(session, ref)
        person = uow.person(session, case)
        detail = _detail(session, case, person, uow.now())
        if with_history:
            detail = replace(detail, history=_history(session, case.id))
        return detail


def _detail(session: Session, case: Case, person: Person, now: datetime) -> CaseDetail:
    notes = list(
        session.exec(
            select(Note).where(Note.case_id == case.id).order_by(col(Note.written_at))
        ).all()
    )
    corrected_by = {n.corrects: n.id for n in notes if n.corrects is not None}
    warnings = session.exec(
        select(Warning)
        .where(Warning.person_id == person.id, col(Warning.active).is_(True))
        .order_by(col(Warning.added_at))
    ).all()
    visits = session.exec(
        select(Visit).where(Visit.case_id == case.id).order_by(col(Visit.due))
    ).all()
    documents = session.exec(
        select(Document).where(Document.case_id == case.id).order_by(col(Document.added_at))
    ).all()
    waiting = outbox.waiting_records(session, case.id)
    held = people.held_by(session, [w.id for w in warnings])
    warning_texts = [w.text for w in warnings]
    return CaseDetail(
        id=case.id,
        ref=case.ref,
        type=case.type,
        version=case.version,
        fields={name: getattr(case, name) for name in CASE_FIELD_NAMES if name != "person_id"},
        person_id=person.id,
        person={name: getattr(person, name) for name in PERSON_FIELD_NAMES},
        warnings=[
            WarningView(w.id, w.text, w.category, w.added_by, w.added_at, held.get(w.id))
            for w in warnings
        ],
        notes=[
            NoteView(
                n.id,
                n.text,
                n.author,
                n.written_at,
                n.corrects,
                corrected_by.get(n.id),
                n.id not in waiting,
            )
            for n in notes
        ],
        visits=[
            VisitRow(
                visit_id=v.id,
                case_id=case.id,
                ref=case.ref,
                person_name=person.name,
                title=v.title,
                kind=v.kind,
                due=v.due,
                place=v.place,
                overdue=v.status == "planned" and v.due < now,
                warnings=warning_texts,
                status=v.status,
                done_at=v.done_at,
                outcome=v.outcome,
                outcome_note=v.outcome_note,
            )
            for v in visits
        ],
        documents=[
            DocumentView(
                d.id,
                d.name,
                d.size,
                d.mime,
                d.added_by,
                d.added_at,
                d.local_state != DocumentState.REMOTE and d.file_key is not None,
                d.id not in waiting,
            )
            for d in documents
        ],
        pending=outbox.waiting_count(session, case.id),
        conflicts=session.exec(
            select(func.count())
            .select_from(Conflict)
            .where(Conflict.case_id == case.id, col(Conflict.resolved).is_(False))
        ).one(),
    )


def list_cases(
    uow: UnitOfWork,
    search: str | None = None,
    filters: CaseFilter | None = None,
    sort: CaseSort | str = CaseSort.BEST,
    offset: int = 0,
    limit: int = 50,
    *,
    descending: bool = False,
) -> list[CaseRow]:
    """A page of cases. ``search`` is full-text over names, references, summaries and notes
    (each word a prefix). With the default sort a search streams the most recently written
    matches first and stops at the page, so it stays fast on a hundred thousand cases;
    any other sort orders every match (either way round). Without a search, BEST means NAME."""
    with uow.read() as session:
        return listing.page_of_cases(
            session.connection(),
            search,
            _resolved(uow, filters),
            sort,
            offset,
            limit,
            descending=descending,
        )


def page_of_cases(
    uow: UnitOfWork,
    search: str | None = None,
    filters: CaseFilter | None = None,
    sort: CaseSort | str = CaseSort.BEST,
    offset: int = 0,
    limit: int = 50,
    *,
    descending: bool = False,
) -> tuple[list[CaseRow], int]:
    """A page of cases and how many match in all (counted only when the page is full)."""
    flt = _resolved(uow, filters)
    with uow.read() as session:
        conn = session.connection()
        rows = listing.page_of_cases(conn, search, flt, sort, offset, limit, descending=descending)
        if len(rows) < limit:  # the last page: no need to count separately
            return rows, max(0, offset) + len(rows)
        return rows, listing.count_cases(conn, search, flt)


def _resolved(uow: UnitOfWork, filters: CaseFilter | None) -> CaseFilter:
    """The filter with "review due" made a date: today where the laptop is, on the clock."""
    flt = filters or CaseFilter()
    if flt.review_due:
        today = uow.today()
        by = today if flt.review_due_by is None else min(today, flt.review_due_by)
        flt = replace(flt, review_due=False, review_due_by=by)
    return flt


def count_cases(
    uow: UnitOfWork,
    search: str | None = None,
    filters: CaseFilter | None = None,
    *,
    cap: int | None = None,
) -> int:
    """How many cases match (at most ``cap``, which keeps a broad search quick: show
    "1,000 or more" when the answer equals the cap)."""
    with uow.read() as session:
        return listing.count_cases(session.connection(), search, _resolved(uow, filters), cap)


def history(uow: UnitOfWork, ref: CaseKey) -> list[AuditRow]:
    """The case's history on this laptop, oldest first."""
    with uow.read() as session:
        case = uow.case(session, ref)
        return _history(session, case.id)


def _history(session: Session, case_id: UUID) -> list[AuditRow]:
    events = session.exec(
        select(AuditEvent).where(AuditEvent.case_id == case_id).order_by(col(AuditEvent.at))
    ).all()
    return [AuditRow(e.at, e.actor, e.action, e.record_kind, e.record_id, e.detail) for e in events]


def ref_for(uow: UnitOfWork, case_id: UUID) -> str:
    """The reference of a case, from its id."""
    with uow.read() as session:
        case = session.get(Case, case_id)
    if case is None:
        raise UnknownRecord("case with id", str(case_id), "Sync to fetch new cases.")
    return case.ref


def refs(uow: UnitOfWork) -> Sequence[str]:
    """Every case reference on this laptop (for completion and tests)."""
    with uow.read() as session:
        return list(session.exec(select(Case.ref).order_by(Case.ref)).all())
