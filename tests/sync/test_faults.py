"""Bad connections: cuts at every point of a push and a pull, stalls, 5xx answers, a service
killed mid-sync. Afterwards one clean sync completes; nothing lost, nothing applied twice, and
the pull cursor never moves backwards."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sync.client import RetryPolicy, Timeouts
from sync.clock import ManualClock, SystemClock
from sync.engine import SyncEngine, SyncProgress
from sync.errors import Cancelled, ServiceError, ServiceErrorKind
from sync.protocol import PullResponse
from tests.support.server import ServerProcess, running_server, sqlite_url
from tests.sync.helpers import Laptop, add_users, enrol_laptop, unique
from tests.tools.faultproxy import FaultProxy

PUSH = "/v1/sync/push"
PULL = "/v1/sync/pull"


def cursor_position(cursor: str | None) -> int:
    if not cursor:
        return 0
    digits = ""
    for ch in reversed(cursor):
        if not ch.isdigit():
            break
        digits = ch + digits
    return int(digits)


class WatchedStore:
    """The laptop's real store, watched: every committed cursor must be >= the one before."""

    def __init__(self, laptop: Laptop) -> None:
        self._inner = laptop.store
        self.cursors: list[int] = [cursor_position(self._inner.cursor())]

    def apply_page(self, page: PullResponse) -> None:
        self._inner.apply_page(page)
        position = cursor_position(page.next_cursor)
        assert position >= self.cursors[-1], "the pull cursor moved backwards"
        self.cursors.append(position)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def watched_sync(laptop: Laptop, url: str, **kwargs: Any) -> tuple[SyncEngine, WatchedStore]:
    store = WatchedStore(laptop)
    client = laptop.client(url, **{k: v for k, v in kwargs.items() if k != "page_bytes"})
    engine = SyncEngine(store, client, page_bytes=kwargs.get("page_bytes", 256 * 1024))  # type: ignore[arg-type]
    try:
        engine.sync()
    finally:
        client.close()
    return engine, store


@pytest.fixture
def proxy(service: ServerProcess) -> Iterator[FaultProxy]:
    with FaultProxy(("127.0.0.1", service.port)) as p:
        yield p


def _request_sizes(proxy: FaultProxy, path: str) -> tuple[int, int]:
    request = [r for r in proxy.log if r.path.startswith(path)][-1]
    return request.up_sent, request.down_sent


def _offsets(size: int, count: int) -> list[int]:
    """``count`` cut points spread over ``0..size-1``, always including the first and last."""
    return sorted({round(i * (size - 1) / (count - 1)) for i in range(count)})


def test_cut_sweep_over_push_and_pull(
    laptops: Callable[..., list[Laptop]], proxy: FaultProxy
) -> None:
    a, b = laptops(2)
    ref = a.work.create_case("housing_repair", "Cut Person", {"summary": "v0"})
    a.sync()
    b.sync()
    # one clean round through the proxy to learn how big each request and answer is
    a.work.add_note(ref, "measure")
    a.work.edit_case(ref, {"summary": "measure"})
    watched_sync(a, proxy.url)
    sizes = {PUSH: _request_sizes(proxy, PUSH), PULL: _request_sizes(proxy, PULL)}
    assert all(up > 100 and down > 100 for up, down in sizes.values()), sizes

    plan = [
        (path, direction, offset)
        for path in (PUSH, PULL)
        for direction, index in (("up", 0), ("down", 1))
        for offset in _offsets(sizes[path][index], 9)
    ]
    hits = 0
    for n, (path, direction, offset) in enumerate(plan):
        a.work.add_note(ref, f"note {n}")
        a.work.edit_case(ref, {"summary": f"summary {n}"})
        rule = proxy.cut(path, direction, offset)
        engine, _ = watched_sync(a, proxy.url)
        hits += rule.hits
        assert engine.report.completed
        assert a.store.pending_count() == 0
        # a pull answer comes in chunks: a cut inside the closing empty chunk (its last 5
        # bytes) comes after the page's end line, so the page is whole and kept as it is
        trailer = path == PULL and direction == "down" and offset >= sizes[PULL][1] - 5
        assert engine.client.stats.retries >= rule.hits or trailer, (path, direction, offset)
    assert hits >= 30, f"only {hits} cuts happened"

    # after the faults: one more clean sync on each side; nothing lost, nothing doubled
    a.sync()
    watched_sync(b, proxy.url)
    detail = b.work.get_case(ref, record_view=False)
    texts = sorted(note.text for note in detail.notes)
    assert texts == sorted(["measure", *(f"note {n}" for n in range(len(plan)))])
    assert detail.fields["summary"] == f"summary {len(plan) - 1}"
    # created (v1), the measuring edit, then one edit per round: each applied exactly once
    assert detail.version == 2 + len(plan)
    assert a.state() == b.state()
    assert not [row for row in a.store.rejected_changes()]


def test_stalled_answers_are_detected_and_retried(
    laptops: Callable[..., list[Laptop]], proxy: FaultProxy
) -> None:
    a, b = laptops(2)
    ref = a.work.create_case("housing_repair", "Stall Person")
    stall_push = proxy.stall(PUSH, 3.0, offset=5)  # the service committed; the answer stops
    stall_pull = proxy.stall(PULL, 3.0)
    engine, _ = watched_sync(a, proxy.url, timeouts=Timeouts(connect=2.0, stall=0.5))
    assert stall_push.hits == 1 and stall_pull.hits == 1
    assert engine.client.stats.retries >= 2
    assert engine.report.completed and a.store.pending_count() == 0
    b.sync()
    assert b.work.get_case(ref, record_view=False).ref == ref
    assert a.state() == b.state()


def test_server_errors_are_retried_then_reported_plainly(
    laptops: Callable[..., list[Laptop]], proxy: FaultProxy
) -> None:
    (a,) = laptops(1)
    ref = a.work.create_case("housing_repair", "Error Person")
    proxy.status(PUSH, 503, times=2)
    proxy.status(PULL, 500)
    engine, _ = watched_sync(a, proxy.url)
    assert engine.client.stats.retries >= 3
    assert a.store.pending_count() == 0
    # a service that keeps failing: a plain message, the edit kept for later
    a.work.edit_case(ref, {"summary": "kept"})
    waiting = a.store.pending_count()
    assert waiting >= 1
    proxy.status(PUSH, 503, times=100)
    with pytest.raises(ServiceError) as caught:
        watched_sync(a, proxy.url)
    assert caught.value.reason is ServiceErrorKind.SERVER
    assert "having a problem" in caught.value.message and "503" not in caught.value.message
    assert a.store.pending_count() == waiting
    proxy.clear()
    watched_sync(a, proxy.url)
    assert a.store.pending_count() == 0


def test_rate_limit_waits_as_the_service_asks(
    laptops: Callable[..., list[Laptop]], proxy: FaultProxy
) -> None:
    (a,) = laptops(1)
    a.work.create_case("housing_repair", "Busy Person")
    clock = ManualClock(SystemClock().now())  # its sleep moves it on: nothing really waits
    start = clock.monotonic()
    proxy.status(PUSH, 429, retry_after="7")
    proxy.status(PULL, 503, times=3)
    engine, _ = watched_sync(
        a, proxy.url, clock=clock, retry=RetryPolicy(attempts=6, base=0.5, cap=4.0)
    )
    assert engine.report.completed
    waits = engine.client.stats.waits
    assert clock.monotonic() - start == pytest.approx(sum(waits))  # waited on the clock
    assert waits[0] == 7.0  # Retry-After honoured
    assert len(waits) >= 4  # a busy machine may add a retried stall, never fewer
    assert all(0.0 <= w <= 4.0 for w in waits[1:])  # full jitter under the cap


def test_service_killed_and_restarted_mid_sync(tmp_path: Path) -> None:
    db = sqlite_url(tmp_path / "svc")
    (tmp_path / "svc").mkdir()
    team = unique("team")
    users = [unique("worker"), unique("worker")]
    add_users(db, [(u, team, "caseworker") for u in users])
    stack: list[Any] = []

    def start() -> ServerProcess:
        manager = running_server(db)
        srv = manager.__enter__()
        stack.append(manager)
        return srv

    srv = start()
    try:
        with FaultProxy(("127.0.0.1", srv.port)) as proxy:
            a = enrol_laptop(tmp_path / "a", proxy.url, users[0])
            b = enrol_laptop(tmp_path / "b", proxy.url, users[1])
            refs = [a.work.create_case("carer_support", f"Person {n}") for n in range(40)]
            a.sync()
            restarted = threading.Event()

            def kill_and_restart() -> None:
                os.killpg(srv.process.pid, signal.SIGKILL)
                proxy.drop_all()
                new = start()
                proxy.upstream = ("127.0.0.1", new.port)
                restarted.set()

            def on_progress(update: SyncProgress) -> None:
                if update.phase == "pull" and update.done > 0 and not stack_started:
                    stack_started.append(True)
                    threading.Thread(target=kill_and_restart, daemon=True).start()

            stack_started: list[bool] = []
            store = WatchedStore(b)
            client = b.client(retry=RetryPolicy(attempts=60, base=0.05, cap=0.5))
            engine = SyncEngine(store, client, progress=on_progress, page_bytes=2048)  # type: ignore[arg-type]
            engine.sync()
            client.close()
            assert stack_started and restarted.wait(60)
            assert engine.client.stats.retries >= 1
            b.sync()
            got = {row.ref for row in b.work.list_cases(limit=1000)}
            assert set(refs) <= got
            assert a.state() == b.state()
            a.close()
            b.close()
    finally:
        while stack:
            stack.pop().__exit__(None, None, None)


def test_cancel_during_a_back_off_wait_keeps_everything(
    laptops: Callable[..., list[Laptop]], proxy: FaultProxy
) -> None:
    (a,) = laptops(1)
    a.work.create_case("housing_repair", "Cancel Person")
    waiting = a.store.pending_count()
    cancel = threading.Event()

    class CancelledWhileWaiting(ManualClock):
        def sleep(self, seconds: float) -> None:  # the person presses Cancel while we wait
            super().sleep(seconds)
            cancel.set()

    clock = CancelledWhileWaiting(SystemClock().now())
    start = clock.monotonic()
    proxy.status(PUSH, 503, times=5)
    engine = SyncEngine(a.store, a.client(proxy.url, clock=clock), cancel=cancel)
    with pytest.raises(Cancelled):
        engine.sync()
    engine.client.close()
    assert len(engine.client.stats.waits) == 1
    assert clock.monotonic() - start <= 0.05 + 1e-9  # the wait ended at the first look
    assert a.store.pending_count() == waiting
    proxy.clear()
    watched_sync(a, proxy.url)
    assert a.store.pending_count() == 0
