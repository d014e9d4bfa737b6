"""SQLModel tables of the synced record kinds.

Every table has ``id`` (UUID primary key), ``version`` (the central version this laptop holds;
0 = never synced) and, except the case itself, ``case_id``. The other columns are exactly the
fields of ``sync.records.FIELDS`` for the kind, plus the local-only columns named in
``LOCAL_COLUMNS`` (never sent). ``tests/store/test_models.py`` checks this.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar
from uuid import UUID, uuid4

from sqlalchemy import Column, Index, LargeBinary, Text, event
from sqlmodel import Field, SQLModel

from app.domain.names import sort_name
from app.store.types import UTCDateTime
from sync.records import RecordKind


class Record(SQLModel):
    """Columns every synced table has."""

    KIND: ClassVar[RecordKind]
    #: Columns kept on this laptop only (never in a Change).
    LOCAL_COLUMNS: ClassVar[frozenset[str]] = frozenset()

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    version: int = Field(default=0)


class Case(Record, table=True):
    __tablename__ = "cases"
    KIND = RecordKind.CASE

    ref: str = Field(unique=True)
    type: str
    status: str = Field(default="open", index=True)
    priority: str = Field(default="normal")
    summary: str = Field(default="")
    team: str = Field(default="")
    assigned_to: str = Field(default="")
    next_review: date | None = Field(default=None)
    opened_on: date | None = Field(default=None)
    closed_on: date | None = Field(default=None)
    person_id: UUID = Field(index=True)

    @property
    def case_id(self) -> UUID:
        """A case belongs to itself (``Change.case_id`` of a case is its own id)."""
        return self.id


class Person(Record, table=True):
    __tablename__ = "people"
    KIND = RecordKind.PERSON
    LOCAL_COLUMNS = frozenset({"sort_name"})

    case_id: UUID = Field(index=True)
    name: str
    date_of_birth: date | None = Field(default=None)
    address: str = Field(default="")
    phone: str = Field(default="")
    preferred_contact: str | None = Field(default=None)
    language: str = Field(default="")
    access_needs: str = Field(default="")
    #: The old systems' ids ("source:id", one a line): the service's import and merges set
    #: them; search finds a case by them (schema v11).
    external_ids: str = Field(default="")
    #: Local-only sort key, surname first (see app.domain.names.sort_name); schema v2.
    sort_name: str = Field(default="", index=True)


class Warning(Record, table=True):
    __tablename__ = "warnings"
    KIND = RecordKind.WARNING

    case_id: UUID = Field(index=True)
    person_id: UUID = Field(index=True)
    text: str
    category: str = Field(default="risk")
    active: bool = Field(default=True)
    added_by: str = Field(default="")
    added_at: datetime = Field(sa_type=UTCDateTime)
    retired_by: str | None = Field(default=None)
    retired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Note(Record, table=True):
    """Append-only: a correction is a new note whose ``corrects`` is the old note's id."""

    __tablename__ = "notes"
    KIND = RecordKind.NOTE

    case_id: UUID = Field(index=True)
    text: str
    author: str
    written_at: datetime = Field(sa_type=UTCDateTime)
    corrects: UUID | None = Field(default=None)


class Visit(Record, table=True):
    __tablename__ = "visits"
    __table_args__ = (Index("ix_visits_status_due", "status", "due"),)
    KIND = RecordKind.VISIT

    case_id: UUID = Field(index=True)
    title: str = Field(default="Visit")
    kind: str = Field(default="visit")
    due: datetime = Field(sa_type=UTCDateTime)
    place: str = Field(default="")
    status: str = Field(default="planned")
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome: str | None = Field(default=None)
    outcome_note: str = Field(default="")


class Document(Record, table=True):
    """Metadata of an encrypted file in the profile's documents/ folder."""

    __tablename__ = "documents"
    KIND = RecordKind.DOCUMENT
    LOCAL_COLUMNS = frozenset({"file_key", "local_state"})

    case_id: UUID = Field(index=True)
    name: str
    size: int = Field(default=0)
    sha256: str = Field(default="")
    mime: str = Field(default="application/octet-stream")
    added_by: str = Field(default="")
    added_at: datetime = Field(sa_type=UTCDateTime)
    #: This laptop's key for the encrypted file (None until the content is here).
    file_key: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    #: app.domain.enums.DocumentState
    local_state: str = Field(default="local")


class AuditEvent(Record, table=True):
    """Who did what to which record, and when. Append-only; ``detail`` never holds text a
    person wrote (field names, not values)."""

    __tablename__ = "audit_events"
    KIND = RecordKind.AUDIT

    case_id: UUID = Field(index=True)
    actor: str
    action: str
    record_kind: str
    record_id: UUID
    at: datetime = Field(sa_type=UTCDateTime)
    detail: str = Field(default="")


class SetAsideRecord(SQLModel, table=True):
    """A record pulled from the service that this laptop could not store, kept aside so the
    sync carries on past it (not a synced kind; owned by :mod:`app.store.set_aside`).

    ``record`` is the pulled ``RecordState`` as JSON (ASCII, so any text survives);
    ``reason_code`` and ``reason`` say why without personal data; ``app_version`` is the
    Fieldcase that set it aside (a newer one tries it again)."""

    __tablename__ = "set_aside_record"

    record_id: UUID = Field(primary_key=True)
    kind: str
    case_id: UUID = Field(index=True)
    version: int
    record: str = Field(sa_type=Text)
    reason_code: str
    reason: str = Field(sa_type=Text)
    set_aside_at: datetime = Field(sa_type=UTCDateTime)
    app_version: str


#: The table model of each record kind.
KIND_MODELS: dict[RecordKind, type[Record]] = {
    RecordKind.CASE: Case,
    RecordKind.PERSON: Person,
    RecordKind.WARNING: Warning,
    RecordKind.NOTE: Note,
    RecordKind.VISIT: Visit,
    RecordKind.DOCUMENT: Document,
    RecordKind.AUDIT: AuditEvent,
}


@event.listens_for(Person, "before_insert")
@event.listens_for(Person, "before_update")
def _keep_sort_name(mapper: Any, connection: Any, target: Person) -> None:
    """However a person is written (core action or sync), the local sort key follows the name."""
    target.sort_name = sort_name(target.name or "")
