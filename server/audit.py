"""The append-only, keyed, hash-chained audit trail.

Each entry carries the hash of the one before it; the chain's head (last id and hash, the rule
the next row is made with, and where the keyed rule starts) lives in one row that an append
locks (``SELECT ... FOR UPDATE``) until its transaction commits, so several worker processes
append one after another and never fork the chain. Entries hold ids, never names of the people
a case is about or note text.

Rules: rows written before the upgrade keep the old unkeyed rule (``"sha256"``: SHA-256 of the
canonical JSON); from ``audit_head.keyed_from`` on, each row's hash is an HMAC-SHA256 with the
key held outside the database (:mod:`server.audit_key`), and the row names the key's id. The
key changes only at a rotation row (``audit_key_rotated``, made with the old key and naming
the new key's id). A checkpoint file (:mod:`server.audit_check`) that IT keeps elsewhere
catches deletion from the end, which the chain alone cannot.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine
from sqlalchemy import select as sa_select
from sqlalchemy import update as sa_update
from sqlmodel import Session

from server.audit_key import MISSING_MESSAGE, OLD_RULE, AuditKey, AuditKeyError, load_key
from server.core.config import Settings
from server.core.db import insert_rows
from server.models import AuditEntry, AuditHead

if TYPE_CHECKING:
    from server.audit_check import VerifyReport

GENESIS = "0" * 64
ROTATED = "audit_key_rotated"
KEY_LOST = "audit_key_lost"


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


def _canonical(values: dict[str, Any], names: tuple[str, ...]) -> bytes:
    body = {k: values[k] for k in names}
    body["at"] = values["at"].astimezone(UTC).isoformat()
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode("utf-8")


def _values(entry: AuditEntry | dict[str, Any]) -> dict[str, Any]:
    if isinstance(entry, dict):
        return entry
    return {k: getattr(entry, k) for k in (*HASHED, "key_id")}


def entry_hash(entry: AuditEntry | dict[str, Any]) -> str:
    """The old, unkeyed rule ("sha256"): SHA-256 over the entry's content and the previous
    entry's hash (canonical JSON). Rows written before the trail was keyed use it."""
    return hashlib.sha256(_canonical(_values(entry), HASHED)).hexdigest()


def keyed_hash(entry: AuditEntry | dict[str, Any], secret: bytes) -> str:
    """The keyed rule: HMAC-SHA256 with the audit key over the same content plus the key's
    id. Without the key nobody can make a row that verifies."""
    message = _canonical(_values(entry), (*HASHED, "key_id"))
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


# ------------------------------------------------------------------------- the key in use

_KEYS: weakref.WeakKeyDictionary[Engine, AuditKey | None] = weakref.WeakKeyDictionary()


def use_key(engine: Engine, key: AuditKey | None) -> None:
    """Appends through ``engine`` are made with ``key`` (the service's app factory and the
    command line call this with the key from their settings)."""
    _KEYS[engine] = key


def key_for(engine: Engine) -> AuditKey | None:
    """The key appends through ``engine`` use: the one given to :func:`use_key`, else the
    one the environment's settings name for this database (tools and tests)."""
    if engine not in _KEYS:
        url = engine.url.render_as_string(hide_password=False)
        _KEYS[engine] = load_key(Settings.from_env(db_url=url))
    return _KEYS[engine]


def ready(engine: Engine, settings: Settings) -> AuditKey:
    """The key a service about to start will use: made beside an SQLite database when there
    is none, refused (plainly) when missing on PostgreSQL or not the one the trail is now
    kept with."""
    key = load_key(settings)
    if key is None:
        raise AuditKeyError(MISSING_MESSAGE)
    use_key(engine, key)
    with Session(engine) as session:
        head = session.get(AuditHead, 1)
        if head is not None:
            _usable_key(session, head.key_id)
    return key


def require_key(engine: Engine) -> AuditKey:
    """The key appends through ``engine`` will use, checked before any work is done: a plain
    :class:`AuditKeyError` when there is none or it is not the one the trail is kept with."""
    with Session(engine) as session:
        head = session.get(AuditHead, 1)
        return _usable_key(session, head.key_id if head is not None else OLD_RULE)


def _engine_of(session: Session) -> Engine:
    bind = session.get_bind()
    return bind.engine if isinstance(bind, Connection) else bind


def _lock_head(session: Session) -> Any:
    table = AuditHead.__table__  # type: ignore[attr-defined]
    return session.execute(
        sa_select(table.c.last_id, table.c.last_hash, table.c.key_id)
        .where(table.c.id == 1)
        .with_for_update()
    ).one()


def _usable_key(session: Session, head_key: str) -> AuditKey:
    key = key_for(_engine_of(session))
    if key is None:
        raise AuditKeyError(MISSING_MESSAGE)
    if head_key not in (OLD_RULE, key.key_id):
        raise AuditKeyError(
            f"The audit trail is now kept with the key whose id is {head_key}, but this "
            f"service has the key {key.key_id}. Point FIELDCASE_AUDIT_KEY_FILE at the key "
            f"file with id {head_key} and restart (see docs/server-deployment.md)."
        )
    return key


def append(session: Session, events: list[AuditEvent], *, at: datetime) -> None:
    """Append events, stamped ``at``, to the chain inside the caller's transaction (which
    must then commit). The head row stays locked until then, so concurrent appends queue up
    behind it."""
    if not events:
        return
    head = _lock_head(session)
    key = _usable_key(session, str(head[2]))
    _write(session, events, at, key, int(head[0]), str(head[1]), next_key=key.key_id)


def _write(
    session: Session,
    events: list[AuditEvent],
    at: datetime,
    key: AuditKey,
    last_id: int,
    last_hash: str,
    *,
    next_key: str,
) -> tuple[int, str]:
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
            "key_id": key.key_id,
        }
        row["hash"] = keyed_hash(row, key.secret)
        rows.append(row)
        last_id, last_hash = row["id"], row["hash"]
    insert_rows(session, AuditEntry.__table__, rows)  # type: ignore[attr-defined]
    session.execute(
        sa_update(AuditHead.__table__)  # type: ignore[attr-defined]
        .where(AuditHead.__table__.c.id == 1)  # type: ignore[attr-defined]
        .values(last_id=last_id, last_hash=last_hash, key_id=next_key)
    )
    return last_id, last_hash


def rotate(session: Session, new_key: AuditKey, *, at: datetime, actor: str = "admin") -> None:
    """Start using ``new_key`` from the next row: a rotation row, made with the current key,
    names the new key's id (so a row made with any other key after it is refused)."""
    head = _lock_head(session)
    key = _usable_key(session, str(head[2]))
    if new_key.key_id == key.key_id:
        raise AuditKeyError("The new audit key is the key already in use. Make a new one.")
    event = AuditEvent(
        ROTATED, actor=actor, detail={"old_key": key.key_id, "new_key": new_key.key_id}
    )
    _write(session, [event], at, key, int(head[0]), str(head[1]), next_key=new_key.key_id)


def verify(session: Session, batch: int = 5000) -> VerifyReport:
    """Check the whole trail with the key this database's appends use (see
    :func:`server.audit_check.verify` for several keys and a checkpoint)."""
    from server.audit_check import verify as check

    key = key_for(_engine_of(session))
    return check(session, {key.key_id: key.secret} if key else {}, batch=batch)


def declare_lost(
    session: Session, new_key: AuditKey, *, at: datetime, actor: str = "admin"
) -> None:
    """The key the trail is kept with is lost: go on with ``new_key`` from a row made with
    the new key that names the lost one. Rows made with the lost key stay in the trail but
    can no longer be checked (``verify-audit`` says so: exit 4)."""
    head = _lock_head(session)
    lost = str(head[2])
    if lost == new_key.key_id:
        raise AuditKeyError("The new audit key is the key already in use. Make a new one.")
    event = AuditEvent(KEY_LOST, actor=actor, detail={"lost_key": lost, "new_key": new_key.key_id})
    _write(session, [event], at, new_key, int(head[0]), str(head[1]), next_key=new_key.key_id)
