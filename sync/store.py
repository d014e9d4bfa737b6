"""The small interface through which the sync engine reaches the laptop's store.

``sync/`` defines it; ``app/`` implements it (``app/store/sync_adapter.py``) and hands an
instance to the engine. Every method is one local transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import BinaryIO, Protocol
from uuid import UUID

from pydantic import BaseModel, Field

from sync.protocol import Change, ChangeResult, ConflictInfo, PullResponse, RefBlock


class DeviceCredential(BaseModel):
    server_url: str
    device_id: UUID
    device_secret: str
    username: str


class SsoLink(BaseModel):
    """A laptop enrolled by single sign-on: where to renew its user's sign-in with the council's
    provider, without a browser (the refresh token is kept inside the encrypted database)."""

    issuer: str
    client_id: str
    token_endpoint: str
    refresh_token: str = Field(repr=False)
    renewed_at: datetime
    #: who redeems the refresh token: ``laptop`` (at the provider) or ``service`` (a
    #: confidential client: the laptop hands it to the service, which holds the secret)
    exchange: str = "laptop"


class PendingDocument(BaseModel):
    document_id: UUID
    case_id: UUID
    size: int
    sha256: str


class ReReferenced(BaseModel):
    """A case made offline given a fresh reference because another case held its own."""

    old_ref: str
    new_ref: str
    requeued: list[UUID]  # its refused changes, back in the queue


class LocalStore(Protocol):
    # --- outbox
    def pending_changes(self, limit: int) -> list[Change]:
        """The oldest changes not yet confirmed by the service, in the order they were made."""

    def pending_count(self) -> int: ...

    def mark_sent(self, results: Sequence[ChangeResult]) -> None:
        """Remove confirmed changes (applied, duplicate, conflict) from the outbox and record
        new versions and conflicts; rejected ones are kept aside with their error, never lost."""

    # --- pull
    def cursor(self) -> str | None: ...

    def apply_page(self, page: PullResponse) -> int:
        """Apply records, conflicts and removed cases, and store ``page.next_cursor``, all in
        one transaction. A removed case with unsent local edits is kept until they are sent.
        A record that cannot be stored is set aside (and reported to the service through the
        outbox) instead of failing the page; returns how many were newly set aside."""

    def pull_stopped(self) -> None:
        """The pull ended before its last page (the link went, the sync was cancelled, an
        error): finish what waits for a pull's end (a first sync's search index)."""

    def retry_set_aside(self) -> int:
        """Try again the records set aside by an older version of the app; returns how many
        could be stored now."""

    def pending_for_case(self, case_id: UUID) -> int: ...

    def purge_removed_cases(self) -> int:
        """Purge the cases the service removed whose local edits have all been sent (or
        refused and kept aside); returns how many were purged. Called after each push."""

    # --- conflicts
    def conflicts(self) -> list[ConflictInfo]: ...

    def decisions_to_tell(self) -> list[ConflictInfo]:
        """Clashes someone else settled against this laptop's user since they were last told
        (a pulled decision against their own version, or their own decision that came
        second); each is returned once."""

    # --- reference blocks
    def unused_refs(self) -> int: ...

    def add_ref_blocks(self, blocks: Sequence[RefBlock], device_code: str) -> None: ...

    # --- push mark, rollbacks and taken references (protocol 2)
    def push_mark(self) -> int:
        """The highest push mark this laptop committed (0: none yet)."""

    def next_push_mark(self) -> int:
        """Raise the push mark by one and commit it; called before every push is sent, so the
        service never holds a higher mark than the laptop unless its data was rolled back."""

    def note_role(self, role: str) -> None:
        """The service says its user's role (protocol 6): kept for what the window offers."""

    def rolled_back(self, service_mark: int) -> None:
        """The data file is older than what this laptop sent: take the service's mark, pull
        everything again from the beginning, drop the reserved reference blocks (fresh ones
        are fetched) and make the next fallback reference jump. Unsent work stays queued."""

    def re_reference(self, change_id: UUID) -> ReReferenced | None:
        """Give the offline-made case of a change refused with ``duplicate_ref`` a fresh
        reference, record it in the case's history and queue its changes again; None when the
        change is not such a case (the refusal then stays)."""

    # --- documents
    def documents_to_upload(self) -> list[PendingDocument]: ...

    def open_document(self, document_id: UUID) -> BinaryIO:
        """A streaming reader of the document's plaintext (decrypted chunk by chunk)."""

    def documents_to_download(self) -> list[PendingDocument]: ...

    def save_document(self, document_id: UUID, chunks: Iterator[bytes]) -> None:
        """Encrypt arriving plaintext chunks with this laptop's keys as they come."""

    def mark_document_uploaded(self, document_id: UUID) -> None: ...

    # --- credentials and state
    def credential(self) -> DeviceCredential | None: ...

    def wipe(self) -> int:
        """Destroy the wrapped key first, then the profile's files (device revoked). Returns
        how many changes were waiting to be sent when they were erased."""
