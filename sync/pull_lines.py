"""A pull page as lines (``application/x-ndjson``): the one definition of the streamed form
of a pull answer (:class:`~sync.protocol.PullResponse`), written by the service and read by
the laptop.

A laptop asks for it with ``Accept: application/x-ndjson``; a service that does not know it
answers with the one JSON object as before, and a laptop that does not ask gets that object
(so neither side needs the other's version). The lines, in this order:

* ``{"server_time":"..."}``: the page's head;
* each record as its wire JSON (``{"kind":...}``, exactly a ``RecordState``), with, every
  few records, a *checkpoint* ``{"cursor":"c1.N"}``: everything before it is whole, and a pull
  from that cursor goes on from there as if the page had ended;
* ``{"conflict":{...}}`` for each conflict, ``{"removed_case":"<uuid>"}`` for each case that
  left the user's scope, ``{"erased_case":"<uuid>"}`` for each case erased on the service
  (protocol 5), ``{"merged_person":{"merged":"<uuid>","kept":"<uuid>"}}`` for each merge of
  two records of one person (protocol 6);
* ``{"next_cursor":"c1.N","more":true}``: the end.

Why: on a link that drops long answers, the part of a page that did arrive is kept up to its
last checkpoint (:func:`as_json`, ``complete=False``) and the next pull starts there, so a cut
costs the few records after the checkpoint instead of the whole page again. Checkpoints come
only among the records before a page's first conflict or change of scope, where "everything
after N" is exactly the rest of the page.

Text never holds a raw newline (JSON escapes it), so a line is one item.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

MEDIA_TYPE = "application/x-ndjson"

_RECORD = b'{"kind":'
_CHECKPOINT = b'{"cursor":'
_CONFLICT = b'{"conflict":'
_REMOVED = b'{"removed_case":'
_ERASED = b'{"erased_case":'
_MERGED = b'{"merged_person":'
_HEAD = b'{"server_time":'
_END = b'{"next_cursor":'


def accepted(header: str | None) -> bool:
    """Whether an ``Accept`` header asks for pages as lines (listed, and not with ``q=0``)."""
    for part in (header or "").split(","):
        media, _, params = part.partition(";")
        if media.strip().lower() != MEDIA_TYPE:
            continue
        quality = params.replace(" ", "").lower()
        return quality not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def head_line(server_time: datetime) -> bytes:
    return b'{"server_time":' + json.dumps(server_time.isoformat()).encode() + b"}\n"


def checkpoint_line(cursor: str) -> bytes:
    return b'{"cursor":' + json.dumps(cursor).encode() + b"}\n"


def conflict_line(conflict_json: bytes) -> bytes:
    return _CONFLICT + conflict_json + b"}\n"


def removed_line(case_id: str) -> bytes:
    return _REMOVED + json.dumps(case_id).encode() + b"}\n"


def erased_line(case_id: str) -> bytes:
    return _ERASED + json.dumps(case_id).encode() + b"}\n"


def merged_line(merged: str, kept: str) -> bytes:
    return _MERGED + json.dumps({"merged": merged, "kept": kept}).encode() + b"}\n"


def end_line(next_cursor: str, more: bool) -> bytes:
    return json.dumps({"next_cursor": next_cursor, "more": more}).encode() + b"\n"


def chunked(lines: Iterable[bytes], size: int) -> Iterator[bytes]:
    """``lines`` joined into pieces of about ``size`` bytes (each sent, and compressed, as one
    piece: a cut loses at most the piece in flight)."""
    piece: list[bytes] = []
    held = 0
    for line in lines:
        piece.append(line)
        held += len(line)
        if held >= size:
            yield b"".join(piece)
            piece, held = [], 0
    if piece:
        yield b"".join(piece)


@dataclass
class _Items:
    """A page's lines sorted by what they are (conflicts and removals without their key)."""

    records: list[bytes] = field(default_factory=list)
    conflicts: list[bytes] = field(default_factory=list)
    removed: list[bytes] = field(default_factory=list)
    erased: list[bytes] = field(default_factory=list)
    merged: list[bytes] = field(default_factory=list)
    cursor: str | None = None  # the last checkpoint
    #: records, conflicts, removals, erasures, merges before the last checkpoint
    kept: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)
    end: dict[str, Any] | None = None

    def take(self, line: bytes) -> bool:
        """Sort one line; False when it is not one of a page (or follows the end)."""
        if self.end is not None:
            return False
        if line.startswith(_RECORD):
            self.records.append(line)
        elif line.startswith(_CONFLICT) and line.endswith(b"}"):
            self.conflicts.append(line[len(_CONFLICT) : -1])
        elif line.startswith(_REMOVED) and line.endswith(b"}"):
            self.removed.append(line[len(_REMOVED) : -1])
        elif line.startswith(_ERASED) and line.endswith(b"}"):
            self.erased.append(line[len(_ERASED) : -1])
        elif line.startswith(_MERGED) and line.endswith(b"}"):
            self.merged.append(line[len(_MERGED) : -1])
        elif line.startswith(_CHECKPOINT):
            self.cursor = _value(line, "cursor")
            self.kept = (
                len(self.records),
                len(self.conflicts),
                len(self.removed),
                len(self.erased),
                len(self.merged),
            )
            return isinstance(self.cursor, str)
        elif line.startswith(_END):
            end = _value(line, None)
            self.end = end if isinstance(end, dict) else None
            return self.end is not None
        else:
            return False
        return True


def _value(line: bytes, key: str | None) -> Any:
    """The line's JSON (or its ``key``), None when it is not JSON."""
    try:
        value = json.loads(line)
        return value if key is None else value[key]
    except (ValueError, KeyError, TypeError):
        return None


def as_json(body: bytes, *, complete: bool) -> bytes | None:
    """The page ``body`` holds, as the one JSON object of a ``PullResponse`` (for the
    transport's reader); None when it is not one. ``complete=False``: the answer was cut part
    way, and the page is what came before its last checkpoint (None when no checkpoint came),
    with ``more`` set and that checkpoint as its cursor."""
    lines = body.split(b"\n")
    whole_last_line = lines[-1] == b""
    lines.pop()  # the empty rest after the last newline, or a line cut part way
    if (complete and not whole_last_line) or not lines or not lines[0].startswith(_HEAD):
        return None
    server_time = _value(lines[0], "server_time")
    items = _Items()
    if not isinstance(server_time, str) or not all(items.take(line) for line in lines[1:]):
        return None
    if complete:
        if items.end is None:
            return None
        tail: dict[str, Any] = {**items.end, "server_time": server_time}
        records, conflicts = items.records, items.conflicts
        removed, erased, merged = items.removed, items.erased, items.merged
    else:
        if items.cursor is None:
            return None
        tail = {"next_cursor": items.cursor, "more": True, "server_time": server_time}
        n_records, n_conflicts, n_removed, n_erased, n_merged = items.kept
        records = items.records[:n_records]
        conflicts, removed = items.conflicts[:n_conflicts], items.removed[:n_removed]
        erased, merged = items.erased[:n_erased], items.merged[:n_merged]
    return b"".join(
        [
            b'{"records":[',
            b",".join(records),
            b'],"conflicts":[',
            b",".join(conflicts),
            b'],"removed_cases":[',
            b",".join(removed),
            b"],",
            *([b'"erased_cases":[', b",".join(erased), b"],"] if erased else []),
            *([b'"merged_people":[', b",".join(merged), b"],"] if merged else []),
            json.dumps(tail).encode()[1:],
        ]
    )
