"""Pulls: one page of what a device's user may see that changed after its cursor.

A page holds records, conflicts and scope changes in change-log order, bounded by bytes.
The session must read one snapshot (see :func:`server.core.db.snapshot_session`), so the
page and its cursor agree (see :mod:`server.records.changelog`).
"""

from __future__ import annotations

import heapq
import json
import logging
import re
import uuid
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import String, case, cast, literal, null, or_, type_coerce
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from server.crud import Actor
from server.errors import ApiError
from server.models import CaseScope, Conflict, Record, ScopeEvent, SharedRecord
from server.records import erasure, shares
from server.records.changelog import conflict_info
from server.records.scope import case_visible_to, visible_to
from server.records.wire import record_json
from sync import pull_lines
from sync.clock import Clock
from sync.protocol import (
    PROTOCOL_VERSION,
    ConflictInfo,
    ErrorCode,
    PeopleMerged,
    PullResponse,
    conflict_for,
    pull_tail_for,
)
from sync.records import ADDED_IN

log = logging.getLogger("fieldcase.server")

CURSOR_PREFIX = "c1."
#: A position inside a pull from the start (a first sync, or a laptop found rolled back): the
#: rest of such a pull sends everything, the device's own records included. The page that ends
#: it gives out a ``c1.`` cursor, and pulls after that leave the device's own records out.
FROM_START_PREFIX = "c2."
#: Bytes of records between two checkpoints of a page sent as lines.
CHECKPOINT_BYTES = 16 * 1024
#: Rows read per stream for a page: about what ``max_bytes`` holds (pages are bounded by bytes).
MIN_PULL_ROWS, MAX_PULL_ROWS, ROW_BYTES = 200, 20_000, 200

#: A pull reads of each record its ids (as they come), position and stored wire JSON; the
#: other columns only when that is NULL (see :mod:`server.records.wire`).
_RAW_ID_COLUMNS = ("record_id", "case_id")
#: A record or case id as the database driver gives it (a string on SQLite, a UUID on
#: PostgreSQL): pages key records by it without making a UUID of every id they read.
RawId = Any
_ROW_COLUMNS = ("record_id", "kind", "case_id", "version", "fields", "updated_at", "updated_by")
_RECORD, _CONFLICT, _SCOPE, _MERGE, _HORIZON = 0, 1, 2, 3, 4
#: The protocol that knows ``held_by`` and ``merged_people``.
_SHARES_PROTOCOL = 6
#: Rows read from the database at a time while a page fills.
_CHUNK_ROWS = 128
_NOT_UTF8 = (
    "a pulled page holds a record with text that is not valid UTF-8 (stored before "
    "the service checked every change); run `fieldcase-server admin check-records`"
)


#: A cursor is ``c1.`` and a change-log position: ASCII digits that fit a BIGINT.
_CURSOR_DIGITS = re.compile(r"[0-9]{1,19}")
_MAX_POSITION = 2**63 - 1


def parse_cursor(cursor: str | None) -> int:
    """The change-log position a cursor names; anything the service could not have given out
    (junk, other digits than 0-9, too large) is refused with ``bad_cursor``."""
    if not cursor:
        return 0
    prefix = cursor[: len(CURSOR_PREFIX)]
    digits = cursor[len(prefix) :] if prefix in (CURSOR_PREFIX, FROM_START_PREFIX) else ""
    if _CURSOR_DIGITS.fullmatch(digits) is None or int(digits) > _MAX_POSITION:
        raise ApiError(
            ErrorCode.BAD_CURSOR,
            "The sync position sent is not one this service gave out. Start the download "
            "again from the beginning (cursor null); Fieldcase does this by itself.",
            data={"field": "cursor"},
        )
    return int(digits)


def make_cursor(position: int, *, from_start: bool = False) -> str:
    return f"{FROM_START_PREFIX if from_start else CURSOR_PREFIX}{position}"


def is_from_start(cursor: str | None) -> bool:
    """Whether a pull with ``cursor`` is (part of) a pull from the start."""
    return not cursor or cursor.startswith(FROM_START_PREFIX)


def _size(model: ConflictInfo) -> int:
    return len(_conflict_json(model)) + 1


def _conflict_json(model: ConflictInfo, version: int = PROTOCOL_VERSION) -> str:
    """A conflict as JSON text for a laptop of protocol ``version``; its values may hold a
    lone surrogate (legacy data), which pydantic's JSON writer refuses and :func:`utf8` then
    sends as its escape."""
    data = conflict_for(model, version)
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


@dataclass
class PullPage:
    """One pull answer, with its records already as UTF-8 JSON (by record id, in log order)."""

    records: dict[RawId, bytes]
    removed_cases: list[uuid.UUID]
    conflicts: dict[uuid.UUID, ConflictInfo]
    next_cursor: str
    more: bool
    server_time: datetime
    #: the records on the page of each case (a case moved away takes its records off)
    by_case: dict[RawId, set[RawId]] = field(default_factory=dict)
    #: the log position of each record that came in log order before the page's first conflict
    #: or change of scope: a pull from there goes on exactly as the rest of the page does
    resumable: dict[RawId, int] = field(default_factory=dict)
    #: whether a conflict or a change of scope is on the page (records after it: no resuming)
    mixed: bool = False
    #: whether the page is part of a pull from the start (its checkpoints say so too)
    from_start: bool = False
    #: the protocol of the laptop the page is for (:meth:`for_protocol`)
    protocol: int = PROTOCOL_VERSION
    #: cases erased on the service (protocol 5; an older laptop hears of them as removals)
    erased_cases: list[uuid.UUID] = field(default_factory=list)
    #: people merged on the service (protocol 6)
    merged_people: list[PeopleMerged] = field(default_factory=list)
    #: records on the page through another team's case: the team holding each (protocol 6)
    held_by: dict[RawId, str] = field(default_factory=dict)

    def tail_cases(self) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
        """(removed, erased) cases as the page's laptop is told of them."""
        return pull_tail_for(self.removed_cases, self.erased_cases, self.protocol)

    def add(
        self,
        record_id: RawId,
        case_id: RawId,
        wire: bytes,
        seq: int | None = None,
        held_by: str | None = None,
    ) -> int:
        """Put a record on the page (``seq``: its log position, when it came in log order;
        ``held_by``: the team whose case holds it, when it comes through another case);
        the bytes it takes."""
        if held_by is not None:
            self.held_by[record_id] = held_by
            wire = wire[:-1] + b',"held_by":' + utf8(json.dumps(held_by, ensure_ascii=False)) + b"}"
        self.records[record_id] = wire
        self.by_case.setdefault(case_id, set()).add(record_id)
        if seq is not None and not self.mixed:
            self.resumable[record_id] = seq
        return len(wire) + 1

    def for_protocol(self, version: int) -> None:
        """Leave out of each record the fields a laptop of protocol ``version`` does not know
        (:data:`sync.records.ADDED_IN`): its check of a pulled record allows no other field,
        and would set the record aside); its conflicts likewise."""
        self.protocol = version
        if version < _SHARES_PROTOCOL:
            for record_id in self.held_by:
                record = json.loads(self.records[record_id])
                record.pop("held_by", None)
                self.records[record_id] = utf8(
                    json.dumps(record, separators=(",", ":"), ensure_ascii=False)
                )
        dropped = {
            kind.value: {name for name, added in names.items() if added > version}
            for kind, names in ADDED_IN.items()
        }
        starts = {f'{{"kind":"{kind}"'.encode(): kind for kind, names in dropped.items() if names}
        if not starts:
            return
        for record_id, wire in self.records.items():
            kind = next((k for start, k in starts.items() if wire.startswith(start)), None)
            if kind is None:
                continue
            record = json.loads(wire)
            for name in dropped[kind]:
                record["fields"].pop(name, None)
            self.records[record_id] = utf8(
                json.dumps(record, separators=(",", ":"), ensure_ascii=False)
            )

    def drop_case(self, case_id: uuid.UUID) -> None:
        # one id made per case on the page, not per record
        for raw in [raw for raw in self.by_case if _uuid(raw) == case_id]:
            for record_id in self.by_case.pop(raw):
                del self.records[record_id]
                self.resumable.pop(record_id, None)

    def to_bytes(self) -> bytes:
        """The page as UTF-8 JSON: the records' bytes as stored, joined. A record stored
        before the service checked every change may hold a lone surrogate, which UTF-8 cannot
        carry: it is sent as its JSON escape (``\\ud800``, see :func:`utf8`), so the pull still
        answers and the laptop sets that record aside, and the log tells IT to run
        ``admin check-records``."""
        removed, erased = self.tail_cases()
        tail = PullResponse(
            records=[],
            removed_cases=removed,
            erased_cases=erased,
            conflicts=[],
            next_cursor=self.next_cursor,
            more=self.more,
            server_time=self.server_time,
            merged_people=self.merged_people if self.protocol >= _SHARES_PROTOCOL else [],
        ).model_dump_json(exclude=_tail_unknown(self.protocol))
        assert tail.startswith('{"records":[]') and '"conflicts":[]' in tail
        conflicts = ",".join(_conflict_json(c, self.protocol) for c in self.conflicts.values())
        tail = tail[13:].replace('"conflicts":[]', f'"conflicts":[{conflicts}]', 1)
        return b"".join([b'{"records":[', b",".join(self.records.values()), b"]", utf8(tail)])

    def lines(self) -> Iterator[bytes]:
        """The page as lines (:mod:`sync.pull_lines`), with a checkpoint about every
        :data:`CHECKPOINT_BYTES` of records where a pull may go on from."""
        yield pull_lines.head_line(self.server_time)
        since = 0
        for record_id, wire in self.records.items():
            yield wire + b"\n"
            since += len(wire) + 1
            seq = self.resumable.get(record_id)
            if seq is not None and since >= CHECKPOINT_BYTES:
                yield pull_lines.checkpoint_line(make_cursor(seq, from_start=self.from_start))
                since = 0
        for conflict in self.conflicts.values():
            yield pull_lines.conflict_line(utf8(_conflict_json(conflict, self.protocol)))
        removed, erased = self.tail_cases()
        for case_id in removed:
            yield pull_lines.removed_line(str(case_id))
        for case_id in erased:
            yield pull_lines.erased_line(str(case_id))
        if self.protocol >= _SHARES_PROTOCOL:
            for merge in self.merged_people:
                yield pull_lines.merged_line(str(merge.merged), str(merge.kept))
        yield pull_lines.end_line(self.next_cursor, self.more)


def _tail_unknown(protocol: int) -> set[str] | None:
    """The tail fields a laptop of ``protocol`` does not know."""
    unknown = set()
    if protocol < 5:
        unknown.add("erased_cases")
    if protocol < _SHARES_PROTOCOL:
        unknown.add("merged_people")
    return unknown or None


def utf8(text: str) -> bytes:
    """``text`` as UTF-8; a lone surrogate (legacy data) as its JSON escape, logged."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        log.warning(_NOT_UTF8)
        return text.encode("utf-8", "backslashreplace")


def _held_by(actor: Actor | None) -> Any:
    """A column: the team holding the record's case when ``actor`` does not see that case
    (the record comes through a share), else NULL; NULL throughout when ``actor`` is None."""
    if actor is None:
        return null()
    table = Record.__table__  # type: ignore[attr-defined]
    scope = CaseScope.__table__  # type: ignore[attr-defined]
    holder = sa_select(scope.c.team).where(scope.c.case_id == table.c.case_id).scalar_subquery()
    return case((visible_to(table.c.case_id, actor.team, actor.username), null()), else_=holder)


def _record_rows(
    session: Session, *conditions: Any, limit: int | None = None, shared_for: Actor | None = None
) -> Generator[tuple[RawId, RawId, int, bytes, str | None]]:
    """(record id, case id, seq, wire JSON, held by) of the records matching, in log order,
    read from the database in chunks as they are taken (a page that is full stops reading).
    A record whose stored JSON is NULL gets it made from its row here (one more query per
    chunk). ``shared_for``: say which team holds each record that actor sees only through a
    share (else "held by" is None)."""
    table = Record.__table__  # type: ignore[attr-defined]
    columns = [type_coerce(table.c[name], String).label(name) for name in _RAW_ID_COLUMNS]
    held = _held_by(shared_for).label("held_by")
    query = sa_select(*columns, table.c.seq, table.c.wire, held).where(*conditions)
    query = query.order_by(table.c.seq)
    if limit is not None:
        query = query.limit(limit)
    result = session.execute(query, execution_options={"yield_per": _CHUNK_ROWS})
    try:
        for chunk in result.partitions():
            missing = [row[0] for row in chunk if row[3] is None]
            made = _made_wire(session, missing) if missing else {}
            for record_id, case_id, seq, wire, held_by in chunk:
                made_wire = wire if wire is not None else made[record_id]
                yield record_id, case_id, seq, made_wire, held_by
    finally:
        result.close()


def _made_wire(session: Session, raw_ids: list[RawId]) -> dict[RawId, bytes]:
    """The wire JSON of records stored without it, made from their rows."""
    table = Record.__table__  # type: ignore[attr-defined]
    by_id = {_uuid(raw): raw for raw in raw_ids}
    ids = list(by_id)
    made: dict[RawId, bytes] = {}
    for start in range(0, len(ids), 500):
        query = sa_select(*[table.c[name] for name in _ROW_COLUMNS]).where(
            table.c.record_id.in_(ids[start : start + 500])
        )
        for row in session.execute(query):
            made[by_id[row.record_id]] = utf8(record_json(row))
    return made


def _uuid(raw: RawId) -> uuid.UUID:
    return raw if isinstance(raw, uuid.UUID) else uuid.UUID(str(raw))


def _changed_since(
    session: Session, actor: Actor, after: int, rows: int, skip_own: str | None
) -> Generator[tuple[float, int, Any]]:
    """Up to ``rows`` of each stream (records, conflicts, scope events) after ``after``,
    merged in log order. A stream that gives all ``rows`` may hold more: after its last item
    comes a ``_HORIZON`` mark, where the page must end (nothing later is certain to be
    complete)."""
    team, username = actor.team, actor.username
    table = Record.__table__  # type: ignore[attr-defined]
    seen = visible_to(table.c.case_id, team, username)
    shared = _has_shares(session, actor)
    if shared:
        seen = or_(seen, shares.shared_visible_to(table.c.record_id, team, username))
    conditions = [table.c.seq > after, seen]
    if skip_own is not None:
        mine = literal(f"{skip_own}@", String) + cast(table.c.version, String)
        conditions.append(or_(table.c.echo_free_for.is_(None), table.c.echo_free_for != mine))
    records = _record_rows(session, *conditions, limit=rows, shared_for=actor if shared else None)
    conflicts = session.exec(
        select(Conflict)
        .where(col(Conflict.seq) > after, visible_to(col(Conflict.case_id), team, username))
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
    merges = shares.merges_after(session, after, rows)
    streams = [
        _marked(((r[2], _RECORD, r) for r in records), rows),
        _marked(((c.seq, _CONFLICT, c) for c in conflicts), rows),
        _marked(((e.seq, _SCOPE, e) for e in events), rows),
        _marked(((m.seq, _MERGE, m) for m in merges), rows),
    ]
    try:
        yield from heapq.merge(*streams, key=lambda triple: triple[0])
    finally:
        records.close()


def _has_shares(session: Session, actor: Actor) -> bool:
    """Whether any record is shared with a case the actor sees (most teams: none, and their
    pulls ask nothing more of each record)."""
    shared = SharedRecord.__table__  # type: ignore[attr-defined]
    query = sa_select(shared.c.record_id).where(
        visible_to(shared.c.case_id, actor.team, actor.username)
    )
    return session.execute(query.limit(1)).first() is not None


def _marked(items: Iterator[tuple[int, int, Any]], rows: int) -> Iterator[tuple[float, int, Any]]:
    """The stream's items, and after the ``rows``-th a ``_HORIZON`` mark just past it."""
    for count, item in enumerate(items, 1):
        yield item
        if count == rows:
            yield item[0] + 0.5, _HORIZON, None
            return


def pull_page(
    session: Session, actor: Actor, cursor: str | None, max_bytes: int, *, clock: Clock
) -> PullPage:
    """One page of what the actor may see that changed after ``cursor``. The session must
    read one snapshot (see :func:`server.core.db.snapshot_session`)."""
    after = parse_cursor(cursor)
    rows = min(MAX_PULL_ROWS, max(MIN_PULL_ROWS, max_bytes // ROW_BYTES))
    from_start = is_from_start(cursor)
    page = PullPage({}, [], {}, make_cursor(after), False, server_time=clock.now())
    page.from_start = from_start
    used = 0
    position = after
    # records this device pushed itself, as it holds them, are not sent back; a pull from the
    # start (a first sync, or a laptop found rolled back) gets everything, on every page
    skip_own = None if from_start else actor.device_key
    items = _changed_since(session, actor, after, rows, skip_own)
    try:
        for seq, what, item in items:
            if what == _HORIZON or (position != after and used >= max_bytes):
                page.more = True
                break
            if what == _RECORD:
                record_id, case_id, _seq, wire, held_by = item
                used += page.add(record_id, case_id, wire, seq=int(seq), held_by=held_by)
            elif what == _MERGE:
                page.mixed = True
                page.merged_people.append(PeopleMerged(merged=item.merged_id, kept=item.kept_id))
                used += 100
            elif what == _CONFLICT:
                page.mixed = True
                info = conflict_info(item)
                page.conflicts[item.id] = info
                used += _size(info)
            else:
                page.mixed = True
                used += _scope_change(session, actor, item, page)
            position = int(seq)
    finally:
        items.close()
    page.next_cursor = make_cursor(position, from_start=from_start and page.more)
    return page


def _scope_change(session: Session, actor: Actor, event: ScopeEvent, page: PullPage) -> int:
    """A case's scope changed: send it whole if the actor may see it now, else remove it."""
    if not case_visible_to(session, event.case_id, actor):
        told = (
            page.erased_cases if erasure.tombstone(session, event.case_id) else page.removed_cases
        )
        if event.case_id not in told:
            told.append(event.case_id)
        page.drop_case(event.case_id)
        return 40
    if event.case_id in page.removed_cases:
        page.removed_cases.remove(event.case_id)
    used = 0
    table = Record.__table__  # type: ignore[attr-defined]
    of_case = or_(
        table.c.case_id == event.case_id,
        table.c.record_id.in_(shares.shared_with_case(event.case_id)),
    )
    for record_id, case_id, _seq, wire, held_by in list(
        _record_rows(session, of_case, shared_for=actor)
    ):
        used += page.add(record_id, case_id, wire, held_by=held_by)
    for open_conflict in session.exec(
        select(Conflict).where(Conflict.case_id == event.case_id, Conflict.resolved == False)  # noqa: E712
    ).all():
        info = conflict_info(open_conflict)
        page.conflicts[open_conflict.id] = info
        used += _size(info)
    return used
