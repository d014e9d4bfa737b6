"""Synced records: push (per-field merge, conflicts kept), pull (scoped, paged by bytes).

Change-log positions (``seq`` on records, conflicts and scope events) come from one counter
row that :func:`finalize` updates at the very end of a writing transaction. The row stays
locked until that transaction commits, so a transaction that takes positions later also
commits later: positions follow commit order and a pull that has seen position N has seen
every committed position below N. Pulls read one snapshot (REPEATABLE READ on PostgreSQL).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, or_, text, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from server import audit
from server.audit import AuditEvent
from server.crud import Actor
from server.errors import ApiError
from server.models import (
    AppliedChange,
    CaseScope,
    Conflict,
    Counter,
    Device,
    Record,
    ScopeEvent,
    utcnow,
)
from sync.merge import MergeRefused, Stamp, merge_change
from sync.protocol import (
    Change,
    ChangeResult,
    ChangeStatus,
    ConflictInfo,
    ErrorBody,
    ErrorCode,
    PullResponse,
    RecordState,
)
from sync.records import FIELDS, RecordKind

CURSOR_PREFIX = "c1."
#: Rows read per stream for a page: about what ``max_bytes`` holds (pages are bounded by bytes).
MIN_PULL_ROWS, MAX_PULL_ROWS, ROW_BYTES = 200, 20_000, 200


# ------------------------------------------------------------------------------ scope


def can_see(scope: CaseScope | None, team: str, username: str) -> bool:
    if scope is None:
        return False
    return (scope.team is not None and scope.team == team) or (
        scope.assigned_to is not None and scope.assigned_to == username
    )


def visible_case_ids(team: str, username: str) -> Any:
    """A subquery of the case ids a user may see (their team's, or assigned to them)."""
    return select(CaseScope.case_id).where(
        or_(col(CaseScope.team) == team, col(CaseScope.assigned_to) == username)
    )


def case_visible_to(session: Session, case_id: uuid.UUID, actor: Actor) -> bool:
    return can_see(session.get(CaseScope, case_id), actor.team, actor.username)


# ------------------------------------------------------------------------------ push


@dataclass
class Touched:
    """A record as a push sees and changes it (plain data; written with one statement per
    batch at commit time rather than through ORM objects)."""

    record_id: uuid.UUID
    kind: str
    case_id: uuid.UUID
    version: int
    fields: dict[str, Any]
    stamps: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    updated_by: str
    is_new: bool
    seq: int = 0

    @classmethod
    def from_row(cls, row: Any) -> Touched:
        return cls(
            record_id=row.record_id,
            kind=row.kind,
            case_id=row.case_id,
            version=row.version,
            fields=dict(row.fields or {}),
            stamps=dict(row.stamps or {}),
            created_at=row.created_at,
            updated_at=row.updated_at,
            updated_by=row.updated_by,
            is_new=False,
        )

    def values(self) -> dict[str, Any]:
        return {
            "record_id": self.record_id,
            "kind": self.kind,
            "case_id": self.case_id,
            "version": self.version,
            "fields": self.fields,
            "stamps": self.stamps,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "updated_by": self.updated_by,
            "seq": self.seq,
        }


def _load_records(session: Session, record_ids: list[uuid.UUID]) -> dict[uuid.UUID, Touched]:
    """Read and lock records (FOR UPDATE on PostgreSQL) as plain data."""
    table = Record.__table__  # type: ignore[attr-defined]
    rows = session.execute(
        sa_select(table)
        .where(table.c.record_id.in_(record_ids))
        .order_by(table.c.record_id)
        .with_for_update()
    ).all()
    return {row.record_id: Touched.from_row(row) for row in rows}


@dataclass
class Pending:
    """What one writing transaction touched, to be given log positions at commit time."""

    records: dict[uuid.UUID, Touched] = field(default_factory=dict)
    conflicts: dict[uuid.UUID, Conflict] = field(default_factory=dict)
    scope_events: list[ScopeEvent] = field(default_factory=list)
    audit: list[AuditEvent] = field(default_factory=list)
    change_ids: set[uuid.UUID] = field(default_factory=set)
    applied_rows: list[dict[str, Any]] = field(default_factory=list)
    #: Looked up before the batch (see :func:`prefetch`): change id -> version, record rows.
    done: dict[uuid.UUID, int | None] = field(default_factory=dict)
    checked_changes: set[uuid.UUID] = field(default_factory=set)
    loaded: dict[uuid.UUID, Touched | None] = field(default_factory=dict)
    scopes: dict[uuid.UUID, CaseScope | None] = field(default_factory=dict)

    def scope(self, session: Session, case_id: uuid.UUID) -> CaseScope | None:
        if case_id not in self.scopes:
            self.scopes[case_id] = session.get(CaseScope, case_id)
        return self.scopes[case_id]


def _rejected(change: Change, code: ErrorCode, message: str) -> ChangeResult:
    return ChangeResult(
        change_id=change.change_id,
        status=ChangeStatus.REJECTED,
        error=ErrorBody(code=code, message=message),
    )


def conflict_info(row: Conflict) -> ConflictInfo:
    return ConflictInfo(
        conflict_id=row.id,
        kind=RecordKind(row.kind),
        record_id=row.record_id,
        case_id=row.case_id,
        field=row.field,
        kept_value=row.kept_value,
        kept_by=row.kept_by,
        kept_at=row.kept_at,
        other_value=row.other_value,
        other_by=row.other_by,
        other_at=row.other_at,
        resolved=row.resolved,
        resolved_value=row.resolved_value,
        resolved_by=row.resolved_by,
    )


def _set_scope(
    session: Session, pending: Pending, case_id: uuid.UUID, fields: dict[str, Any]
) -> None:
    scope = pending.scope(session, case_id)
    new_team, new_assigned, ref = fields.get("team"), fields.get("assigned_to"), fields.get("ref")
    if scope is None:
        scope = CaseScope(case_id=case_id, ref=ref, team=new_team, assigned_to=new_assigned)
        pending.scopes[case_id] = scope
        session.add(scope)
        return
    if (scope.team, scope.assigned_to) != (new_team, new_assigned):
        pending.scope_events.append(
            ScopeEvent(
                seq=0,
                case_id=case_id,
                old_team=scope.team,
                old_assigned=scope.assigned_to,
                new_team=new_team,
                new_assigned=new_assigned,
                at=utcnow(),
            )
        )
    scope.team, scope.assigned_to, scope.ref = new_team, new_assigned, ref
    session.add(scope)


def apply_change(  # noqa: C901  (split into phases: issue 9)
    session: Session, actor: Actor | None, change: Change, pending: Pending, *, by: str = ""
) -> ChangeResult:
    """Merge one change (without committing). ``actor`` None means the service itself."""
    username = actor.username if actor else by or "admin"
    device_key = actor.device_key if actor else None
    if change.change_id in pending.change_ids:
        return _rejected(change, ErrorCode.VALIDATION, "This change was sent twice in one batch.")
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
    kind = change.kind
    if kind == RecordKind.CASE and change.case_id != change.record_id:
        return _rejected(change, ErrorCode.VALIDATION, "A case's case_id must be its own id.")
    if kind == RecordKind.AUDIT:
        return _apply_audit(session, actor, change, pending)

    if change.record_id in pending.records:
        record: Touched | None = pending.records[change.record_id]
    elif change.record_id in pending.loaded:
        record = pending.loaded[change.record_id]
    else:
        record = _load_records(session, [change.record_id]).get(change.record_id)
    if record is not None and (record.kind != kind.value or record.case_id != change.case_id):
        return _rejected(
            change, ErrorCode.VALIDATION, "This change does not match the record it names."
        )
    if actor is not None:
        denied = _check_access(session, actor, change, record, pending)
        if denied is not None:
            return denied

    conflicts: list[Conflict] = []
    resolving: dict[str, list[Conflict]] = {}
    for conflict_id in change.resolves:
        row = session.get(Conflict, conflict_id)
        if row is None or row.record_id != change.record_id:
            return _rejected(
                change, ErrorCode.VALIDATION, "This change settles a conflict of another record."
            )
        if not row.resolved:
            resolving.setdefault(row.field, []).append(row)
    missing = [name for name in resolving if name not in change.fields]
    if missing:
        return _rejected(
            change, ErrorCode.VALIDATION, "A change that settles a conflict must set its field."
        )

    current = dict(record.fields) if record else {}
    stamps = {k: Stamp.from_json(v) for k, v in (record.stamps if record else {}).items()}
    try:
        merged = merge_change(
            kind,
            record is not None,
            current,
            stamps,
            change.base_version,
            change.fields,
            device_key,
            resolving=set(resolving),
        )
    except MergeRefused as refused:
        code = ErrorCode.CONFLICT if refused.reason == "append_only" else ErrorCode.VALIDATION
        return _rejected(change, code, refused.message)

    now = utcnow()
    if record is None:
        if kind == RecordKind.CASE and "team" not in merged.applied and actor is not None:
            merged.applied["team"] = actor.team
        record = Touched(
            record_id=change.record_id,
            kind=kind.value,
            case_id=change.case_id,
            version=0,
            fields={},
            stamps={},
            created_at=now,
            updated_at=now,
            updated_by=username,
            is_new=True,
        )
    if merged.changed or record.version == 0:
        version = record.version + 1
        new_fields = dict(record.fields)
        new_stamps = dict(record.stamps)
        stamp = Stamp(version=version, device=device_key, user=username, at=now.isoformat())
        for name, value in merged.applied.items():
            new_fields[name] = value
            new_stamps[name] = stamp.to_json()
        record.fields, record.stamps = new_fields, new_stamps
        record.version = version
        record.updated_at, record.updated_by = now, username
        pending.records[record.record_id] = record
        if kind == RecordKind.CASE:
            _set_scope(session, pending, record.record_id, new_fields)

    for clash in merged.clashes:
        row = Conflict(
            kind=kind.value,
            record_id=record.record_id,
            case_id=record.case_id,
            field=clash.field,
            kept_value=clash.kept_value,
            kept_by=clash.kept_stamp.user,
            kept_at=datetime.fromisoformat(clash.kept_stamp.at),
            other_value=clash.other_value,
            other_by=username,
            other_at=now,
            seq=0,
        )
        session.add(row)
        conflicts.append(row)
        pending.conflicts[row.id] = row
    for name, rows in resolving.items():
        for row in rows:
            row.resolved = True
            row.resolved_value = record.fields.get(name)
            row.resolved_by = username
            row.resolved_at = now
            session.add(row)
            pending.conflicts[row.id] = row

    status = ChangeStatus.CONFLICT if conflicts else ChangeStatus.APPLIED
    pending.applied_rows.append(
        {
            "change_id": change.change_id,
            "device_id": actor.device.id if actor and actor.device else None,
            "record_id": change.record_id,
            "status": status.value,
            "version": record.version,
            "at": now,
        }
    )
    pending.change_ids.add(change.change_id)
    pending.audit.append(
        AuditEvent(
            "change_applied",
            actor=username,
            device_id=device_key,
            record_kind=kind.value,
            record_id=str(record.record_id),
            case_id=str(record.case_id),
            detail={
                "change_id": str(change.change_id),
                "fields": sorted(merged.applied),
                "conflicts": [str(c.id) for c in conflicts],
                "resolved": [str(c.id) for rows in resolving.values() for c in rows],
                "version": record.version,
            },
        )
    )
    return ChangeResult(
        change_id=change.change_id,
        status=status,
        version=record.version,
        conflicts=[conflict_info(c) for c in conflicts],
    )


def _check_access(
    session: Session, actor: Actor, change: Change, record: Touched | None, pending: Pending
) -> ChangeResult | None:
    scope = pending.scope(session, change.case_id)
    if change.kind == RecordKind.CASE and record is None:
        team = change.fields.get("team", actor.team)
        if team == actor.team or change.fields.get("assigned_to") == actor.username:
            return None
    elif scope is None:
        return _rejected(
            change,
            ErrorCode.NOT_FOUND,
            "The case this belongs to is not on the central service. Send the case first.",
        )
    elif can_see(scope, actor.team, actor.username):
        return None
    pending.audit.append(
        AuditEvent(
            "access_denied",
            actor=actor.username,
            device_id=actor.device_key,
            record_kind=change.kind.value,
            record_id=str(change.record_id),
            case_id=str(change.case_id),
            detail={"change_id": str(change.change_id)},
        )
    )
    return _rejected(
        change,
        ErrorCode.FORBIDDEN,
        "This case belongs to another team, so the change was not made. Ask your manager.",
    )


def _apply_audit(
    session: Session, actor: Actor | None, change: Change, pending: Pending
) -> ChangeResult:
    """A device's own audit event: appended to the audit trail (not sent to other laptops)."""
    allowed = set(FIELDS[RecordKind.AUDIT])
    if any(name not in allowed for name in change.fields):
        return _rejected(change, ErrorCode.VALIDATION, "This audit event has unknown fields.")
    pending.applied_rows.append(
        {
            "change_id": change.change_id,
            "device_id": actor.device.id if actor and actor.device else None,
            "record_id": change.record_id,
            "status": ChangeStatus.APPLIED.value,
            "version": 1,
            "at": utcnow(),
        }
    )
    pending.change_ids.add(change.change_id)
    detail = {k: v for k, v in change.fields.items() if k not in ("record_kind", "record_id")}
    pending.audit.append(
        AuditEvent(
            "device_" + str(change.fields.get("action") or "event")[:40],
            actor=actor.username if actor else None,
            device_id=actor.device_key if actor else None,
            record_kind=str(change.fields.get("record_kind") or "") or None,
            record_id=str(change.fields.get("record_id") or "") or None,
            case_id=str(change.case_id),
            detail={"uploaded": True, "audit_id": str(change.record_id), **detail},
        )
    )
    return ChangeResult(change_id=change.change_id, status=ChangeStatus.APPLIED, version=1)


def take_positions(session: Session, count: int) -> int:
    """Reserve ``count`` change-log positions; returns the first. Locks the counter row until
    the transaction ends, so positions are handed out in commit order."""
    if count <= 0:
        return 0
    value = session.execute(
        update(Counter)
        .where(col(Counter.name) == "log")
        .values(value=col(Counter.value) + count)
        .returning(col(Counter.value))
    ).scalar_one()
    return int(value) - count + 1


def finalize(session: Session, pending: Pending) -> None:
    """Give everything touched its log position and append the audit events. The caller
    commits straight after."""
    items: list[Touched | Conflict | ScopeEvent] = [
        *pending.records.values(),
        *pending.conflicts.values(),
        *pending.scope_events,
    ]
    position = take_positions(session, len(items))
    for item in items:
        item.seq = position
        position += 1
        if not isinstance(item, Touched):
            session.add(item)
    session.flush()
    table = Record.__table__  # type: ignore[attr-defined]
    new = [r.values() for r in pending.records.values() if r.is_new]
    if new:
        session.execute(table.insert(), new)
    changed = [{**r.values(), "rid": r.record_id} for r in pending.records.values() if not r.is_new]
    if changed:
        session.execute(
            table.update()
            .where(table.c.record_id == bindparam("rid"))
            .values(
                version=bindparam("version"),
                fields=bindparam("fields"),
                stamps=bindparam("stamps"),
                updated_at=bindparam("updated_at"),
                updated_by=bindparam("updated_by"),
                seq=bindparam("seq"),
            ),
            changed,
        )
    if pending.applied_rows:
        session.execute(AppliedChange.__table__.insert(), pending.applied_rows)  # type: ignore[attr-defined]
    audit.append(session, pending.audit)


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
    found = _load_records(session, record_ids)
    for record_id in record_ids:
        pending.loaded[record_id] = found.get(record_id)
    case_ids = sorted({c.case_id for c in changes})
    scopes = {
        row.case_id: row
        for row in session.exec(select(CaseScope).where(col(CaseScope.case_id).in_(case_ids)))
    }
    for case_id in case_ids:
        pending.scopes[case_id] = scopes.get(case_id)


def order_for_push(changes: Sequence[Change]) -> list[int]:
    """Indexes in the order to apply: new cases first (so a person or note sent in the same
    batch finds its case), then everything else as sent."""
    first = [i for i, c in enumerate(changes) if c.kind == RecordKind.CASE and c.base_version == 0]
    rest = [i for i in range(len(changes)) if i not in set(first)]
    return first + rest


def push(session: Session, actor: Actor, changes: Sequence[Change]) -> list[ChangeResult]:
    """Apply a batch and commit it. Each change gets its own result, in the order sent."""
    pending = Pending()
    results: dict[int, ChangeResult] = {}
    with session.no_autoflush:
        prefetch(session, changes, pending)
        for index in order_for_push(changes):
            results[index] = apply_change(session, actor, changes[index], pending)
    if actor.device is not None:
        session.execute(
            update(Device).where(col(Device.id) == actor.device.id).values(last_seen_at=utcnow())
        )
    finalize(session, pending)
    session.commit()
    return [results[i] for i in range(len(changes))]


# ------------------------------------------------------------------------------ pull


def parse_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    if not cursor.startswith(CURSOR_PREFIX) or not cursor[len(CURSOR_PREFIX) :].isdigit():
        raise ApiError(
            ErrorCode.VALIDATION,
            "The sync position sent is not one this service gave out. Fieldcase will start "
            "the download again.",
            detail={"field": "cursor"},
        )
    return int(cursor[len(CURSOR_PREFIX) :])


def make_cursor(position: int) -> str:
    return f"{CURSOR_PREFIX}{position}"


_FIELDS_BY_KIND = {kind.value: names for kind, names in FIELDS.items()}
_PULL_COLUMNS = (
    "record_id",
    "kind",
    "case_id",
    "version",
    "fields",
    "updated_at",
    "updated_by",
    "seq",
)


def record_state(row: Any) -> RecordState:
    """A stored record as the wire's :class:`RecordState` (every field of its kind)."""
    kind = RecordKind(row.kind)
    fields = {name: row.fields.get(name) for name in FIELDS[kind]}
    return RecordState(
        kind=kind,
        record_id=row.record_id,
        case_id=row.case_id,
        version=row.version,
        fields=fields,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def record_json(row: Any) -> str:
    """The same as ``record_state(row).model_dump_json()``, made directly (pulls send many)."""
    stored = row.fields or {}
    return json.dumps(
        {
            "kind": row.kind,
            "record_id": str(row.record_id),
            "case_id": str(row.case_id),
            "version": row.version,
            "fields": {name: stored.get(name) for name in _FIELDS_BY_KIND[row.kind]},
            "updated_at": row.updated_at.isoformat(),
            "updated_by": row.updated_by,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )


def _size(model: ConflictInfo) -> int:
    return len(model.model_dump_json()) + 1


@dataclass
class PullPage:
    """One pull answer, with its records already serialised."""

    records: dict[uuid.UUID, str]
    removed_cases: list[uuid.UUID]
    conflicts: dict[uuid.UUID, ConflictInfo]
    next_cursor: str
    more: bool

    def to_json(self) -> str:
        tail = PullResponse(
            records=[],
            removed_cases=self.removed_cases,
            conflicts=list(self.conflicts.values()),
            next_cursor=self.next_cursor,
            more=self.more,
            server_time=utcnow(),
        ).model_dump_json()
        assert tail.startswith('{"records":[]')
        return '{"records":[' + ",".join(self.records.values()) + "]" + tail[len('{"records":[]') :]

    def to_model(self) -> PullResponse:
        return PullResponse.model_validate_json(self.to_json())


def _record_rows(session: Session, *conditions: Any, limit: int | None = None) -> list[Any]:
    table = Record.__table__  # type: ignore[attr-defined]
    query = sa_select(*[table.c[name] for name in _PULL_COLUMNS]).where(*conditions)
    query = query.order_by(table.c.seq)
    if limit is not None:
        query = query.limit(limit)
    return list(session.execute(query).all())


def pull(session: Session, actor: Actor, cursor: str | None, max_bytes: int) -> PullPage:
    """One page of what the actor may see that changed after ``cursor``. The session must
    read one snapshot (see :func:`server.core.db.snapshot_session`)."""
    after = parse_cursor(cursor)
    team, username = actor.team, actor.username
    visible = visible_case_ids(team, username)
    table = Record.__table__  # type: ignore[attr-defined]
    rows = min(MAX_PULL_ROWS, max(MIN_PULL_ROWS, max_bytes // ROW_BYTES))
    records = _record_rows(session, table.c.seq > after, table.c.case_id.in_(visible), limit=rows)
    conflicts = session.exec(
        select(Conflict)
        .where(Conflict.seq > after, Conflict.case_id.in_(visible))  # type: ignore[attr-defined]
        .order_by(Conflict.seq)  # type: ignore[arg-type]
        .limit(rows)
    ).all()
    events = session.exec(
        select(ScopeEvent)
        .where(
            col(ScopeEvent.seq) > after,
            or_(
                col(ScopeEvent.old_team) == team,
                col(ScopeEvent.new_team) == team,
                col(ScopeEvent.old_assigned) == username,
                col(ScopeEvent.new_assigned) == username,
            ),
        )
        .order_by(ScopeEvent.seq)  # type: ignore[arg-type]
        .limit(rows)
    ).all()
    horizon: int | None = None
    for stream in (records, conflicts, events):
        if len(stream) == rows:
            last = stream[-1].seq
            horizon = last if horizon is None else min(horizon, last)
    items: list[tuple[int, int, Any]] = sorted(
        [(r.seq, 0, r) for r in records]
        + [(c.seq, 1, c) for c in conflicts]
        + [(e.seq, 2, e) for e in events],
        key=lambda triple: triple[0],
    )
    if horizon is not None:
        items = [triple for triple in items if triple[0] <= horizon]

    page = PullPage({}, [], {}, make_cursor(after), False)
    used = 0
    position = after
    taken = 0
    for seq, what, item in items:
        if taken and used >= max_bytes:
            break
        if what == 0:
            text_ = record_json(item)
            page.records[item.record_id] = text_
            used += len(text_) + 1
        elif what == 1:
            info = conflict_info(item)
            page.conflicts[item.id] = info
            used += _size(info)
        else:
            used += _scope_change(session, actor, item, page)
        position = seq
        taken += 1
    page.more = taken < len(items) or horizon is not None
    page.next_cursor = make_cursor(position)
    return page


def _scope_change(session: Session, actor: Actor, event: ScopeEvent, page: PullPage) -> int:
    """A case's scope changed: send it whole if the actor may see it now, else remove it."""
    if not case_visible_to(session, event.case_id, actor):
        if event.case_id not in page.removed_cases:
            page.removed_cases.append(event.case_id)
        for key in [k for k, v in page.records.items() if f'"case_id":"{event.case_id}"' in v]:
            del page.records[key]
        return 40
    if event.case_id in page.removed_cases:
        page.removed_cases.remove(event.case_id)
    used = 0
    table = Record.__table__  # type: ignore[attr-defined]
    for row in _record_rows(session, table.c.case_id == event.case_id):
        text_ = record_json(row)
        page.records[row.record_id] = text_
        used += len(text_) + 1
    for open_conflict in session.exec(
        select(Conflict).where(Conflict.case_id == event.case_id, Conflict.resolved == False)  # noqa: E712
    ).all():
        info = conflict_info(open_conflict)
        page.conflicts[open_conflict.id] = info
        used += _size(info)
    return used


# ------------------------------------------------------------------------ service changes


def find_case_by_ref(session: Session, ref: str) -> CaseScope | None:
    return session.exec(select(CaseScope).where(CaseScope.ref == ref)).first()


def service_change(
    session: Session, record: Record | Touched, fields: dict[str, Any], by: str, pending: Pending
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
        made_at=utcnow(),
    )
    return apply_change(session, None, change, pending, by=by)


def bulk_insert(
    session: Session,
    rows: Iterable[tuple[RecordKind, uuid.UUID, uuid.UUID, dict[str, Any]]],
    by: str,
) -> int:
    """Insert brand-new records quickly (demo and benchmark seeding). Not audited per record."""
    now = utcnow()
    stamp = Stamp(version=1, device=None, user=by, at=now.isoformat()).to_json()
    batch = list(rows)
    position = take_positions(session, len(batch))
    records = []
    scopes = []
    for kind, record_id, case_id, fields in batch:
        records.append(
            {
                "record_id": record_id,
                "kind": kind.value,
                "case_id": case_id,
                "version": 1,
                "fields": fields,
                "stamps": dict.fromkeys(fields, stamp),
                "created_at": now,
                "updated_at": now,
                "updated_by": by,
                "seq": position,
            }
        )
        position += 1
        if kind == RecordKind.CASE:
            scopes.append(
                {
                    "case_id": case_id,
                    "ref": fields.get("ref"),
                    "team": fields.get("team"),
                    "assigned_to": fields.get("assigned_to"),
                }
            )
    if records:
        session.execute(Record.__table__.insert(), records)  # type: ignore[attr-defined]
    if scopes:
        session.execute(CaseScope.__table__.insert(), scopes)  # type: ignore[attr-defined]
    if session.get_bind().dialect.name == "postgresql":
        # fresh statistics, so the planner walks the change log by position after a bulk load
        session.execute(text("ANALYZE record"))
        session.execute(text("ANALYZE case_scope"))
    return len(records)
