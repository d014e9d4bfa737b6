"""The laptop's copy of the service's conflicts (clashes), and the one module that writes it:
conflicts arrive with pulled pages and with push answers (:mod:`app.store.sync_adapter`);
:mod:`app.core.clashes` reads them for people.

The first decision settles a clash for everyone (protocol 4). This laptop's user is told, once,
when someone else's decision goes against them: a pulled decision against their own version,
or their own decision that reached the service second (``conflict.tell``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import or_, update
from sqlalchemy.dialects.sqlite import insert as upsert
from sqlmodel import Session, col, select

from app.store import outbox
from app.store.models import KIND_MODELS
from app.store.records import from_wire
from app.store.tables import Conflict
from sync.protocol import Change, ChangeResult, ConflictInfo
from sync.records import RecordKind, check_fields

log = logging.getLogger("fieldcase.store.sync")

_TABLE = Conflict.__table__  # type: ignore[attr-defined]


def info_of(row: Conflict) -> ConflictInfo:
    """A stored conflict as the wire's :class:`ConflictInfo`."""
    return ConflictInfo(
        conflict_id=row.conflict_id,
        kind=RecordKind(row.kind),
        record_id=row.record_id,
        case_id=row.case_id,
        field=row.field,
        kept_value=json.loads(row.kept_value),
        kept_by=row.kept_by,
        kept_at=row.kept_at,
        other_value=json.loads(row.other_value),
        other_by=row.other_by,
        other_at=row.other_at,
        resolved=row.resolved,
        resolved_value=json.loads(row.resolved_value),
        resolved_by=row.resolved_by,
        resolved_at=row.resolved_at,
    )


def value_json(value: Any) -> str:
    """A conflict's value as stored: JSON in ASCII, so a value holding a lone surrogate (a
    legacy record on the service) is kept as its escape instead of failing the page."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def store(s: Session, infos: Sequence[ConflictInfo], tell: Collection[UUID] = ()) -> None:
    """New or resolved conflicts (of a pulled page or a push's answer), in one statement; a
    conflict already here is replaced (its user, once to be told of a decision, stays so
    until told). ``tell``: those whose decision this laptop's user is to be told of."""
    if not infos:
        return
    rows = [
        {
            "conflict_id": info.conflict_id,
            "kind": info.kind.value,
            "record_id": info.record_id,
            "case_id": info.case_id,
            "field": info.field,
            "kept_value": value_json(info.kept_value),
            "kept_by": info.kept_by,
            "kept_at": info.kept_at,
            "other_value": value_json(info.other_value),
            "other_by": info.other_by,
            "other_at": info.other_at,
            "resolved": info.resolved,
            "resolved_value": value_json(info.resolved_value),
            "resolved_by": info.resolved_by,
            "resolved_at": info.resolved_at,
            "tell": info.conflict_id in tell,
        }
        for info in infos
    ]
    stmt = upsert(_TABLE)
    columns: dict[str, Any] = {
        name: stmt.excluded[name] for name in rows[0] if name != "conflict_id"
    }
    columns["tell"] = or_(_TABLE.c.tell, stmt.excluded.tell)
    s.execute(stmt.on_conflict_do_update(index_elements=["conflict_id"], set_=columns), rows)


def side_of(info: ConflictInfo, user: str) -> tuple[bool, Any]:
    """Whether ``user`` made one side of the clash, and that side's value."""
    if info.other_by == user:
        return True, info.other_value
    if info.kept_by == user:
        return True, info.kept_value
    return False, None


def _settled_here(s: Session, ids: Collection[UUID]) -> set[UUID]:
    """Of these conflicts, those this laptop already holds as settled."""
    found = s.exec(
        select(Conflict.conflict_id).where(
            col(Conflict.conflict_id).in_(list(ids)), col(Conflict.resolved).is_(True)
        )
    ).all()
    return set(found)


def decided_against(s: Session, infos: Sequence[ConflictInfo], user: str) -> set[UUID]:
    """Of pulled conflicts, those someone else settled against ``user``'s own side that this
    laptop held open or had not seen (a decision it already knew of is not news)."""
    against: set[UUID] = set()
    for info in infos:
        if not info.resolved or info.resolved_by == user:
            continue
        made, value = side_of(info, user)
        if made and value_json(value) != value_json(info.resolved_value):
            against.add(info.conflict_id)
    return against - _settled_here(s, against) if against else against


def settled_first(s: Session, result: ChangeResult, change: Change | None) -> None:
    """A decision of this laptop came second (protocol 4): the first one stands. Its user is
    told when their choice differs (unless a pull told them already), and the record shows
    the service's value (unless a later edit here waits to be sent)."""
    known = _settled_here(s, [info.conflict_id for info in result.settled])
    tell = {
        info.conflict_id
        for info in result.settled
        if info.conflict_id not in known
        and (
            change is None
            or value_json(change.fields.get(info.field)) != value_json(info.resolved_value)
        )
    }
    store(s, result.settled, tell)
    first = result.settled[0]
    model = KIND_MODELS.get(first.kind)
    obj = s.get(model, first.record_id) if model is not None else None
    if model is None or obj is None:
        return
    waiting = outbox.pending_fields(s, [first.record_id]).get(first.record_id, set())
    # the service's values are checked like a pulled record's: one this laptop cannot store
    # is left out (the next pull of the record brings it, or sets it aside), never a failure
    # that would keep the push's answer from being recorded
    now = {name: v for name, v in result.fields_now.items() if name not in waiting}
    if check_fields(first.kind, now, whole=False):
        log.warning("a settled clash came with values that do not fit; left to the next pull")
        return
    for name, value in now.items():
        setattr(obj, name, from_wire(model, name, value))
    s.add(obj)
    log.info("clash decision came second: %s", [str(i.conflict_id) for i in result.settled])


def take_decisions_to_tell(s: Session) -> list[ConflictInfo]:
    """Clashes someone else settled against this user since they were last told; each is
    returned once (the caller's transaction commits that they were told)."""
    rows = s.exec(
        select(Conflict).where(col(Conflict.tell).is_(True)).order_by(col(Conflict.resolved_at))
    ).all()
    told = [info_of(row) for row in rows]
    if told:
        s.execute(update(_TABLE).where(_TABLE.c.tell.is_(True)).values(tell=False))
    return told
