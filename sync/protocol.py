"""The Fieldcase sync protocol, version 6: the one definition of what crosses the wire.

Imported by the central service (``server/``) and the laptop's engine (``sync/engine``).
Human documentation lives in ``docs/protocol.md``; keep the two in step.

Every request carries ``X-Fieldcase-Protocol: <PROTOCOL_VERSION>``; authenticated requests
carry ``Authorization: Bearer <token>``. Bodies may be gzip-compressed
(``Content-Encoding: gzip``) both ways. Every error is an :class:`ErrorBody` with a
machine-readable :class:`ErrorCode`; only ``device_revoked`` ever tells a laptop to wipe itself.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sync.records import RecordKind

#: 2: pushes carry the laptop's push ``mark`` and ``GET /v1/sync/state`` tells it back, so a
#: laptop whose data file was rolled back finds out (see docs/protocol.md).
#: 3: a warning says who retired it and when, a visit what came of it (sync.records.ADDED_IN);
#: a laptop of an older protocol is sent its records without those fields.
#: 4: the first decision settles a clash for everyone: a change that sets out to settle a clash
#: someone settled first is not applied to that field, and its result says so
#: (``ChangeResult.settled`` and ``fields_now``); a conflict says when it was settled
#: (``ConflictInfo.resolved_at``). An older laptop is sent its answers without those fields
#: (:func:`answer_for`).
#: 5: erasure (records management): a pull names the cases erased on the service
#: (``PullResponse.erased_cases``: purge at once, unsent work and backups included), and a
#: change to an erased case is refused with ``erased``. An older laptop is told of an erased
#: case as a removal, and of a refused change as ``forbidden``.
#: 6: merges of two records of one person (issue 14): a pull names each merge
#: (``PullResponse.merged_people``: the merged-away person's id and the kept one's; the laptop
#: makes its cases and warnings name the kept person and drops the other's record), and a
#: record a team sees through another team's case (a shared person, a risk warning about
#: them) says which team holds it (``RecordState.held_by``); ``SyncState.role`` tells the
#: laptop its user's role. An older laptop is sent none of these.
#: 7: a person says the ids the council's old systems knew them by (``external_ids``, set by
#: the service's import and merges, searchable on the laptop); an older laptop is sent its
#: people without it.
PROTOCOL_VERSION = 7
#: The oldest client protocol the service still accepts (one release back: a version 1 laptop
#: is served, without rollback detection).
MIN_PROTOCOL_VERSION = 1
PROTOCOL_HEADER = "X-Fieldcase-Protocol"
#: The case a document's content is for, sent with content uploaded before its record.
CASE_ID_HEADER = "X-Case-Id"

#: Changes one push may hold (500 before issue 11: 1,000 edits with their audit events now
#: go in two pushes; a laptop meeting an older service goes on at 500).
MAX_PUSH_CHANGES = 1000
DEFAULT_PAGE_BYTES = 256 * 1024
MAX_PAGE_BYTES = 4 * 1024 * 1024
#: The smallest page a laptop asks for when pages shrink on a bad link (a retried pull, the
#: engine's next page after a retry): small enough to get through a link that cuts every
#: long answer, large enough to hold a whole case.
SMALLEST_PAGE_BYTES = 16 * 1024
DOCUMENT_CHUNK_BYTES = 1024 * 1024

#: JSON value of one field.
FieldValue = Any


class Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class SparseWire(Wire):
    """A message whose optional fields, when unset, are left off the wire rather than sent as
    null, so a peer from before those fields still reads it (models forbid fields they do not
    know). The laptop sends these so (``sync.client``); the service answers them so
    (``response_model_exclude_none``)."""


# ----------------------------------------------------------------------------------- errors


class ErrorCode(StrEnum):
    DEVICE_REVOKED = "device_revoked"  # 401: wipe this laptop's local data
    TOKEN_EXPIRED = "token_expired"  # noqa: S105  # 401: renew the access token with the device credential
    UNAUTHENTICATED = "unauthenticated"  # 401: missing or unknown token / wrong password
    PROTOCOL_UNSUPPORTED = "protocol_unsupported"  # 426: the laptop must be updated
    RATE_LIMITED = "rate_limited"  # 429: wait Retry-After seconds
    FORBIDDEN = "forbidden"  # 403: not yours to see or change
    NOT_FOUND = "not_found"  # 404
    VALIDATION = "validation"  # 422: malformed request
    CONFLICT = "conflict"  # 409: e.g. a document upload at the wrong offset
    DUPLICATE_REF = "duplicate_ref"  # 409: another case already has this reference
    BAD_CURSOR = "bad_cursor"  # 422: a pull cursor the service never gave out: start again
    QUOTA_EXCEEDED = "quota_exceeded"  # 413: this device's staged uploads are over the limit
    ACCOUNT_DISABLED = "account_disabled"  # 403
    ERASED = "erased"  # 410: the case was erased on the service: purge it, never send it again
    SERVER_ERROR = "server_error"  # 500


ERROR_STATUS: dict[ErrorCode, int] = {
    ErrorCode.DEVICE_REVOKED: 401,
    ErrorCode.TOKEN_EXPIRED: 401,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.PROTOCOL_UNSUPPORTED: 426,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.VALIDATION: 422,
    ErrorCode.CONFLICT: 409,
    ErrorCode.DUPLICATE_REF: 409,
    ErrorCode.BAD_CURSOR: 422,
    ErrorCode.QUOTA_EXCEEDED: 413,
    ErrorCode.ACCOUNT_DISABLED: 403,
    ErrorCode.ERASED: 410,
    ErrorCode.SERVER_ERROR: 500,
}


class ErrorBody(Wire):
    code: ErrorCode
    message: str  # plain English, safe to show a caseworker
    detail: dict[str, Any] = Field(default_factory=dict)


# ----------------------------------------------------------------------- accounts, devices


#: Longest user name the service stores (its accounts table) and longest password it checks.
MAX_USERNAME = 200
MAX_PASSWORD = 1024
#: An ID token is a few kilobytes; Entra ID's with many claims stays well under this.
MAX_ID_TOKEN = 16 * 1024
#: The longest authorization code a provider's answer may carry (Entra ID's are ~1-2 KB).
MAX_PROVIDER_CODE = 4096


class LoginRequest(Wire):
    """POST /v1/auth/login. A user name or password that no account could have (too long, a
    NUL, text that is not valid UTF-8) is refused as ``validation``."""

    username: str = Field(min_length=1, max_length=MAX_USERNAME)
    password: str = Field(max_length=MAX_PASSWORD)

    @field_validator("username", "password")
    @classmethod
    def _plain_text(cls, value: str) -> str:
        if "\x00" in value:
            raise ValueError("must not contain a NUL character")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as err:
            raise ValueError("must be valid UTF-8 text") from err
        return value


class TokenResponse(Wire):
    access_token: str
    expires_at: datetime
    username: str
    team: str
    role: str  # caseworker | manager | admin
    server_time: datetime


class SignInWays(Wire):
    """GET /v1/auth/ways (no auth, protocol 7 onward): how people sign in to this service.
    ``password``: a user name and password (under single sign-on only, the named break-glass
    accounts still may, and this is false); ``sso``: the council's own account, through its
    provider in the browser (:class:`SsoStartResponse`)."""

    password: bool
    sso: bool


class SsoStartResponse(SparseWire):
    """POST /v1/auth/sso/start: where the council's provider is, and the nonce this one
    sign-in must carry (single use; it expires)."""

    issuer: str
    client_id: str
    authorization_endpoint: str
    token_endpoint: str
    scopes: list[str]
    nonce: str
    expires_at: datetime
    #: who turns the provider's authorization code into tokens: left off, the laptop
    #: (Fieldcase is a public client at the provider: PKCE, no secret); ``service``, a
    #: confidential client: the service alone holds the client secret, so the laptop hands
    #: it the code
    exchange: Literal["laptop", "service"] | None = None


class SsoSignInRequest(SparseWire):
    """POST /v1/auth/sso, for the nonce the service gave: the ID token the provider gave the
    laptop, or (``exchange`` ``service``) the provider's authorization code with the PKCE
    verifier and the redirect address it was sent to, for the service to redeem."""

    id_token: str | None = Field(default=None, min_length=1, max_length=MAX_ID_TOKEN, repr=False)
    nonce: str = Field(min_length=16, max_length=200)
    code: str | None = Field(default=None, min_length=1, max_length=MAX_PROVIDER_CODE, repr=False)
    code_verifier: str | None = Field(default=None, min_length=43, max_length=128, repr=False)
    redirect_uri: str | None = Field(default=None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _one_proof(self) -> SsoSignInRequest:
        given = [v is not None for v in (self.code, self.code_verifier, self.redirect_uri)]
        if any(given) != all(given) or (self.id_token is not None) == all(given):
            raise ValueError("give an id_token, or a code with its code_verifier and redirect_uri")
        return self


class SsoSignInResponse(TokenResponse, SparseWire):
    """A user token, and (``exchange`` ``service``) the provider's refresh token for the
    laptop to keep, encrypted, and hand back at renewal."""

    refresh_token: str | None = Field(default=None, max_length=MAX_ID_TOKEN, repr=False)


class SsoRenewRequest(SparseWire):
    """POST /v1/auth/sso/renew (device token): a fresh ID token the provider made from its
    refresh token, showing it still vouches for this laptop's user."""

    id_token: str | None = Field(default=None, min_length=1, max_length=MAX_ID_TOKEN, repr=False)
    #: (``exchange`` ``service``) instead: the provider's refresh token, for the service to
    #: redeem with its client secret
    refresh_token: str | None = Field(
        default=None, min_length=1, max_length=MAX_ID_TOKEN, repr=False
    )

    @model_validator(mode="after")
    def _one_proof(self) -> SsoRenewRequest:
        if (self.id_token is None) == (self.refresh_token is None):
            raise ValueError("give an id_token or a refresh_token")
        return self


class SsoRenewResponse(SparseWire):
    """The user's team and role as the provider now gives them; and (``exchange``
    ``service``) the refresh token to keep from now on."""

    username: str
    team: str
    role: str
    server_time: datetime
    refresh_token: str | None = Field(default=None, max_length=MAX_ID_TOKEN, repr=False)


class EnrolRequest(Wire):
    """POST /v1/devices/enrol (user token). Registers this laptop."""

    device_name: str = Field(max_length=200)


class EnrolResponse(Wire):
    device_id: UUID
    device_secret: str  # kept inside the encrypted profile; background sync uses it alone
    recovery_secret: str  # wraps the database key for password recovery; never stored unwrapped
    server_time: datetime


class DeviceTokenRequest(Wire):
    """POST /v1/auth/device-token: a fresh access token from the device credential."""

    device_id: UUID
    device_secret: str


class RecoveryResponse(Wire):
    """GET /v1/devices/{device_id}/recovery (user token, i.e. an online sign-in)."""

    device_id: UUID
    recovery_secret: str


# ------------------------------------------------------------------------------ push


class Change(Wire):
    """One edit made on a laptop. ``change_id`` makes a replayed push harmless."""

    change_id: UUID
    kind: RecordKind
    record_id: UUID
    case_id: UUID  # the case this record belongs to (a case's own id for kind=case)
    base_version: int = Field(ge=0)  # the record version the edit was made on; 0 = new record
    fields: dict[str, FieldValue]  # only the fields this change sets
    resolves: list[UUID] = Field(default_factory=list)  # conflict ids this change settles
    made_at: datetime  # laptop clock, informational only


#: The largest push mark a push may carry (a laptop ignores a stored mark above it as damaged).
MAX_PUSH_MARK = 2**62


class PushRequest(Wire):
    """POST /v1/sync/push"""

    changes: list[Change] = Field(max_length=MAX_PUSH_CHANGES)
    #: (protocol 2) The laptop's push mark: a counter it raises and commits locally before
    #: every push. The service keeps the highest mark each device sent (:class:`SyncState`).
    mark: int | None = Field(default=None, ge=0, le=MAX_PUSH_MARK)


class ChangeStatus(StrEnum):
    APPLIED = "applied"  # merged into the central record
    DUPLICATE = "duplicate"  # this change id was applied before; nothing done again
    CONFLICT = "conflict"  # applied, but some fields clashed and were kept as conflicts
    REJECTED = "rejected"  # refused (forbidden, invalid); see error. Never silently dropped


class ConflictInfo(Wire):
    """A field edited on two sides. The value that reached the service first is kept in the
    record; the other is kept here until a person resolves it."""

    conflict_id: UUID
    kind: RecordKind
    record_id: UUID
    case_id: UUID
    field: str
    kept_value: FieldValue  # in the record now (arrived first)
    kept_by: str
    kept_at: datetime
    other_value: FieldValue  # arrived second, not applied
    other_by: str
    other_at: datetime
    resolved: bool = False
    resolved_value: FieldValue = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None  # (protocol 4)


class ChangeResult(Wire):
    change_id: UUID
    status: ChangeStatus
    version: int | None = None  # record version after the change
    conflicts: list[ConflictInfo] = Field(default_factory=list)
    error: ErrorBody | None = None
    #: (protocol 4) Clashes this change set out to settle that another decision settled
    #: first: that decision stands, and the change did not set their fields.
    settled: list[ConflictInfo] = Field(default_factory=list)
    #: (protocol 4) The record's values now of the fields named in ``settled``, for the
    #: laptop to show instead of the choice that came second.
    fields_now: dict[str, FieldValue] = Field(default_factory=dict)


class PushResponse(Wire):
    results: list[ChangeResult]
    server_time: datetime


class SyncState(Wire):
    """GET /v1/sync/state (protocol 2): what the service knows of this device. A
    ``push_mark`` above the laptop's own means the laptop's data file was rolled back
    (restored from a backup, or an older copy put in its place)."""

    push_mark: int  # the highest push mark this device sent (0: none yet)
    server_time: datetime
    #: (protocol 6) The role of this device's user (caseworker, manager, governance): what
    #: the laptop offers them (a manager and a governance officer review possible duplicates).
    role: str | None = None


# ------------------------------------------------------------------------------ pull


class RecordState(Wire):
    """A record as the service holds it now (all fields)."""

    kind: RecordKind
    record_id: UUID
    case_id: UUID
    version: int
    fields: dict[str, FieldValue]
    updated_at: datetime
    updated_by: str
    #: (protocol 6) The team whose case holds this record, when the laptop is sent it through
    #: one of its own cases (a person, or a risk warning about them, after a merge): shown
    #: beside the warning ("recorded by Housing North"). None for a record of its own cases.
    held_by: str | None = None


class PeopleMerged(Wire):
    """(protocol 6) Two records of one person made one on the service: every case and warning
    naming ``merged`` names ``kept`` now, and ``merged``'s record is gone."""

    merged: UUID
    kept: UUID


class PullRequest(Wire):
    """POST /v1/sync/pull"""

    cursor: str | None = None  # opaque; None = from the beginning
    max_bytes: int = Field(default=DEFAULT_PAGE_BYTES, ge=1024, le=MAX_PAGE_BYTES)


class PullResponse(Wire):
    records: list[RecordState]  # changed or newly in scope (a case entering scope comes whole)
    removed_cases: list[UUID] = Field(default_factory=list)  # left scope: purge locally
    #: (protocol 5) Erased on the service (a request, or the retention schedule): purge at
    #: once with any unsent work on them, from the backups too, and keep only the fact.
    erased_cases: list[UUID] = Field(default_factory=list)
    #: (protocol 6) People merged on the service: point local records at the kept person.
    merged_people: list[PeopleMerged] = Field(default_factory=list)
    conflicts: list[ConflictInfo] = Field(default_factory=list)  # new or resolved conflicts
    next_cursor: str
    more: bool
    server_time: datetime


# ------------------------------------------------------------------- reference blocks


class RefBlock(Wire):
    """Reference numbers reserved for one device: FC-{year}-{number:05d} for start..end."""

    year: int
    start: int
    end: int  # inclusive


class RefBlocksRequest(Wire):
    """POST /v1/refs/blocks: top up this device's reserved reference numbers."""

    unused: int = Field(ge=0)  # numbers the laptop still has unused


class RefBlocksResponse(Wire):
    blocks: list[RefBlock]
    device_code: str  # short code for the offline fallback reference (FC-2026-K7Q-0001)


# -------------------------------------------------------------------------- documents
# PUT  /v1/documents/{document_id}/content   body: one chunk; headers
#        X-Upload-Offset (bytes already sent), X-Total-Size, X-Sha256 (of the whole plaintext),
#        X-Case-Id (the document's case; lets content arrive before the document's record:
#        it is then staged, readable and resumable only by the uploading device, and counts
#        only if the record, once pushed, names the same case; also accepted on /status)
# GET  /v1/documents/{document_id}/status    -> UploadStatus (how much the service holds)
# GET  /v1/documents/{document_id}/content   supports Range: bytes=N- for resumed downloads


class UploadStatus(Wire):
    document_id: UUID
    received: int
    total: int | None
    complete: bool
    sha256: str | None = None


# ------------------------------------------------------------------------- history
# GET /v1/cases/{case_id}/history   (protocol 5; managers: their team's cases, governance
#                                    officers: any case) -> CaseHistory


class HistoryItem(Wire):
    """One thing someone did to a case, from the service's audit trail."""

    at: datetime  # when it happened (on the laptop, for an event a laptop sent)
    received_at: datetime  # when the service wrote it down
    actor: str
    action: str  # plain words: "viewed", "changed", "put a legal hold on"...
    record_kind: str | None = None
    from_laptop: bool
    text: str  # the whole line in plain English


class CaseHistory(Wire):
    case_id: UUID
    ref: str | None
    items: list[HistoryItem]


# ------------------------------------------------------------------------- subject access


class PeopleQuery(Wire):
    """Find a person across every team by name and date of birth (governance officers)."""

    name: str = Field(min_length=1, max_length=300)
    date_of_birth: date


class PersonFound(Wire):
    person_id: UUID
    name: str
    date_of_birth: date | None = None
    refs: list[str]  # the cases that hold or name the person
    teams: list[str]


class PeopleFound(Wire):
    exact: list[PersonFound]  # the same normalised name and date of birth
    possible: list[PersonFound]  # near misses, for the officer to include by id or not


class Withhold(Wire):
    """A note or document left out of a subject access export (third-party information)."""

    id: UUID
    reason: str = Field(min_length=1, max_length=1000)


class SubjectAccessQuery(Wire):
    """Export the person's record (the answer is a ZIP: see docs/protocol.md)."""

    person_ids: list[UUID] = Field(min_length=1, max_length=50)
    withhold: list[Withhold] = Field(default_factory=list, max_length=10_000)
    #: records of another person's case that are about them too
    include: list[UUID] = Field(default_factory=list, max_length=10_000)
    #: the export to send (marks their open requests answered); else a draft for review
    final: bool = False
    large_print: bool = False


# ---------------------------------------------------------------------- duplicate people


class PersonSide(Wire):
    """One of two people who may be one, as a reviewer compares them."""

    person_id: UUID
    name: str
    date_of_birth: date | None = None
    address: str = ""
    phone: str = ""
    #: how the predecessor systems knew them (``source:id``)
    external_ids: list[str] = Field(default_factory=list)
    #: the teams holding a case about them
    teams: list[str] = Field(default_factory=list)
    cases: int = 0


class DuplicatePairInfo(Wire):
    """A pair waiting for review: both people, how likely they are one, and why."""

    a: PersonSide
    b: PersonSide
    probability: float = Field(ge=0, le=1)
    reasons: list[str]


class DuplicatePairs(Wire):
    """GET /v1/duplicates (managers: pairs about their team's people; governance officers:
    every pair), most likely first."""

    pairs: list[DuplicatePairInfo]
    more: int = 0  # pairs waiting beyond these


class DuplicateDecision(Wire):
    """POST /v1/duplicates/decide: ``same`` merges ``other`` into ``keep``; else the two are
    not the same person, and never suggested again."""

    keep: UUID
    other: UUID
    same: bool
    reason: str = Field(min_length=1, max_length=1000)


class DuplicateDecided(Wire):
    merge_id: int | None = None
    message: str


# ------------------------------------------------------------------------------- meta


class CaseType(Wire):
    code: str
    label: str


class MetaResponse(Wire):
    """GET /v1/meta (no auth): what a laptop needs before enrolling."""

    service_name: str
    protocol_version: int
    min_protocol_version: int
    server_time: datetime
    case_types: list[CaseType]


# ------------------------------------------------------------------ older laptops

#: What protocol 4 added to the answers above (a laptop's models forbid fields they do not
#: know, so an older laptop is sent its answers without them).
_CONFLICT_ADDED_4 = {"resolved_at"}
_RESULT_ADDED_4 = {"settled", "fields_now"}


def _without_erased_code(answer: PushResponse) -> PushResponse:
    """``erased`` (protocol 5) as ``forbidden`` for a laptop that does not know the code."""
    if not any(r.error is not None and r.error.code == ErrorCode.ERASED for r in answer.results):
        return answer
    results = [
        r.model_copy(update={"error": r.error.model_copy(update={"code": ErrorCode.FORBIDDEN})})
        if r.error is not None and r.error.code == ErrorCode.ERASED
        else r
        for r in answer.results
    ]
    return answer.model_copy(update={"results": results})


def pull_tail_for(
    removed: list[UUID], erased: list[UUID], version: int
) -> tuple[list[UUID], list[UUID]]:
    """A pull's (removed, erased) cases for a laptop of protocol ``version``: before 5 an
    erased case is sent as a removal (that laptop purges it once its unsent work on it has
    been tried; the service refuses that work), and there is no ``erased_cases`` field."""
    if version >= 5:
        return removed, erased
    return [*removed, *(c for c in erased if c not in removed)], []


def conflict_for(info: ConflictInfo, version: int) -> dict[str, Any]:
    """A conflict as JSON data for a laptop of protocol ``version``."""
    return info.model_dump(mode="json", exclude=_CONFLICT_ADDED_4 if version < 4 else None)


def answer_for(answer: PushResponse, version: int) -> str:
    """A push's answer as JSON for a laptop of protocol ``version``."""
    if version >= 5:
        return answer.model_dump_json()
    answer = _without_erased_code(answer)
    if version >= 4:
        return answer.model_dump_json()
    older: dict[str, Any] = {
        "results": {
            "__all__": {
                **dict.fromkeys(_RESULT_ADDED_4, True),
                "conflicts": {"__all__": _CONFLICT_ADDED_4},
            }
        }
    }
    return answer.model_dump_json(exclude=older)
