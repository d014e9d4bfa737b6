"""HTTP client for the Fieldcase service: one keep-alive session, retries, token renewal.

* Every request carries ``X-Fieldcase-Protocol``; JSON bodies go out gzip-compressed and
  responses may come back compressed (``requests`` decodes them).
* Timeouts are ``(connect, read)``: the read timeout is the longest silence allowed between two
  bytes of the answer, so it detects a stalled transfer, not a slow one.
* Connection errors, timeouts, 500/502/503/504 and 429 are retried with capped exponential
  backoff and full jitter (429 honours ``Retry-After``); no other 4xx is retried, except that an
  expired access token is renewed once, silently, with the device credential.
* ``https`` is required except to this computer itself (127.0.0.0/8, ::1, localhost).

The sleep function, clock and random source are injected so tests never really wait.
"""

from __future__ import annotations

import gzip
import hashlib
import ipaddress
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar
from urllib.parse import urlsplit
from uuid import UUID

import requests
from pydantic import BaseModel, ValidationError

from sync.errors import (
    AuthFailed,
    Cancelled,
    DeviceRevoked,
    NetworkError,
    ServiceError,
    ServiceErrorKind,
    UpdateRequired,
)
from sync.protocol import (
    CASE_ID_HEADER,
    PROTOCOL_HEADER,
    PROTOCOL_VERSION,
    DeviceTokenRequest,
    EnrolRequest,
    EnrolResponse,
    ErrorBody,
    ErrorCode,
    LoginRequest,
    MetaResponse,
    PullRequest,
    PullResponse,
    PushRequest,
    PushResponse,
    RecoveryResponse,
    RefBlocksRequest,
    RefBlocksResponse,
    TokenResponse,
    UploadStatus,
)
from sync.store import DeviceCredential

log = logging.getLogger("fieldcase.sync.client")

M = TypeVar("M", bound=BaseModel)

RETRY_STATUSES = frozenset({500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with full jitter: wait uniform(0, min(cap, base * 2**n))."""

    attempts: int = 6  # tries in all, the first included
    base: float = 0.5
    cap: float = 30.0
    max_retry_after: float = 300.0  # a longer Retry-After gives up instead of waiting

    def delay(self, retry_number: int, rng: random.Random) -> float:
        return rng.uniform(0.0, min(self.cap, self.base * (2**retry_number)))


@dataclass(frozen=True)
class Timeouts:
    connect: float = 10.0
    stall: float = 30.0  # longest silence allowed while waiting for or reading an answer


@dataclass
class WireStats:
    """What this client asked for; the fault proxy counts the bytes on the wire itself."""

    requests: int = 0
    retries: int = 0
    body_bytes_sent: int = 0
    body_bytes_received: int = 0
    token_renewals: int = 0
    by_path: dict[str, int] = field(default_factory=dict)


def is_loopback_host(host: str) -> bool:
    if host.lower() in {"localhost", "localhost."}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_server_url(url: str) -> str:
    """Return the normalised base address, or raise a plain message when it is not allowed."""
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ServiceError(
            ServiceErrorKind.INSECURE,
            f"'{url}' is not a service address. It should look like https://fieldcase.example.gov.uk",
        )
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ServiceError(
            ServiceErrorKind.INSECURE,
            f"Fieldcase will not send case data over plain http to {parts.hostname}. "
            "Use the service's https:// address (plain http is only allowed to this "
            "computer itself).",
        )
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def _retry_after_seconds(value: str | None, now: datetime) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class ServiceClient:
    """Talks to one Fieldcase service. Not thread-safe: one sync at a time uses it."""

    def __init__(
        self,
        server_url: str,
        *,
        credential: DeviceCredential | None = None,
        ca_bundle: str | None = None,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], datetime] | None = None,
        rng: random.Random | None = None,
        cancel: threading.Event | None = None,
        protocol_version: int = PROTOCOL_VERSION,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = check_server_url(server_url)
        self.credential = credential
        self.timeouts = timeouts or Timeouts()
        self.retry = retry or RetryPolicy()
        self.cancel = cancel
        self._sleep = sleep
        self.clock = clock or (lambda: datetime.now(UTC))
        self.rng = rng or random.Random()
        self.protocol_version = protocol_version
        self.session = session or requests.Session()
        self.session.verify = ca_bundle if ca_bundle else True
        self.session.trust_env = False  # never route case data through a proxy from the env
        self.token: str | None = None
        self.token_expires: datetime | None = None
        self.last_server_time: datetime | None = None
        self.stats = WireStats()

    # ------------------------------------------------------------------ plumbing

    def close(self) -> None:
        self.session.close()

    def _wait(self, seconds: float) -> None:
        self._check_cancel()
        if self._sleep is not None:
            self._sleep(seconds)
        elif self.cancel is not None:
            self.cancel.wait(seconds)
        else:
            time.sleep(seconds)
        self._check_cancel()

    def _check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled()

    def _headers(self, auth: bool) -> dict[str, str]:
        headers = {PROTOCOL_HEADER: str(self.protocol_version), "Accept-Encoding": "gzip"}
        if auth and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    @staticmethod
    def _error_body(response: requests.Response) -> ErrorBody | None:
        try:
            return ErrorBody.model_validate(response.json())
        except (ValueError, ValidationError):
            return None

    def request(  # noqa: C901  (split into send, classify, retry: issue 9)
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
    ) -> requests.Response:
        """One logical request, retried as the module docstring says. Returns a 2xx answer."""
        payload: bytes | None = None
        extra = dict(headers or {})
        if body is not None:
            payload = gzip.compress(body.model_dump_json().encode("utf-8"), compresslevel=6)
            extra["Content-Type"] = "application/json"
            extra["Content-Encoding"] = "gzip"
        elif data is not None:
            payload = data
        if auth and self.token is None and self.credential is not None:
            self.renew_token()
        renewed = False
        retry_number = 0
        busy_message: str | None = None
        url = self.base_url + path
        while True:
            self._check_cancel()
            self.stats.requests += 1
            key = "/".join(path.split("/")[:4])
            self.stats.by_path[key] = self.stats.by_path.get(key, 0) + 1
            if payload:
                self.stats.body_bytes_sent += len(payload)
            failure: str
            retry_after: float | None = None
            try:
                response = self.session.request(
                    method,
                    url,
                    data=payload,
                    headers={**self._headers(auth), **extra},
                    timeout=(self.timeouts.connect, self.timeouts.stall),
                    stream=stream,
                    allow_redirects=False,
                )
            except requests.exceptions.SSLError as err:
                raise ServiceError(
                    ServiceErrorKind.INSECURE,
                    "The service's security certificate could not be checked, so nothing was "
                    "sent. Ask your IT team to check the service address and certificate.",
                    detail=type(err).__name__,
                ) from err
            except requests.exceptions.InvalidURL as err:
                raise ServiceError(ServiceErrorKind.INSECURE, detail=str(err)) from err
            except (
                requests.exceptions.ConnectionError,
                requests.exceptions.Timeout,
                requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError,
            ) as err:
                failure = type(err).__name__
                response = None
            if response is not None:
                status = response.status_code
                if not stream:
                    try:
                        self.stats.body_bytes_received += len(response.content)
                    except (
                        requests.exceptions.ConnectionError,
                        requests.exceptions.ChunkedEncodingError,
                        requests.exceptions.ContentDecodingError,
                    ) as err:  # the answer was cut or stalled part way
                        failure = type(err).__name__
                        response.close()
                        response = None
            if response is not None and 200 <= status < 300:
                if not stream and not self._complete(response, model):
                    # a cut inside the headers can look like a short, successful answer
                    failure = "truncated answer"
                    response.close()
                    response = None
                else:
                    return response
            if response is not None:
                error = self._error_body(response)
                code = error.code if error else None
                if status == 401:
                    if code == ErrorCode.DEVICE_REVOKED:
                        raise DeviceRevoked(detail="device_revoked")
                    if code == ErrorCode.TOKEN_EXPIRED and self.credential and not renewed:
                        renewed = True
                        self.renew_token()
                        continue
                    raise AuthFailed(detail=str(code))
                if status == 426 or code == ErrorCode.PROTOCOL_UNSUPPORTED:
                    raise UpdateRequired(detail=f"protocol {self.protocol_version}")
                if status == 429:
                    retry_after = _retry_after_seconds(
                        response.headers.get("Retry-After"), self.clock()
                    )
                    failure = "rate_limited"
                    busy_message = error.message if error else None
                    if retry_after is not None and retry_after > self.retry.max_retry_after:
                        raise ServiceError(ServiceErrorKind.BUSY, busy_message, status=429)
                elif status in RETRY_STATUSES:
                    failure = f"http_{status}"
                else:
                    raise self._service_error(status, code, error)
                response.close()
            # ---- a retryable failure
            retry_number += 1
            if retry_number >= self.retry.attempts:
                log.info(
                    "giving up on %s %s after %d tries: %s", method, path, retry_number, failure
                )
                if failure == "rate_limited":
                    raise ServiceError(ServiceErrorKind.BUSY, busy_message, status=429)
                if failure.startswith("http_"):
                    raise ServiceError(
                        ServiceErrorKind.SERVER, status=int(failure[5:]), detail=failure
                    )
                raise NetworkError(detail=failure)
            delay = self.retry.delay(retry_number - 1, self.rng)
            if retry_after is not None:
                delay = max(delay, retry_after)
            self.stats.retries += 1
            log.info("retrying %s %s in %.2fs after %s", method, path, delay, failure)
            self._wait(delay)

    @staticmethod
    def _complete(response: requests.Response, model: type[BaseModel] | None) -> bool:
        headers = response.headers
        if "Content-Length" not in headers and "chunked" not in headers.get(
            "Transfer-Encoding", ""
        ):
            return False
        if model is None:
            return True
        try:
            response.parsed = model.model_validate_json(response.content)  # type: ignore[attr-defined]
        except ValidationError:
            return False
        return True

    @staticmethod
    def _service_error(
        status: int, code: ErrorCode | None, error: ErrorBody | None
    ) -> ServiceError:
        kind = (
            {
                ErrorCode.FORBIDDEN: ServiceErrorKind.FORBIDDEN,
                ErrorCode.ACCOUNT_DISABLED: ServiceErrorKind.DISABLED,
                ErrorCode.NOT_FOUND: ServiceErrorKind.NOT_FOUND,
                ErrorCode.VALIDATION: ServiceErrorKind.INVALID,
                ErrorCode.CONFLICT: ServiceErrorKind.CONFLICT,
            }.get(code)
            if code
            else None
        )
        if kind is None:
            kind = {
                403: ServiceErrorKind.FORBIDDEN,
                404: ServiceErrorKind.NOT_FOUND,
                409: ServiceErrorKind.CONFLICT,
                422: ServiceErrorKind.INVALID,
            }.get(status, ServiceErrorKind.PROTOCOL)
        # the service's own message is plain English and more specific (protocol.ErrorBody)
        message = error.message if error is not None and error.message else None
        return ServiceError(kind, message, status=status, detail=f"{status} {code}")

    def _call(
        self,
        method: str,
        path: str,
        model: type[M],
        *,
        body: BaseModel | None = None,
        auth: bool = True,
        headers: dict[str, str] | None = None,
    ) -> M:
        try:
            response = self.request(
                method, path, body=body, auth=auth, model=model, headers=headers
            )
        except NetworkError as err:
            if err.detail == "truncated answer":
                raise ServiceError(ServiceErrorKind.PROTOCOL, detail=f"{path}: bad answer") from err
            raise
        result: M = response.parsed  # type: ignore[attr-defined]
        server_time = getattr(result, "server_time", None)
        if isinstance(server_time, datetime):
            self.last_server_time = server_time
        return result

    # ------------------------------------------------------------------ accounts and devices

    def meta(self) -> MetaResponse:
        return self._call("GET", "/v1/meta", MetaResponse, auth=False)

    def login(self, username: str, password: str) -> TokenResponse:
        """Sign in with the account password; the token is kept in memory only."""
        answer = self._call(
            "POST",
            "/v1/auth/login",
            TokenResponse,
            body=LoginRequest(username=username, password=password),
            auth=False,
        )
        self.token, self.token_expires = answer.access_token, answer.expires_at
        return answer

    def renew_token(self) -> TokenResponse:
        if self.credential is None:
            raise AuthFailed("This laptop is not enrolled with a Fieldcase service yet.")
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

    def pull(self, request: PullRequest) -> PullResponse:
        return self._call("POST", "/v1/sync/pull", PullResponse, body=request)

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
        response = self.request(
            "PUT", f"/v1/documents/{document_id}/content", data=chunk, headers=headers
        )
        try:
            return UploadStatus.model_validate_json(response.content)
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
            response = self.request(
                "GET", f"/v1/documents/{document_id}/content", headers=headers, stream=True
            )
            # a service that ignores the range sends everything again: skip what we hold
            skip = received if received and response.status_code != 206 else 0
            try:
                for piece in response.iter_content(64 * 1024):
                    if skip:
                        if len(piece) <= skip:
                            skip -= len(piece)
                            continue
                        piece, skip = piece[skip:], 0
                    digest.update(piece)
                    received += len(piece)
                    self.stats.body_bytes_received += len(piece)
                    yield piece
                failure = "" if received >= size else "ended early"
            except (
                requests.exceptions.ConnectionError,
                requests.exceptions.ChunkedEncodingError,
                requests.exceptions.Timeout,
            ) as err:
                failure = type(err).__name__
            finally:
                response.close()
            if not failure:
                break
            failures += 1
            if failures >= self.retry.attempts:
                raise NetworkError(detail=f"download: {failure}")
            self.stats.retries += 1
            self._wait(self.retry.delay(failures - 1, self.rng))
        if digest.hexdigest() != sha256:
            raise ServiceError(
                ServiceErrorKind.PROTOCOL,
                "A document arrived damaged. It will be fetched again at the next sync.",
                detail=f"document {document_id}: checksum mismatch",
            )


def dump_json(model: BaseModel) -> bytes:
    """Compact JSON of a wire model (used by the benchmark for the floor figure)."""
    return json.dumps(model.model_dump(mode="json"), separators=(",", ":")).encode("utf-8")
