"""Benchmark of the central service: a real `fieldcase-server serve` on PostgreSQL and SQLite.

N simulated laptops (10, 50, 200; teams of 10) each push batches of 100 changes (90 new notes,
10 edits of their case) and then pull what their team changed, concurrently. Prints changes
applied per second and the 50th/95th-percentile request latency. Then a first pull of 10,000
cases by one laptop: time, pages, records and bytes on the wire (gzip) and uncompressed.

Then the service's CPU per pulled page (``pages``): a database holding 10,000 and 100,000
records (1,000,000 too with FIELDCASE_BENCH_MILLION=1) in four teams; one team's user pulls
256 KiB pages at cursors spread over the change log, in this process (the page read, built and
serialised, then compressed each way). CPU is this process's plus, on PostgreSQL, its server
backend's. Median of several runs.

    .venv/bin/python -m bench.bench_server            # everything (a few minutes)
    .venv/bin/python -m bench.bench_server sqlite 10  # one database, one size
    .venv/bin/python -m bench.bench_server pages      # only the CPU per pulled page
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from tests.support.pg import PgCluster
from tests.support.server import PROTOCOL_HEADERS, TEST_PASSWORD, add_user, running_server

SIZES = {10: 10, 50: 4, 200: 1}  # devices -> rounds (flat out)
PACED_ROUNDS = {10: 5, 50: 3, 200: 2}  # devices -> rounds at the offered load
#: changes per second offered by all laptops together in the paced runs, per laptop count
OFFERED = {10: (250.0, 1000.0), 50: (250.0, 1000.0), 200: (1000.0,)}
TEAM_SIZE = 10
BATCH = 100
FIRST_PULL_CASES = 10_000
WORKERS = 2


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _change(
    kind: str, record_id: uuid.UUID, case_id: uuid.UUID, fields: dict[str, Any], base: int
) -> dict[str, Any]:
    return {
        "change_id": str(uuid.uuid4()),
        "kind": kind,
        "record_id": str(record_id),
        "case_id": str(case_id),
        "base_version": base,
        "fields": fields,
        "made_at": _now(),
    }


class Laptop:
    def __init__(self, url: str, token: str, team: str, user: str) -> None:
        self.client = httpx.Client(
            base_url=url,
            headers={**PROTOCOL_HEADERS, "Authorization": f"Bearer {token}"},
            timeout=120,
        )
        self.team, self.user = team, user
        self.case_id = uuid.uuid4()
        self.version = 0
        self.cursor: str | None = None

    def create_case(self) -> None:
        fields = {
            "ref": f"FC-2026-{self.case_id.int % 10**7:07d}",
            "type": "housing_repair",
            "person_id": str(uuid.uuid4()),
            "status": "open",
            "team": self.team,
            "assigned_to": self.user,
            "summary": "Benchmark case",
        }
        body = {"changes": [_change("case", self.case_id, self.case_id, fields, 0)]}
        result = self.client.post("/v1/sync/push", json=body).json()["results"][0]
        self.version = result["version"]

    def push(self, latencies: list[float]) -> int:
        changes = []
        for i in range(BATCH):
            if i % 10 == 0:
                fields = {
                    "priority": random.choice(("low", "normal", "high")),
                    "summary": f"edit {i}",
                }
                changes.append(_change("case", self.case_id, self.case_id, fields, self.version))
            else:
                text = "Visited; discussed the repair and agreed next steps. " * 3
                changes.append(
                    _change(
                        "note",
                        uuid.uuid4(),
                        self.case_id,
                        {"text": text, "author": self.user, "written_at": _now()},
                        0,
                    )
                )
        started = time.perf_counter()
        response = self.client.post("/v1/sync/push", json={"changes": changes})
        latencies.append(time.perf_counter() - started)
        response.raise_for_status()
        results = response.json()["results"]
        applied = sum(1 for r in results if r["status"] in ("applied", "conflict"))
        versions = [
            r["version"] for r in results if r.get("version") and r["status"] != "duplicate"
        ]
        self.version = max([self.version, *versions])
        return applied

    def pull(self, latencies: list[float]) -> tuple[int, int]:
        records = pages = 0
        while True:
            started = time.perf_counter()
            response = self.client.post("/v1/sync/pull", json={"cursor": self.cursor})
            latencies.append(time.perf_counter() - started)
            response.raise_for_status()
            page = response.json()
            records += len(page["records"])
            pages += 1
            self.cursor = page["next_cursor"]
            if not page["more"]:
                return records, pages


def _enrol(url: str, users: list[tuple[str, str]], count: int) -> list[Laptop]:
    tokens: dict[str, str] = {}
    with httpx.Client(base_url=url, headers=PROTOCOL_HEADERS, timeout=60) as client:
        for user, _team in users:
            tokens[user] = client.post(
                "/v1/auth/login", json={"username": user, "password": TEST_PASSWORD}
            ).json()["access_token"]
        laptops = []
        for i in range(count):
            user, team = users[i % len(users)]
            auth = {"Authorization": f"Bearer {tokens[user]}"}
            body = client.post(
                "/v1/devices/enrol", json={"device_name": f"bench {i}"}, headers=auth
            ).json()
            token = client.post(
                "/v1/auth/device-token",
                json={"device_id": body["device_id"], "device_secret": body["device_secret"]},
            ).json()["access_token"]
            laptops.append(Laptop(url, token, team, user))
    return laptops


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def run_load(url: str, users: list[tuple[str, str]], devices: int, rounds: int) -> dict[str, float]:
    laptops = _enrol(url, users, devices)
    with ThreadPoolExecutor(max_workers=min(devices, 64)) as pool:
        list(pool.map(lambda lap: lap.create_case(), laptops))
        list(pool.map(lambda lap: lap.pull([]), laptops))  # start from "now"
    push_lat: list[float] = []
    pull_lat: list[float] = []
    lock = threading.Lock()
    applied = 0
    barrier_start = time.perf_counter()

    def work(laptop: Laptop) -> None:
        nonlocal applied
        mine_push: list[float] = []
        mine_pull: list[float] = []
        count = 0
        for _ in range(rounds):
            count += laptop.push(mine_push)
            laptop.pull(mine_pull)
        with lock:
            applied += count
            push_lat.extend(mine_push)
            pull_lat.extend(mine_pull)

    with ThreadPoolExecutor(max_workers=devices) as pool:
        list(pool.map(work, laptops))
    elapsed = time.perf_counter() - barrier_start
    for laptop in laptops:
        laptop.client.close()
    return {
        "changes": applied,
        "seconds": elapsed,
        "rate": applied / elapsed,
        "push_p50": _pct(push_lat, 0.50),
        "push_p95": _pct(push_lat, 0.95),
        "pull_p95": _pct(pull_lat, 0.95),
        "all_p95": _pct(push_lat + pull_lat, 0.95),
    }


def run_paced(
    url: str, users: list[tuple[str, str]], devices: int, rounds: int, rate: float
) -> dict[str, float]:
    """Open loop: each laptop syncs (push 100, pull) on a fixed interval so that together they
    offer ``rate`` changes per second; measures latency at that load."""
    laptops = _enrol(url, users, devices)
    with ThreadPoolExecutor(max_workers=min(devices, 64)) as pool:
        list(pool.map(lambda lap: lap.create_case(), laptops))
        list(pool.map(lambda lap: lap.pull([]), laptops))
    interval = devices * BATCH / rate
    push_lat: list[float] = []
    pull_lat: list[float] = []
    lock = threading.Lock()
    applied = 0
    origin = time.perf_counter() + 0.5

    def work(index: int) -> None:
        nonlocal applied
        laptop = laptops[index]
        mine_push: list[float] = []
        mine_pull: list[float] = []
        count = 0
        for n in range(rounds):
            due = origin + interval * (n + index / devices)
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)  # pacing the simulated laptops (a benchmark, not a test)
            count += laptop.push(mine_push)
            laptop.pull(mine_pull)
        with lock:
            applied += count
            push_lat.extend(mine_push)
            pull_lat.extend(mine_pull)

    with ThreadPoolExecutor(max_workers=devices) as pool:
        list(pool.map(work, range(devices)))
    elapsed = time.perf_counter() - origin
    for laptop in laptops:
        laptop.client.close()
    return {
        "changes": applied,
        "seconds": elapsed,
        "rate": applied / elapsed,
        "push_p50": _pct(push_lat, 0.50),
        "push_p95": _pct(push_lat, 0.95),
        "pull_p95": _pct(pull_lat, 0.95),
        "all_p95": _pct(push_lat + pull_lat, 0.95),
    }


def first_pull(url: str, db_url: str) -> dict[str, float]:
    from sqlmodel import Session

    from server.core.db import make_engine
    from server.demo import generate_cases
    from server.records.seeding import bulk_insert
    from sync.clock import SystemClock

    add_user(db_url, "big.reader", "Big Team")
    engine = make_engine(db_url, pool_size=1)
    started = time.perf_counter()
    rng = random.Random(7)
    today = datetime.now(UTC).date()
    with Session(engine) as session:
        rows = generate_cases(
            rng, "Big Team", ["big.reader"], ("housing_repair",), FIRST_PULL_CASES, 50000, today
        )
        batch: list[Any] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= 5000:
                bulk_insert(session, batch, by="bench", clock=SystemClock())
                batch = []
        bulk_insert(session, batch, by="bench", clock=SystemClock())
        session.commit()
    seeded = time.perf_counter() - started
    engine.dispose()
    (laptop,) = _enrol(url, [("big.reader", "Big Team")], 1)
    wire = raw = pages = count = 0
    cursor = None
    started = time.perf_counter()
    while True:
        response = laptop.client.post(
            "/v1/sync/pull",
            json={"cursor": cursor, "max_bytes": 1024 * 1024},
            headers={"Accept-Encoding": "gzip"},
        )
        response.raise_for_status()
        wire += response.num_bytes_downloaded
        raw += len(response.content)
        page = response.json()
        pages += 1
        count += len(page["records"])
        cursor = page["next_cursor"]
        if not page["more"]:
            break
    elapsed = time.perf_counter() - started
    laptop.client.close()
    return {
        "seconds": elapsed,
        "pages": pages,
        "records": count,
        "wire": wire,
        "raw": raw,
        "seed": seeded,
    }


def _describe(result: dict[str, float]) -> str:
    return (
        f"{result['changes']:>6.0f} changes in {result['seconds']:5.1f} s = "
        f"{result['rate']:5.0f} changes/s; push p50 {result['push_p50']:5.0f} ms, "
        f"p95 {result['push_p95']:5.0f} ms; pull p95 {result['pull_p95']:5.0f} ms; "
        f"all requests p95 {result['all_p95']:5.0f} ms"
    )


def bench_database(kind: str, db_url: str, sizes: dict[int, int]) -> None:
    teams = max(1, max(sizes) // TEAM_SIZE)
    users = [(f"worker{t:02d}", f"Team {t:02d}") for t in range(teams)]
    for user, team in users:
        add_user(db_url, user, team)
    env = {"FIELDCASE_LOGIN_MAX_FAILURES_ADDRESS": "100000"}
    with running_server(db_url, workers=WORKERS, env=env, timeout=120) as srv:
        for devices, rounds in sizes.items():
            team_users = users[: max(1, devices // TEAM_SIZE)]
            result = run_load(srv.url, team_users, devices, rounds)
            label = f"flat out {devices:>4} devices x {rounds:>2} rounds:"
            print(f"{kind:<10} {label} {_describe(result)}", flush=True)
        for devices in sizes:
            team_users = users[: max(1, devices // TEAM_SIZE)]
            for offered in OFFERED.get(devices, (1000.0,)):
                rounds = PACED_ROUNDS.get(devices, 2)
                result = run_paced(srv.url, team_users, devices, rounds, offered)
                label = f"offered {offered:4.0f} changes/s by {devices:>4} devices:"
                print(f"{kind:<10} {label} {_describe(result)}", flush=True)
        fp = first_pull(srv.url, db_url)
        print(
            f"{kind:<10} first pull of {FIRST_PULL_CASES} cases ({fp['records']:.0f} records): "
            f"{fp['seconds']:.1f} s in {fp['pages']:.0f} pages of 1 MiB; "
            f"{fp['wire'] / 1e6:.1f} MB on the wire (gzip), {fp['raw'] / 1e6:.1f} MB uncompressed "
            f"(seeding took {fp['seed']:.1f} s)",
            flush=True,
        )


# ------------------------------------------------------------------ CPU per pulled page

PAGE_SIZES = (10_000, 100_000)
PAGE_TEAMS = 4
PAGE_BYTES = 256 * 1024  # the laptop's first page size (sync.protocol.DEFAULT_PAGE_BYTES)
PAGE_RUNS = 5
PAGE_SAMPLES = 6  # cursors spread over the first half of the log (full pages), a page at each


def _cpu_of(pid: int) -> float:
    """CPU seconds (user + system) a process on this machine has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _seed_records(db_url: str, records: int) -> tuple[int, float]:
    """About ``records`` records in PAGE_TEAMS teams (generated cases); (log length, seconds)."""
    from sqlmodel import Session

    from server.core.db import make_engine
    from server.demo import generate_cases
    from server.records.seeding import bulk_insert
    from sync.clock import SystemClock

    for team in range(PAGE_TEAMS):
        add_user(db_url, f"reader{team}", f"Page Team {team}")
    engine = make_engine(db_url, pool_size=1)
    started = time.perf_counter()
    rng = random.Random(11)
    today = datetime.now(UTC).date()
    written = 0
    with Session(engine) as session:
        team = 0
        batch: list[Any] = []
        while written < records:
            rows = list(
                generate_cases(
                    rng,
                    f"Page Team {team}",
                    [f"reader{team}"],
                    ("housing_repair",),
                    1,
                    100_000 + written,
                    today,
                )
            )
            team = (team + 1) % PAGE_TEAMS
            batch += rows
            written += len(rows)
            if len(batch) >= 5000:
                bulk_insert(session, batch, by="bench", clock=SystemClock())
                batch = []
        bulk_insert(session, batch, by="bench", clock=SystemClock())
        session.commit()
    engine.dispose()
    return written, time.perf_counter() - started


def _compressions() -> dict[str, Any]:
    import gzip

    ways: dict[str, Any] = {
        "gzip-9": lambda body: gzip.compress(body, compresslevel=9, mtime=0),
        "gzip-6": lambda body: gzip.compress(body, compresslevel=6, mtime=0),
    }
    try:
        from backports import zstd
    except ImportError:  # pragma: no cover - Python 3.14 has it as compression.zstd
        try:
            from compression import zstd  # type: ignore[import-not-found,no-redef]
        except ImportError:
            return ways
    ways["zstd-3"] = lambda body: zstd.compress(body, level=3)
    return ways


def page_cost(db_url: str, records: int) -> dict[str, float]:
    """Median CPU milliseconds per pulled page (read + build + serialise; and each
    compression), for one team's user of four, at cursors spread over the change log."""
    from sqlalchemy import text
    from sqlmodel import select

    from server.core.db import make_engine, snapshot_session
    from server.crud import Actor
    from server.models import User
    from server.records.pull import make_cursor, pull_page
    from sync.clock import SystemClock

    length, seeded = _seed_records(db_url, records)
    engine = make_engine(db_url, pool_size=1)
    clock = SystemClock()
    with snapshot_session(engine) as session:
        user = session.exec(select(User).where(User.username == "reader0")).one()
        actor = Actor(user.id, user.username, "Page Team 0", "device", clock.now())
    postgres = engine.dialect.name == "postgresql"
    ways = _compressions()
    runs: dict[str, list[float]] = {"page": [], **{name: [] for name in ways}}
    rows = wire = 0
    sizes: dict[str, int] = {}
    for _run in range(PAGE_RUNS):
        spent: dict[str, list[float]] = {name: [] for name in runs}
        for sample in range(PAGE_SAMPLES):
            cursor = make_cursor(length * sample // (2 * PAGE_SAMPLES))
            with snapshot_session(engine) as session:
                backend = (
                    int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())
                    if postgres
                    else 0
                )
                before = time.process_time() + (_cpu_of(backend) if postgres else 0.0)
                page = pull_page(session, actor, cursor, PAGE_BYTES, clock=clock)
                body = page.to_bytes()
                after = time.process_time() + (_cpu_of(backend) if postgres else 0.0)
            spent["page"].append(after - before)
            rows, wire = len(page.records), len(body)
            for name, squeeze in ways.items():
                started = time.process_time()
                sizes[name] = len(squeeze(body))
                spent[name].append(time.process_time() - started)
        for name, values in spent.items():
            runs[name].append(sum(values) / len(values))
    engine.dispose()
    result = {name: 1000 * _median(values) for name, values in runs.items()}
    result.update(records=length, rows=rows, bytes=wire, seed=seeded)
    result.update({f"{name} bytes": size for name, size in sizes.items()})
    return result


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def bench_pages(kind: str, make_url: Any) -> None:
    sizes = list(PAGE_SIZES)
    if os.environ.get("FIELDCASE_BENCH_MILLION") == "1":
        sizes.append(1_000_000)
    for size in sizes:
        result = page_cost(make_url(size), size)
        squeezed = ", ".join(
            f"{name} {result[name]:.1f} ms ({result[name + ' bytes'] / 1e3:.0f} kB)"
            for name in ("gzip-9", "gzip-6", "zstd-3")
            if name in result
        )
        print(
            f"{kind:<10} CPU per pulled page at {result['records']:>9,.0f} records: "
            f"{result['page']:6.1f} ms to read, build and serialise "
            f"({result['rows']:.0f} records, {result['bytes'] / 1e6:.2f} MB); "
            f"compress: {squeezed} (median of {PAGE_RUNS} runs of {PAGE_SAMPLES} pages; "
            f"seeding took {result['seed']:.0f} s)",
            flush=True,
        )


def _pages(kinds: list[str]) -> None:
    for kind in kinds:
        if kind == "postgres":
            cluster = PgCluster.start(durable=False)
            try:
                bench_pages(kind, lambda size, pg=cluster: pg.create_database(f"pages{size}"))
            finally:
                cluster.stop()
        else:
            with tempfile.TemporaryDirectory() as folder:
                bench_pages(kind, lambda size: f"sqlite:///{Path(folder) / f'pages{size}.db'}")


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    kinds = [a for a in args if a in ("sqlite", "postgres")] or ["postgres", "sqlite"]
    if "pages" in args:
        print(f"{os.cpu_count()} CPUs; load average before: {os.getloadavg()[0]:.1f}", flush=True)
        _pages(kinds)
        return
    sizes = {int(a): SIZES.get(int(a), 1) for a in args if a.isdigit()} or dict(SIZES)
    print(
        f"fieldcase-server with {WORKERS} workers; batches of {BATCH} changes; teams of {TEAM_SIZE}"
    )
    print(f"{os.cpu_count()} CPUs; load average before: {os.getloadavg()[0]:.1f}", flush=True)
    for kind in kinds:
        if kind == "postgres":
            cluster = PgCluster.start(durable=True)
            try:
                bench_database(kind, cluster.create_database("bench"), sizes)
            finally:
                cluster.stop()
        else:
            with tempfile.TemporaryDirectory() as folder:
                bench_database(kind, f"sqlite:///{Path(folder) / 'bench.db'}", sizes)
        print(f"load average after {kind}: {os.getloadavg()[0]:.1f}", flush=True)
    _pages(kinds)


if __name__ == "__main__":
    main()
