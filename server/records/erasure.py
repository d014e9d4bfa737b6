"""Erasure: a case (or every case of a person) taken off the service for good, on a valid
request or by the retention schedule. The one owner of erasure: the commands, retention and
the push's refusal of changes to erased cases all come here.

What goes: the case's records (the change log is those rows), its conflicts, the records
``admin check-records`` moved aside, its document content (stored and staged), the ids of the
changes applied to it, its scope row. What stays: a tombstone (:class:`ErasedCase`: id,
reference, rule or reason, officer, time) and the ids of the records it held
(:class:`ErasedRecord`), and the audit event ``case_erased``, which names the reference,
the rule or reason and the officer, never personal data. The earlier audit rows carry ids and
references only, so the chain stays whole.

Laptops hear of it as a change of scope: the case leaves everyone's scope, and a pull names
it in ``erased_cases`` (protocol 5), so each laptop purges it with any unsent work and its
backups' copies. A change to an erased case (a laptop that was offline, restored an old
backup, or kept a draft) is refused with ``erased`` (410), so it never comes back.

A case under a legal hold (:mod:`server.records.holds`) is never erased.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, or_, update
from sqlmodel import Session, col, select

from server.audit import AuditEvent
from server.core.db import among
from server.models import (
    AppliedChange,
    CaseScope,
    Conflict,
    DocumentChunk,
    DocumentContent,
    DuplicatePair,
    ErasedCase,
    ErasedRecord,
    PersonMerge,
    QuarantinedRecord,
    Record,
    SharedRecord,
)
from server.records import holds, shares
from server.records.changelog import Pending, finalize
from server.records.governance import GovernanceError, given_reason
from server.records.scope import find_case_by_ref, scope_event
from sync import words
from sync.clock import Clock
from sync.records import RecordKind

#: What a laptop is told when it sends a change to an erased case.
REFUSAL = (
    "This case was erased from the council's records (on request or by the retention "
    "schedule), so the change was not kept. Fieldcase removes the case from this laptop."
)


class ErasureError(GovernanceError):
    """An erasure that cannot be done (``str`` is the plain message)."""


@dataclass(frozen=True)
class Erased:
    """One erased case, as a command reports it."""

    case_id: uuid.UUID
    ref: str | None
    records: int
    documents: int


def erased_among(
    session: Session, case_ids: Iterable[uuid.UUID], record_ids: Iterable[uuid.UUID] = ()
) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    """Which of these case ids, and which of these record ids, were erased."""
    cases, records = sorted(set(case_ids)), sorted(set(record_ids))
    erased_cases = (
        set(
            session.exec(
                select(ErasedCase.case_id).where(among(session, col(ErasedCase.case_id), cases))
            )
        )
        if cases
        else set()
    )
    erased_records = (
        set(
            session.exec(
                select(ErasedRecord.record_id).where(
                    among(session, col(ErasedRecord.record_id), records)
                )
            )
        )
        if records
        else set()
    )
    return erased_cases, erased_records


def tombstone(session: Session, case_id: uuid.UUID) -> ErasedCase | None:
    return session.get(ErasedCase, case_id)


def erase_case(
    session: Session,
    ref: str,
    *,
    reason: str,
    by: str,
    clock: Clock,
    rule: str | None = None,
) -> Erased:
    """Erase the case ``ref`` (the caller commits). Refused when it is held or unknown."""
    reason = given_reason(reason, why="why it is erased (the request or rule)")
    scope = find_case_by_ref(session, ref)
    if scope is None:
        raise ErasureError(_unknown(session, ref))
    pending = Pending()
    erased = _erase(session, scope, pending, reason=reason, rule=rule, by=by, clock=clock)
    finalize(session, pending, at=clock.now())
    return erased


def erase_due(
    session: Session,
    case_id: uuid.UUID,
    pending: Pending,
    *,
    rule: str,
    by: str,
    clock: Clock,
) -> Erased:
    """Erase a case the retention schedule says is due, under ``rule`` (in the caller's
    change-log batch: the caller finalizes and commits)."""
    scope = session.get(CaseScope, case_id)
    if scope is None:
        raise ErasureError(f"The case {case_id} is not on the service.")
    return _erase(
        session, scope, pending, reason="retention schedule", rule=rule, by=by, clock=clock
    )


def erase_person(
    session: Session, person_id: uuid.UUID, *, reason: str, by: str, clock: Clock
) -> list[Erased]:
    """Erase every case about the person ``person_id`` (the caller commits): the case that
    holds their person record and every case that names them. Refused, with nothing erased,
    when any of those cases is held."""
    reason = given_reason(reason, why="why it is erased (the request or rule)")
    case_ids = cases_of_person(session, person_id)
    merged = shares.redirects(session, [person_id]).get(person_id)
    if not case_ids and merged is not None:
        raise ErasureError(
            f"The person {person_id} was merged into {merged.kept_id} (merge "
            f"{merged.merge_id}): erase {merged.kept_id} to erase every case about them."
        )
    if not case_ids:
        raise ErasureError(
            f"No case on the service is about the person {person_id}. Check the id (a "
            "caseworker sees it under the person's details)."
        )
    scopes = [session.get(CaseScope, case_id) for case_id in case_ids]
    for scope in scopes:
        if scope is not None:
            _refuse_held(session, scope)
    pending = Pending()
    erased = [
        _erase(session, scope, pending, reason=reason, rule=None, by=by, clock=clock)
        for scope in scopes
        if scope is not None
    ]
    pending.audit.append(
        AuditEvent(
            "person_erased",
            actor=by,
            record_kind=RecordKind.PERSON.value,
            record_id=str(person_id),
            detail={"refs": [e.ref for e in erased], "reason": reason},
        )
    )
    finalize(session, pending, at=clock.now())
    return erased


def cases_of_person(session: Session, person_id: uuid.UUID) -> list[uuid.UUID]:
    """The cases that hold the person's record or name them (their ``person_id``)."""
    holding = session.exec(
        select(Record.case_id).where(
            col(Record.record_id) == person_id, col(Record.kind) == RecordKind.PERSON.value
        )
    ).all()
    naming = session.exec(
        select(Record.case_id).where(
            col(Record.kind) == RecordKind.CASE.value, col(Record.person_id) == person_id
        )
    ).all()
    return sorted(set(holding) | set(naming))


def _unknown(session: Session, ref: str) -> str:
    gone = session.exec(select(ErasedCase).where(col(ErasedCase.ref) == ref)).first()
    if gone is not None:
        return (
            f"The case {ref} was erased already, on {words.when_utc(gone.erased_at)} by "
            f"{gone.erased_by}."
        )
    return f"There is no case with reference {ref!r}."


def _refuse_held(session: Session, scope: CaseScope) -> None:
    hold = holds.held(session, scope.case_id)
    if hold is not None:
        raise ErasureError(
            f"The case {scope.ref} is under a legal hold, so nothing was erased: "
            f"{hold.reason} (placed by {hold.placed_by} on {words.when_utc(hold.placed_at)}). "
            "Release the hold first if it no longer applies (`admin release "
            f"{scope.ref}`)."
        )


def _erase(
    session: Session,
    scope: CaseScope,
    pending: Pending,
    *,
    reason: str,
    rule: str | None,
    by: str,
    clock: Clock,
) -> Erased:
    _refuse_held(session, scope)
    case_id = scope.case_id
    rows = session.exec(
        select(Record.record_id, Record.kind).where(col(Record.case_id) == case_id)
    ).all()
    aside = session.exec(
        select(QuarantinedRecord.record_id).where(col(QuarantinedRecord.case_id) == case_id)
    ).all()
    record_ids = sorted({record_id for record_id, _kind in rows} | set(aside))
    staged = session.exec(
        select(DocumentContent.document_id).where(col(DocumentContent.staged_case_id) == case_id)
    ).all()
    documents = sorted(
        {record_id for record_id, kind in rows if kind == RecordKind.DOCUMENT.value} | set(staged)
    )
    _delete_documents(session, documents)
    session.execute(delete(Conflict).where(col(Conflict.case_id) == case_id))
    session.execute(delete(QuarantinedRecord).where(col(QuarantinedRecord.case_id) == case_id))
    for part in _parts(record_ids):
        session.execute(delete(AppliedChange).where(col(AppliedChange.record_id).in_(part)))
    session.execute(delete(Record).where(col(Record.case_id) == case_id))
    _forget_people(session, case_id, record_ids)
    for record_id in record_ids:
        session.add(ErasedRecord(record_id=record_id, case_id=case_id))
    now = clock.now()
    session.add(
        ErasedCase(
            case_id=case_id, ref=scope.ref, rule=rule, reason=reason, erased_by=by, erased_at=now
        )
    )
    # everyone who could see it hears that it left their scope (and, from the tombstone,
    # that it was erased)
    pending.scope_events.append(
        scope_event(case_id, (scope.team, scope.assigned_to), (None, None), now)
    )
    session.delete(scope)
    session.flush()
    detail: dict[str, object] = {"ref": scope.ref, "reason": reason}
    if rule is not None:
        detail["rule"] = rule
    detail.update(records=len(record_ids), documents=len(documents))
    pending.audit.append(AuditEvent("case_erased", actor=by, case_id=str(case_id), detail=detail))
    return Erased(case_id, scope.ref, len(record_ids), len(documents))


def _forget_people(session: Session, case_id: uuid.UUID, record_ids: Sequence[uuid.UUID]) -> None:
    """What the service knew of the case's people beside their records: shares through the
    case and of its records, pairs in the duplicates queue, and a merged-away person's
    record kept by a merge (that merge can no longer be undone)."""
    session.execute(delete(SharedRecord).where(col(SharedRecord.case_id) == case_id))
    for part in _parts(record_ids):
        session.execute(delete(SharedRecord).where(col(SharedRecord.record_id).in_(part)))
        session.execute(
            delete(DuplicatePair).where(
                or_(col(DuplicatePair.person_a).in_(part), col(DuplicatePair.person_b).in_(part))
            )
        )
    session.execute(
        update(PersonMerge)
        .where(col(PersonMerge.merged_case_id) == case_id)
        .values(merged_record=None)
    )


def _delete_documents(session: Session, documents: Sequence[uuid.UUID]) -> None:
    for part in _parts(documents):
        session.execute(delete(DocumentChunk).where(col(DocumentChunk.document_id).in_(part)))
        session.execute(delete(DocumentContent).where(col(DocumentContent.document_id).in_(part)))


def _parts(ids: Sequence[uuid.UUID], size: int = 500) -> list[Sequence[uuid.UUID]]:
    return [ids[start : start + size] for start in range(0, len(ids), size)]
