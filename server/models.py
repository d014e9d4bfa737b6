"""The service's tables (SQLModel). The schema itself is owned by the Alembic migrations in
``server/alembic/versions``; keep the two in step.

Records are stored generically: one row per synced record with its fields as JSON and, beside
them, a per-field stamp (version, device, user, time of the last change) so the per-field
merge in :mod:`server.records.merge` is exact. ``seq`` columns are change-log positions: they
are assigned at commit time under one lock, so positions follow commit order (see
:mod:`server.records.changelog`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import registry
from sqlalchemy.types import TypeDecorator
from sqlmodel import Column, Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database (SQLite drops the offset)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def ts(*, nullable: bool = False, index: bool = False) -> Any:
    """A timestamp column. A required one has no default: the writer passes the time from
    the service's clock (:class:`sync.clock.Clock`)."""
    column: Column[datetime] = Column(UTCDateTime(), nullable=nullable, index=index)
    if nullable:
        return Field(default=None, sa_column=column)
    return Field(sa_column=column)


def json_col(*, nullable: bool = False) -> Any:
    column = Column(sa.JSON(none_as_null=False), nullable=nullable)
    if nullable:
        return Field(default=None, sa_column=column)
    return Field(default_factory=dict, sa_column=column)


class ServerTable(SQLModel, registry=registry()):
    """Base of the service's tables. They live on their own metadata, apart from the laptop's
    tables on ``SQLModel.metadata``, so one process may load both (tests, tools)."""


# ------------------------------------------------------------------------------ accounts


class Team(ServerTable, table=True):
    __tablename__ = "team"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    created_at: datetime = ts()


class User(ServerTable, table=True):
    __tablename__ = "app_user"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    username: str = Field(max_length=200, unique=True)
    team_id: uuid.UUID = Field(foreign_key="team.id", index=True)
    role: str = Field(default="caseworker", max_length=20)  # server.roles.Role
    password_hash: str
    disabled: bool = False
    created_at: datetime = ts()
    #: The council's provider's stable id for this person (single sign-on; Entra ID's object
    #: id, else ``sub``), when linked; names may change, this does not.
    sso_subject: str | None = Field(
        default=None, sa_column=Column(sa.String(200), unique=True, nullable=True)
    )
    #: The last time the provider vouched for this person, and the first time it would not
    #: (a leaver's grace period runs from there; cleared when it vouches again).
    sso_seen_at: datetime | None = ts(nullable=True)
    sso_refused_at: datetime | None = ts(nullable=True)


class Device(ServerTable, table=True):
    __tablename__ = "device"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="app_user.id", index=True)
    name: str = Field(max_length=200)
    code: str = Field(max_length=8, unique=True)
    secret_hash: str
    recovery_secret: str  # released only after a fresh online password sign-in
    enrolled_at: datetime = ts()
    last_seen_at: datetime | None = ts(nullable=True)
    revoked_at: datetime | None = ts(nullable=True)
    #: The highest push mark the laptop sent (protocol 2): a laptop whose own mark is lower
    #: runs on a rolled-back data file (see :class:`sync.protocol.SyncState`).
    push_mark: int = Field(
        default=0, sa_column=Column(sa.BigInteger, nullable=False, server_default="0")
    )


class AccessToken(ServerTable, table=True):
    __tablename__ = "access_token"
    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: uuid.UUID = Field(foreign_key="app_user.id", index=True)
    device_id: uuid.UUID | None = Field(default=None, foreign_key="device.id", index=True)
    kind: str = Field(max_length=10)  # password | device
    issued_at: datetime = ts()
    expires_at: datetime = ts(index=True)
    #: Set when the user's password is reset or the account disabled: the token is refused.
    revoked_at: datetime | None = ts(nullable=True)


class SsoNonce(ServerTable, table=True):
    """A single sign-on started by this service and not yet finished (its nonce's hash)."""

    __tablename__ = "sso_nonce"
    nonce_hash: str = Field(primary_key=True, max_length=64)
    expires_at: datetime = ts(index=True)
    address: str = Field(max_length=64, index=True)  # where the sign-on was started from


class ScimUser(ServerTable, table=True):
    """A person the council's provider provisioned to Fieldcase through SCIM (server/api/
    routes/scim.py); it meets an account by the provider's subject (``externalId``)."""

    __tablename__ = "scim_user"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    external_id: str = Field(max_length=200, unique=True)
    user_name: str = Field(max_length=200, index=True)
    active: bool = True
    created_at: datetime = ts()
    updated_at: datetime = ts()


class LoginGate(ServerTable, table=True):
    """One row per account / address, locked while a sign-in is checked (serialises counting)."""

    __tablename__ = "login_gate"
    key: str = Field(primary_key=True, max_length=300)


class LoginAttempt(ServerTable, table=True):
    __tablename__ = "login_attempt"
    __table_args__ = (
        sa.Index("ix_login_attempt_username_at", "username", "at"),
        sa.Index("ix_login_attempt_address_at", "address", "at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=200)
    address: str = Field(max_length=100)
    success: bool
    at: datetime = ts()


# ------------------------------------------------------------------------------ records


def person_of(kind: str, fields: dict[str, Any]) -> uuid.UUID | None:
    """The person a record names (a case's person, a warning's), as :attr:`Record.person_id`
    holds it; None for other kinds, or a value that is no id."""
    if kind not in ("case", "warning"):
        return None
    try:
        return uuid.UUID(str(fields.get("person_id")))
    except ValueError:
        return None


class Record(ServerTable, table=True):
    __tablename__ = "record"
    record_id: uuid.UUID = Field(primary_key=True)
    kind: str = Field(max_length=20)
    case_id: uuid.UUID = Field(index=True)
    version: int
    fields: dict[str, Any] = json_col()
    stamps: dict[str, Any] = json_col()  # field -> server.records.merge.Stamp JSON
    created_at: datetime = ts()
    updated_at: datetime = ts()
    updated_by: str = Field(max_length=200)
    seq: int = Field(sa_column=Column(sa.BigInteger, nullable=False, index=True))
    #: The record as a pull sends it (UTF-8 JSON), written with the record; NULL when it must
    #: be made from the row (see :mod:`server.records.wire`).
    wire: bytes | None = Field(default=None, sa_column=Column(sa.LargeBinary, nullable=True))
    #: ``DEVICE@VERSION``: the device whose push made this version exactly as that laptop holds
    #: it (its change applied whole on the version it was made on): its pulls skip the record
    #: while the version is that one. NULL after any other write (another device, a merge, a
    #: clash, the service itself); a write that moves the version no longer matches.
    echo_free_for: str | None = Field(default=None, max_length=64, nullable=True)
    #: The person a case or warning names (its ``person_id`` field; :func:`person_of`), kept
    #: beside the fields so that a person's cases and warnings are found by an index (a merge,
    #: a share, an erasure, a subject access request, an import): NULL for other kinds.
    person_id: uuid.UUID | None = Field(default=None, nullable=True, index=True)


class QuarantinedRecord(ServerTable, table=True):
    """A stored record that failed the record schema, moved aside by ``admin check-records
    --quarantine`` (so pulls no longer send it): the record row as it was, and why."""

    __tablename__ = "record_quarantine"
    record_id: uuid.UUID = Field(primary_key=True)
    kind: str = Field(max_length=20)
    case_id: uuid.UUID = Field(index=True)
    version: int
    fields: dict[str, Any] = json_col()
    stamps: dict[str, Any] = json_col()
    created_at: datetime = ts()
    updated_at: datetime = ts()
    updated_by: str = Field(max_length=200)
    seq: int = Field(sa_column=Column(sa.BigInteger, nullable=False))
    #: [{"field": ..., "reason": ...}] (field names and reasons only, never values)
    problems: list[dict[str, str]] = Field(
        default_factory=list, sa_column=Column(sa.JSON(none_as_null=False), nullable=False)
    )
    quarantined_at: datetime = ts()
    quarantined_by: str = Field(max_length=200)


class LegalHold(ServerTable, table=True):
    """A case that must not be erased, by retention or on request, until the hold is released
    (``fieldcase-server admin hold REF --reason``): who placed it, when and why."""

    __tablename__ = "legal_hold"
    case_id: uuid.UUID = Field(primary_key=True)
    reason: str = Field(max_length=1000)
    placed_by: str = Field(max_length=200)
    placed_at: datetime = ts()


class ErasedCase(ServerTable, table=True):
    """The tombstone of an erased case (:mod:`server.records.erasure`): its id and reference,
    the rule or reason and the officer, never personal data. Changes to it are refused with
    ``erased`` and laptops are told to purge it."""

    __tablename__ = "erased_case"
    case_id: uuid.UUID = Field(primary_key=True)
    ref: str | None = Field(default=None, max_length=50)
    #: the retention rule that applied (``case type: N years after closure``), or None when
    #: erased on request
    rule: str | None = Field(default=None, max_length=200)
    reason: str = Field(max_length=1000)
    erased_by: str = Field(max_length=200)
    erased_at: datetime = ts()


class ErasedRecord(ServerTable, table=True):
    """Every record id an erased case held: a change naming one is refused, whatever case
    it claims to be of."""

    __tablename__ = "erased_record"
    record_id: uuid.UUID = Field(primary_key=True)
    case_id: uuid.UUID = Field(index=True)


class MoveGrace(ServerTable, table=True):
    """A device whose user moved team (:mod:`server.records.moves`) may still send its unsent
    work on its old team's cases until it has pulled past the move (``until_seq``)."""

    __tablename__ = "move_grace"
    device_id: uuid.UUID = Field(primary_key=True)
    old_team: str = Field(primary_key=True, max_length=200)
    until_seq: int = Field(sa_column=Column(sa.BigInteger, nullable=False))
    moved_at: datetime = ts()


class SubjectAccessRequest(ServerTable, table=True):
    """A subject access request in the SAR log (:mod:`server.records.subject_access`): when it
    was received and when the answer is due (one calendar month), whose record (person ids
    only, never a name), and when it was answered."""

    __tablename__ = "subject_access_request"
    id: int | None = Field(default=None, primary_key=True)
    received_on: date
    due_on: date
    person_ids: list[str] = Field(
        default_factory=list, sa_column=Column(sa.JSON(none_as_null=False), nullable=False)
    )
    logged_by: str = Field(max_length=200)
    logged_at: datetime = ts()
    answered_by: str | None = Field(default=None, max_length=200)
    answered_at: datetime | None = ts(nullable=True)


class ImportKey(ServerTable, table=True):
    """A record brought in by ``admin import`` (:mod:`server.imports`): the source system and
    its own id for it, and the record it became."""

    __tablename__ = "import_key"
    source: str = Field(primary_key=True, max_length=100)
    kind: str = Field(primary_key=True, max_length=20)
    external_id: str = Field(primary_key=True, max_length=300)
    record_id: uuid.UUID = Field(index=True)
    case_id: uuid.UUID = Field(index=True)
    version: int  # the version the import created it at
    #: field -> a short digest of what the file last said of it: a re-import sends only the
    #: fields whose value in the file changed, and leaves a record the file says the same of
    #: alone without reading it (digests, not values: the key holds no personal data)
    hashes: dict[str, str] = json_col()
    imported_at: datetime = ts()


class DuplicatePair(ServerTable, table=True):
    """A pair of people ``admin duplicates find`` scored as likely one person: the review
    queue (:mod:`server.linkage.queue`). ``person_a`` sorts before ``person_b``. ``state`` is
    ``open`` (to review), ``not_same`` (a reviewer said so: never queued again) or ``merged``.
    """

    __tablename__ = "duplicate_pair"
    person_a: uuid.UUID = Field(primary_key=True)
    person_b: uuid.UUID = Field(primary_key=True)
    probability: float
    reasons: list[str] = Field(
        default_factory=list, sa_column=Column(sa.JSON(none_as_null=False), nullable=False)
    )
    found_at: datetime = ts()
    state: str = Field(default="open", max_length=20, index=True)
    decided_by: str | None = Field(default=None, max_length=200)
    decided_at: datetime | None = ts(nullable=True)
    merge_id: int | None = None


class PersonMerge(ServerTable, table=True):
    """Two person records found to be one person, merged (:mod:`server.records.people`): who
    merged them, when and why; the records moved from the merged-away person to the kept one
    (so a split moves exactly those back); and the merged-away person's record as it was,
    kept out of pulls until a split brings it back (cleared if its case is erased)."""

    __tablename__ = "person_merge"
    id: int | None = Field(default=None, primary_key=True)
    kept_id: uuid.UUID = Field(index=True)
    #: the kept person's record version the merge left: a laptop's change to the merged-away
    #: person, made before it heard of the merge, is applied to the kept one as if made on
    #: that version (a field changed since becomes a clash, never silently overwritten)
    kept_version: int
    merged_id: uuid.UUID = Field(index=True)
    #: the case the merged-away person's record was held in
    merged_case_id: uuid.UUID = Field(index=True)
    #: the merged-away record as it was ({"version", "fields", "stamps", "created_at", ...}),
    #: or None once its case was erased
    merged_record: dict[str, Any] | None = json_col(nullable=True)
    #: ids (strings) of the cases and warnings that named the merged-away person, now the kept
    moved: list[str] = Field(
        default_factory=list, sa_column=Column(sa.JSON(none_as_null=False), nullable=False)
    )
    reason: str = Field(max_length=1000)
    merged_by: str = Field(max_length=200)
    merged_at: datetime = ts()
    split_by: str | None = Field(default=None, max_length=200)
    split_at: datetime | None = ts(nullable=True)
    split_reason: str | None = Field(default=None, max_length=1000)
    #: change-log position of the merge (and of the split): pulls tell laptops of it
    seq: int = Field(sa_column=Column(sa.BigInteger, nullable=False, index=True))


class SharedRecord(ServerTable, table=True):
    """A record also seen through another case than its own: a person's record through every
    case about them, and an active risk warning about them likewise (issue 14: after a
    merge each team sees the person through its own cases, and every risk warning)."""

    __tablename__ = "shared_record"
    record_id: uuid.UUID = Field(primary_key=True)
    case_id: uuid.UUID = Field(primary_key=True, index=True)


class CaseScope(ServerTable, table=True):
    """Who may see a case: its team and assigned worker (copied from the case record), and its
    reference, which no two cases share (a unique index: see
    :func:`server.records.push.refuse_taken_ref`)."""

    __tablename__ = "case_scope"
    case_id: uuid.UUID = Field(primary_key=True)
    ref: str | None = Field(default=None, max_length=50, index=True, unique=True)
    team: str | None = Field(default=None, max_length=200, index=True)
    assigned_to: str | None = Field(default=None, max_length=200, index=True)


class ScopeEvent(ServerTable, table=True):
    """A case's team or assignee changed: devices of people on either side re-check it."""

    __tablename__ = "scope_event"
    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(sa_column=Column(sa.BigInteger, nullable=False, index=True))
    case_id: uuid.UUID
    old_team: str | None = Field(default=None, max_length=200)
    old_assigned: str | None = Field(default=None, max_length=200)
    new_team: str | None = Field(default=None, max_length=200)
    new_assigned: str | None = Field(default=None, max_length=200)
    at: datetime = ts()


class Conflict(ServerTable, table=True):
    __tablename__ = "conflict"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    kind: str = Field(max_length=20)
    record_id: uuid.UUID = Field(index=True)
    case_id: uuid.UUID = Field(index=True)
    field: str = Field(max_length=100)
    kept_value: Any = json_col(nullable=True)
    kept_by: str = Field(max_length=200)
    kept_at: datetime = ts()
    other_value: Any = json_col(nullable=True)
    other_by: str = Field(max_length=200)
    other_at: datetime = ts()
    resolved: bool = False
    resolved_value: Any = json_col(nullable=True)
    resolved_by: str | None = Field(default=None, max_length=200)
    resolved_at: datetime | None = ts(nullable=True)
    seq: int = Field(sa_column=Column(sa.BigInteger, nullable=False, index=True))


class AppliedChange(ServerTable, table=True):
    """Every change id the service has handled, with its result: a replay is a duplicate."""

    __tablename__ = "applied_change"
    change_id: uuid.UUID = Field(primary_key=True)
    device_id: uuid.UUID | None = Field(default=None)
    record_id: uuid.UUID
    status: str = Field(max_length=20)
    version: int | None = None
    at: datetime = ts()


class Counter(ServerTable, table=True):
    """Named counters locked row-wise: ``log`` gives change-log positions in commit order."""

    __tablename__ = "counter"
    name: str = Field(primary_key=True, max_length=50)
    value: int = Field(sa_column=Column(sa.BigInteger, nullable=False))


# ------------------------------------------------------------------------------ audit


class AuditHead(ServerTable, table=True):
    """The chain's head (single row, locked while appending): the last row, the rule (key id)
    the next row must be made with, and the first row of the keyed rule (rows before it were
    written by the old unkeyed rule, "sha256")."""

    __tablename__ = "audit_head"
    id: int = Field(primary_key=True)
    last_id: int = Field(sa_column=Column(sa.BigInteger, nullable=False))
    last_hash: str = Field(max_length=64)
    key_id: str = Field(default="sha256", max_length=16)
    keyed_from: int = Field(default=1, sa_column=Column(sa.BigInteger, nullable=False))


class AuditEntry(ServerTable, table=True):
    __tablename__ = "audit_log"
    id: int = Field(sa_column=Column(sa.BigInteger, primary_key=True, autoincrement=False))
    at: datetime = ts()
    event: str = Field(max_length=50)
    actor: str | None = Field(default=None, max_length=200)
    device_id: str | None = Field(default=None, max_length=40)
    address: str | None = Field(default=None, max_length=100)
    record_kind: str | None = Field(default=None, max_length=20)
    record_id: str | None = Field(default=None, max_length=40)
    case_id: str | None = Field(default=None, max_length=40)
    detail: dict[str, Any] = json_col()
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
    #: The rule that made ``hash``: "sha256" (the old unkeyed rule) or the id of the HMAC key.
    key_id: str = Field(default="sha256", max_length=16)


# ------------------------------------------------------------------- refs and documents


class RefCounter(ServerTable, table=True):
    __tablename__ = "ref_counter"
    year: int = Field(primary_key=True)
    next_number: int


class RefBlockRow(ServerTable, table=True):
    __tablename__ = "ref_block"
    id: int | None = Field(default=None, primary_key=True)
    device_id: uuid.UUID = Field(foreign_key="device.id", index=True)
    year: int
    start: int
    end: int
    reserved_at: datetime = ts()


class DocumentContent(ServerTable, table=True):
    __tablename__ = "document_content"
    document_id: uuid.UUID = Field(primary_key=True)
    total: int = Field(sa_column=Column(sa.BigInteger, nullable=False))
    sha256: str = Field(max_length=64)
    received: int = Field(sa_column=Column(sa.BigInteger, nullable=False))
    complete: bool = False
    updated_at: datetime = ts()
    # Content may arrive before the document's record (it is uploaded first). Until the record
    # is pushed it is staged: only the uploading device may read or continue it, and it counts
    # only if the record, once pushed, names the same case.
    uploaded_by: str | None = Field(default=None, max_length=200)
    uploaded_by_device: uuid.UUID | None = None
    staged_case_id: uuid.UUID | None = None


class DocumentChunk(ServerTable, table=True):
    __tablename__ = "document_chunk"
    document_id: uuid.UUID = Field(primary_key=True)
    offset: int = Field(sa_column=Column(sa.BigInteger, primary_key=True, autoincrement=False))
    data: bytes = Field(sa_column=Column(sa.LargeBinary, nullable=False))


class ServerSetting(ServerTable, table=True):
    __tablename__ = "server_setting"
    key: str = Field(primary_key=True, max_length=100)
    value: str
