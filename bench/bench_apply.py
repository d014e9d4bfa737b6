"""The laptop's share of a first sync, measured apart: parsing the pulled pages and storing
them, in CPU seconds of the thread that does each.

The first sync's figures in ``bench_sync`` vary by a fifth from run to run on a shared machine,
which hides a change worth a few per cent. Here the pages of a first sync of realistic cases
(``server.records.realistic``) are fetched once from a real ``fieldcase-server serve`` (page
sizes growing as the engine's do on a quick link), then parsed and stored again and again, each
time into a fresh enrolled laptop, as the engine does it (``sync.transport.parse_body``, then
``SyncAdapter.apply_page`` with the cycle collector paused): no network, no service and no
second thread in the figures. Prints per run and the median and the smallest of the runs.

    .venv/bin/python -m bench.bench_apply
    FIELDCASE_BENCH_APPLY_CASES=2000 FIELDCASE_BENCH_APPLY_RUNS=3 \
        .venv/bin/python -m bench.bench_apply   # a quick look
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("FIELDCASE_ARGON2_MEMORY_KIB", "8192")
os.environ.setdefault("FIELDCASE_ARGON2_TIME_COST", "1")

from app.store.sync_adapter import SyncAdapter  # noqa: E402
from bench.bench_sync import PASSWORD, USER, _laptops, _server_side  # noqa: E402
from server.records import realistic  # noqa: E402
from sync import collector, transport  # noqa: E402
from sync.client import ServiceClient  # noqa: E402
from sync.engine import next_page_size  # noqa: E402
from sync.protocol import DEFAULT_PAGE_BYTES, PullRequest, PullResponse  # noqa: E402
from tests.support.server import running_server, sqlite_url  # noqa: E402


def _pages(url: str, adapter: SyncAdapter) -> list[bytes]:
    """Every page of a first sync as JSON, sized as the engine sizes them on a quick link."""
    credential = adapter.credential()
    assert credential is not None
    client = ServiceClient(url, credential=credential)
    bodies: list[bytes] = []
    cursor, size = None, DEFAULT_PAGE_BYTES
    try:
        while True:
            page = client.pull(PullRequest(cursor=cursor, max_bytes=size))
            bodies.append(page.model_dump_json().encode())
            cursor, size = page.next_cursor, next_page_size(size, False, 0.0)
            if not page.more:
                return bodies
    finally:
        client.close()


def main() -> None:
    cases = int(os.environ.get("FIELDCASE_BENCH_APPLY_CASES", "10000"))
    runs = int(os.environ.get("FIELDCASE_BENCH_APPLY_RUNS", "5"))
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} when started")
    with tempfile.TemporaryDirectory(prefix="fieldcase-bench-apply-") as folder:
        tmp = Path(folder)
        db = sqlite_url(tmp)
        user = {"op": "user", "name": USER, "team": realistic.TEAM, "password": PASSWORD}
        _server_side(db, [user])
        with running_server(db) as srv:
            laptops = _laptops(tmp, srv.url, USER, runs + 1)
            _server_side(db, [{"op": "cases", "cases": cases, "seed": 0}])
            bodies = _pages(srv.url, SyncAdapter(laptops[0]))
        laptops[0].close()
        records = 0
        parse: list[float] = []
        store: list[float] = []
        print(
            f"== a first sync of {cases} realistic cases: {len(bodies)} pages, "
            f"{sum(map(len, bodies)) / 1e6:.1f} MB of JSON, {runs} runs (a fresh laptop each)"
        )
        for run, profile in enumerate(laptops[1:], start=1):
            adapter = SyncAdapter(profile)
            parsing = storing = 0.0
            records = 0
            for body in bodies:
                started = time.thread_time()
                with collector.paused():
                    page = transport.parse_body(PullResponse, body)
                parsing += time.thread_time() - started
                assert isinstance(page, PullResponse)
                records += len(page.records)
                started = time.thread_time()
                with collector.paused():
                    adapter.apply_page(page)
                storing += time.thread_time() - started
                del page
            profile.close()
            parse.append(parsing)
            store.append(storing)
            print(
                f"run {run}: parse {parsing:.2f} s + store {storing:.2f} s = "
                f"{parsing + storing:.2f} s of CPU for {records} records"
            )
        total = [p + s for p, s in zip(parse, store, strict=True)]
        print(
            f"median: parse {statistics.median(parse):.2f} s + store "
            f"{statistics.median(store):.2f} s = {statistics.median(total):.2f} s; smallest "
            f"{min(total):.2f} s ({records} records, {1e6 * min(total) / max(records, 1):.1f} "
            "µs each)"
        )


if __name__ == "__main__":
    main()
