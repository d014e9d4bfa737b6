"""The store's own tables: the outbox, sync state, conflicts, reference blocks, profile facts
and the search index's key table. The record tables live in :mod:`app.store.models`.

Each has one owner that reads and writes it: :mod:`app.store.outbox` the outbox,
:mod:`app.store.state` sync_state, ref_block and meta; conflicts are stored by the sync
adapter (``app/store/sync_adapter.py``).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from uuid import UUID, uuid4

from sqlalchemy import Column, Integer, String, Table, Text
from sqlmodel import Field, SQLModel

from app.store.types import UTCDateTime


class Outbox(SQLModel, table=True):
    """One local edit waiting to be sent: a ``sync.protocol.Change`` in waiting.

    Written in the same transaction as the edit itself. ``fields`` and ``resolves`` are JSON
    text (wire values). A change the service refused stays here with ``rejected`` set and its
    ``error`` (plain English), never dropped.
    """

    __tablename__ = "outbox"

    seq: int | None = Field(default=None, primary_key=True)  # autoincrement: send order
    change_id: UUID = Field(default_factory=uuid4, unique=True)
    kind: str
    record_id: UUID
    case_id: UUID = Field(index=True)
    base_version: int = Field(default=0)
    fields: str = Field(sa_type=Text)  # JSON object of the fields this change sets
    resolves: str = Field(default="[]", sa_type=Text)  # JSON list of conflict ids settled
    made_at: datetime = Field(sa_type=UTCDateTime)
    rejected: bool = Field(default=False)
    error: str | None = Field(default=None, sa_type=Text)

    __table_args__: ClassVar = {"sqlite_autoincrement": True}


class SyncState(SQLModel, table=True):
    """Key/value facts of the sync engine (keys: see :mod:`app.store.state`): ``cursor``,
    ``device_credential`` (JSON of ``sync.store.DeviceCredential``), ``device_code``,
    ``last_sync`` (ISO UTC), ``removed_pending``."""

    __tablename__ = "sync_state"

    key: str = Field(primary_key=True)
    value: str = Field(sa_type=Text)


class Conflict(SQLModel, table=True):
    """Mirrors ``sync.protocol.ConflictInfo``; the ``*_value`` columns are JSON text."""

    __tablename__ = "conflict"

    conflict_id: UUID = Field(primary_key=True)
    kind: str
    record_id: UUID
    case_id: UUID = Field(index=True)
    field: str
    kept_value: str = Field(sa_type=Text)
    kept_by: str
    kept_at: datetime = Field(sa_type=UTCDateTime)
    other_value: str = Field(sa_type=Text)
    other_by: str
    other_at: datetime = Field(sa_type=UTCDateTime)
    resolved: bool = Field(default=False)
    resolved_value: str = Field(default="null", sa_type=Text)
    resolved_by: str | None = Field(default=None)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: someone else's decision went against this laptop's user, who is still to be told
    #: (once, at the end of the sync that brought it: :meth:`SyncAdapter.decisions_to_tell`)
    tell: bool = Field(default=False)


class RefBlock(SQLModel, table=True):
    """Reference numbers reserved for this laptop by the service: FC-{year}-{n:05d} for
    ``start``..``end`` inclusive; ``next`` is the next number to hand out."""

    __tablename__ = "ref_block"

    id: int | None = Field(default=None, primary_key=True)
    year: int
    start: int
    end: int
    next: int


class ErasedCase(SQLModel, table=True):
    """A case the service erased (owner: :mod:`app.store.erased`): only its id and when this
    laptop heard of it, never what it held. ``backups_done`` is set once every backup and
    before-restore copy on this laptop was purged of it too."""

    __tablename__ = "erased_case"

    case_id: UUID = Field(primary_key=True)
    erased_at: datetime = Field(sa_type=UTCDateTime)
    backups_done: bool = Field(default=False)


class SharedFrom(SQLModel, table=True):
    """A record this laptop holds through one of its own cases though another team's case
    holds it (a person, a risk warning about them, after a merge on the service: protocol 6),
    and that team's name, shown beside it. Owner: :mod:`app.store.people`."""

    __tablename__ = "shared_from"

    record_id: UUID = Field(primary_key=True)
    team: str


class Meta(SQLModel, table=True):
    """Facts about this profile: ``profile_id``, ``user``, ``team``, ``laptop_code``,
    ``fallback_seq:<year>``, ``case_types`` (JSON, from the service)."""

    __tablename__ = "meta"

    key: str = Field(primary_key=True)
    value: str = Field(sa_type=Text)


#: Stable integer keys for the full-text index (``search_fts`` rows have the same rowid):
#: one row per searchable record (a case: ref, person name, summary; a note: its text).
#: Maintained by triggers created in the first migration.
search_doc = Table(
    "search_doc",
    SQLModel.metadata,
    Column("doc_id", Integer, primary_key=True),
    Column("record_id", String(32), nullable=False, unique=True),
    Column("case_id", String(32), nullable=False, index=True),
)

#: Virtual tables (and their shadow tables) the models do not describe.
FTS_TABLE_PREFIX = "search_fts"
