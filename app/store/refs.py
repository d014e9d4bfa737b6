"""Case references: short, human-friendly and never the same on two laptops, nor twice.

``FC-{year}-{n:05d}`` comes from blocks of numbers the central service reserved for this
laptop (table ``ref_block``, filled by the sync engine). When no block is left for the year, or
the profile has never been online, the fallback is ``FC-{year}-{CODE}-{n:04d}`` where CODE is
the laptop's code (``device_code`` from the service once enrolled, else the random code made
when the profile was created) and ``n`` counts per year and code.

After a rollback of the data file (``fieldcase restore``, an older copy put in place, noticed
by the service's push mark) the blocks it holds are dropped (:func:`state.mark_rolled_back`),
so the numbers the newer file may have used are never handed out again, and the next fallback
number jumps past every number that could have been used since (the next multiple of
:data:`FALLBACK_JUMP` above the highest this laptop knows of). Should a reference still be
taken, the service refuses it (``duplicate_ref``) and :func:`re_reference` gives the case a
fresh one.
"""

from __future__ import annotations

import json
import logging
import os
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID, uuid4

from sqlalchemy import Connection, text
from sqlmodel import Session

from app.store import outbox, state
from app.store.models import AuditEvent, Case
from sync.clock import Clock
from sync.protocol import MAX_PUSH_MARK
from sync.records import RecordKind
from sync.store import ReReferenced

if TYPE_CHECKING:
    from app.store.profile import Profile

log = logging.getLogger("fieldcase.store.refs")

#: A fallback counter that must jump continues from the next multiple of this.
FALLBACK_JUMP = 1000
#: Beside the data file, outside it: this device's id and the highest push mark committed
#: (nothing personal). A data file whose own mark is lower is an older copy put in place.
MARK_FILE = "push-mark.json"


@dataclass
class _Block:
    id: int
    start: int
    end: int
    next: int
    used: bool = False


def _jump(conn: Connection, year: int, code: str, seq: int) -> int:
    """A fallback counter past any number this laptop may have used: the next multiple of
    FALLBACK_JUMP above the counter and every fallback reference of that code held here."""
    prefix = f"FC-{year}-{code}-"
    highest = seq
    rows = conn.execute(text("SELECT ref FROM cases WHERE ref LIKE :p"), {"p": prefix + "%"})
    for (ref,) in rows:
        tail = str(ref)[len(prefix) :]
        if tail.isdigit():
            highest = max(highest, int(tail))
    return (highest // FALLBACK_JUMP + 1) * FALLBACK_JUMP


class RefAllocator:
    """Hands out references inside one transaction; :meth:`save` writes the counters back."""

    def __init__(self, conn: Connection, year: int, facts: dict[str, str]) -> None:
        self.conn = conn
        self.year = year
        self.blocks = [_Block(*row) for row in state.open_blocks(conn, year)]
        self.code = facts.get("device_code") or facts.get("laptop_code") or "LOC"
        self.fallback_seq = int(facts.get(state.fallback_seq_key(year, self.code), "0"))
        self.must_jump = facts.get(state.FALLBACK_JUMP) == "1"
        self._dirty_seq = False
        self._jumped = False

    def next(self) -> str:
        while self.blocks:
            block = self.blocks[0]
            if block.next <= block.end:
                number = block.next
                block.next += 1
                block.used = True
                return f"FC-{self.year}-{number:05d}"
            self.save_block(block)
            self.blocks.pop(0)
        if self.must_jump:
            self.fallback_seq = _jump(self.conn, self.year, self.code, self.fallback_seq)
            self.must_jump, self._jumped = False, True
        self.fallback_seq += 1
        self._dirty_seq = True
        return f"FC-{self.year}-{self.code}-{self.fallback_seq:04d}"

    def save_block(self, block: _Block) -> None:
        if block.used:
            state.set_block_next(self.conn, block.id, block.next)
            block.used = False

    def save(self) -> None:
        for block in self.blocks:
            self.save_block(block)
        if self._dirty_seq:
            state.set_fallback_seq(self.conn, self.year, self.code, self.fallback_seq)
            self._dirty_seq = False
        if self._jumped:
            state.clear_fallback_jump(self.conn)
            self._jumped = False


def re_reference(
    session: Session, change_id: UUID, *, year: int, now: datetime, actor: str
) -> ReReferenced | None:
    """Give the case a refused change made a fresh reference: the change must create a case
    made on this laptop (base version 0) with the reference the case still has. The case's
    unsent changes carry the new reference, its refused ones go back in the queue, and its
    history says what happened ("re_referenced", references only). None when it is not such
    a change (the refusal then stays, as any other)."""
    change = outbox.find_change(session, change_id)
    if change is None or change.kind is not RecordKind.CASE or change.base_version != 0:
        return None
    old = change.fields.get("ref")
    case = session.get(Case, change.record_id)
    if case is None or not isinstance(old, str) or case.ref != old:
        return None
    conn = session.connection()
    refs = RefAllocator(conn, year, state.reference_facts(conn, year))
    new = refs.next()
    refs.save()
    case.ref = new
    session.add(case)
    outbox.replace_case_ref(session, case.id, old, new)
    event = AuditEvent(
        id=uuid4(),
        case_id=case.id,
        actor=actor,
        action="re_referenced",
        record_kind=RecordKind.CASE.value,
        record_id=case.id,
        at=now,
        detail=f"{old} -> {new}",  # references only: the service takes ids and codes
    )
    session.add(event)
    outbox.add_change(session, event, case.id, now)
    requeued = outbox.requeue_case(session, case.id)
    return ReReferenced(old_ref=old, new_ref=new, requeued=requeued)


# ------------------------------------------------------------------ rollbacks found on unlock


def write_mark_file(folder: Path, device_id: str, mark: int) -> None:
    """Keep the device and its highest committed push mark beside the data file, and a copy
    in this user's push-mark folder outside the profile (:func:`app.paths.marks_dir`), both
    0600: a whole profile folder copied back still meets the newer mark."""
    _write_mark(Path(folder) / MARK_FILE, device_id, mark)
    outside = _outside_mark(device_id)
    if outside is None:
        return
    try:
        outside.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        _write_mark(outside, device_id, mark)
    except OSError as err:  # the mark beside the data file and the service's check still hold
        log.warning("could not keep the push mark outside the profile: %s", type(err).__name__)


def _write_mark(path: Path, device_id: str, mark: int) -> None:
    partial = path.with_name(path.name + ".tmp")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"device_id": device_id, "push_mark": mark}, handle)
    os.replace(partial, path)


def _outside_mark(device_id: str) -> Path | None:
    from app.paths import marks_dir

    try:
        return marks_dir() / f"{UUID(device_id)}.json"
    except ValueError:
        return None


def _read_mark(path: Path | None) -> tuple[str, int] | None:
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        device, mark = str(data["device_id"]), data["push_mark"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if type(mark) is not int or not 0 <= mark <= MAX_PUSH_MARK:  # a damaged or forged file
        return None
    return device, mark


def read_mark_file(folder: Path) -> tuple[str, int] | None:
    """(device id, push mark) from the mark file beside the data file; None when there is none
    (or it is damaged: the service's own check at the next sync still holds)."""
    return _read_mark(Path(folder) / MARK_FILE)


def highest_mark(folder: Path, device_id: str) -> int:
    """The highest push mark this laptop is known to have committed as ``device_id``: from the
    mark beside the data file and the one outside the profile (0 when neither is there)."""
    marks = [
        found[1]
        for found in (read_mark_file(folder), _read_mark(_outside_mark(device_id)))
        if found is not None and found[0] == device_id
    ]
    return max(marks, default=0)


def forget_outside_mark(folder: Path) -> None:
    """Remove the push mark kept outside the profile (erasure; the device id is read from the
    mark beside the data file)."""
    found = read_mark_file(folder)
    outside = _outside_mark(found[0]) if found else None
    if outside is not None:
        outside.unlink(missing_ok=True)


def notice_rollback(db: Connection, folder: Path) -> bool:
    """On unlock: a data file whose push mark is below the mark file's of the same device is
    an older copy put in place. Its reserved reference blocks may have been used by the newer
    one, so they are dropped before the next case is made and the fallback counter jumps
    (:func:`state.mark_rolled_back`); the next sync explains it and fetches what it lacks.
    Noticed once per rollback. Says whether it noticed one now."""
    credential = state.credential(db)
    if credential is None:
        return False
    mark = highest_mark(folder, str(credential.device_id))
    if mark <= max(state.push_mark(db), state.rollback_seen(db)):
        return False
    state.mark_rolled_back(db)
    state.set_rollback_seen(db, mark)
    log.warning(
        "the data file is older than this laptop's last push (mark %d < %d): reserved "
        "reference numbers dropped",
        state.push_mark(db),
        mark,
    )
    return True


class MarksAndRefs:
    """The sync adapter's share of :class:`sync.store.LocalStore` for push marks, rollbacks
    and re-referencing (mixed into :class:`app.store.sync_adapter.SyncAdapter`)."""

    profile: Profile
    clock: Clock

    def _session(self) -> AbstractContextManager[Session]:
        """A session of the profile (the adapter's, which turns the data file's own troubles
        into their plain message)."""
        raise NotImplementedError

    def push_mark(self) -> int:
        with self._session() as s:
            return state.push_mark(s)

    def next_push_mark(self) -> int:
        """Raise and commit the mark, then keep it in the mark file too (a crash in between
        leaves the file behind the data file, never ahead)."""
        with self._session() as s, s.begin():
            value = state.push_mark(s) + 1
            state.set_push_mark(s, value)
            credential = state.credential(s)
        if credential is not None:
            write_mark_file(self.profile.profile_dir, str(credential.device_id), value)
        return value

    def note_role(self, role: str) -> None:
        """What the service said of its user's role (with the push mark, in its sync state)."""
        with self._session() as s, s.begin():
            if state.role(s) != role:
                state.set_role(s, role)

    def rolled_back(self, service_mark: int) -> None:
        with self._session() as s, s.begin():
            credential = state.credential(s)
            known = (
                highest_mark(self.profile.profile_dir, str(credential.device_id))
                if credential is not None
                else 0
            )
            marks = [service_mark, state.push_mark(s), known]
            state.set_push_mark(s, max(marks))
            state.forget_cursor(s)
            state.mark_rolled_back(s)

    def re_reference(self, change_id: UUID) -> ReReferenced | None:
        with self._session() as s, s.begin():
            return re_reference(
                s,
                change_id,
                year=self.clock.local_today().year,
                now=self.clock.now(),
                actor=self.profile.user,
            )
