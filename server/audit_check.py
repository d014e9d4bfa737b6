"""Checking the audit trail: every row by its own rule, the links between rows, the head, and a
checkpoint file that IT keeps away from the database.

The chain alone catches an edited row (its hash no longer matches; a keyed row cannot be
recomputed without the key) and a deleted middle row (the ids and links break). Rows deleted
from the end, with the head row updated to match, leave a shorter chain that is whole: only a
checkpoint (the head as it was, written to a file elsewhere) shows they are gone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from server.audit import GENESIS, KEY_LOST, ROTATED, entry_hash, keyed_hash
from server.audit_key import OLD_RULE, write_private
from server.models import AuditEntry, AuditHead

CHECKPOINT_FORMAT = "fieldcase-audit-checkpoint/1"


@dataclass(frozen=True)
class Checkpoint:
    """The head of the chain at one moment, for IT to keep elsewhere."""

    last_id: int
    last_hash: str
    key_id: str  # the rule the next row is made with
    keyed_from: int
    rows: int
    at: str  # ISO time the checkpoint was taken

    @classmethod
    def take(cls, session: Session, at: datetime) -> Checkpoint:
        head = session.exec(select(AuditHead).where(AuditHead.id == 1)).one()
        rows = int(session.exec(select(func.count()).select_from(AuditEntry)).one())
        return cls(head.last_id, head.last_hash, head.key_id, head.keyed_from, rows, at.isoformat())

    def write(self, path: Path) -> None:
        text = json.dumps({"format": CHECKPOINT_FORMAT, **asdict(self)}, indent=2) + "\n"
        write_private(path, text)

    @classmethod
    def read(cls, path: Path) -> Checkpoint:
        """Raises ValueError (plain words) when the file is not a checkpoint."""
        try:
            data = json.loads(path.expanduser().read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ValueError(f"The checkpoint file {path} could not be read.") from err
        if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"{path} is not an audit checkpoint written by Fieldcase.")
        try:
            return cls(
                int(data["last_id"]),
                str(data["last_hash"]),
                str(data["key_id"]),
                int(data["keyed_from"]),
                int(data["rows"]),
                str(data["at"]),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"The checkpoint file {path} is incomplete.") from err


@dataclass
class VerifyReport:
    """``ok``: nothing found broken. ``unverified`` rows were made with a key not given, so
    their content could not be checked (their links were): the check is then incomplete."""

    ok: bool
    checked: int
    broken_id: int | None = None
    reason: str = ""
    unverified: int = 0
    missing_keys: list[str] = field(default_factory=list)
    key_lost_at: list[int] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.ok and self.unverified == 0


class _Broken(Exception):
    def __init__(self, row_id: int | None, reason: str) -> None:
        super().__init__(reason)
        self.row_id, self.reason = row_id, reason


class _Walk:
    """Walks the rows in id order, checking each by its own rule."""

    def __init__(self, keys: Mapping[str, bytes], keyed_from: int, watch: int | None) -> None:
        self.keys = keys
        self.keyed_from = keyed_from
        self.watch = watch  # a row id whose hash to remember (the checkpoint's last row)
        self.watched: str | None = None
        self.expected_id = 1
        self.prev_hash = GENESIS
        self.prev_key = OLD_RULE
        self.next_key: str | None = None  # named by a rotation row
        self.checked = 0
        self.unverified = 0
        self.missing: set[str] = set()
        self.lost_at: list[int] = []  # rows declaring the key before them lost

    def step(self, row: AuditEntry) -> None:
        if row.id != self.expected_id:
            raise _Broken(self.expected_id, f"row {self.expected_id} is missing (deleted)")
        if row.prev_hash != self.prev_hash:
            raise _Broken(row.id, f"row {row.id} does not link to the row before it")
        self._check_rule(row)
        if row.key_id == OLD_RULE:
            good: bool | None = entry_hash(row) == row.hash
        elif row.key_id in self.keys:
            good = keyed_hash(row, self.keys[row.key_id]) == row.hash
        else:
            good = None
            self.unverified += 1
            self.missing.add(row.key_id)
        if good is False:
            raise _Broken(row.id, f"row {row.id} was altered")
        if row.id == self.watch:
            self.watched = row.hash
        self.next_key = _rotation_target(row)
        self.prev_key, self.prev_hash = row.key_id, row.hash
        self.expected_id += 1
        self.checked += 1

    def _check_rule(self, row: AuditEntry) -> None:
        if row.id < self.keyed_from:
            if row.key_id != OLD_RULE:
                raise _Broken(row.id, f"row {row.id} names a key before the keyed rule started")
            return
        if row.key_id == OLD_RULE:
            raise _Broken(
                row.id,
                f"row {row.id} was made without the audit key after the trail was keyed "
                "(it was rewritten)",
            )
        if self.next_key is not None and row.key_id != self.next_key:
            raise _Broken(row.id, f"row {row.id} was not made with the key named at the rotation")
        if self.next_key is None and self.prev_key not in (OLD_RULE, row.key_id):
            if not _declares_lost(row, self.prev_key):
                raise _Broken(row.id, f"row {row.id} changed the key without a rotation")
            self.lost_at.append(row.id)

    def finish(self, head: AuditHead) -> None:
        last_id = self.expected_id - 1
        if head.last_id != last_id or head.last_hash != self.prev_hash:
            raise _Broken(
                self.expected_id, f"row {self.expected_id} is missing (deleted from the end)"
            )
        if head.key_id != (self.next_key or self.prev_key):
            raise _Broken(None, "the head row names a key that no row leads to")

    def against(self, checkpoint: Checkpoint, head: AuditHead) -> None:
        last_id = self.expected_id - 1
        if checkpoint.keyed_from != head.keyed_from:
            raise _Broken(None, "the start of the keyed rule moved since the checkpoint")
        if checkpoint.last_id == 0:
            return
        if last_id < checkpoint.last_id:
            raise _Broken(
                last_id + 1,
                f"rows {last_id + 1} to {checkpoint.last_id} were deleted from the end (the "
                f"checkpoint of {checkpoint.at} had {checkpoint.rows} rows)",
            )
        if self.watched != checkpoint.last_hash:
            raise _Broken(
                checkpoint.last_id,
                f"row {checkpoint.last_id} is not what it was at the checkpoint of "
                f"{checkpoint.at}: the trail up to it was rewritten",
            )


def _declares_lost(row: AuditEntry, previous_key: str) -> bool:
    """Whether the row is a "key lost" row naming the key before it and its own key."""
    detail = row.detail if isinstance(row.detail, dict) else {}
    return (
        row.event == KEY_LOST
        and detail.get("lost_key") == previous_key
        and detail.get("new_key") == row.key_id
    )


def _rotation_target(row: AuditEntry) -> str | None:
    if row.event != ROTATED or not isinstance(row.detail, dict):
        return None
    target: Any = row.detail.get("new_key")
    return str(target) if target else None


def verify(
    session: Session,
    keys: Mapping[str, bytes],
    checkpoint: Checkpoint | None = None,
    batch: int = 5000,
) -> VerifyReport:
    """Walk the chain from the start; report the first row whose rule, link or content is
    wrong, then the head and the checkpoint. ``keys``: key id -> key, every key the trail
    may have used (the current one and those before a rotation)."""
    head = session.exec(select(AuditHead).where(AuditHead.id == 1)).first()
    if head is None:
        return VerifyReport(False, 0, None, "the chain's head row is missing")
    walk = _Walk(keys, head.keyed_from, checkpoint.last_id if checkpoint else None)
    after = 0
    try:
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
                walk.step(row)
                after = row.id
        walk.finish(head)
        if checkpoint is not None:
            walk.against(checkpoint, head)
    except _Broken as broken:
        return VerifyReport(
            False,
            walk.checked,
            broken.row_id,
            broken.reason,
            walk.unverified,
            sorted(walk.missing),
            walk.lost_at,
        )
    return VerifyReport(
        True, walk.checked, None, "", walk.unverified, sorted(walk.missing), walk.lost_at
    )
