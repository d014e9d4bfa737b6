"""One person recorded twice, made one: merges and their undoing (splits). The one owner of
``person_merge`` rows' making and undoing.

**A merge** (:func:`merge_people`) of OTHER into KEEP re-points every case and warning that
named OTHER to KEEP (ordinary changes, so they reach laptops by the normal sync and are
audited), and takes OTHER's person record out of the records laptops are sent: it is kept,
as it was, in the merge's row. Laptops are told of the merge at their next pull (protocol 6:
``PullResponse.merged_people``) and show one person. A laptop that changed OTHER before it
heard has its change applied to KEEP (:func:`server.records.shares.redirects`, asked by every
push): never lost, and OTHER never comes back. Notes stay with their case. Each team then
sees the person through its own cases (:mod:`server.records.shares`).

**A split** (:func:`split_merge`) undoes a merge: OTHER's record comes back (a new version)
and the cases and warnings the merge moved name OTHER again.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from server.audit import AuditEvent
from server.linkage import queue
from server.models import ErasedRecord, PersonMerge, Record, SharedRecord
from server.records.changelog import Pending, Touched, finalize, load_records, take_positions
from server.records.governance import GovernanceError, given_reason
from server.records.push import apply_change
from server.records.shares import active_merges, naming, redirects, refresh_shares
from sync.clock import Clock
from sync.protocol import Change, ChangeStatus
from sync.records import RecordKind, external_ids_text, external_labels


class MergeError(GovernanceError):
    """A merge or split that cannot be made (``str`` is the plain message)."""


def _person(session: Session, person_id: uuid.UUID, role: str) -> Touched:
    record = load_records(session, [person_id]).get(person_id)
    if record is not None and record.kind == RecordKind.PERSON.value:
        return record
    if session.get(ErasedRecord, person_id) is not None:
        raise MergeError(f"The person {person_id} ({role}) was erased from the service.")
    raise MergeError(
        f"There is no person {person_id} ({role}) on the service. Check the id: "
        "`fieldcase-server admin duplicates list` shows the people of each pair."
    )


def _refuse_merged_away(session: Session, person_id: uuid.UUID) -> None:
    redirect = redirects(session, [person_id]).get(person_id)
    if redirect is not None:
        raise MergeError(
            f"The person {person_id} was merged into {redirect.kept_id} already (merge "
            f"{redirect.merge_id}): use {redirect.kept_id} instead."
        )


def _change(
    session: Session,
    pending: Pending,
    record: Touched,
    fields: dict[str, Any],
    *,
    by: str,
    writer: str,
    clock: Clock,
) -> None:
    """Change ``record`` (a case or warning to name another person, a person's old ids): an
    ordinary change, merged per field and audited like any other."""
    change = Change.model_construct(
        change_id=uuid.uuid4(),
        kind=RecordKind(record.kind),
        record_id=record.record_id,
        case_id=record.case_id,
        base_version=record.version,
        fields=fields,
        made_at=clock.now(),
        resolves=[],
    )
    result = apply_change(session, None, change, pending, clock=clock, by=by, stamp_as=writer)
    if result.status != ChangeStatus.APPLIED:
        said = result.error.message if result.error is not None else result.status.value
        raise MergeError(f"The {record.kind} {record.record_id} could not be changed: {said}")


def _repoint(
    session: Session,
    pending: Pending,
    record: Touched,
    person_id: uuid.UUID,
    *,
    by: str,
    writer: str,
    clock: Clock,
) -> None:
    """Make ``record`` (a case or warning) name ``person_id``."""
    fields = {"person_id": str(person_id)}
    _change(session, pending, record, fields, by=by, writer=writer, clock=clock)


def _old_ids(
    session: Session,
    pending: Pending,
    person_id: uuid.UUID,
    labels: list[str],
    *,
    by: str,
    writer: str,
    clock: Clock,
) -> None:
    """Make the person's old systems' ids ``labels`` (after a merge: both people's; after a
    split: the kept person's own again), so laptops find them by either."""
    person = pending.records.get(person_id) or _person(session, person_id, "kept")
    text = external_ids_text(labels)
    if text != (person.fields.get("external_ids") or ""):
        fields = {"external_ids": text}
        _change(session, pending, person, fields, by=by, writer=writer, clock=clock)


def _snapshot(record: Touched) -> dict[str, Any]:
    return {
        "version": record.version,
        "fields": record.fields,
        "stamps": record.stamps,
        "created_at": record.created_at.isoformat(),
        "updated_at": record.updated_at.isoformat(),
        "updated_by": record.updated_by,
    }


def merge_people(
    session: Session,
    keep: uuid.UUID,
    other: uuid.UUID,
    *,
    reason: str,
    by: str,
    clock: Clock,
) -> PersonMerge:
    """Merge the person ``other`` into ``keep`` (the caller commits). Returns the merge,
    whose ``id`` undoes it (:func:`split_merge`)."""
    why = given_reason(reason, why="why they are the same person")
    if keep == other:
        raise MergeError("Give two different people: a person cannot be merged with themselves.")
    for person_id in (keep, other):
        _refuse_merged_away(session, person_id)
    kept, gone = _person(session, keep, "to keep"), _person(session, other, "to merge")
    now = clock.now()
    merge = PersonMerge(
        kept_id=keep,
        kept_version=kept.version,
        merged_id=other,
        merged_case_id=gone.case_id,
        merged_record=_snapshot(gone),
        moved=[],
        reason=why,
        merged_by=by,
        merged_at=now,
        seq=0,
    )
    session.add(merge)
    session.flush()  # its id, which the moved records are stamped with
    pending = Pending()
    moved = naming(session, other, (RecordKind.CASE, RecordKind.WARNING))
    for record in moved:
        _repoint(session, pending, record, keep, by=by, writer=f"merge:{merge.id}", clock=clock)
    merge.moved = [str(record.record_id) for record in moved]
    both = [*external_labels(kept.fields.get("external_ids"))]
    both += external_labels(gone.fields.get("external_ids"))
    _old_ids(session, pending, keep, both, by=by, writer=f"merge:{merge.id}", clock=clock)
    session.execute(delete(Record).where(col(Record.record_id) == other))
    session.execute(delete(SharedRecord).where(col(SharedRecord.record_id) == other))
    refresh_shares(session, pending, keep)
    queue.mark_merged(session, keep, other, merge_id=merge.id or 0, by=by, at=now)
    pending.audit.append(
        AuditEvent(
            "person_merged",
            actor=by,
            record_kind=RecordKind.PERSON.value,
            record_id=str(keep),
            case_id=str(kept.case_id),
            detail={"merge_id": merge.id, "merged": str(other), "moved": len(moved), "reason": why},
        )
    )
    finalize(session, pending, at=now)
    merge.seq = take_positions(session, 1)
    session.add(merge)
    return merge


def split_merge(
    session: Session, merge_id: int, *, reason: str, by: str, clock: Clock
) -> PersonMerge:
    """Undo the merge ``merge_id`` (the caller commits): the merged-away person's record comes
    back, and the cases and warnings the merge moved name them again."""
    why = given_reason(reason, why="why the merge is undone")
    merge = session.get(PersonMerge, merge_id, with_for_update=True)
    if merge is None:
        raise MergeError(
            f"There is no merge {merge_id}. `fieldcase-server admin duplicates merge` prints "
            "the id of each merge it makes."
        )
    if merge.split_at is not None:
        raise MergeError(f"Merge {merge_id} was undone already, by {merge.split_by}.")
    later = session.exec(
        select(PersonMerge.id).where(active_merges([merge.kept_id])).order_by(col(PersonMerge.id))
    ).first()
    if later is not None:
        raise MergeError(
            f"The person kept by merge {merge_id} was merged again since (merge {later}): "
            f"undo merge {later} first."
        )
    if merge.merged_record is None:
        raise MergeError(
            f"Merge {merge_id} cannot be undone: the merged-away person's case was erased since."
        )
    now = clock.now()
    pending = Pending()
    was = merge.merged_record
    restored = Touched(
        record_id=merge.merged_id,
        kind=RecordKind.PERSON.value,
        case_id=merge.merged_case_id,
        version=int(was["version"]) + 1,  # laptops that dropped it take it as new
        fields=dict(was["fields"]),
        stamps=dict(was["stamps"]),
        created_at=datetime.fromisoformat(was["created_at"]),
        updated_at=now,
        updated_by=by,
        is_new=True,
    )
    pending.records[restored.record_id] = restored
    merge.split_by, merge.split_at, merge.split_reason = by, now, why
    session.add(merge)
    session.flush()  # no longer a merge pushes are sent on by (the moves below included)
    moved = load_records(session, [uuid.UUID(record_id) for record_id in merge.moved])
    for record in moved.values():
        if record.fields.get("person_id") == str(merge.kept_id):
            _repoint(
                session,
                pending,
                record,
                merge.merged_id,
                by=by,
                writer=f"merge:{merge.id}",
                clock=clock,
            )
    theirs = set(external_labels(was["fields"].get("external_ids")))
    kept = pending.records.get(merge.kept_id) or _person(session, merge.kept_id, "kept")
    own = [x for x in external_labels(kept.fields.get("external_ids")) if x not in theirs]
    _old_ids(session, pending, merge.kept_id, own, by=by, writer=f"merge:{merge.id}", clock=clock)
    refresh_shares(session, pending, merge.kept_id)
    refresh_shares(session, pending, merge.merged_id)
    queue.reopen(session, merge_id)
    pending.audit.append(
        AuditEvent(
            "person_split",
            actor=by,
            record_kind=RecordKind.PERSON.value,
            record_id=str(merge.merged_id),
            case_id=str(merge.merged_case_id),
            detail={"merge_id": merge_id, "kept": str(merge.kept_id), "reason": why},
        )
    )
    finalize(session, pending, at=now)
    session.add(merge)
    return merge
