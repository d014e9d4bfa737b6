"""The outbox: every local change waiting to be sent to the central service, and the only
module that writes, reads, counts or clears its rows.

* A change row is made here (:func:`add_change`, or :func:`change_values` for the bulk path
  that inserts plain column dicts), in the same transaction as the edit itself.
* "How many changes are waiting to send" has ONE answer, :func:`waiting_count`: record
  changes not yet acknowledged by the service. Audit events (a case was viewed, a document
  exported) travel through the outbox too, but are never counted; changes the service
  refused are kept aside (:func:`refused_count`), not counted as waiting. The window, the
  CLI, ``fieldcase doctor`` and the sync engine all ask this function.
* A row leaves only when the service confirmed it (:func:`mark_sent`); a refused one stays,
  marked ``rejected`` with its plain-English error.

Reading functions take a :class:`Session` or a plain :class:`Connection` (the doctor reads
with a connection of its own).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import ColumnElement, Connection, and_, bindparam, delete, func, select, update
from sqlmodel import Session

from app.store.models import KIND_MODELS, Record
from app.store.records import dumps, record_fields
from app.store.tables import Outbox
from sync.protocol import Change, ChangeResult, ChangeStatus
from sync.records import RecordKind

log = logging.getLogger("fieldcase.store.outbox")

#: Answers from the service that take a change out of the outbox.
CONFIRMED = frozenset({ChangeStatus.APPLIED, ChangeStatus.DUPLICATE, ChangeStatus.CONFLICT})
IN_CHUNKS = 500

Db = Session | Connection
#: The outbox table, for the bulk path that inserts rows made by :func:`change_values`.
TABLE = Outbox.__table__  # type: ignore[attr-defined]
_T = TABLE


# ---------------------------------------------------------------------------- writing


def change_values(
    kind: RecordKind,
    record_id: UUID,
    case_id: UUID,
    base_version: int,
    fields: Mapping[str, Any],
    made_at: datetime,
    resolves: Iterable[UUID] = (),
) -> dict[str, Any]:
    """The column values of one new outbox row (``fields`` are wire values)."""
    if made_at.tzinfo is None:
        raise ValueError("a change is made at an aware UTC time")
    return {
        "change_id": uuid4(),
        "kind": kind.value,
        "record_id": record_id,
        "case_id": case_id,
        "base_version": base_version,
        "fields": dumps(dict(fields)),
        "resolves": dumps([str(r) for r in resolves]),
        "made_at": made_at,
        "rejected": False,
        "error": None,
    }


def add_change(
    session: Session,
    obj: Record,
    case_id: UUID,
    made_at: datetime,
    *,
    only: Iterable[str] | None = None,
    base_version: int | None = None,
    resolves: Iterable[UUID] = (),
) -> Outbox:
    """Queue the change of ``obj``: all its synced fields, or those in ``only``, made on the
    version the laptop holds (or ``base_version``, read before the edit)."""
    row = Outbox(
        **change_values(
            obj.KIND,
            obj.id,
            case_id,
            obj.version if base_version is None else base_version,
            record_fields(obj, None if only is None else set(only)),
            made_at,
            resolves,
        )
    )
    session.add(row)
    return row


# ---------------------------------------------------------------------------- counting


def _waiting(case_id: UUID | None = None) -> ColumnElement[bool]:
    """THE rule of "waiting to send": a record change the service has not acknowledged."""
    rule = and_(_T.c.rejected.is_(False), _T.c.kind != RecordKind.AUDIT.value)
    return rule if case_id is None else and_(rule, _T.c.case_id == case_id)


def waiting_count(db: Db, case_id: UUID | None = None) -> int:
    """How many changes are waiting to be sent (of one case, when given). Audit events are
    never counted; refused changes are counted by :func:`refused_count`."""
    stmt = select(func.count()).select_from(_T).where(_waiting(case_id))
    return int(db.execute(stmt).scalar_one())


def refused_count(db: Db) -> int:
    """Changes the service refused, kept aside on this laptop."""
    stmt = select(func.count()).select_from(_T).where(_T.c.rejected.is_(True))
    return int(db.execute(stmt).scalar_one())


def unsent_rows(db: Db, case_id: UUID) -> int:
    """Every row of a case still to go out, audit events included: a case the service removed
    is purged only when this is 0 (nothing written on this laptop is lost)."""
    stmt = (
        select(func.count())
        .select_from(_T)
        .where(_T.c.case_id == case_id, _T.c.rejected.is_(False))
    )
    return int(db.execute(stmt).scalar_one())


def waiting_records(db: Db, case_id: UUID) -> set[UUID]:
    """The records of a case with a change waiting to be sent (the window marks them)."""
    rows = db.execute(select(_T.c.record_id).where(_waiting(case_id))).scalars()
    return {UUID(str(r)) for r in rows}


# ---------------------------------------------------------------------------- reading


def _as_change(row: Any) -> Change:
    """An outbox row (an :class:`Outbox` or a plain row of its columns) as the change it
    sends."""
    return Change(
        change_id=row.change_id,
        kind=RecordKind(row.kind),
        record_id=row.record_id,
        case_id=row.case_id,
        base_version=row.base_version,
        fields=json.loads(row.fields),
        resolves=[UUID(x) for x in json.loads(row.resolves)],
        made_at=row.made_at,
    )


def pending_changes(session: Session, limit: int) -> list[Change]:
    """The oldest changes not yet confirmed (audit events too), in the order they were made,
    at most ``limit``. A batch never ends inside a run of one case's rows (an edit and its
    audit event, a new case with its person and its "created" event): that run goes whole in
    the next batch, unless it alone fills a batch."""
    rows = session.execute(
        select(_T).where(_T.c.rejected.is_(False)).order_by(_T.c.seq).limit(limit + 1)
    ).all()
    if len(rows) > limit:
        cut = limit
        while cut > 0 and rows[cut - 1].case_id == rows[limit].case_id:
            cut -= 1
        rows = rows[: cut or limit]
    return [_as_change(row) for row in rows]


def rejected_changes(session: Session) -> list[tuple[UUID, str]]:
    """(change id, plain-English reason) of changes the service refused, oldest first."""
    rows = session.execute(
        select(Outbox).where(_T.c.rejected.is_(True)).order_by(_T.c.seq)
    ).scalars()
    return [(row.change_id, row.error or "") for row in rows]


def pending_fields(session: Session, record_ids: Iterable[UUID]) -> dict[UUID, set[str]]:
    """For each record, the fields with a local edit still waiting to be sent."""
    pending: dict[UUID, set[str]] = {}
    ids = list(record_ids)
    for start in range(0, len(ids), IN_CHUNKS):
        rows = session.execute(
            select(_T.c.record_id, _T.c.fields).where(
                _T.c.rejected.is_(False), _T.c.record_id.in_(ids[start : start + IN_CHUNKS])
            )
        ).all()
        for record_id, fields in rows:
            pending.setdefault(UUID(str(record_id)), set()).update(json.loads(fields))
    return pending


def pending_resolutions(db: Db) -> set[str]:
    """Ids of clashes settled on this laptop whose decision is not sent yet."""
    rows = db.execute(select(_T.c.resolves).where(_T.c.rejected.is_(False))).scalars()
    return {value for row in rows for value in json.loads(row)}


# ---------------------------------------------------------------------------- sending


def mark_sent(session: Session, results: Sequence[ChangeResult]) -> None:
    """Take confirmed changes out (moving their records' versions on) and keep refused ones
    aside with their reason. Conflicts in the results are the caller's to store.

    A few statements for the whole batch, whatever its size: one read of the rows, one update
    of versions per record kind, one delete and one update of the refused (each in chunks of
    :data:`IN_CHUNKS` ids)."""
    answers = {result.change_id: result for result in results}
    ids = list(answers)
    rows: list[Any] = []
    for start in range(0, len(ids), IN_CHUNKS):
        rows.extend(
            session.execute(
                select(_T.c.change_id, _T.c.kind, _T.c.record_id, _T.c.base_version).where(
                    _T.c.change_id.in_(ids[start : start + IN_CHUNKS])
                )
            ).all()
        )
    # rows confirmed before (a replayed answer) are gone already and simply not found
    sent: list[UUID] = []
    refused: list[dict[str, Any]] = []
    versions: dict[RecordKind, list[dict[str, Any]]] = {}
    order = {change_id: n for n, change_id in enumerate(ids)}
    for change_id, kind, record_id, base_version in sorted(rows, key=lambda r: order[r[0]]):
        result = answers[change_id]
        if result.status in CONFIRMED:
            sent.append(change_id)
            if _advances(kind, base_version, result.version):
                versions.setdefault(RecordKind(kind), []).append(
                    {"_id": record_id, "_base": base_version, "_new": result.version}
                )
        else:
            message = result.error.message if result.error else "The service refused this change."
            refused.append({"_change": change_id, "_error": message})
            log.info("change %s refused and kept aside", change_id)
    for kind, params in versions.items():
        _advance_versions(session, kind, params)
    for start in range(0, len(sent), IN_CHUNKS):
        session.execute(delete(_T).where(_T.c.change_id.in_(sent[start : start + IN_CHUNKS])))
    if refused:
        session.execute(
            update(_T)
            .where(_T.c.change_id == bindparam("_change"))
            .values(rejected=True, error=bindparam("_error")),
            refused,
        )


def _advances(kind: str, base_version: int, version: int | None) -> bool:
    """Whether a confirmed change moves its record on: only if nothing but this change
    separates the version it was made on from the confirmed one."""
    return version is not None and version == base_version + 1 and RecordKind(kind) in KIND_MODELS


def _advance_versions(session: Session, kind: RecordKind, params: list[dict[str, Any]]) -> None:
    """Move each record to its confirmed version if the laptop still holds the version the
    change was made on (one statement, many rows, in the order the results came)."""
    table = KIND_MODELS[kind].__table__  # type: ignore[attr-defined]
    session.execute(
        update(table)
        .where(table.c.id == bindparam("_id"), table.c.version == bindparam("_base"))
        .values(version=bindparam("_new")),
        params,
    )


# ---------------------------------------------------------------------------- re-referencing


def find_change(session: Session, change_id: UUID) -> Change | None:
    """The change with this id while it is still in the outbox (waiting or refused)."""
    row = session.execute(select(Outbox).where(_T.c.change_id == change_id)).scalar_one_or_none()
    return None if row is None else _as_change(row)


def replace_case_ref(session: Session, case_id: UUID, old: str, new: str) -> None:
    """Unsent changes of a case that set its reference to ``old`` set ``new`` instead (the
    service refused ``old``: another case holds it)."""
    rows = session.execute(
        select(Outbox).where(_T.c.case_id == case_id, _T.c.kind == RecordKind.CASE.value)
    ).scalars()
    for row in rows:
        fields = json.loads(row.fields)
        if fields.get("ref") == old:
            row.fields = dumps({**fields, "ref": new})
            session.add(row)


def requeue_case(session: Session, case_id: UUID) -> list[UUID]:
    """Put a case's refused changes back in the queue (they were refused because the case
    itself was not accepted yet); returns their change ids."""
    rows = session.execute(
        select(Outbox).where(_T.c.case_id == case_id, _T.c.rejected.is_(True))
    ).scalars()
    requeued = []
    for row in rows:
        row.rejected, row.error = False, None
        session.add(row)
        requeued.append(row.change_id)
    return requeued
