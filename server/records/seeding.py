"""Brand-new records in bulk (the demo council, benchmarks): no merge, no per-record audit."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from server.core.db import insert_rows
from server.models import CaseScope, Record, person_of
from server.records.changelog import take_positions
from server.records.merge import Stamp
from server.records.wire import stored_wire, wire_text
from sync.clock import Clock
from sync.records import RecordKind


def bulk_insert(
    session: Session,
    rows: Iterable[tuple[RecordKind, uuid.UUID, uuid.UUID, dict[str, Any]]],
    by: str,
    *,
    clock: Clock,
    analyze: bool = True,
    stamped_as: str | None = None,
) -> int:
    """Insert brand-new records quickly, each with its log position. Not audited per record.
    ``analyze``: refresh PostgreSQL's statistics after (a one-off load; an import that loads
    in many batches does it once at its end). ``stamped_as``: the writer the fields are
    stamped with (see :attr:`server.records.push.Author.stamp_as`)."""
    now = clock.now()
    stamp = Stamp(version=1, device=stamped_as, user=by, at=now.isoformat()).to_json()
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
                "wire": stored_wire(wire_text(kind.value, record_id, case_id, 1, fields, now, by)),
                "person_id": person_of(kind.value, fields),
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
    insert_rows(session, Record.__table__, records)  # type: ignore[attr-defined]
    insert_rows(session, CaseScope.__table__, scopes)  # type: ignore[attr-defined]
    if analyze and session.get_bind().dialect.name == "postgresql":
        # fresh statistics, so the planner walks the change log by position after a bulk load
        session.execute(text("ANALYZE record"))
        session.execute(text("ANALYZE case_scope"))
    return len(records)
