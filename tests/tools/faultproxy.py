"""A fault-injecting, link-shaping TCP proxy on 127.0.0.1, for tests and benchmarks.

Put it between the laptop's client and a real service::

    with FaultProxy(("127.0.0.1", server_port)) as proxy:
        client = ServiceClient(proxy.url, ...)
        proxy.cut("/v1/sync/push", "down", 120)     # the service commits, the answer is lost
        proxy.stall("/v1/sync/pull", 5.0)           # the answer stops for 5 s
        proxy.status("/v1/sync/push", 503)          # answer 503 without asking the service
        proxy.status("", 401, code="device_revoked")  # the next request, whatever it is
        proxy.shape(LinkProfile(up_bps=256_000, down_bps=256_000, up_delay=0.15,
                                down_delay=0.15, cut_every=2_000_000))

The proxy understands just enough HTTP/1.1 in the request direction (request line, headers and
``Content-Length`` bodies) to know which request a byte belongs to, so a rule can aim at "the
next push" even on a kept-alive connection: ``up`` offsets count bytes of that request, ``down``
offsets count bytes of its answer. A request takes at most one rule (the oldest that matches),
and a rule serves ``times`` requests (once by default). Bytes are
counted as delivered, so ``bytes_up``/``bytes_down`` are the bytes on the wire (TCP payload).

Shaping emulates a slow link: each direction has a bandwidth cap shared by all connections and a
one-way delay; ``cut_every`` drops whichever connection carries the byte at each multiple of
that many bytes (both directions counted together); ``stall_every``/``stall_for`` stop all
traffic for ``stall_for`` seconds once every ``stall_every`` seconds (the first stall starting
``stall_first`` seconds after :meth:`FaultProxy.shape`).
"""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Literal

Direction = Literal["up", "down"]

_CLOSE = object()  # marker in a writer queue: flush, then drop the whole connection


@dataclass
class LinkProfile:
    up_bps: float | None = None  # bits per second, laptop -> service
    down_bps: float | None = None  # bits per second, service -> laptop
    up_delay: float = 0.0  # seconds, one way
    down_delay: float = 0.0
    cut_every: int | None = None  # bytes, both directions together
    stall_every: float | None = None  # seconds
    stall_for: float = 0.0
    stall_first: float | None = None  # seconds after shape() the first stall starts
    #                                   (default: at the end of the first period)

    def first_stall(self) -> float:
        if self.stall_first is not None:
            return self.stall_first
        return (self.stall_every or 0.0) - self.stall_for


@dataclass
class Rule:
    kind: Literal["cut", "stall", "status"]
    path: str  # request path prefix; "" matches every request
    direction: Direction = "down"
    offset: int = 0
    seconds: float = 0.0
    status: int = 503
    retry_after: str | None = None
    code: str = "server_error"  # the error code and message of an injected status answer
    message: str = "The service had a problem."
    times: int = 1
    fired: int = 0  # requests it was claimed by
    hits: int = 0  # times it actually cut, stalled or answered


@dataclass
class _Request:
    path: str
    rules: list[Rule] = field(default_factory=list)
    up_sent: int = 0
    down_sent: int = 0


class _Pacer:
    """A token-bucket-free pacer: one shared 'link busy until' time per direction."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.free_at = 0.0

    def reserve(self, nbytes: int, bps: float) -> float:
        with self.lock:
            start = max(time.monotonic(), self.free_at)
            self.free_at = start + nbytes * 8.0 / bps
            return self.free_at


class FaultProxy:
    def __init__(self, upstream: tuple[str, int], *, host: str = "127.0.0.1") -> None:
        self.upstream = upstream
        self._listener = socket.create_server((host, 0))
        self._listener.settimeout(0.2)  # so stop() is noticed promptly
        self.host, self.port = self._listener.getsockname()[:2]
        self._lock = threading.Lock()
        self._rules: list[Rule] = []
        self.profile = LinkProfile()
        self._pacers = {"up": _Pacer(), "down": _Pacer()}
        self._stopped = threading.Event()
        self._connections: set[_Connection] = set()
        self._started = time.monotonic()
        self._next_cut: int | None = None
        # figures
        self.bytes_up = 0
        self.bytes_down = 0
        self.requests = 0
        self.connections = 0
        self.cuts = 0
        self.stalled_seconds = 0.0
        self.paths: list[str] = []
        #: every request seen, with the bytes of it and of its answer that were delivered
        self.log: list[_Request] = []
        self._thread = threading.Thread(target=self._accept, name="faultproxy", daemon=True)

    # ------------------------------------------------------------------ control

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        self.drop_all()
        if self._thread.ident is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def cut(self, path: str, direction: Direction, offset: int, *, times: int = 1) -> Rule:
        """Drop the connection once ``offset`` bytes of the matching request (``up``) or of its
        answer (``down``) have been delivered."""
        return self._add(Rule("cut", path, direction, offset=offset, times=times))

    def stall(self, path: str, seconds: float, *, offset: int = 0, times: int = 1) -> Rule:
        """Hold the matching request's answer for ``seconds`` after ``offset`` bytes of it."""
        return self._add(Rule("stall", path, "down", offset=offset, seconds=seconds, times=times))

    def status(
        self,
        path: str,
        status: int,
        *,
        times: int = 1,
        retry_after: str | None = None,
        code: str = "server_error",
        message: str = "The service had a problem.",
    ) -> Rule:
        """Answer the matching request with ``status`` and an error body of ``code`` and
        ``message`` (as the service would), without passing it to the service."""
        return self._add(
            Rule(
                "status",
                path,
                "up",
                status=status,
                times=times,
                retry_after=retry_after,
                code=code,
                message=message,
            )
        )

    def shape(self, profile: LinkProfile) -> None:
        with self._lock:
            self.profile = profile
            self._started = time.monotonic()
            self._next_cut = (
                (self.bytes_up + self.bytes_down + profile.cut_every)
                if (profile.cut_every)
                else None
            )

    def clear(self) -> None:
        """Forget every pending rule and stop shaping."""
        with self._lock:
            self._rules.clear()
        self.shape(LinkProfile())

    def pending_rules(self) -> list[Rule]:
        with self._lock:
            return [r for r in self._rules if r.fired < r.times]

    def drop_all(self) -> None:
        """Drop every open connection now (as a link going down would)."""
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            connection.close()

    def reset_counters(self) -> None:
        with self._lock:
            self.bytes_up = self.bytes_down = self.requests = self.connections = self.cuts = 0
            self.stalled_seconds = 0.0
            self.paths.clear()
            self.log.clear()

    # ------------------------------------------------------------------ internals

    def _add(self, rule: Rule) -> Rule:
        with self._lock:
            self._rules.append(rule)
        return rule

    def _claim_rules(self, path: str) -> list[Rule]:
        with self._lock:
            self.requests += 1
            self.paths.append(path)
            claimed = []
            for rule in self._rules:
                if rule.fired < rule.times and path.startswith(rule.path):
                    rule.fired += 1
                    claimed.append(rule)
                    break  # one rule per request: the next matching request takes the next
            self._rules = [r for r in self._rules if r.fired < r.times]
            return claimed

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection = _Connection(self, client, upstream)
            with self._lock:
                self.connections += 1
                self._connections.add(connection)
            connection.start()

    def _forget(self, connection: _Connection) -> None:
        with self._lock:
            self._connections.discard(connection)

    def _stall_window_wait(self, closed: threading.Event) -> None:
        profile = self.profile
        if not profile.stall_every or profile.stall_for <= 0:
            return
        since = time.monotonic() - self._started - profile.first_stall()
        if since < 0:
            return
        phase = since % profile.stall_every
        if phase < profile.stall_for:
            closed.wait(profile.stall_for - phase)

    def stall_time_between(self, start: float, end: float) -> float:
        """Seconds of scheduled stall windows between two ``time.monotonic()`` readings."""
        profile = self.profile
        if not profile.stall_every or profile.stall_for <= 0:
            return 0.0
        total = 0.0
        period = profile.stall_every
        origin = self._started + profile.first_stall()
        n = 0
        while origin + n * period < end:
            w_start = origin + n * period
            w_end = w_start + profile.stall_for
            total += max(0.0, min(end, w_end) - max(start, w_start))
            n += 1
        return total

    def _count(self, direction: Direction, nbytes: int) -> int | None:
        """Count delivered bytes; return how many of them may pass before a periodic cut."""
        with self._lock:
            total = self.bytes_up + self.bytes_down
            allowed: int | None = None
            if self._next_cut is not None and total + nbytes >= self._next_cut:
                allowed = max(0, self._next_cut - total)
                nbytes = allowed
                self._next_cut += self.profile.cut_every or 0
                self.cuts += 1
            if direction == "up":
                self.bytes_up += nbytes
            else:
                self.bytes_down += nbytes
            return allowed


class _Connection:
    SLICE = 1460

    def __init__(self, proxy: FaultProxy, client: socket.socket, upstream: socket.socket) -> None:
        self.proxy = proxy
        self.client = client
        self.upstream = upstream
        self.closed = threading.Event()
        self.queues: dict[Direction, queue.Queue[object]] = {
            "up": queue.Queue(),
            "down": queue.Queue(),
        }
        self.current: _Request | None = None
        self.current_lock = threading.Lock()
        #: Set by a cut rule: whatever is read after it is never delivered, so it is neither
        #: queued nor counted as sent (the connection closes once the writer reaches the cut).
        self.cut_done = threading.Event()

    def start(self) -> None:
        for target, name in (
            (self._read_client, "up-read"),
            (self._read_upstream, "down-read"),
            (lambda: self._write("up"), "up-write"),
            (lambda: self._write("down"), "down-write"),
        ):
            threading.Thread(target=target, name=f"faultproxy-{name}", daemon=True).start()

    def close(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        for s in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                s.close()
        for q in self.queues.values():
            q.put(_CLOSE)
        self.proxy._forget(self)

    # ---- request direction: parse just enough HTTP to know where each request starts

    def _read_client(self) -> None:
        buffer = b""
        body_left = 0
        try:
            while not self.closed.is_set():
                data = self.client.recv(65536)
                if not data:
                    break
                buffer += data
                while buffer:
                    if body_left:
                        piece, buffer = buffer[:body_left], buffer[body_left:]
                        body_left -= len(piece)
                        self._send_up(piece)
                        continue
                    end = buffer.find(b"\r\n\r\n")
                    if end < 0:
                        break
                    head, buffer = buffer[: end + 4], buffer[end + 4 :]
                    path, body_left = self._parse_head(head)
                    rules = self.proxy._claim_rules(path)
                    answer = next((r for r in rules if r.kind == "status"), None)
                    request = _Request(path, [r for r in rules if r.kind != "status"])
                    with self.proxy._lock:
                        self.proxy.log.append(request)
                    with self.current_lock:
                        self.current = request
                    if answer is not None:
                        answer.hits += 1
                        # swallow the request, answer it ourselves, then drop the connection
                        while len(buffer) < body_left:
                            more = self.client.recv(65536)
                            if not more:
                                break
                            buffer += more
                        body = json.dumps(
                            {"code": answer.code, "message": answer.message, "detail": {}}
                        ).encode()
                        extra = (
                            f"Retry-After: {answer.retry_after}\r\n" if answer.retry_after else ""
                        )
                        reply = (
                            f"HTTP/1.1 {answer.status} Injected\r\n{extra}"
                            "Content-Type: application/json\r\n"
                            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
                        ).encode() + body
                        self.queues["down"].put((time.monotonic(), reply, None))
                        self.queues["down"].put(_CLOSE)
                        return
                    self._send_up(head)
        except OSError:
            pass
        self.queues["up"].put(_CLOSE)

    @staticmethod
    def _parse_head(head: bytes) -> tuple[str, int]:
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        path = parts[1] if len(parts) > 1 else ""
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip() or 0)
        return path, length

    def _send_up(self, data: bytes) -> None:
        with self.current_lock:
            request = self.current
        self._apply_rules("up", request, data)

    def _read_upstream(self) -> None:
        try:
            while not self.closed.is_set():
                data = self.upstream.recv(65536)
                if not data:
                    break
                with self.current_lock:
                    request = self.current
                self._apply_rules("down", request, data)
        except OSError:
            pass
        self.queues["down"].put(_CLOSE)

    def _apply_rules(self, direction: Direction, request: _Request | None, data: bytes) -> None:
        if self.cut_done.is_set():
            return
        q = self.queues[direction]
        if request is not None:
            sent = request.up_sent if direction == "up" else request.down_sent
            for rule in list(request.rules):
                if rule.direction != direction:
                    continue
                if sent <= rule.offset < sent + len(data) or rule.offset < sent:
                    keep = max(0, rule.offset - sent)
                    request.rules.remove(rule)
                    rule.hits += 1
                    if keep:
                        q.put((time.monotonic(), data[:keep], request))
                        self._advance(request, direction, keep)
                        sent += keep
                    data = data[keep:]
                    if rule.kind == "cut":
                        self.cut_done.set()
                        q.put(_CLOSE)
                        with self.proxy._lock:
                            self.proxy.cuts += 1
                        return
                    q.put(("stall", rule.seconds))
            self._advance(request, direction, len(data))
        if data:
            q.put((time.monotonic(), data, request))

    @staticmethod
    def _advance(request: _Request, direction: Direction, nbytes: int) -> None:
        if direction == "up":
            request.up_sent += nbytes
        else:
            request.down_sent += nbytes

    # ---- delivery: delay, bandwidth, periodic stalls and cuts

    def _write(self, direction: Direction) -> None:
        target = self.upstream if direction == "up" else self.client
        q = self.queues[direction]
        try:
            while True:
                item = q.get()
                if item is _CLOSE:
                    break
                if isinstance(item, tuple) and item and item[0] == "stall":
                    started = time.monotonic()
                    self.closed.wait(float(item[1]))
                    with self.proxy._lock:
                        self.proxy.stalled_seconds += time.monotonic() - started
                    if self.closed.is_set():
                        break
                    continue
                arrived, data, _request = item  # type: ignore[misc]
                profile = self.proxy.profile
                delay = profile.up_delay if direction == "up" else profile.down_delay
                wait = arrived + delay - time.monotonic()
                if wait > 0 and self.closed.wait(wait):
                    break
                bps = profile.up_bps if direction == "up" else profile.down_bps
                view = memoryview(data)
                while view:
                    if self.closed.is_set():
                        return
                    self.proxy._stall_window_wait(self.closed)
                    piece = view[: self.SLICE] if bps else view
                    if bps:
                        done_at = self.proxy._pacers[direction].reserve(len(piece), bps)
                        pause = done_at - time.monotonic()
                        if pause > 0 and self.closed.wait(pause):
                            return
                    allowed = self.proxy._count(direction, len(piece))
                    if allowed is not None:
                        if allowed:
                            target.sendall(piece[:allowed])
                        self.close()
                        return
                    target.sendall(piece)
                    view = view[len(piece) :]
        except OSError:
            pass
        self.close()
