"""Sync benchmark: first sync, push and incremental pull on loopback, then first syncs over
emulated rural links, of realistic council cases (:mod:`server.records.realistic`).

A real ``fieldcase-server serve`` runs behind a shaping proxy (in a process of its own, so its
work is not counted as the laptop's). Each scenario is run several times, each time with a
laptop of its own enrolled before the cases were seeded (so enrolment pulls nothing), and
prints per run and as the median of the runs:

* wall time; CPU of the laptop side (this process) and of the service (``/proc/<pid>/stat``
  utime + stime of the ``serve`` process and its workers, before and after);
* requests, connections and bytes on the wire (counted by the proxy);
* the byte floor: the zstd -3 size of the same cases as compact JSON lines, one case per line
  (``server.records.realistic.zstd_floor``), and the ratio of the wire bytes to it;
* on shaped links, the floor time: floor bytes / bandwidth + round trips x RTT (3, plus one
  per extra page the service's page limit forces, plus two per cut of the link: any client
  must open a new connection and ask again) + the link's stalls, and the ratio to it.

On loopback each run also times the push phase of 1,000 edits made on the laptop (and the pull
that follows it, which should bring back nothing of its own), and the pull of 1,000 edits the
service made meanwhile. When Node.js is installed, each loopback run is followed by the
replicating peer's first sync of the same cases (:mod:`bench.bench_peer`: a CouchDB-protocol
server and client on LevelDB, through a counting proxy of its own), and the per-run ratio of the
two wall times is printed (FIELDCASE_BENCH_PEER=0 leaves the peer out).

Sizes can be lowered for a quick look: FIELDCASE_BENCH_SYNC_CASES (10000),
FIELDCASE_BENCH_SYNC_EDITS (1000), FIELDCASE_BENCH_SYNC_A (2000), FIELDCASE_BENCH_SYNC_B (500),
FIELDCASE_BENCH_SYNC_RUNS (3); FIELDCASE_BENCH_SYNC_SHAPED=0 skips the shaped links.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from multiprocessing.managers import BaseManager
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# The service's password hashes at the test cost (its own settings; the laptops' profiles use
# the production KDF: the bench measures sync, not unlock).
os.environ.setdefault("FIELDCASE_ARGON2_MEMORY_KIB", "8192")
os.environ.setdefault("FIELDCASE_ARGON2_TIME_COST", "1")

from app import online  # noqa: E402
from app.store.profile import Profile  # noqa: E402
from app.store.sync_adapter import SyncAdapter  # noqa: E402
from bench import bench_peer  # noqa: E402
from bench.cpu import process_cpu  # noqa: E402
from server.records import realistic  # noqa: E402
from sync.client import ServiceClient  # noqa: E402
from sync.engine import SyncEngine  # noqa: E402
from sync.errors import SyncError  # noqa: E402
from sync.protocol import MAX_PAGE_BYTES  # noqa: E402
from tests.support.server import running_server, sqlite_url  # noqa: E402
from tests.tools.faultproxy import FaultProxy, LinkProfile  # noqa: E402

PASSWORD = "bench password 2026"
#: The laptops' user: one of the generated cases' team (so every case is theirs to see).
USER = realistic.WORKERS[0]
SEED = 0
T = TypeVar("T")

_SEED = r"""
import json, sys, uuid
from sqlmodel import Session
from server.core.db import make_engine, migrate, unit_of_work
from server.models import Record
from server.records import realistic
from server.records.changelog import Pending, finalize
from server.records.push import service_change
from server.records.seeding import bulk_insert
from sync.clock import SystemClock
from tests.support.server import add_user

db, jobs = json.loads(sys.argv[1])
clock = SystemClock()
for job in jobs:
    if job["op"] == "user":
        add_user(db, job["name"], job["team"], password=job["password"])
        continue
    engine = make_engine(db, pool_size=1)
    migrate(engine)
    bundles = realistic.cases(job["cases"], seed=job["seed"])
    if job["op"] == "cases":
        with Session(engine) as session:
            rows = []
            for bundle in bundles:
                rows.extend(bundle.seed_rows())
                if len(rows) >= 5000:
                    bulk_insert(session, rows, by="bench", clock=clock)
                    rows = []
            bulk_insert(session, rows, by="bench", clock=clock)
            session.commit()
    elif job["op"] == "edit":  # the service changes the last `edits` cases' summaries
        ids = [b.case_id for b in bundles][-job["edits"]:]
        with unit_of_work(engine) as session:
            pending = Pending()
            for n, case_id in enumerate(ids):
                record = session.get(Record, case_id)
                summary = f"Reviewed by the duty team ({job['tag']}, {n})."
                service_change(session, record, {"summary": summary}, "bench", pending,
                               clock=clock)
            finalize(session, pending, at=clock.now())
    engine.dispose()
"""


def _server_side(db: str, jobs: list[dict[str, Any]]) -> None:
    """Seed in a child process: the service's and the laptop's tables cannot share one."""
    subprocess.run(
        [sys.executable, "-c", _SEED, json.dumps([db, jobs])],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
        timeout=3600,
    )


# ------------------------------------------------------------------------ the proxy, apart


class ProxyControl:
    """A :class:`FaultProxy` living in the manager's process; plain values in and out."""

    def __init__(self, port: int) -> None:
        self.proxy = FaultProxy(("127.0.0.1", port)).start()

    def url(self) -> str:
        return self.proxy.url

    def shape(self, link: LinkProfile) -> None:
        self.proxy.shape(link)

    def clear(self) -> None:
        self.proxy.clear()

    def reset(self) -> None:
        self.proxy.reset_counters()

    def counters(self) -> dict[str, Any]:
        p = self.proxy
        return {
            "requests": p.requests,
            "connections": p.connections,
            "up": p.bytes_up,
            "down": p.bytes_down,
            "cuts": p.cuts,
            "paths": [r.path.split("?")[0] for r in p.log],
        }

    def stall_time_between(self, start: float, end: float) -> float:
        return self.proxy.stall_time_between(start, end)

    def stop(self) -> None:
        self.proxy.stop()


class _Manager(BaseManager):
    pass


_Manager.register("ProxyControl", ProxyControl)


@contextmanager
def proxy_to(port: int) -> Iterator[Any]:
    with _Manager() as manager:
        control = manager.ProxyControl(port)  # type: ignore[attr-defined]
        try:
            yield control
        finally:
            control.stop()


# ------------------------------------------------------------------------ measuring


@dataclass
class Measure:
    wall: float = 0.0
    cpu_laptop: float = 0.0
    cpu_service: float = 0.0
    requests: int = 0
    connections: int = 0
    up: int = 0
    down: int = 0
    cuts: int = 0
    by_path: dict[str, int] = field(default_factory=dict)
    stall: float = 0.0

    @property
    def wire(self) -> int:
        return self.up + self.down


def measured(proxy: Any, service_pid: int, work: Callable[[], T]) -> tuple[T, Measure]:
    """Run ``work`` (a sync or a push) and measure it."""
    proxy.reset()
    cpu_service = process_cpu(service_pid)
    cpu_laptop = time.process_time()
    mono = time.monotonic()
    started = time.perf_counter()
    result = work()
    wall = time.perf_counter() - started
    m = Measure(
        wall=wall,
        cpu_laptop=time.process_time() - cpu_laptop,
        cpu_service=process_cpu(service_pid) - cpu_service,
        stall=proxy.stall_time_between(mono, time.monotonic()),
    )
    counted = proxy.counters()
    m.requests, m.connections, m.cuts = counted["requests"], counted["connections"], counted["cuts"]
    m.up, m.down = counted["up"], counted["down"]
    m.by_path = dict(Counter(counted["paths"]))
    return result, m


def _fmt(m: Measure) -> str:
    return (
        f"{m.wall:.2f} s wall, CPU laptop {m.cpu_laptop:.2f} s + service {m.cpu_service:.2f} s, "
        f"{m.requests} requests on {m.connections} connection(s), {m.wire / 1e6:.3f} MB "
        f"(up {m.up / 1e6:.3f}, down {m.down / 1e6:.3f})"
    )


def _median(ms: list[Measure]) -> Measure:
    med = Measure()
    for name in ("wall", "cpu_laptop", "cpu_service"):
        setattr(med, name, statistics.median(getattr(m, name) for m in ms))
    for name in ("requests", "connections", "up", "down"):
        setattr(med, name, round(statistics.median(getattr(m, name) for m in ms)))
    return med


@dataclass
class Floor:
    cases: int
    raw: int  # JSON lines bytes
    packed: int  # their zstd -3 size

    @classmethod
    def of(cls, cases: int) -> Floor:
        raw, packed = realistic.zstd_floor(realistic.cases(cases, seed=SEED))
        return cls(cases, raw, packed)

    def line(self) -> str:
        return (
            f"  floor: {self.cases} cases as JSON lines {self.raw / 1e6:.2f} MB, zstd -3 "
            f"{self.packed / 1e6:.3f} MB"
        )

    def round_trips(self) -> int:
        """Connection, token, first page, plus one per extra page the page limit forces."""
        return 3 + max(0, math.ceil(self.raw / MAX_PAGE_BYTES) - 1)


# ------------------------------------------------------------------------ laptops


def _enrol(folder: Path, url: str, user: str) -> Profile:
    result = online.enrol(folder, url, user, PASSWORD, keep_open=True)
    assert result.profile is not None
    return result.profile


def _run(
    url: str, proxy: Any, pid: int, profile: Profile, step: Callable[[SyncEngine], T]
) -> tuple[T, Measure, SyncEngine]:
    """``step`` of a fresh engine and client of ``profile``, measured."""
    engine, client = _engine(url, profile)
    try:
        result, m = measured(proxy, pid, lambda: step(engine))
    finally:
        client.close()
    return result, m, engine


def _engine(url: str, profile: Profile) -> tuple[SyncEngine, ServiceClient]:
    store = SyncAdapter(profile)
    credential = store.credential()
    assert credential is not None
    # a fresh client: the measured sync opens its connection and fetches its token, as the
    # floor's round trips count them
    client = ServiceClient(url, credential=credential)
    return SyncEngine(store, client), client


def _laptops(tmp: Path, url: str, user: str, count: int) -> list[Profile]:
    """Laptops enrolled before the cases exist, so their first sync is the measured one."""
    return [_enrol(tmp / f"laptop{n}", url, user) for n in range(count)]


def _edit_on_laptop(profile: Profile, edits: int, cases: int, run: int) -> int:
    from app.core import Casework

    work = Casework(profile)
    done = 0
    for bundle in realistic.cases(min(edits, cases), seed=SEED):
        ref = bundle.case.fields["ref"]
        done += bool(work.edit_case(ref, {"summary": f"Reviewed on the phone (run {run})."}))
    return done


# ------------------------------------------------------------------------ scenarios


def loopback(tmp: Path, cases: int, edits: int, runs: int) -> None:
    db = sqlite_url(tmp)
    user, team = USER, realistic.TEAM
    _server_side(db, [{"op": "user", "name": user, "team": team, "password": PASSWORD}])
    floor = Floor.of(cases)
    with running_server(db) as srv, proxy_to(srv.port) as proxy, ExitStack() as stack:
        url = proxy.url()
        pid = srv.process.pid
        laptops = _laptops(tmp, url, user, runs)
        job = {"op": "cases", "cases": cases, "seed": SEED}
        _server_side(db, [job])
        peer = _peer(stack, tmp, cases)
        peers: list[bench_peer.PeerRun] = []
        ratios: list[float] = []
        first: list[Measure] = []
        push: list[Measure] = []
        echo: list[Measure] = []
        pull: list[Measure] = []
        print(f"== loopback: {cases} realistic cases, {runs} runs (a fresh laptop each)")
        print(floor.line())
        for run, profile in enumerate(laptops, start=1):
            report, m, _ = _run(url, proxy, pid, profile, SyncEngine.sync)
            first.append(m)
            print(
                f"run {run} first sync: {_fmt(m)}; {report.received} records in {report.pages} "
                f"pages; wire/floor {m.wire / floor.packed:.2f}"
            )
            if peer is not None:  # the peer's first sync of the same cases, right after
                theirs = bench_peer.first_sync(peer[1], peer[0])
                peers.append(theirs)
                ratios.append(m.wall / theirs.wall_s)
                print(
                    f"run {run} peer first sync: {bench_peer.describe(theirs)}; Fieldcase/peer "
                    f"wall {ratios[-1]:.2f}, down/floor {theirs.bytes_down / floor.packed:.2f}"
                )
            made = _edit_on_laptop(profile, edits, cases, run)
            _, m, engine = _run(url, proxy, pid, profile, SyncEngine._push)
            push.append(m)
            print(
                f"run {run} push of {made} edits: {_fmt(m)}; sent {engine.report.pushed} changes; "
                f"{m.by_path}"
            )
            report, m, _ = _run(url, proxy, pid, profile, SyncEngine.sync)
            echo.append(m)
            print(
                f"run {run} the sync after it: {_fmt(m)}; {report.received} of the laptop's own "
                "records came back"
            )
            _server_side(db, [{**job, "op": "edit", "edits": edits, "tag": run}])
            report, m, _ = _run(url, proxy, pid, profile, SyncEngine.sync)
            pull.append(m)
            print(
                f"run {run} incremental pull of {edits} service edits: {_fmt(m)}; "
                f"{report.received} records in {report.pages} pages"
            )
            profile.close()
        med = _median(first)
        print(
            f"median first sync: {_fmt(med)}; wire/floor {med.wire / floor.packed:.2f}, "
            f"down/floor {med.down / floor.packed:.2f}"
        )
        if peers:
            print(
                "median peer first sync: wall "
                f"{statistics.median(p.wall_s for p in peers):.2f} s, CPU client "
                f"{statistics.median(p.client_cpu_s for p in peers):.2f} s + server "
                f"{statistics.median(p.server_cpu_s for p in peers):.2f} s, down/floor "
                f"{statistics.median(p.bytes_down for p in peers) / floor.packed:.2f}; "
                "Fieldcase/peer wall, median of the per-run ratios: "
                f"{statistics.median(ratios):.2f}"
            )
        print(f"median push of {edits} edits: {_fmt(_median(push))}")
        print(f"median sync after the push: {_fmt(_median(echo))}")
        print(f"median incremental pull of {edits} edits: {_fmt(_median(pull))}")


def _peer(
    stack: ExitStack, tmp: Path, cases: int
) -> tuple[subprocess.Popen[str], FaultProxy] | None:
    """The replicating peer (bench/bench_peer.py) holding the same cases, behind its own
    counting proxy; None when Node.js is not here or FIELDCASE_BENCH_PEER=0."""
    if os.environ.get("FIELDCASE_BENCH_PEER", "1") == "0" or not bench_peer.available():
        print("  (no peer: Node.js and npm are not installed, or FIELDCASE_BENCH_PEER=0)")
        return None
    bench_peer.ensure_installed()
    cases_file = tmp / "peer-cases.jsonl"
    bench_peer.write_cases(cases_file, cases, seed=SEED)
    server, port = stack.enter_context(bench_peer.peer_server(cases_file))
    return server, stack.enter_context(FaultProxy(("127.0.0.1", port)))


def shaped(tmp: Path, link: LinkProfile, cases: int, runs: int, note: str) -> None:
    db = sqlite_url(tmp)
    user, team = USER, realistic.TEAM
    _server_side(db, [{"op": "user", "name": user, "team": team, "password": PASSWORD}])
    floor = Floor.of(cases)
    with running_server(db) as srv, proxy_to(srv.port) as proxy:
        url = proxy.url()
        laptops = _laptops(tmp, url, user, runs)
        _server_side(db, [{"op": "cases", "cases": cases, "seed": SEED}])
        rtt = link.up_delay + link.down_delay
        down_bps = link.down_bps or 1e12
        print(f"== {note}: first sync of {cases} cases, {runs} runs")
        print(floor.line())
        results: list[tuple[Measure, float]] = []
        for run, profile in enumerate(laptops, start=1):
            proxy.reset()  # the link's cuts are counted from here, not from the last run's bytes
            proxy.shape(link)
            started = time.perf_counter()
            try:
                report, m, _ = _run(url, proxy, srv.process.pid, profile, SyncEngine.sync)
            except SyncError as failed:  # the figures of the other runs and links still count
                print(
                    f"run {run}: FAILED after {time.perf_counter() - started:.1f} s: "
                    f"{type(failed).__name__}: {failed.message} ({failed.detail})"
                )
                profile.close()
                continue
            finally:
                proxy.clear()
            # a cut costs any client two round trips: a new connection, and its request again
            trips = floor.round_trips() + 2 * m.cuts
            floor_s = floor.packed * 8 / down_bps + trips * rtt + m.stall
            results.append((m, floor_s))
            pulls = m.by_path.get("/v1/sync/pull", 0)
            print(
                f"run {run}: {_fmt(m)}; {report.received} records in {report.pages} pages "
                f"({pulls} pull requests, {m.cuts} cuts); wire/floor "
                f"{m.wire / floor.packed:.2f}; floor time {floor_s:.1f} s "
                f"({floor.round_trips()} round trips + 2 per cut = {trips} x "
                f"{rtt * 1000:.0f} ms + {m.stall:.0f} s of stalls); time/floor "
                f"{m.wall / floor_s:.2f}"
            )
            profile.close()
        if not results:
            print("median: no run finished")
            return
        med = _median([m for m, _ in results])
        ratio = statistics.median(m.wall / f for m, f in results)
        print(
            f"median: {_fmt(med)}; wire/floor {med.wire / floor.packed:.2f}; time/floor {ratio:.2f}"
        )


def main() -> None:
    cases = int(os.environ.get("FIELDCASE_BENCH_SYNC_CASES", "10000"))
    edits = int(os.environ.get("FIELDCASE_BENCH_SYNC_EDITS", "1000"))
    cases_a = int(os.environ.get("FIELDCASE_BENCH_SYNC_A", "2000"))
    cases_b = int(os.environ.get("FIELDCASE_BENCH_SYNC_B", "500"))
    runs = int(os.environ.get("FIELDCASE_BENCH_SYNC_RUNS", "3"))
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} when started")
    with tempfile.TemporaryDirectory(prefix="fieldcase-bench-sync-") as folder:
        tmp = Path(folder)
        (tmp / "loop").mkdir()
        loopback(tmp / "loop", cases, edits, runs)
        if os.environ.get("FIELDCASE_BENCH_SYNC_SHAPED", "1") == "0":
            return
        profiles = [
            (
                "a",
                LinkProfile(256_000, 256_000, 0.15, 0.15, cut_every=2_000_000),
                cases_a,
                "profile A (256 kbit/s, 150 ms each way, a cut every 2 MB)",
            ),
            (
                "a2",
                LinkProfile(256_000, 256_000, 0.15, 0.15, cut_every=100_000),
                cases_a,
                "profile A with a cut every 100 kB",
            ),
            (
                "b",
                LinkProfile(
                    64_000,
                    64_000,
                    0.4,
                    0.4,
                    stall_every=60.0,
                    stall_for=20.0,
                    stall_first=5.0,
                ),
                cases_b,
                "profile B (64 kbit/s, 400 ms each way, a 20 s stall once a minute)",
            ),
        ]
        for name, link, size, note in profiles:
            (tmp / name).mkdir()
            shaped(tmp / name, link, size, runs, note)


if __name__ == "__main__":
    main()
