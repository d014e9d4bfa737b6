"""Benchmark of the central service: a real `fieldcase-server serve` on PostgreSQL and SQLite.

N simulated laptops (10, 50, 200; teams of 10) each push batches of 100 changes (90 new notes,
10 edits of their case) and then pull what their team changed, concurrently. Prints changes
applied per second and the 50th/95th-percentile request latency. Then a first pull of 10,000
cases by one laptop: time, pages, records and bytes on the wire (gzip) and uncompressed.

    .venv/bin/python -m bench.bench_server            # everything (a few minutes)
    .venv/bin/python -m bench.bench_server sqlite 10  # one database, one size
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


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    kinds = [a for a in args if a in ("sqlite", "postgres")] or ["postgres", "sqlite"]
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


if __name__ == "__main__":
    main()
