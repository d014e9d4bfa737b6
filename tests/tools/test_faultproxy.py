"""The fault proxy does what tests and benchmarks rely on, against a real HTTP server."""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from tests.tools.faultproxy import FaultProxy, LinkProfile


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hits: list[str] = []  # noqa: RUF012 - shared on purpose, reset per test

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        self.hits.append(self.path)
        answer = b"x" * 5000 + body
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def upstream() -> Iterator[tuple[str, int]]:
    _Handler.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield ("127.0.0.1", server.server_address[1])
    server.shutdown()
    server.server_close()


def test_passes_traffic_and_counts_bytes(upstream: tuple[str, int]) -> None:
    with FaultProxy(upstream) as proxy, requests.Session() as s:
        for _ in range(3):
            r = s.post(proxy.url + "/echo", data=b"hello", timeout=5)
            assert r.content.endswith(b"hello") and len(r.content) == 5005
        assert proxy.requests == 3
        assert proxy.connections == 1  # keep-alive reused the connection
        assert proxy.bytes_down > 3 * 5005
        assert proxy.bytes_up > 3 * 5


def test_cut_after_the_service_answered_loses_the_answer(upstream: tuple[str, int]) -> None:
    with FaultProxy(upstream) as proxy, requests.Session() as s:
        s.post(proxy.url + "/warm", data=b"a", timeout=5)
        rule = proxy.cut("/push", "down", 1000)
        with pytest.raises(requests.exceptions.RequestException):
            s.post(proxy.url + "/push", data=b"b", timeout=5)
        assert rule.hits == 1
        assert _Handler.hits == ["/warm", "/push"]  # the service did see the request
        r = s.post(proxy.url + "/push", data=b"c", timeout=5)  # next one goes through
        assert r.status_code == 200


def test_a_cut_answer_counts_only_what_was_delivered(upstream: tuple[str, int]) -> None:
    """What the service sends after the cut point never reaches the laptop, and is not counted
    as sent (the delay keeps the connection open while the service's whole answer is read)."""
    with FaultProxy(upstream) as proxy, requests.Session() as s:
        proxy.shape(LinkProfile(down_delay=0.2))
        proxy.cut("/pull", "down", 1000)
        with pytest.raises(requests.exceptions.RequestException):
            s.post(proxy.url + "/pull", data=b"b" * 500_000, timeout=5)
        (request,) = proxy.log
        assert request.down_sent == 1000
        assert proxy.bytes_down == 1000


def test_cut_in_the_request_never_reaches_the_service(upstream: tuple[str, int]) -> None:
    with FaultProxy(upstream) as proxy, requests.Session() as s:
        rule = proxy.cut("/push", "up", 5)
        with pytest.raises(requests.exceptions.RequestException):
            s.post(proxy.url + "/push", data=b"b" * 100, timeout=5)
        assert rule.hits == 1
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and _Handler.hits:
            time.sleep(0.01)
        assert _Handler.hits == []


def test_injected_status_and_stall(upstream: tuple[str, int]) -> None:
    with FaultProxy(upstream) as proxy, requests.Session() as s:
        proxy.status("/push", 503)
        r = s.post(proxy.url + "/push", data=b"b", timeout=5)
        assert r.status_code == 503 and _Handler.hits == []
        proxy.stall("/pull", 3.0, offset=10)
        with pytest.raises(requests.exceptions.ReadTimeout):
            s.post(proxy.url + "/pull", data=b"b", timeout=(2, 0.5))
        assert _Handler.hits == ["/pull"]


def test_shaping_caps_bandwidth_and_adds_delay(upstream: tuple[str, int]) -> None:
    with FaultProxy(upstream) as proxy, requests.Session() as s:
        proxy.shape(LinkProfile(up_bps=1e6, down_bps=400_000, up_delay=0.1, down_delay=0.1))
        started = time.monotonic()
        r = s.post(proxy.url + "/x", data=b"y" * 10, timeout=10)
        elapsed = time.monotonic() - started
        # 5 KB down at 400 kbit/s is 0.1 s, plus 0.2 s of round trip
        assert r.status_code == 200
        assert elapsed >= 0.28


def test_periodic_cut(upstream: tuple[str, int]) -> None:
    with FaultProxy(upstream) as proxy, requests.Session() as s:
        proxy.shape(LinkProfile(cut_every=12_000))
        outcomes = []
        for _ in range(6):
            try:
                s.post(proxy.url + "/x", data=b"y", timeout=5)
                outcomes.append("ok")
            except requests.exceptions.RequestException:
                outcomes.append("cut")
        assert "cut" in outcomes and "ok" in outcomes
        assert proxy.cuts >= 1


def test_drop_all_closes_open_connections(upstream: tuple[str, int]) -> None:
    with FaultProxy(upstream) as proxy:
        sock = socket.create_connection((proxy.host, proxy.port))
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and not proxy.connections:
            time.sleep(0.01)
        proxy.drop_all()
        sock.settimeout(2)
        assert sock.recv(10) == b""
        sock.close()


def test_stall_schedule_adds_up() -> None:
    proxy = FaultProxy(("127.0.0.1", 9))
    try:
        proxy.shape(LinkProfile(stall_every=60.0, stall_for=20.0, stall_first=5.0))
        t0 = proxy._started
        assert proxy.stall_time_between(t0, t0 + 4.0) == 0.0
        assert proxy.stall_time_between(t0, t0 + 30.0) == pytest.approx(20.0)
        assert proxy.stall_time_between(t0 + 10.0, t0 + 70.0) == pytest.approx(15.0 + 5.0)
    finally:
        proxy.stop()
