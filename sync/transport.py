"""How one request to the service is sent, judged and retried: three steps, three functions.

* :func:`send_once` makes one HTTP exchange and returns a :class:`Reply` (status, headers,
  body, and the parsed answer when a model was asked for), or lets the transport exception
  (refused, reset, stalled, cut part way) go up.
* :func:`classify` turns that reply or exception into what to do next: done (the
  :class:`Reply`), try again (:class:`Retry`, at least as late as the service's
  ``Retry-After``), renew the access token once (:class:`Renew`), or stop with a
  :class:`~sync.errors.SyncError` of the right kind and a plain message.
* :meth:`Transport.exchange` is the policy loop: capped exponential back-off with full jitter
  (:class:`RetryPolicy`), ``Retry-After`` honoured up to a limit, silent token renewal, and a
  cancel event that ends a back-off wait early.

Connection errors, stalls, cut answers, 500/502/503/504 and 429 are retried; no other 4xx is.
Timeouts are ``(connect, read)``: the read timeout is the longest silence allowed between two
bytes of the answer (:attr:`Timeouts.stall`), so it detects a stalled transfer, not a slow one.
Waits go through the injected :class:`~sync.clock.Clock` and random source, so a test with a
:class:`~sync.clock.ManualClock` never really waits.
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import requests
from pydantic import BaseModel, ValidationError

from sync import collector, network, pull_lines
from sync.clock import Clock
from sync.errors import (
    AuthFailed,
    Cancelled,
    DeviceRevoked,
    NetworkError,
    ServiceError,
    ServiceErrorKind,
    SyncError,
    UpdateRequired,
)
from sync.protocol import ErrorBody, ErrorCode

log = logging.getLogger("fieldcase.sync.client")

RETRY_STATUSES = frozenset({500, 502, 503, 504})
#: Transport failures worth another try: the link was at fault, not the request.
LINK_FAILURES: tuple[type[requests.RequestException], ...] = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)
#: A back-off wait looks at the cancel event this often.
CANCEL_POLL_SECONDS = 0.05
#: Bytes read at a time from an answer sent as lines.
LINES_READ_BYTES = 64 * 1024

_KIND_OF_CODE: dict[ErrorCode, ServiceErrorKind] = {
    ErrorCode.FORBIDDEN: ServiceErrorKind.FORBIDDEN,
    ErrorCode.ACCOUNT_DISABLED: ServiceErrorKind.DISABLED,
    ErrorCode.NOT_FOUND: ServiceErrorKind.NOT_FOUND,
    ErrorCode.VALIDATION: ServiceErrorKind.INVALID,
    ErrorCode.CONFLICT: ServiceErrorKind.CONFLICT,
}
_KIND_OF_STATUS: dict[int, ServiceErrorKind] = {
    403: ServiceErrorKind.FORBIDDEN,
    404: ServiceErrorKind.NOT_FOUND,
    409: ServiceErrorKind.CONFLICT,
    422: ServiceErrorKind.INVALID,
}


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
    waits: list[float] = field(default_factory=list)  # each back-off wait, in seconds


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Seconds a ``Retry-After`` header asks for (a number or an HTTP date), or None."""
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


# --------------------------------------------------------------------------- send once


@dataclass(frozen=True)
class Reply:
    """One answer of the service. A streamed success still holds its connection: read it
    with :meth:`chunks`, then :meth:`close` it."""

    status: int
    headers: Mapping[str, str]
    body: bytes = b""
    parsed: BaseModel | None = None  # the answer as the model asked for, when it fits
    complete: bool = True  # framed (a length or chunks) and, if a model was asked for, fits it
    stream: requests.Response | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def error(self) -> ErrorBody | None:
        """The service's error body (code and plain message), when it sent one."""
        try:
            return ErrorBody.model_validate_json(self.body)
        except ValidationError:
            return None

    def chunks(self, size: int) -> Iterator[bytes]:
        if self.stream is None:
            yield self.body
        else:
            yield from self.stream.iter_content(size)

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()


def send_once(
    session: requests.Session,
    method: str,
    url: str,
    *,
    payload: bytes | None,
    headers: Mapping[str, str],
    timeouts: Timeouts,
    stream: bool = False,
    model: type[BaseModel] | None = None,
) -> Reply:
    """One HTTP exchange. Raises the transport's exception when the link fails, even part
    way through the answer; a successful ``stream`` reply is returned unread."""
    response = session.request(
        method,
        url,
        data=payload,
        headers=dict(headers),
        timeout=(timeouts.connect, timeouts.stall),
        stream=True,  # the answer is read below (a cut while reading it raises there)
        allow_redirects=False,
    )
    status = response.status_code
    if stream and 200 <= status < 300:
        return Reply(status, response.headers, stream=response)
    content_type = response.headers.get("Content-Type", "")
    try:
        if model is not None and content_type.startswith(pull_lines.MEDIA_TYPE):
            return _read_lines(response, model)
        body = response.content
    finally:
        response.close()
    # a cut inside the headers can look like a short, successful answer: only a framed one counts
    framed = "Content-Length" in response.headers or "chunked" in response.headers.get(
        "Transfer-Encoding", ""
    )
    parsed: BaseModel | None = None
    if model is not None and framed and 200 <= status < 300:
        parsed = parse_body(model, body)
        framed = parsed is not None
    return Reply(status, response.headers, body, parsed, complete=framed)


def _read_lines(response: requests.Response, model: type[BaseModel]) -> Reply:
    """A pull page sent as lines (:mod:`sync.pull_lines`). When the link fails part way, the
    part before the last checkpoint that came is the answer (a page that says there is more,
    from there on); with no checkpoint yet, the failure goes up (and the pull is tried again)."""
    parts: list[bytes] = []
    status, headers = response.status_code, response.headers
    try:
        for part in response.iter_content(LINES_READ_BYTES):
            parts.append(part)
    except requests.RequestException:
        partial = b"".join(parts)
        whole = pull_lines.as_json(partial, complete=True)  # cut after its end: all came
        if whole is not None and (parsed := parse_body(model, whole)) is not None:
            return Reply(status, headers, partial, parsed)
        kept = pull_lines.as_json(partial, complete=False)
        parsed = parse_body(model, kept) if kept is not None else None
        if parsed is None:
            raise
        log.info("answer cut after %d bytes: kept up to its last checkpoint", len(partial))
        return Reply(status, headers, partial, parsed)
    body = b"".join(parts)
    whole = pull_lines.as_json(body, complete=True)
    parsed = parse_body(model, whole) if whole is not None else None
    return Reply(status, headers, body, parsed, complete=parsed is not None)


def parse_body(model: type[BaseModel], body: bytes) -> BaseModel | None:
    """``body`` as ``model``, or None when it is not one (a cut or damaged answer).

    The fast parser refuses a whole answer over one lone surrogate (``"\\ud800"``) inside a
    record's text; Python's own JSON reader takes it, so such a record reaches the laptop's
    store, which sets it aside, instead of failing the page and wedging the sync."""
    with collector.paused():
        try:
            return model.model_validate_json(body)
        except ValidationError:
            pass
        try:
            return model.model_validate(json.loads(body))
        except (ValueError, ValidationError, RecursionError):
            return None


# --------------------------------------------------------------------------- classify


@dataclass(frozen=True)
class Retry:
    """Worth another try. ``give_up`` is raised when no tries are left."""

    failure: str  # for the log only
    give_up: SyncError
    at_least: float | None = None  # seconds the service asked us to wait (Retry-After)


@dataclass(frozen=True)
class Renew:
    """The access token expired: renew it once with the device credential, then try again."""

    give_up: SyncError


Verdict = Reply | Retry | Renew | SyncError


def classify(
    outcome: Reply | requests.RequestException,
    *,
    now: datetime,
    policy: RetryPolicy,
    protocol_version: int,
    expects_model: bool = False,
) -> Verdict:
    """What to do with one exchange's outcome: the reply itself when it is a good answer."""
    if isinstance(outcome, requests.RequestException):
        return _classify_failure(outcome)
    if outcome.ok:
        if outcome.complete:
            return outcome
        give_up: SyncError = (
            ServiceError(ServiceErrorKind.PROTOCOL, detail="truncated or unreadable answer")
            if expects_model
            else NetworkError(detail="truncated answer")
        )
        return Retry("truncated answer", give_up)
    return _classify_refusal(outcome, now, policy, protocol_version)


def _classify_failure(err: requests.RequestException) -> Verdict:
    name = type(err).__name__
    if isinstance(err, requests.exceptions.ProxyError) and "407" in str(err):
        # the proxy wants a sign-in (NTLM, Negotiate, or credentials it refused): trying
        # again will not help, and the person is told which setting to check
        return ServiceError(ServiceErrorKind.PROXY, network.PROXY_SIGN_IN, detail=name)
    if isinstance(err, requests.exceptions.SSLError):  # before ConnectionError: a subclass
        return ServiceError(
            ServiceErrorKind.INSECURE,
            "The service's security certificate could not be checked, so nothing was "
            "sent. Ask your IT team to check the service address and certificate.",
            detail=name,
        )
    if isinstance(err, requests.exceptions.InvalidURL):
        return ServiceError(ServiceErrorKind.INSECURE, detail=str(err))
    if isinstance(err, LINK_FAILURES):
        return Retry(name, NetworkError(detail=name))
    return ServiceError(ServiceErrorKind.PROTOCOL, detail=name)


def _classify_refusal(
    reply: Reply, now: datetime, policy: RetryPolicy, protocol_version: int
) -> Verdict:
    error = reply.error()
    code = error.code if error else None
    message = error.message if error is not None and error.message else None
    status = reply.status
    if code == ErrorCode.DEVICE_REVOKED:
        return DeviceRevoked(detail=f"{status} device_revoked")
    if status == 426 or code == ErrorCode.PROTOCOL_UNSUPPORTED:
        return UpdateRequired(detail=f"protocol {protocol_version}")
    if status == 401:
        refused = AuthFailed(detail=str(code))
        return Renew(refused) if code == ErrorCode.TOKEN_EXPIRED else refused
    if status == 429:
        busy = ServiceError(ServiceErrorKind.BUSY, message, status=429, detail="429 rate_limited")
        wait = retry_after_seconds(reply.headers.get("Retry-After"), now)
        if wait is not None and wait > policy.max_retry_after:
            return busy
        return Retry("rate_limited", busy, wait)
    if status in RETRY_STATUSES:
        failure = f"http_{status}"
        return Retry(failure, ServiceError(ServiceErrorKind.SERVER, status=status, detail=failure))
    kind = _KIND_OF_CODE.get(code) if code else None
    kind = kind or _KIND_OF_STATUS.get(status, ServiceErrorKind.PROTOCOL)
    # the service's own message is plain English and more specific (protocol.ErrorBody)
    return ServiceError(kind, message, status=status, detail=f"{status} {code}")


# --------------------------------------------------------------------------- retry


class Transport:
    """Sends requests to one service under the retry policy, and counts what it sends.

    Not thread-safe: one request at a time (the engine's pull prefetch is one request).
    """

    def __init__(
        self,
        base_url: str,
        session: requests.Session,
        *,
        clock: Clock,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
        cancel: threading.Event | None = None,
        protocol_version: int,
    ) -> None:
        self.base_url = base_url
        self.session = session
        self.clock = clock
        self.timeouts = timeouts or Timeouts()
        self.retry = retry or RetryPolicy()
        self.rng = rng or random.Random()
        self.cancel = cancel
        self.protocol_version = protocol_version
        self.stats = WireStats()

    def check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled()

    def wait(self, seconds: float) -> None:
        """Wait on the clock, in short steps so that a cancel ends the wait at once."""
        self.stats.waits.append(seconds)
        self.check_cancel()
        left = seconds
        while left > 0:
            step = min(left, CANCEL_POLL_SECONDS)
            self.clock.sleep(step)
            left -= step
            self.check_cancel()

    def back_off(self, retry_number: int, at_least: float | None = None) -> None:
        """The wait before retry ``retry_number`` (0 for the first retry)."""
        delay = self.retry.delay(retry_number, self.rng)
        if at_least is not None:
            delay = max(delay, at_least)
        self.stats.retries += 1
        self.wait(delay)

    def _count(self, path: str, payload: bytes | None) -> None:
        self.stats.requests += 1
        key = "/".join(path.split("/")[:4])
        self.stats.by_path[key] = self.stats.by_path.get(key, 0) + 1
        self.stats.body_bytes_sent += len(payload or b"")

    def attempt(
        self,
        method: str,
        path: str,
        *,
        payload: bytes | None,
        headers: Mapping[str, str],
        stream: bool,
        model: type[BaseModel] | None,
    ) -> Verdict:
        """One try: send once, then classify what came back."""
        self.check_cancel()
        self._count(path, payload)
        outcome: Reply | requests.RequestException
        try:
            outcome = send_once(
                self.session,
                method,
                self.base_url + path,
                payload=payload,
                headers=headers,
                timeouts=self.timeouts,
                stream=stream,
                model=model,
            )
        except requests.RequestException as err:
            outcome = err
        else:
            self.stats.body_bytes_received += len(outcome.body)
        verdict = classify(
            outcome,
            now=self.clock.now(),
            policy=self.retry,
            protocol_version=self.protocol_version,
            expects_model=model is not None,
        )
        if isinstance(verdict, SyncError) and isinstance(outcome, Exception):
            verdict.__cause__ = outcome
        return verdict

    def exchange(
        self,
        method: str,
        path: str,
        *,
        headers: Callable[[], Mapping[str, str]],
        payload: bytes | None = None,
        stream: bool = False,
        model: type[BaseModel] | None = None,
        renew: Callable[[], object] | None = None,
        payload_on_retry: Callable[[int], bytes] | None = None,
        once: bool = False,
    ) -> Reply:
        """One logical request, retried as the module docstring says (``once``: not retried
        at all, as it carries something single-use); returns a 2xx reply.

        ``headers`` is asked again before each try (a renewed token changes them); ``renew``
        renews the access token, at most once per request; ``payload_on_retry(n)`` is the body
        of retry ``n`` when it should differ from the first (a smaller pull page after a cut).
        """
        retry_number = 0
        renewed = False
        while True:
            body = payload
            if retry_number and payload_on_retry is not None:
                body = payload_on_retry(retry_number)
            verdict = self.attempt(
                method, path, payload=body, headers=headers(), stream=stream, model=model
            )
            if isinstance(verdict, Reply):
                return verdict
            if isinstance(verdict, SyncError):
                raise verdict
            if isinstance(verdict, Renew):
                if renew is None or renewed:
                    raise verdict.give_up
                renewed = True
                renew()
                continue
            retry_number += 1
            if once or retry_number >= self.retry.attempts:
                log.info(
                    "giving up on %s %s after %d tries: %s",
                    method,
                    path,
                    retry_number,
                    verdict.failure,
                )
                raise verdict.give_up
            log.info("retrying %s %s after %s", method, path, verdict.failure)
            self.back_off(retry_number - 1, verdict.at_least)
