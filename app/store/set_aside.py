"""Records from the service that this laptop could not store, kept aside: the one owner of the
``set_aside_record`` table.

A pulled record that cannot be stored (a required field empty, a value of the wrong kind, a
reference another case already has, anything the data file refuses) must not stop the sync:
the sync adapter keeps it here, in the encrypted store, and carries on. Setting one aside
queues a ``set_aside`` audit event (record kind, record id, the reason's code as detail; never
personal data), sent to the service like every audit event, so IT can list them.

A set-aside record leaves the table when a later version of it is stored, when its case leaves
this laptop, or when it is tried again and stored: after an update of Fieldcase (rows made by
another version), and at every sync for a reference that was already taken (the case holding
it may have changed). The doctor and the sync summary count them here.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import Connection, delete, func, or_, select
from sqlmodel import Session

from app import __version__
from app.store import outbox
from app.store.models import AuditEvent, SetAsideRecord
from sync.protocol import RecordState

log = logging.getLogger("fieldcase.store.set_aside")

Db = Session | Connection
_T = SetAsideRecord.__table__  # type: ignore[attr-defined]

#: The Fieldcase that sets records aside now (a row made by another one is tried again).
APP_VERSION = __version__
ACTION = "set_aside"

# Reason codes: short, stable, sent to the service as the audit event's detail.
MISSING = "missing_field"
WRONG_TYPE = "wrong_type"
DUPLICATE = "duplicate"
BROKEN_RULE = "broken_rule"
BAD_TEXT = "bad_text"
REFUSED = "refused"

#: Reasons that depend on what else this laptop holds: tried again at every sync.
RETRY_EVERY_SYNC = frozenset({DUPLICATE})

#: (with the field's name, without it) for each reason code.
_SENTENCES = {
    MISSING: (
        "The field {field} is empty, and this laptop needs it.",
        "A field it needs is empty.",
    ),
    WRONG_TYPE: (
        "The field {field} holds a value of the wrong kind.",
        "A field holds a value of the wrong kind.",
    ),
    DUPLICATE: (
        "The field {field} has the same value as another record on this laptop.",
        "A field has the same value as another record on this laptop.",
    ),
    BROKEN_RULE: (
        "The field {field} does not follow the rules for this kind of record.",
        "It does not follow the rules for this kind of record.",
    ),
    BAD_TEXT: ("It holds text this laptop cannot store.",) * 2,
    REFUSED: ("This laptop's data file refused it.",) * 2,
}


@dataclass(frozen=True)
class Reason:
    """Why a record was set aside: a short code and one plain sentence (field names only)."""

    code: str
    text: str

    @classmethod
    def of(cls, code: str, field: str | None = None) -> Reason:
        named, unnamed = _SENTENCES[code]
        return cls(code, named.format(field=field) if field else unnamed)


class Refusal(Exception):
    """Internal: this record cannot be stored, for ``reason``."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason.code)
        self.reason = reason


_CONSTRAINT = re.compile(r"(NOT NULL|UNIQUE|CHECK) constraint failed: (?:\w+\.)?(\w+)")


def reason_of(err: BaseException) -> Reason:
    """The reason for a store error raised by one record (SQLite's words, without values)."""
    current: BaseException | None = err
    while current is not None:
        if isinstance(current, UnicodeError):
            return Reason.of(BAD_TEXT)
        found = _CONSTRAINT.search(str(current).splitlines()[0] if str(current) else "")
        if found:
            kind, field = found.groups()
            code = {"NOT NULL": MISSING, "UNIQUE": DUPLICATE}.get(kind, BROKEN_RULE)
            return Reason.of(code, field)
        current = getattr(current, "orig", None) or current.__cause__
    if isinstance(err, (TypeError, OverflowError)):
        return Reason.of(WRONG_TYPE)
    return Reason.of(REFUSED)


# ---------------------------------------------------------------------------- writing


def record_json(record: RecordState) -> str:
    """The pulled record as ASCII JSON: any text survives (a lone surrogate, NaN) and reads
    back as it came."""
    data = record.model_dump(mode="python")
    return json.dumps(data, ensure_ascii=True, default=str, separators=(",", ":"))


def keep(
    session: Session, record: RecordState, reason: Reason, *, now: datetime, user: str
) -> bool:
    """Set ``record`` aside for ``reason``. Returns True when this is news (a new record, a
    new version or a new reason): only then is the audit event queued for the service."""
    row = session.get(SetAsideRecord, record.record_id)
    news = row is None or row.version != record.version or row.reason_code != reason.code
    values: dict[str, Any] = {
        "kind": record.kind.value,
        "case_id": record.case_id,
        "version": record.version,
        "record": record_json(record),
        "reason_code": reason.code,
        "reason": reason.text,
        "set_aside_at": now,
        "app_version": APP_VERSION,
    }
    if row is None:
        row = SetAsideRecord(record_id=record.record_id, **values)
    else:
        for name, value in values.items():
            setattr(row, name, value)
    session.add(row)
    if news:
        log.warning(
            "set aside %s %s (version %s): %s",
            record.kind.value,
            record.record_id,
            record.version,
            reason.code,
        )
        _report(session, record, reason, now=now, user=user)
    return news


def _report(
    session: Session, record: RecordState, reason: Reason, *, now: datetime, user: str
) -> None:
    """The ``set_aside`` audit event: kept in this laptop's history and sent to the service."""
    event = AuditEvent(
        id=uuid4(),
        case_id=record.case_id,
        actor=user,
        action=ACTION,
        record_kind=record.kind.value,
        record_id=record.record_id,
        at=now,
        detail=reason.code,
    )
    session.add(event)
    outbox.add_change(session, event, record.case_id, now)


def ids(db: Db) -> set[UUID]:
    """Ids of every record set aside (a small table: read whole)."""
    return {UUID(str(value)) for value in db.execute(select(_T.c.record_id)).scalars()}


def stored(session: Session, stored_ids: Iterable[UUID], aside: set[UUID] | None = None) -> int:
    """Forget records now stored (a later, good version arrived). Returns how many."""
    aside = ids(session) if aside is None else aside
    done = [record_id for record_id in stored_ids if record_id in aside]
    if done:
        session.execute(delete(_T).where(_T.c.record_id.in_(done)))
        log.info("%d set-aside record(s) stored at last", len(done))
    return len(done)


def forget_case(session: Session, case_id: UUID) -> None:
    """The case left this laptop (erasure): its set-aside records go with it."""
    session.execute(delete(_T).where(_T.c.case_id == case_id))


def due_for_retry(db: Db) -> list[RecordState]:
    """Records set aside by another Fieldcase version, or for a reason that may have gone."""
    rows = db.execute(
        select(_T.c.record).where(
            or_(_T.c.app_version != APP_VERSION, _T.c.reason_code.in_(RETRY_EVERY_SYNC))
        )
    ).scalars()
    due = []
    for value in rows:
        try:
            due.append(RecordState.model_validate(json.loads(value)))
        except ValueError:  # unreadable: it stays aside (the doctor still counts it)
            log.warning("a set-aside record could not be read back; it stays aside")
    return due


def still_aside(
    session: Session, records: Sequence[RecordState], reasons: Sequence[Reason]
) -> None:
    """Tried again and still not storable: note the reason and this version (no new report)."""
    for record, reason in zip(records, reasons, strict=True):
        row = session.get(SetAsideRecord, record.record_id)
        if row is not None:
            row.reason_code, row.reason, row.app_version = reason.code, reason.text, APP_VERSION
            session.add(row)


# ---------------------------------------------------------------------------- reading


def count(db: Db) -> int:
    """How many records from the service are set aside on this laptop."""
    return int(db.execute(select(func.count()).select_from(_T)).scalar_one())


@dataclass(frozen=True)
class SetAside:
    """One set-aside record as the doctor and tests read it (no field values)."""

    kind: str
    record_id: UUID
    case_id: UUID
    version: int
    reason_code: str
    reason: str
    set_aside_at: datetime
    app_version: str


def listing(db: Db) -> list[SetAside]:
    rows = db.execute(select(_T).order_by(_T.c.set_aside_at)).all()
    return [
        SetAside(
            row.kind,
            row.record_id,
            row.case_id,
            row.version,
            row.reason_code,
            row.reason,
            row.set_aside_at,
            row.app_version,
        )
        for row in rows
    ]


def raw_record(db: Db, record_id: UUID) -> dict[str, Any] | None:
    value = db.execute(select(_T.c.record).where(_T.c.record_id == record_id)).scalar_one_or_none()
    return None if value is None else dict(json.loads(value))
