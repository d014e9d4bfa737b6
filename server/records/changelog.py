"""The change log: what one writing transaction touched, and the positions that order it.

Change-log positions (``seq`` on records, conflicts and scope events) come from one counter
row that :func:`finalize` updates at the very end of a writing transaction. The row stays
locked until that transaction commits, so a transaction that takes positions later also
commits later: positions follow commit order and a pull that has seen position N has seen
every committed position below N. Pulls read one snapshot (REPEATABLE READ on PostgreSQL).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from server import audit
from server.audit import AuditEvent
from server.models import (
    AppliedChange,
    CaseScope,
    Conflict,
    Counter,
    Record,
    ScopeEvent,
    person_of,
)
from server.records.wire import record_json, stored_wire
from sync.protocol import ConflictInfo
from sync.records import RecordKind


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
    echo_free_for: str | None = None  # see server.models.Record.echo_free_for

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
            "wire": stored_wire(record_json(self)),
            "echo_free_for": self.echo_free_for,
            "person_id": person_of(self.kind, self.fields),
        }


def load_records(session: Session, record_ids: list[uuid.UUID]) -> dict[uuid.UUID, Touched]:
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
    #: Looked up before the batch (see :func:`server.records.push.prefetch`): change id ->
    #: version, record rows, case scopes.
    done: dict[uuid.UUID, int | None] = field(default_factory=dict)
    checked_changes: set[uuid.UUID] = field(default_factory=set)
    loaded: dict[uuid.UUID, Touched | None] = field(default_factory=dict)
    scopes: dict[uuid.UUID, CaseScope | None] = field(default_factory=dict)
    #: erased case ids and record ids among those the batch names (None: not looked up)
    erased: tuple[set[uuid.UUID], set[uuid.UUID]] | None = None
    #: old teams whose cases the pushing device may still send its waiting work on (a team
    #: move it has not pulled past: :mod:`server.records.moves`); None: not looked up
    grace: set[str] | None = None

    #: merged-away people this batch named -> where they are now (a
    #: :class:`server.records.shares.Redirect`), and every id already looked up
    redirects: dict[uuid.UUID, Any] = field(default_factory=dict)
    redirects_known: set[uuid.UUID] = field(default_factory=set)
    #: records a change was sent on to (a merged-away person's, now the kept one's): the
    #: device that sent it does not hold them as written, so its pulls must send them
    redirected: set[uuid.UUID] = field(default_factory=set)

    #: reference -> the cases of this batch whose scope has held it (see :meth:`note_ref`)
    refs: dict[str, set[uuid.UUID]] = field(default_factory=dict)
    #: reference -> the case the database held it for before the batch (None: no case), for
    #: the references :func:`server.records.push.prefetch` looked up
    stored_refs: dict[str, uuid.UUID | None] = field(default_factory=dict)

    def scope(self, session: Session, case_id: uuid.UUID) -> CaseScope | None:
        if case_id not in self.scopes:
            self.scopes[case_id] = found = session.get(CaseScope, case_id)
            if found is not None:
                self.note_ref(found)
        return self.scopes[case_id]

    def note_ref(self, scope: CaseScope) -> None:
        """Index a scope of this batch by its reference (call again when it changes)."""
        if scope.ref:
            self.refs.setdefault(scope.ref, set()).add(scope.case_id)


def conflict_info(row: Conflict) -> ConflictInfo:
    """A stored conflict as the wire's :class:`ConflictInfo`."""
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
        resolved_at=row.resolved_at,
    )


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


def finalize(session: Session, pending: Pending, *, at: datetime) -> None:
    """Give everything touched its log position, write it and append the audit events
    (stamped ``at``). The transaction must end straight after (its owner commits), so the
    counter row is held only briefly."""
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
    _write_records(session, pending)
    if pending.applied_rows:
        session.execute(AppliedChange.__table__.insert(), pending.applied_rows)  # type: ignore[attr-defined]
    audit.append(session, pending.audit, at=at)


def _write_records(session: Session, pending: Pending) -> None:
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
                wire=bindparam("wire"),
                echo_free_for=bindparam("echo_free_for"),
                person_id=bindparam("person_id"),
            ),
            changed,
        )
