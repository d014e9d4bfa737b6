"""The engine's own promises: progress in plain words, cancel between pages, clock skew,
documents in resumable chunks."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from sync.clock import ManualClock, SystemClock
from sync.engine import SyncEngine, SyncProgress, SyncReport, describe_skew
from sync.errors import Cancelled
from sync.protocol import DOCUMENT_CHUNK_BYTES
from tests.support.server import ServerProcess
from tests.sync.helpers import Laptop
from tests.tools.faultproxy import FaultProxy


@pytest.fixture
def proxy(service: ServerProcess) -> Iterator[FaultProxy]:
    with FaultProxy(("127.0.0.1", service.port)) as p:
        yield p


def test_progress_is_plain_and_cancel_between_pages_keeps_everything(
    laptops: Callable[..., list[Laptop]],
) -> None:
    a, b = laptops(2)
    for n in range(25):
        a.work.create_case("housing_repair", f"Person {n}", {"summary": "x" * 200})
    seen: list[SyncProgress] = []
    report = a.sync(progress=seen.append)
    messages = [p.message for p in seen]
    assert any(m.startswith("Sending ") and " of " in m for m in messages)
    assert messages[-1] == report.summary()

    cancel = threading.Event()
    pages: list[SyncProgress] = []

    def stop_after_two_pages(update: SyncProgress) -> None:
        pages.append(update)
        if update.phase == "pull" and update.done > 0 and len(pages) >= 3:
            cancel.set()

    engine = b.engine(cancel=cancel, progress=stop_after_two_pages, page_bytes=2048)
    with pytest.raises(Cancelled):
        engine.sync()
    engine.client.close()
    kept = len(b.state())
    assert 0 < kept < len(a.state())  # the pages before the cancel are committed
    assert b.store.cursor() is not None
    b.sync()
    assert b.state() == a.state()


def test_a_wrong_laptop_clock_is_reported_and_changes_no_order(
    laptops: Callable[..., list[Laptop]],
) -> None:
    a, b = laptops(2)
    ref = a.work.create_case("housing_repair", "Clock Person")
    client = a.client()
    ahead = ManualClock(SystemClock().now() + timedelta(minutes=42))
    engine = SyncEngine(a.store, client, clock=ahead)
    report: SyncReport = engine.sync()
    client.close()
    assert report.started_at == report.finished_at == ahead.now()  # read on the engine's clock
    assert engine.client.clock is ahead  # the client's waits read the same clock
    assert report.clock_skew is not None and report.clock_skew < -timedelta(minutes=40)
    assert any("ahead of the service's clock" in w for w in report.warnings)
    assert "set the laptop's date and time" in report.summary()
    assert b.sync().warnings == []
    assert b.work.get_case(ref, record_view=False).ref == ref
    assert "behind" in describe_skew(timedelta(hours=3))


def _file(path: Path, size: int) -> str:
    data = os.urandom(size)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def test_documents_go_up_before_their_record_and_resume_after_cuts(
    laptops: Callable[..., list[Laptop]], proxy: FaultProxy, tmp_path: Path
) -> None:
    a, b = laptops(2)
    ref = a.work.create_case("housing_repair", "Document Person")
    size = 2 * DOCUMENT_CHUNK_BYTES + 12345
    digest = _file(tmp_path / "scan.pdf", size)
    content = f"/v1/documents/{a.work.add_document(ref, tmp_path / 'scan.pdf')}/content"
    # a chunk is cut part way; the next one arrives but its answer is lost
    cut_up = proxy.cut(content, "up", 500_000)
    cut_down = proxy.cut(content, "down", 20)
    report = a.sync(proxy.url)
    assert report.documents_up == 1
    assert cut_up.hits == 1 and cut_down.hits == 1
    order = [p for p in proxy.paths if p.startswith(("/v1/documents", "/v1/sync/push"))]
    first_push = next(i for i, p in enumerate(order) if p.startswith("/v1/sync/push"))
    # the content goes up before the change that refers to it
    assert all(i < first_push for i, p in enumerate(order) if p.endswith("/content"))
    assert sum(1 for p in order if p.endswith("/content")) >= 4  # 3 chunks + a resent one
    assert not a.store.documents_to_upload()

    proxy.reset_counters()
    cut_get = proxy.cut(content, "down", DOCUMENT_CHUNK_BYTES + 777)
    report_b = b.sync(proxy.url)
    assert report_b.documents_down == 1
    assert cut_get.hits == 1
    ranged = [r for r in proxy.log if r.path.endswith("/content")]
    assert len(ranged) >= 2  # resumed with Range after the cut
    out = b.work.read_document(ref, "scan.pdf", tmp_path / "copy.pdf")
    assert hashlib.sha256(out.read_bytes()).hexdigest() == digest
    # the copy on disk is encrypted with b's own keys
    (stored,) = list((b.folder / "documents").iterdir())
    assert (tmp_path / "scan.pdf").read_bytes()[:4096] not in stored.read_bytes()
