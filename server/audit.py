"""The append-only, hash-chained audit trail.

Each entry carries the hash of the one before it; the chain's head (last id and hash) lives in
one row that an append locks (``SELECT ... FOR UPDATE``) until its transaction commits, so
several worker processes append one after another and never fork the chain. Entries hold ids,
never names of the people a case is about or note text.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select as sa_select
from sqlalchemy import update as sa_update
from sqlmodel import Session, col, select

from server.models import AuditEntry, AuditHead

GENESIS = "0" * 64


@dataclass
class AuditEvent:
    event: str
    actor: str | None = None
    device_id: str | None = None
    address: str | None = None
    record_kind: str | None = None
    record_id: str | None = None
    case_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


HASHED = (
    "id",
    "at",
    "event",
    "actor",
    "device_id",
    "address",
    "record_kind",
    "record_id",
    "case_id",
    "detail",
    "prev_hash",
)


def entry_hash(entry: AuditEntry | dict[str, Any]) -> str:
    """SHA-256 over the entry's content and the previous entry's hash (canonical JSON)."""
    values = entry if isinstance(entry, dict) else {k: getattr(entry, k) for k in HASHED}
    body = {k: values[k] for k in HASHED}
    body["at"] = values["at"].astimezone(UTC).isoformat()
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def append(session: Session, events: list[AuditEvent], *, at: datetime) -> None:
    """Append events, stamped ``at``, to the chain inside the caller's transaction (which
    must then commit). The head row stays locked until then, so concurrent appends queue up
    behind it."""
    if not events:
        return
    head = session.execute(
        sa_select(AuditHead.__table__.c.last_id, AuditHead.__table__.c.last_hash)  # type: ignore[attr-defined]
        .where(AuditHead.__table__.c.id == 1)  # type: ignore[attr-defined]
        .with_for_update()
    ).one()
    last_id, last_hash = int(head[0]), str(head[1])
    rows = []
    for ev in events:
        row: dict[str, Any] = {
            "id": last_id + 1,
            "at": at,
            "event": ev.event,
            "actor": ev.actor,
            "device_id": ev.device_id,
            "address": ev.address,
            "record_kind": ev.record_kind,
            "record_id": ev.record_id,
            "case_id": ev.case_id,
            "detail": ev.detail,
            "prev_hash": last_hash,
        }
        row["hash"] = entry_hash(row)
        rows.append(row)
        last_id, last_hash = row["id"], row["hash"]
    session.execute(AuditEntry.__table__.insert(), rows)  # type: ignore[attr-defined]
    session.execute(
        sa_update(AuditHead.__table__)  # type: ignore[attr-defined]
        .where(AuditHead.__table__.c.id == 1)  # type: ignore[attr-defined]
        .values(last_id=last_id, last_hash=last_hash)
    )


@dataclass
class VerifyReport:
    ok: bool
    checked: int
    broken_id: int | None = None
    reason: str = ""


def verify(session: Session, batch: int = 5000) -> VerifyReport:
    """Walk the chain from the start; report the first row whose link or content is wrong."""
    expected_prev = GENESIS
    expected_id = 1
    checked = 0
    after = 0
    while True:
        rows = session.exec(
            select(AuditEntry)
            .where(col(AuditEntry.id) > after)
            .order_by(col(AuditEntry.id))
            .limit(batch)
        ).all()
        if not rows:
            break
        for row in rows:
            if row.id != expected_id:
                return VerifyReport(
                    False, checked, expected_id, f"row {expected_id} is missing (deleted)"
                )
            if row.prev_hash != expected_prev:
                return VerifyReport(
                    False, checked, row.id, f"row {row.id} does not link to the row before it"
                )
            if entry_hash(row) != row.hash:
                return VerifyReport(False, checked, row.id, f"row {row.id} was altered")
            expected_prev = row.hash
            expected_id += 1
            checked += 1
            after = row.id
    head = session.get(AuditHead, 1)
    if head is None:
        return VerifyReport(False, checked, None, "the chain's head row is missing")
    if head.last_id != expected_id - 1 or head.last_hash != expected_prev:
        missing = expected_id
        return VerifyReport(
            False, checked, missing, f"row {missing} is missing (deleted from the end)"
        )
    return VerifyReport(True, checked)
