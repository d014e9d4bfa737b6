"""Every piece of state the laptop keeps about syncing and about itself, in one place: the
pull cursor, the device credential, the device code, the time of the last sync, the cases
removed while they still had unsent edits, the reference blocks the service reserved, the
fallback reference counters, the service's case types and the window's drafts.

Nothing else runs SQL on ``sync_state``, ``ref_block`` or ``meta``. The sync state lives in
``sync_state``; the profile's own facts (``laptop_code``, counters, case types, drafts) in
``meta`` (see :mod:`app.store.tables`). Every function takes the :class:`Session` or
:class:`Connection` of the caller's transaction (the doctor reads with a connection of its
own); none commits.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select, text
from sqlalchemy.dialects.sqlite import insert as upsert
from sqlmodel import Session

from app.store.records import dumps
from app.store.tables import Meta, RefBlock, SyncState
from sync.protocol import RefBlock as WireRefBlock
from sync.store import DeviceCredential, SsoLink

log = logging.getLogger("fieldcase.store.state")

Db = Session | Connection

# sync_state keys
CURSOR = "cursor"
CREDENTIAL = "device_credential"
DEVICE_CODE = "device_code"
#: A laptop enrolled by single sign-on: the provider's refresh token and when it last renewed.
SSO_LINK = "sso_link"
LAST_SYNC = "last_sync"
#: JSON list of case ids the service removed while they still had unsent local edits.
REMOVED_PENDING = "removed_pending"
#: The push mark: raised and committed before every push; the service keeps the highest it
#: was sent, so a lower one here means this data file was rolled back.
PUSH_MARK = "push_mark"
#: The push mark of the mark file beside the data file when a rollback was last noticed on
#: unlock (see :func:`app.store.refs.notice_rollback`): noticed once, not at every unlock.
ROLLBACK_SEEN = "rollback_seen"

# meta keys
LAPTOP_CODE = "laptop_code"
CASE_TYPES = "case_types"
#: Set ("1") when the data file was rolled back: the next fallback reference continues past
#: any number this laptop may have used since (see :class:`app.store.refs.RefAllocator`).
FALLBACK_JUMP = "fallback_jump"
#: The user's role as the service last said (protocol 6): what the window offers them.
ROLE = "role"
#: Drafts share the profile's ``meta`` table under this key prefix.
DRAFT_PREFIX = "ui_draft:"

_SYNC = SyncState.__table__  # type: ignore[attr-defined]
_META = Meta.__table__  # type: ignore[attr-defined]
_BLOCKS = RefBlock.__table__  # type: ignore[attr-defined]


def _get(db: Db, table: Any, key: str) -> str | None:
    value = db.execute(select(table.c.value).where(table.c.key == key)).scalar_one_or_none()
    return None if value is None else str(value)


def _put(db: Db, table: Any, key: str, value: str) -> None:
    stmt = upsert(table).values(key=key, value=value)
    db.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={"value": value}))


# ----------------------------------------------------------------------------- sync state


def read_all(db: Db) -> dict[str, str]:
    """Every sync-state value by key (the doctor reads them all at once)."""
    return {str(k): str(v) for k, v in db.execute(select(_SYNC.c.key, _SYNC.c.value)).all()}


def cursor(db: Db) -> str | None:
    return _get(db, _SYNC, CURSOR)


def set_cursor(db: Db, value: str) -> None:
    _put(db, _SYNC, CURSOR, value)


def credential(db: Db) -> DeviceCredential | None:
    value = _get(db, _SYNC, CREDENTIAL)
    return DeviceCredential.model_validate_json(value) if value else None


def set_credential(db: Db, value: DeviceCredential) -> None:
    """Kept inside the encrypted database only."""
    _put(db, _SYNC, CREDENTIAL, value.model_dump_json())


def sso_link(db: Db) -> SsoLink | None:
    value = _get(db, _SYNC, SSO_LINK)
    return SsoLink.model_validate_json(value) if value else None


def set_sso_link(db: Db, value: SsoLink) -> None:
    """Kept inside the encrypted database only (it holds the provider's refresh token)."""
    _put(db, _SYNC, SSO_LINK, value.model_dump_json())


def device_code(db: Db) -> str | None:
    return _get(db, _SYNC, DEVICE_CODE)


def last_sync(db: Db) -> datetime | None:
    value = _get(db, _SYNC, LAST_SYNC)
    return datetime.fromisoformat(value) if value else None


def set_last_sync(db: Db, moment: datetime) -> None:
    _put(db, _SYNC, LAST_SYNC, moment.astimezone(UTC).isoformat())


def removed_pending(db: Db) -> list[str]:
    """Ids of cases the service removed that still had unsent edits here."""
    return [str(v) for v in json.loads(_get(db, _SYNC, REMOVED_PENDING) or "[]")]


def set_removed_pending(db: Db, case_ids: Iterable[str]) -> None:
    _put(db, _SYNC, REMOVED_PENDING, json.dumps(sorted(case_ids)))


def push_mark(db: Db) -> int:
    """The highest push mark this laptop committed (0: never pushed with one)."""
    value = _get(db, _SYNC, PUSH_MARK)
    return int(value) if value else 0


def set_push_mark(db: Db, value: int) -> None:
    _put(db, _SYNC, PUSH_MARK, str(value))


def rollback_seen(db: Db) -> int:
    value = _get(db, _SYNC, ROLLBACK_SEEN)
    return int(value) if value else 0


def set_rollback_seen(db: Db, value: int) -> None:
    _put(db, _SYNC, ROLLBACK_SEEN, str(value))


def forget_cursor(db: Db) -> None:
    """Pull everything again from the beginning at the next sync."""
    db.execute(delete(_SYNC).where(_SYNC.c.key == CURSOR))


def mark_rolled_back(db: Db) -> None:
    """After a restore or any rollback of the data file: the reserved reference blocks it
    holds may have been used since (by the newer file), so they are dropped (the next sync
    fetches fresh ones), and the next fallback reference jumps past any number used since."""
    db.execute(delete(_BLOCKS))
    _put(db, _META, FALLBACK_JUMP, "1")


# ----------------------------------------------------------------------- reference blocks


def unused_refs(db: Db, year: int) -> int:
    """How many reserved reference numbers of ``year`` are still unused."""
    left = func.coalesce(func.sum(func.max(0, _BLOCKS.c.end - _BLOCKS.c.next + 1)), 0)
    return int(db.execute(select(left).where(_BLOCKS.c.year == year)).scalar_one())


def add_ref_blocks(db: Db, blocks: Sequence[WireRefBlock], device_code: str) -> None:
    """Keep newly reserved blocks (a block already here is not added twice) and the
    laptop's device code from the service."""
    existing = {(y, s) for y, s in db.execute(select(_BLOCKS.c.year, _BLOCKS.c.start)).all()}
    for block in blocks:
        if (block.year, block.start) in existing:
            continue
        db.execute(
            _BLOCKS.insert().values(
                year=block.year, start=block.start, end=block.end, next=block.start
            )
        )
    if device_code:
        _put(db, _SYNC, DEVICE_CODE, device_code)


#: Two queries read all a new case needs (creating cases one by one is the hot path).
_FACTS_SQL = text(
    "SELECT key, value FROM meta WHERE key IN ('laptop_code', 'case_types', 'fallback_jump')"
    " OR key LIKE :seq_keys"
    " UNION ALL SELECT 'device_code', value FROM sync_state WHERE key = 'device_code'"
)
_BLOCKS_SQL = text(
    'SELECT id, start, "end", next FROM ref_block WHERE year = :year AND next <= "end"'
    " ORDER BY start"
)


def fallback_seq_key(year: int, code: str) -> str:
    return f"fallback_seq:{year}:{code}"


def reference_facts(conn: Connection, year: int) -> dict[str, str]:
    """What a new case needs, in one query: laptop_code, device_code, case_types, this
    year's fallback counters and the fallback jump flag."""
    rows = conn.execute(_FACTS_SQL, {"seq_keys": fallback_seq_key(year, "%")}).all()
    return {str(key): str(value) for key, value in rows}


def open_blocks(conn: Connection, year: int) -> list[tuple[int, int, int, int]]:
    """(id, start, end, next) of this year's blocks with numbers left, lowest first."""
    return [(r[0], r[1], r[2], r[3]) for r in conn.execute(_BLOCKS_SQL, {"year": year}).all()]


def set_block_next(conn: Connection, block_id: int, next_number: int) -> None:
    conn.execute(
        text("UPDATE ref_block SET next = :next WHERE id = :id"),
        {"next": next_number, "id": block_id},
    )


def set_fallback_seq(db: Db, year: int, code: str, value: int) -> None:
    _put(db, _META, fallback_seq_key(year, code), str(value))


def clear_fallback_jump(db: Db) -> None:
    db.execute(delete(_META).where(_META.c.key == FALLBACK_JUMP))


# --------------------------------------------------------------------------- profile facts


def read_meta(db: Db) -> dict[str, str]:
    """Every fact about the profile (``profile_id``, ``user``, ``team``, ...) by key."""
    return {str(k): str(v) for k, v in db.execute(select(_META.c.key, _META.c.value)).all()}


def add_meta(db: Db, values: Mapping[str, str]) -> None:
    """Write the facts of a new profile."""
    for key, value in values.items():
        _put(db, _META, key, value)


def role(db: Db) -> str | None:
    """The user's role as the service last said (None: not heard yet)."""
    return _get(db, _META, ROLE)


def set_role(db: Db, value: str) -> None:
    _put(db, _META, ROLE, value)


def case_types_json(db: Db) -> str | None:
    """The service's case types as stored (JSON list of {code, label}), or None."""
    return _get(db, _META, CASE_TYPES)


def set_case_types(db: Db, types: Mapping[str, str]) -> None:
    """Remember the service's case types (code -> label)."""
    _put(db, _META, CASE_TYPES, dumps([{"code": c, "label": lbl} for c, lbl in types.items()]))


# ---------------------------------------------------------------------------------- drafts


def drafts(db: Db) -> dict[str, str]:
    """Every saved draft, by the key its screen chose."""
    rows = db.execute(
        select(_META.c.key, _META.c.value).where(
            _META.c.key.startswith(DRAFT_PREFIX, autoescape=True)
        )
    ).all()
    return {str(k)[len(DRAFT_PREFIX) :]: json.loads(v) for k, v in rows}


def save_draft(db: Db, key: str, text_: str) -> None:
    _put(db, _META, DRAFT_PREFIX + key, json.dumps(text_))


def drop_draft(db: Db, key: str) -> None:
    db.execute(delete(_META).where(_META.c.key == DRAFT_PREFIX + key))
