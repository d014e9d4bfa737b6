"""Admin actions on stored records and on what laptops could not store.

``check-records [--quarantine]`` finds records in the service's database that fail the record
schema (:data:`sync.records.SCHEMA`): records stored before the service checked every change.
With ``--quarantine`` they are moved aside into ``record_quarantine`` (audited), so pulls no
longer send them and laptops that stopped at one sync again. Exit status: 0 when every record
passes, :data:`EXIT_FOUND` when some fail (listed; moved aside too with ``--quarantine``).

``problems`` lists what laptops set aside: records from the service a laptop could not store,
reported as audit events (event ``laptop_set_aside``).
"""

from __future__ import annotations

import argparse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import delete
from sqlmodel import Session, col, select

from server import audit
from server.audit import AuditEvent
from server.cli.common import Commands, engine_of, settings_of
from server.core.db import unit_of_work
from server.models import AuditEntry, CaseScope, QuarantinedRecord, Record
from sync.clock import Clock
from sync.records import FIELDS, FieldProblem, RecordKind, check_record, safe_name

#: Exit status of ``check-records`` when records fail the schema.
EXIT_FOUND = 3
#: Audit events of records a laptop set aside (``laptop_`` + the audit action ``set_aside``).
SET_ASIDE_EVENTS = ("laptop_set_aside",)
_BATCH = 500


@dataclass(frozen=True)
class BadRecord:
    record_id: uuid.UUID
    kind: str
    case_id: uuid.UUID
    problems: list[FieldProblem]


def problems_of(kind: str, fields: dict[str, object]) -> list[FieldProblem]:
    """A stored record's problems (only its synced fields count, as pulls send only those)."""
    try:
        record_kind = RecordKind(kind)
    except ValueError:
        return [FieldProblem("kind", "is not a record kind")]
    if not isinstance(fields, dict):
        return [FieldProblem("fields", "is not an object of field names and values")]
    synced = {name: value for name, value in fields.items() if name in FIELDS[record_kind]}
    return check_record(record_kind, synced)


def bad_records(session: Session) -> Iterator[BadRecord]:
    """Every stored record that fails the schema, in change-log order."""
    after = -1
    while True:
        rows = session.exec(
            select(Record).where(col(Record.seq) > after).order_by(col(Record.seq)).limit(_BATCH)
        ).all()
        if not rows:
            return
        for row in rows:
            problems = problems_of(row.kind, row.fields)
            if problems:
                yield BadRecord(row.record_id, row.kind, row.case_id, problems)
        after = rows[-1].seq


def _refs(session: Session, case_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    found: dict[uuid.UUID, str] = {}
    ids = sorted(case_ids)
    for start in range(0, len(ids), _BATCH):
        chunk = ids[start : start + _BATCH]
        for case_id, ref in session.exec(
            select(CaseScope.case_id, CaseScope.ref).where(col(CaseScope.case_id).in_(chunk))
        ).all():
            found[case_id] = safe_name(ref) if ref else "-"
    return found


def quarantine(session: Session, bad: list[BadRecord], clock: Clock) -> None:
    """Move the records aside (inside the caller's transaction) and audit each move."""
    now = clock.now()
    events = []
    for item in bad:
        row = session.get(Record, item.record_id)
        if row is None:  # pragma: no cover - read in the same transaction
            continue
        problems = [{"field": p.field, "reason": p.reason} for p in item.problems]
        session.add(
            QuarantinedRecord(
                record_id=row.record_id,
                kind=row.kind,
                case_id=row.case_id,
                version=row.version,
                fields=row.fields,
                stamps=row.stamps,
                created_at=row.created_at,
                updated_at=row.updated_at,
                updated_by=row.updated_by,
                seq=row.seq,
                problems=problems,
                quarantined_at=now,
                quarantined_by="admin",
            )
        )
        events.append(
            AuditEvent(
                "record_quarantined",
                actor="admin",
                record_kind=safe_name(row.kind),
                record_id=str(row.record_id),
                case_id=str(row.case_id),
                detail={"fields": sorted({p.field for p in item.problems})},
            )
        )
    session.flush()
    ids = [item.record_id for item in bad]
    for start in range(0, len(ids), _BATCH):
        session.execute(
            delete(Record).where(col(Record.record_id).in_(ids[start : start + _BATCH]))
        )
    audit.append(session, events, at=now)


def cmd_check_records(args: argparse.Namespace, clock: Clock) -> int:
    engine = engine_of(settings_of(args))
    with unit_of_work(engine) as session:
        bad = list(bad_records(session))
        if not bad:
            print("Every stored record passes the record schema.")
            return 0
        refs = _refs(session, {item.case_id for item in bad})
        print(f"{len(bad)} stored record{'s' if len(bad) != 1 else ''} fail the record schema:")
        for item in bad:
            where = f"{safe_name(item.kind)}  {item.record_id}  case {refs.get(item.case_id, '-')}"
            for problem in item.problems:
                print(f"  {where}  {problem.field}: {problem.reason}")
        if args.quarantine:
            quarantine(session, bad, clock)
    if args.quarantine:
        print(
            f"Moved {len(bad)} record{'s' if len(bad) != 1 else ''} aside (table "
            "record_quarantine): laptops no longer receive them. Each move is in the audit trail."
        )
    else:
        print(
            "Laptops may stop syncing at these. Run `fieldcase-server admin check-records "
            "--quarantine` to move them aside."
        )
    return EXIT_FOUND


def cmd_problems(args: argparse.Namespace, clock: Clock) -> int:
    engine = engine_of(settings_of(args))
    with Session(engine) as session:
        rows = session.exec(
            select(AuditEntry)
            .where(col(AuditEntry.event).in_(SET_ASIDE_EVENTS))
            .order_by(col(AuditEntry.id).desc())
            .limit(args.limit)
        ).all()
    if not rows:
        print("No laptop has reported a record it could not store.")
        return 0
    print(f"Records laptops could not store (newest first, at most {args.limit}):")
    print("  when                       user  device  kind  record  case  reason")
    for row in rows:
        detail = row.detail if isinstance(row.detail, dict) else {}
        reason = detail.get("detail") or detail.get("reason") or "-"
        print(
            f"  {row.at.isoformat(timespec='seconds')}  {row.actor or '-'}  {row.device_id or '-'}"
            f"  {safe_name(row.record_kind or '-')}  {row.record_id or '-'}"
            f"  {row.case_id or '-'}  {safe_name(reason)}"
        )
    return 0


def register(commands: Commands) -> None:
    check = commands.add(
        "check-records",
        cmd_check_records,
        f"find stored records that fail the record schema (exit {EXIT_FOUND} when found)",
    )
    check.add_argument(
        "--quarantine",
        action="store_true",
        help="move them aside so laptops no longer receive them (audited)",
    )
    problems = commands.add(
        "problems", cmd_problems, "list records laptops could not store and set aside"
    )
    problems.add_argument("--limit", type=int, default=200, metavar="N")
