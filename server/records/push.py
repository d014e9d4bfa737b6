"""Applying pushed changes: each change is merged per field, clashes are kept as conflicts.

:func:`apply_change` runs one change through clear phases: screen (replays, id rules, the
record schema of :mod:`server.records.validate`), load (the record, locked), authorise (the
case's scope), gather the conflicts it settles, merge (:mod:`server.records.merge`), then
write (the record, conflicts, scope) and log (applied change, audit).
Nothing is committed here: the caller's unit of work commits after :func:`finalize`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from server.audit import AuditEvent
from server.crud import Actor
from server.models import AppliedChange, CaseScope, Conflict, Device, Record
from server.records import erasure, moves, shares, validate
from server.records.changelog import Pending, Touched, conflict_info, finalize, load_records
from server.records.merge import MergeRefused, MergeResult, Stamp, merge_change
from server.records.scope import can_see, ref_holder, set_scope
from server.records.uploaded_audit import stored_event
from sync.clock import Clock
from sync.protocol import Change, ChangeResult, ChangeStatus, ErrorBody, ErrorCode
from sync.records import SERVICE_SET, RecordKind, check_fields


class Refused(Exception):
    """A change that is not applied; becomes a ``rejected`` result (never leaves this module)."""

    def __init__(self, code: ErrorCode, message: str, detail: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.detail = code, message, detail or {}

    def result(self, change: Change) -> ChangeResult:
        return ChangeResult(
            change_id=change.change_id,
            status=ChangeStatus.REJECTED,
            error=ErrorBody(code=self.code, message=self.message, detail=self.detail),
        )


@dataclass(frozen=True)
class Author:
    """Who a change is written as: a signed-in device, or the service itself."""

    actor: Actor | None
    username: str
    device_key: str | None
    #: who the fields it writes are stamped as, when not its device: an import stamps its
    #: source ("import:NAME"), so a later import of the same source may change what it wrote
    #: itself and clashes only with what others changed (the merge's same-writer rule)
    stamp_as: str | None = None

    @classmethod
    def of(cls, actor: Actor | None, by: str, stamp_as: str | None = None) -> Author:
        if actor is None:
            return cls(None, by or "admin", None, stamp_as)
        return cls(actor, actor.username, actor.device_key)

    @property
    def writer(self) -> str | None:
        """The writer its stamps name (its device, or what ``stamp_as`` says)."""
        return self.stamp_as or self.device_key

    @property
    def device_id(self) -> uuid.UUID | None:
        return self.actor.device_id if self.actor else None


def apply_change(
    session: Session,
    actor: Actor | None,
    change: Change,
    pending: Pending,
    *,
    clock: Clock,
    by: str = "",
    stamp_as: str | None = None,
) -> ChangeResult:
    """Merge one change (without committing). ``actor`` None means the service itself
    (``stamp_as``: see :attr:`Author.stamp_as`)."""
    author = Author.of(actor, by, stamp_as)
    now = clock.now()
    try:
        change = shares.redirected(session, change, pending)
        replayed = screen(session, change, pending)
        if replayed is not None:
            return replayed
        if change.kind == RecordKind.AUDIT:
            return apply_audit(session, change, pending, author, now)
        record = load(session, change, pending)
        if actor is not None:
            authorise(session, actor, change, record, pending)
            refuse_service_set(change, record)
        settling, settled_first = conflicts_settled(session, change)
        change = without_settled(change, settling, settled_first)
        merged = merge(change, record, settling, author)
        refuse_taken_ref(session, change, merged, pending, author)
    except Refused as refused:
        return refused.result(change)
    record = write_record(session, pending, change, record, merged, author, now)
    if change.kind == RecordKind.WARNING and merged.changed:
        shares.after_warning(session, pending, record)
    kept = keep_clashes(session, pending, record, merged, author, now)
    settle(session, pending, record, settling, author, now)
    result = log_change(
        pending, change, record, merged, kept, settling, author, now, settled_first=settled_first
    )
    return told_settled(result, record, settled_first)


# ------------------------------------------------------------------------- phases


def screen(session: Session, change: Change, pending: Pending) -> ChangeResult | None:
    """A replay's result (``duplicate``), or None for a change to apply; refuses a change
    sent twice in one batch, a change to an erased case and a case whose case_id is not its
    own id."""
    if change.change_id in pending.change_ids:
        raise Refused(ErrorCode.VALIDATION, "This change was sent twice in one batch.")
    if change.change_id in pending.done:
        return ChangeResult(
            change_id=change.change_id,
            status=ChangeStatus.DUPLICATE,
            version=pending.done[change.change_id],
        )
    if change.change_id not in pending.checked_changes:
        done = session.get(AppliedChange, change.change_id)
        if done is not None:
            return ChangeResult(
                change_id=change.change_id, status=ChangeStatus.DUPLICATE, version=done.version
            )
    refuse_erased(session, change, pending)
    if change.kind == RecordKind.CASE and change.case_id != change.record_id:
        raise Refused(ErrorCode.VALIDATION, "A case's case_id must be its own id.")
    check_schema(session, change, pending)
    return None


def refuse_erased(session: Session, change: Change, pending: Pending) -> None:
    """Refuse a change to an erased case or record (``erased``): it must never come back."""
    if pending.erased is None:
        cases, records = erasure.erased_among(session, [change.case_id], [change.record_id])
    else:
        cases, records = pending.erased
    if change.case_id in cases or change.record_id in records:
        raise Refused(ErrorCode.ERASED, erasure.REFUSAL)


def check_schema(session: Session, change: Change, pending: Pending) -> None:
    """Refuse a change whose fields fail the record schema (:mod:`server.records.validate`):
    a new record (and every audit event) must be whole, an update must set valid values."""
    if change.kind == RecordKind.AUDIT:
        new = True
    elif change.record_id in pending.records:
        new = False
    elif change.record_id in pending.loaded:
        new = pending.loaded[change.record_id] is None
    else:
        new = change.record_id not in load_records(session, [change.record_id])
    problems = validate.problems_of(change, new=new)
    if problems:
        raise Refused(ErrorCode.VALIDATION, *validate.refusal(change.kind, problems))


def load(session: Session, change: Change, pending: Pending) -> Touched | None:
    """The record the change names (as this batch left it), or None for a new record."""
    if change.record_id in pending.records:
        record: Touched | None = pending.records[change.record_id]
    elif change.record_id in pending.loaded:
        record = pending.loaded[change.record_id]
    else:
        record = load_records(session, [change.record_id]).get(change.record_id)
    if record is not None and (
        record.kind != change.kind.value or record.case_id != change.case_id
    ):
        raise Refused(ErrorCode.VALIDATION, "This change does not match the record it names.")
    return record


def authorise(
    session: Session, actor: Actor, change: Change, record: Touched | None, pending: Pending
) -> None:
    """Refuse (and audit) a change to a case the actor may not see. A new case is theirs to
    make when it is for their team or assigned to them."""
    scope = pending.scope(session, change.case_id)
    if change.kind == RecordKind.CASE and record is None:
        team = change.fields.get("team", actor.team)
        if team == actor.team or change.fields.get("assigned_to") == actor.username:
            return
    elif scope is None:
        raise Refused(
            ErrorCode.NOT_FOUND,
            "The case this belongs to is not on the central service. Send the case first.",
        )
    elif can_see(scope, actor.team, actor.username):
        return
    elif change.kind == RecordKind.PERSON and shares.shared_with(session, change.record_id, actor):
        return  # a person is theirs to keep up to date through their own case about them
    elif scope.team is not None and scope.team in _grace(session, actor, pending):
        return  # work done before its user moved team, sent before the case leaves the laptop
    audit_refusal(pending, "access_denied", actor.username, actor.device_key, change)
    raise Refused(
        ErrorCode.FORBIDDEN,
        "This case belongs to another team, so the change was not made. Ask your manager.",
    )


def refuse_service_set(change: Change, record: Touched | None) -> None:
    """Refuse a device's change to a field only the service writes
    (:data:`sync.records.SERVICE_SET`): the old systems' ids of a person. Sending the value
    the record holds (or none, for a new record) is no change and is let through."""
    for name in SERVICE_SET.get(change.kind, frozenset()):
        if name not in change.fields:
            continue
        holds = record.fields.get(name) if record is not None else None
        if (change.fields[name] or "") != (holds or ""):
            raise Refused(
                ErrorCode.VALIDATION,
                f"The {change.kind.value}'s {name} are set by the central service only "
                "(from the old systems' records), so the change was not made.",
            )


def _grace(session: Session, actor: Actor, pending: Pending) -> set[str]:
    if pending.grace is None:
        pending.grace = moves.grace_teams(session, actor.device_id)
    return pending.grace


def audit_refusal(
    pending: Pending,
    event: str,
    username: str,
    device_key: str | None,
    change: Change,
    **detail: str,
) -> None:
    """An audit entry for a refused change (kept though the change is not applied)."""
    pending.audit.append(
        AuditEvent(
            event,
            actor=username,
            device_id=device_key,
            record_kind=change.kind.value,
            record_id=str(change.record_id),
            case_id=str(change.case_id),
            detail={"change_id": str(change.change_id), **detail},
        )
    )


def conflicts_settled(
    session: Session, change: Change
) -> tuple[dict[str, list[Conflict]], dict[str, list[Conflict]]]:
    """The open conflicts this change settles, by field, and those it names that a decision
    settled first (the first decision settles a clash for everyone). Each must be of this
    record and its field must be set by the change. The rows are locked, so of two decisions
    sent at once one waits for the other and then finds the clash settled."""
    settling: dict[str, list[Conflict]] = {}
    settled_first: dict[str, list[Conflict]] = {}
    for conflict_id in change.resolves:
        row = session.get(Conflict, conflict_id, with_for_update=True)
        if row is None or row.record_id != change.record_id:
            raise Refused(ErrorCode.VALIDATION, "This change settles a conflict of another record.")
        (settled_first if row.resolved else settling).setdefault(row.field, []).append(row)
    if any(name not in change.fields for name in [*settling, *settled_first]):
        raise Refused(ErrorCode.VALIDATION, "A change that settles a conflict must set its field.")
    return settling, settled_first


def without_settled(
    change: Change, settling: dict[str, list[Conflict]], settled_first: dict[str, list[Conflict]]
) -> Change:
    """The change without the fields of clashes a decision settled first (that decision
    stands: a second one would only start the clash again)."""
    drop = settled_first.keys() - settling.keys()
    if not drop:
        return change
    fields = {name: value for name, value in change.fields.items() if name not in drop}
    return change.model_copy(update={"fields": fields})


def told_settled(
    result: ChangeResult, record: Touched, settled_first: dict[str, list[Conflict]]
) -> ChangeResult:
    """The result, saying which clashes were settled first and what their fields hold now
    (the laptop shows that instead of its own choice, and tells its user)."""
    if not settled_first:
        return result
    result.settled = [conflict_info(row) for rows in settled_first.values() for row in rows]
    result.fields_now = {name: record.fields.get(name) for name in settled_first}
    return result


def refuse_taken_ref(
    session: Session, change: Change, merged: MergeResult, pending: Pending, author: Author
) -> None:
    """Refuse (``duplicate_ref``, audited as ``duplicate_ref_refused`` with both cases' ids, so
    IT can see a laptop that hands out taken references) a case change that would give the
    case a reference another case holds: references are unique forever. The unique index on
    ``case_scope.ref`` backs this up against a concurrent push (the route then retries on
    fresh data)."""
    ref = merged.applied.get("ref") if change.kind == RecordKind.CASE else None
    if not isinstance(ref, str) or not ref:
        return
    holder = ref_holder(session, ref, pending, besides=change.case_id)
    if holder is None:
        return
    audit_refusal(
        pending,
        "duplicate_ref_refused",
        author.username,
        author.device_key,
        change,
        ref=ref,
        held_by=str(holder),
    )
    raise Refused(
        ErrorCode.DUPLICATE_REF,
        f"Another case already has the reference {ref}. Fieldcase gives this case a new "
        "reference and sends it again.",
    )


def merge(
    change: Change, record: Touched | None, settling: dict[str, list[Conflict]], author: Author
) -> MergeResult:
    """The per-field merge of the change into the record as stored."""
    current = dict(record.fields) if record else {}
    stamps = {k: Stamp.from_json(v) for k, v in (record.stamps if record else {}).items()}
    try:
        merged = merge_change(
            change.kind,
            record is not None,
            current,
            stamps,
            change.base_version,
            change.fields,
            author.writer,
            resolving=set(settling),
        )
    except MergeRefused as refused:
        code = ErrorCode.CONFLICT if refused.reason == "append_only" else ErrorCode.VALIDATION
        raise Refused(code, refused.message) from refused
    if (
        record is None
        and change.kind == RecordKind.CASE
        and "team" not in merged.applied
        and author.actor is not None
    ):
        merged.applied["team"] = author.actor.team  # a new case without a team is the sender's
    return merged


def write_record(
    session: Session,
    pending: Pending,
    change: Change,
    record: Touched | None,
    merged: MergeResult,
    author: Author,
    now: datetime,
) -> Touched:
    """Apply the merged fields (a new version when anything changed) and keep a case's
    scope in step."""
    if record is None:
        record = Touched(
            record_id=change.record_id,
            kind=change.kind.value,
            case_id=change.case_id,
            version=0,
            fields={},
            stamps={},
            created_at=now,
            updated_at=now,
            updated_by=author.username,
            is_new=True,
        )
    if not merged.changed and record.version != 0:
        return record
    # the laptop holds exactly this version when its change applied whole on the version it
    # was made on: its pulls need not send the record back
    whole = (
        change.base_version == record.version
        and record.record_id not in pending.redirected
        and not merged.clashes
        and merged.applied.keys() <= change.fields.keys()  # the service added nothing
    )
    version = record.version + 1
    record.echo_free_for = echo_mark(author.device_key, version) if whole else None
    stamp = Stamp(version=version, device=author.writer, user=author.username, at=now.isoformat())
    record.fields = {**record.fields, **merged.applied}
    record.stamps = {**record.stamps, **{name: stamp.to_json() for name in merged.applied}}
    record.version = version
    record.updated_at, record.updated_by = now, author.username
    pending.records[record.record_id] = record
    if change.kind == RecordKind.CASE:
        set_scope(session, pending, record.record_id, record.fields, now)
    return record


def echo_mark(device_key: str | None, version: int) -> str | None:
    """``record.echo_free_for``: the device and the version its push made (a write that moves
    the version without setting it, however it is made, no longer matches)."""
    return None if device_key is None else f"{device_key}@{version}"


def keep_clashes(
    session: Session,
    pending: Pending,
    record: Touched,
    merged: MergeResult,
    author: Author,
    now: datetime,
) -> list[Conflict]:
    """A conflict row for each field where the change lost to a newer value."""
    kept = []
    for clash in merged.clashes:
        row = Conflict(
            kind=record.kind,
            record_id=record.record_id,
            case_id=record.case_id,
            field=clash.field,
            kept_value=clash.kept_value,
            kept_by=clash.kept_stamp.user,
            kept_at=datetime.fromisoformat(clash.kept_stamp.at),
            other_value=clash.other_value,
            other_by=author.username,
            other_at=now,
            seq=0,
        )
        session.add(row)
        kept.append(row)
        pending.conflicts[row.id] = row
    return kept


def settle(
    session: Session,
    pending: Pending,
    record: Touched,
    settling: dict[str, list[Conflict]],
    author: Author,
    now: datetime,
) -> None:
    """Mark the conflicts the change settles as resolved, with the value now stored."""
    for name, rows in settling.items():
        for row in rows:
            row.resolved = True
            row.resolved_value = record.fields.get(name)
            row.resolved_by = author.username
            row.resolved_at = now
            session.add(row)
            pending.conflicts[row.id] = row


def log_change(
    pending: Pending,
    change: Change,
    record: Touched,
    merged: MergeResult,
    kept: list[Conflict],
    settling: dict[str, list[Conflict]],
    author: Author,
    now: datetime,
    *,
    settled_first: dict[str, list[Conflict]] | None = None,
) -> ChangeResult:
    """Remember the change id (replays become duplicates), audit it, and answer."""
    status = ChangeStatus.CONFLICT if kept else ChangeStatus.APPLIED
    _remember(pending, change, author, status, record.version, now)
    pending.audit.append(
        AuditEvent(
            "change_applied",
            actor=author.username,
            device_id=author.device_key,
            record_kind=record.kind,
            record_id=str(record.record_id),
            case_id=str(record.case_id),
            detail={
                "change_id": str(change.change_id),
                "fields": sorted(merged.applied),
                "conflicts": [str(c.id) for c in kept],
                "resolved": [str(c.id) for rows in settling.values() for c in rows],
                # clashes it meant to settle that a decision settled first (not set again)
                "settled_first": [
                    str(c.id) for rows in (settled_first or {}).values() for c in rows
                ],
                "version": record.version,
            },
        )
    )
    return ChangeResult(
        change_id=change.change_id,
        status=status,
        version=record.version,
        conflicts=[conflict_info(c) for c in kept],
    )


def _remember(
    pending: Pending,
    change: Change,
    author: Author,
    status: ChangeStatus,
    version: int,
    now: datetime,
) -> None:
    pending.applied_rows.append(
        {
            "change_id": change.change_id,
            "device_id": author.device_id,
            "record_id": change.record_id,
            "status": status.value,
            "version": version,
            "at": now,
        }
    )
    pending.change_ids.add(change.change_id)


def apply_audit(
    session: Session, change: Change, pending: Pending, author: Author, now: datetime
) -> ChangeResult:
    """A device's own audit event: checked like any record (the case must be on the service
    and one the device may see; a refusal is audited; its action and detail passed the record
    schema in the screen phase), then appended to the audit trail as ``laptop_<action>``
    (:mod:`server.records.uploaded_audit`; not sent to other laptops)."""
    if author.actor is not None:
        authorise(session, author.actor, change, None, pending)
    stored = stored_event(change.fields)
    _remember(pending, change, author, ChangeStatus.APPLIED, 1, now)
    actor = author.actor
    pending.audit.append(
        AuditEvent(
            stored["event"],
            actor=actor.username if actor else None,
            device_id=actor.device_key if actor else None,
            record_kind=stored["record_kind"],
            record_id=stored["record_id"],
            case_id=str(change.case_id),
            detail={"uploaded": True, "audit_id": str(change.record_id), **stored["detail"]},
        )
    )
    return ChangeResult(change_id=change.change_id, status=ChangeStatus.APPLIED, version=1)


# -------------------------------------------------------------------------- batches


def prefetch(session: Session, changes: Sequence[Change], pending: Pending) -> None:
    """Load (and lock) everything a batch touches in a few queries instead of one per change."""
    change_ids = [c.change_id for c in changes]
    for change_id, version in session.exec(
        select(AppliedChange.change_id, AppliedChange.version).where(
            col(AppliedChange.change_id).in_(change_ids)
        )
    ).all():
        pending.done[change_id] = version
    pending.checked_changes.update(change_ids)
    record_ids = sorted({c.record_id for c in changes})
    found = load_records(session, record_ids)
    for record_id in record_ids:
        pending.loaded[record_id] = found.get(record_id)
    case_ids = sorted({c.case_id for c in changes})
    scopes = {
        row.case_id: row
        for row in session.exec(select(CaseScope).where(col(CaseScope.case_id).in_(case_ids)))
    }
    for case_id in case_ids:
        pending.scopes[case_id] = found_scope = scopes.get(case_id)
        if found_scope is not None:
            pending.note_ref(found_scope)
    # only references that pass the record schema: the changes are not checked yet, and a
    # hostile one (a NUL, a megabyte) must be refused by its own check, not break this query
    refs = sorted(
        {
            c.fields["ref"]
            for c in changes
            if c.kind == RecordKind.CASE
            and isinstance(c.fields.get("ref"), str)
            and not check_fields(RecordKind.CASE, {"ref": c.fields["ref"]}, whole=False)
        }
    )
    if refs:
        pending.stored_refs.update(dict.fromkeys(refs))
        for case_id, ref in session.exec(
            select(CaseScope.case_id, CaseScope.ref).where(col(CaseScope.ref).in_(refs))
        ):
            if ref is not None:
                pending.stored_refs[ref] = case_id
    pending.erased = erasure.erased_among(session, case_ids, record_ids)
    shares.look_up_redirects(session, pending, changes)


def order_for_push(changes: Sequence[Change]) -> list[int]:
    """Indexes in the order to apply: new cases first (so a person or note sent in the same
    batch finds its case), then everything else as sent."""
    first = [i for i, c in enumerate(changes) if c.kind == RecordKind.CASE and c.base_version == 0]
    rest = [i for i in range(len(changes)) if i not in set(first)]
    return first + rest


def push_changes(
    session: Session, actor: Actor, changes: Sequence[Change], *, clock: Clock
) -> list[ChangeResult]:
    """Apply a batch (the caller commits). Each change gets its own result, in the order sent."""
    pending = Pending()
    results: dict[int, ChangeResult] = {}
    with session.no_autoflush:
        prefetch(session, changes, pending)
        for index in order_for_push(changes):
            results[index] = apply_change(session, actor, changes[index], pending, clock=clock)
    if actor.device_id is not None:
        session.execute(
            update(Device).where(col(Device.id) == actor.device_id).values(last_seen_at=clock.now())
        )
    finalize(session, pending, at=clock.now())
    return [results[i] for i in range(len(changes))]


def note_push_mark(session: Session, device_id: uuid.UUID | None, mark: int | None) -> None:
    """Keep the highest push mark the device sent (in the push's own unit of work, so a
    refused or failed push leaves it as it was; a replayed batch can only raise it)."""
    if device_id is None or mark is None:
        return
    session.execute(
        update(Device)
        .where(col(Device.id) == device_id, col(Device.push_mark) < mark)
        .values(push_mark=mark)
    )


def device_push_mark(session: Session, device_id: uuid.UUID | None) -> int:
    """The highest push mark the device sent (0: none yet)."""
    if device_id is None:
        return 0
    found = session.exec(select(Device.push_mark).where(col(Device.id) == device_id)).first()
    return int(found or 0)


def service_change(
    session: Session,
    record: Record | Touched,
    fields: dict[str, Any],
    by: str,
    pending: Pending,
    *,
    clock: Clock,
) -> ChangeResult:
    """A change made by the service itself (e.g. ``admin assign``), based on the current
    version so it always applies."""
    change = Change(
        change_id=uuid.uuid4(),
        kind=RecordKind(record.kind),
        record_id=record.record_id,
        case_id=record.case_id,
        base_version=record.version,
        fields=fields,
        made_at=clock.now(),
    )
    return apply_change(session, None, change, pending, clock=clock, by=by)
