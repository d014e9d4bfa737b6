"""HTTP client for the Fieldcase service: one keep-alive session, retries, token renewal.

* Every request carries ``X-Fieldcase-Protocol``; JSON bodies go out gzip-compressed and
  responses may come back compressed: zstd when this install can read it (urllib3 decodes
  it with the ``backports.zstd`` package, or Python 3.14's own), else gzip (see
  :data:`ACCEPT_ENCODING`; ``requests`` decodes both).
* How one request is sent, judged and retried is :mod:`sync.transport`: connection errors,
  stalls, 500/502/503/504 and 429 are retried with capped exponential backoff and full jitter
  (429 honours ``Retry-After``); no other 4xx is retried, except that an expired access token
  is renewed once, silently, with the device credential.
* ``https`` is required except to this computer itself (:mod:`sync.address`).

Time (``Retry-After`` dates, back-off waits) is read through the injected
:class:`~sync.clock.Clock`, so tests with a :class:`~sync.clock.ManualClock` never really wait.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TypeVar
from uuid import UUID

import requests
from pydantic import BaseModel, ValidationError
from urllib3.util.request import ACCEPT_ENCODING as URLLIB3_DECODES

from sync import network, pull_lines
from sync.address import check_server_url, is_loopback_host
from sync.clock import Clock, SystemClock
from sync.errors import AuthFailed, NetworkError, ServiceError, ServiceErrorKind
from sync.protocol import (
    CASE_ID_HEADER,
    PROTOCOL_HEADER,
    PROTOCOL_VERSION,
    SMALLEST_PAGE_BYTES,
    CaseHistory,
    DeviceTokenRequest,
    DuplicateDecided,
    DuplicateDecision,
    DuplicatePairs,
    EnrolRequest,
    EnrolResponse,
    LoginRequest,
    MetaResponse,
    PullRequest,
    PullResponse,
    PushRequest,
    PushResponse,
    RecoveryResponse,
    RefBlocksRequest,
    RefBlocksResponse,
    SparseWire,
    SyncState,
    TokenResponse,
    UploadStatus,
)
from sync.store import DeviceCredential
from sync.transport import LINK_FAILURES, Reply, RetryPolicy, Timeouts, Transport, WireStats

__all__ = [
    "RetryPolicy",
    "ServiceClient",
    "Timeouts",
    "WireStats",
    "check_server_url",
    "dump_json",
    "is_loopback_host",
]

M = TypeVar("M", bound=BaseModel)

NOT_ENROLLED = "This laptop is not enrolled with a Fieldcase service yet."


#: The answer codings asked for: zstd first when urllib3 here can decode it (it says so in
#: its own default header), then gzip, which every service and urllib3 speak.
ACCEPT_ENCODING = "zstd, gzip" if "zstd" in URLLIB3_DECODES.split(",") else "gzip"


def _json_body(body: BaseModel) -> bytes:
    """A request body as sent: its JSON, gzipped."""
    sparse = isinstance(body, SparseWire)  # unset optional fields left off, not null
    return gzip.compress(body.model_dump_json(exclude_none=sparse).encode("utf-8"), compresslevel=6)


#: A pull asks for its page as lines with checkpoints (kept up to the last one when the link
#: cuts it, see sync/pull_lines.py); a service that does not send lines sends JSON.
PULL_ACCEPT = f"{pull_lines.MEDIA_TYPE}, application/json;q=0.5"


class ServiceClient:
    """Talks to one Fieldcase service. Not thread-safe: one sync at a time uses it."""

    def __init__(
        self,
        server_url: str,
        *,
        credential: DeviceCredential | None = None,
        ca_bundle: str | None = None,
        proxy: str = network.NO_PROXY,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        cancel: threading.Event | None = None,
        protocol_version: int = PROTOCOL_VERSION,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = check_server_url(server_url)
        self.credential = credential
        self.session = session or requests.Session()
        # trust (the system's authorities and ca_bundle) and proxy (the site policy's only)
        network.configure(self.session, self.base_url, ca_bundle=ca_bundle, proxy=proxy)
        self.transport = Transport(
            self.base_url,
            self.session,
            clock=clock or SystemClock(),
            timeouts=timeouts,
            retry=retry,
            rng=rng,
            cancel=cancel,
            protocol_version=protocol_version,
        )
        self.token: str | None = None
        self.token_expires: datetime | None = None
        self.last_server_time: datetime | None = None

    # ------------------------------------------------------------------ plumbing

    @property
    def cancel(self) -> threading.Event | None:
        """Set it to end back-off waits and stop between requests (the engine does)."""
        return self.transport.cancel

    @cancel.setter
    def cancel(self, event: threading.Event | None) -> None:
        self.transport.cancel = event

    @property
    def clock(self) -> Clock:
        """What back-off waits and ``Retry-After`` dates are read on (the engine's, in a sync)."""
        return self.transport.clock

    @clock.setter
    def clock(self, clock: Clock) -> None:
        self.transport.clock = clock

    @property
    def stats(self) -> WireStats:
        return self.transport.stats

    @property
    def retry(self) -> RetryPolicy:
        return self.transport.retry

    @property
    def protocol_version(self) -> int:
        return self.transport.protocol_version

    def close(self) -> None:
        self.session.close()

    def _headers(self, auth: bool) -> dict[str, str]:
        headers = {PROTOCOL_HEADER: str(self.protocol_version), "Accept-Encoding": ACCEPT_ENCODING}
        if auth and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def request(
        self,
        method: str,
        path: str,
        *,
        body: BaseModel | None = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        auth: bool = True,
        stream: bool = False,
        model: type[BaseModel] | None = None,
        body_on_retry: Callable[[int], BaseModel] | None = None,
        once: bool = False,
    ) -> Reply:
        """One logical request, retried (:mod:`sync.transport`; ``once``: never sent twice, as
        it carries something single-use). Returns a 2xx reply. ``body_on_retry(n)``: the body
        of retry ``n``, when it should differ from ``body``."""
        payload = data
        extra = dict(headers or {})
        if body is not None:
            payload = _json_body(body)
            extra["Content-Type"] = "application/json"
            extra["Content-Encoding"] = "gzip"
        if auth and self.token is None and self.credential is not None:
            self.renew_token()
        on_retry = None if body_on_retry is None else lambda n: _json_body(body_on_retry(n))
        return self.transport.exchange(
            method,
            path,
            headers=lambda: {**self._headers(auth), **extra},
            payload=payload,
            stream=stream,
            model=model,
            renew=self.renew_token if auth and self.credential is not None else None,
            payload_on_retry=on_retry,
            once=once,
        )

    def _call(
        self,
        method: str,
        path: str,
        model: type[M],
        *,
        body: BaseModel | None = None,
        auth: bool = True,
        headers: dict[str, str] | None = None,
        body_on_retry: Callable[[int], BaseModel] | None = None,
    ) -> M:
        retry = body_on_retry
        result = self.request(
            method, path, body=body, auth=auth, model=model, headers=headers, body_on_retry=retry
        ).parsed
        if not isinstance(result, model):  # send_once parsed it, or the reply was retried
            raise ServiceError(ServiceErrorKind.PROTOCOL, detail=f"{path}: bad answer")
        server_time = getattr(result, "server_time", None)
        if isinstance(server_time, datetime):
            self.last_server_time = server_time
        return result

    # ------------------------------------------------------------------ accounts and devices

    def meta(self) -> MetaResponse:
        return self._call("GET", "/v1/meta", MetaResponse, auth=False)

    def login(self, username: str, password: str) -> TokenResponse:
        """Sign in with the account password; the token is kept in memory only."""
        try:
            body = LoginRequest(username=username, password=password)
        except ValidationError as err:  # too long, a NUL...: no account has such a name
            raise AuthFailed(detail="user name or password not acceptable") from err
        answer = self._call("POST", "/v1/auth/login", TokenResponse, body=body, auth=False)
        self.token, self.token_expires = answer.access_token, answer.expires_at
        return answer

    def renew_token(self) -> TokenResponse:
        if self.credential is None:
            raise AuthFailed(NOT_ENROLLED)
        try:
            answer = self._call(
                "POST",
                "/v1/auth/device-token",
                TokenResponse,
                body=DeviceTokenRequest(
                    device_id=self.credential.device_id,
                    device_secret=self.credential.device_secret,
                ),
                auth=False,
            )
        except AuthFailed as err:
            raise AuthFailed(
                "The Fieldcase service no longer accepts this laptop's sign-in. Ask your IT "
                "team to check this laptop's enrolment.",
                detail=err.detail,
            ) from err
        self.token, self.token_expires = answer.access_token, answer.expires_at
        self.stats.token_renewals += 1
        return answer

    def enrol(self, device_name: str) -> EnrolResponse:
        return self._call(
            "POST", "/v1/devices/enrol", EnrolResponse, body=EnrolRequest(device_name=device_name)
        )

    def recovery(self, device_id: UUID) -> RecoveryResponse:
        return self._call("GET", f"/v1/devices/{device_id}/recovery", RecoveryResponse)

    # ------------------------------------------------------------------ sync

    def push(self, request: PushRequest) -> PushResponse:
        return self._call("POST", "/v1/sync/push", PushResponse, body=request)

    def sync_state(self) -> SyncState:
        """What the service knows of this device (protocol 2): its highest push mark."""
        return self._call("GET", "/v1/sync/state", SyncState)

    def pull(self, request: PullRequest) -> PullResponse:
        """One page. A retry asks for half the bytes of the try before (down to
        :data:`~sync.protocol.SMALLEST_PAGE_BYTES`): on a link that cuts every long answer, a
        page that never gets through whole is asked for smaller until it does."""

        def smaller(retry: int) -> PullRequest:
            size = max(min(request.max_bytes, SMALLEST_PAGE_BYTES), request.max_bytes >> retry)
            return request.model_copy(update={"max_bytes": size})

        return self._call(
            "POST",
            "/v1/sync/pull",
            PullResponse,
            body=request,
            body_on_retry=smaller,
            headers={"Accept": PULL_ACCEPT},
        )

    def ref_blocks(self, unused: int) -> RefBlocksResponse:
        return self._call(
            "POST", "/v1/refs/blocks", RefBlocksResponse, body=RefBlocksRequest(unused=unused)
        )

    # ------------------------------------------------------------------ documents

    def upload_status(self, document_id: UUID, case_id: UUID | None = None) -> UploadStatus:
        """How much of the document's content the service holds, including content this
        laptop sent before the document's record (staged for ``case_id``)."""
        return self._call(
            "GET",
            f"/v1/documents/{document_id}/status",
            UploadStatus,
            headers={CASE_ID_HEADER: str(case_id)} if case_id is not None else None,
        )

    def upload_chunk(
        self,
        document_id: UUID,
        offset: int,
        chunk: bytes,
        total: int,
        sha256: str,
        case_id: UUID | None = None,
    ) -> UploadStatus:
        """Send one chunk at ``offset``. With ``case_id`` the service accepts it before the
        document's record has been pushed (the engine always uploads first)."""
        headers = {
            "Content-Type": "application/octet-stream",
            "X-Upload-Offset": str(offset),
            "X-Total-Size": str(total),
            "X-Sha256": sha256,
        }
        if case_id is not None:
            headers[CASE_ID_HEADER] = str(case_id)
        reply = self.request(
            "PUT", f"/v1/documents/{document_id}/content", data=chunk, headers=headers
        )
        try:
            return UploadStatus.model_validate_json(reply.body)
        except ValidationError:
            return UploadStatus(
                document_id=document_id, received=offset + len(chunk), total=total, complete=False
            )

    def download(self, document_id: UUID, size: int, sha256: str) -> Iterator[bytes]:
        """Yield the document's plaintext; a cut or stalled transfer resumes with ``Range``.

        Raises :class:`ServiceError` at the end when the bytes do not match ``sha256``.
        """
        digest = hashlib.sha256()
        received = 0
        failures = 0
        while True:
            headers = {"Range": f"bytes={received}-"} if received else {}
            reply = self.request(
                "GET", f"/v1/documents/{document_id}/content", headers=headers, stream=True
            )
            # a service that ignores the range sends everything again: skip what we hold
            skip = received if received and reply.status != 206 else 0
            try:
                for piece in _skipping(reply.chunks(64 * 1024), skip):
                    digest.update(piece)
                    received += len(piece)
                    self.stats.body_bytes_received += len(piece)
                    yield piece
                failure = "" if received >= size else "ended early"
            except LINK_FAILURES as err:  # cut or stalled: resume with Range
                failure = type(err).__name__
            finally:
                reply.close()
            if not failure:
                break
            failures += 1
            if failures >= self.retry.attempts:
                raise NetworkError(detail=f"download: {failure}")
            self.transport.back_off(failures - 1)
        if digest.hexdigest() != sha256:
            raise ServiceError(
                ServiceErrorKind.PROTOCOL,
                "A document arrived damaged. It will be fetched again at the next sync.",
                detail=f"document {document_id}: checksum mismatch",
            )


def _skipping(pieces: Iterator[bytes], skip: int) -> Iterator[bytes]:
    """``pieces`` without their first ``skip`` bytes."""
    for piece in pieces:
        if skip >= len(piece):
            skip -= len(piece)
            continue
        yield piece[skip:] if skip else piece
        skip = 0


def dump_json(model: BaseModel) -> bytes:
    """Compact JSON of a wire model (used by the benchmark for the floor figure)."""
    return json.dumps(model.model_dump(mode="json"), separators=(",", ":")).encode("utf-8")


def case_history(client: ServiceClient, case_id: UUID) -> CaseHistory:
    """Everything done to a case, from the service's audit trail (protocol 5; managers and
    governance officers). Not a method: the sync never asks it, the History tab does."""
    return client._call("GET", f"/v1/cases/{case_id}/history", CaseHistory)


def duplicate_pairs(client: ServiceClient, limit: int = 50) -> DuplicatePairs:
    """The possible duplicate people waiting for this user's review (protocol 6; managers
    and governance officers). Not a method: the sync never asks it, the window does."""
    return client._call("GET", f"/v1/duplicates?limit={int(limit)}", DuplicatePairs)


def decide_duplicate(client: ServiceClient, decision: DuplicateDecision) -> DuplicateDecided:
    """A reviewer's decision on a pair: merge, or not the same person (protocol 6)."""
    return client._call("POST", "/v1/duplicates/decide", DuplicateDecided, body=decision)
