"""Sync benchmark: first sync and incremental sync on loopback, then over emulated rural links.

Prints, for each run: wall time, HTTP requests, TCP connections, bytes on the wire (counted by
the shaping proxy in front of a real ``fieldcase-server serve``), and the floor: the same
records as gzip-compressed JSON, or on a shaped link
``bytes / bandwidth + round trips x RTT + stall time``.

Sizes can be lowered for a quick look: FIELDCASE_BENCH_SYNC_CASES (10000),
FIELDCASE_BENCH_SYNC_EDITS (1000), FIELDCASE_BENCH_SYNC_A (2000), FIELDCASE_BENCH_SYNC_B (500).
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# The service's password hashes at the test cost (its own settings; the laptops' profiles use
# the production KDF: the bench measures sync, not unlock).
os.environ.setdefault("FIELDCASE_ARGON2_MEMORY_KIB", "8192")
os.environ.setdefault("FIELDCASE_ARGON2_TIME_COST", "1")

from app import online  # noqa: E402
from app.store.profile import Profile  # noqa: E402
from app.store.sync_adapter import SyncAdapter  # noqa: E402
from sync.client import ServiceClient, Timeouts  # noqa: E402
from sync.engine import SyncEngine, SyncReport  # noqa: E402
from tests.support.server import running_server, sqlite_url  # noqa: E402
from tests.tools.faultproxy import FaultProxy, LinkProfile  # noqa: E402

PASSWORD = "bench password 2026"
NOTES_PER_CASE = 2

_SEED = r"""
import json, sys, uuid
from datetime import UTC, datetime
from sqlmodel import Session
from server.records.seeding import bulk_insert
from sync.clock import SystemClock
from server.core.db import make_engine, migrate
from sync.records import RecordKind
from tests.support.server import add_user

db, jobs = json.loads(sys.argv[1])
for job in jobs:
    if job["op"] == "user":
        add_user(db, job["name"], job["team"], password=job["password"])
        continue
    engine = make_engine(db, pool_size=1)
    migrate(engine)
    now = datetime.now(UTC).isoformat()
    rows = []
    for i in range(job["cases"]):
        case_id, person_id = uuid.uuid4(), uuid.uuid4()
        rows.append((RecordKind.PERSON, person_id, case_id, {
            "name": f"Person {job['tag']} {i}", "date_of_birth": "1950-04-30",
            "address": f"{i} Long Lane, Little Village, Shire AB1 2CD", "phone": "01234 567890",
            "preferred_contact": "phone", "language": "English", "access_needs": ""}))
        rows.append((RecordKind.CASE, case_id, case_id, {
            "ref": f"FC-2026-{job['tag']}{i:06d}", "type": "adult_social_care",
            "status": "open", "priority": "normal",
            "summary": "Assessment of care needs after a fall at home; follow-up visit due.",
            "team": job["team"], "assigned_to": job["user"], "next_review": "2027-01-15",
            "opened_on": "2026-10-01", "closed_on": None, "person_id": str(person_id)}))
        for n in range(job["notes"]):
            rows.append((RecordKind.NOTE, uuid.uuid4(), case_id, {
                "text": f"Visit note {n}: spoke with the family about daily support, "
                        "medication and the next steps agreed with the GP.",
                "author": job["user"], "written_at": now, "corrects": None}))
    with Session(engine) as session:
        for start in range(0, len(rows), 5000):
            bulk_insert(session, rows[start:start + 5000], by="bench", clock=SystemClock())
        session.commit()
    engine.dispose()
"""


def _server_side(db: str, jobs: list[dict[str, Any]]) -> None:
    """Seed in a child process: the service's and the laptop's tables cannot share one."""
    subprocess.run(
        [sys.executable, "-c", _SEED, json.dumps([db, jobs])],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
        timeout=1800,
    )


def _floor_bytes(profile: Profile) -> int:
    """The records this laptop holds, as one gzip-compressed JSON document."""
    from sqlmodel import select

    from app.store.models import KIND_MODELS
    from app.store.records import record_fields
    from sync.records import RecordKind

    items = []
    with profile.session() as s:
        for kind in (RecordKind.CASE, RecordKind.PERSON, RecordKind.NOTE):
            for row in s.exec(select(KIND_MODELS[kind])).all():
                items.append(
                    {
                        "kind": kind.value,
                        "record_id": str(row.id),
                        "case_id": str(getattr(row, "case_id", row.id)),
                        "version": row.version,
                        "fields": record_fields(row),
                    }
                )
    raw = json.dumps(items, separators=(",", ":")).encode()
    return len(gzip.compress(raw, compresslevel=6))


class Run:
    def __init__(self, proxy: FaultProxy, laptop: Profile, timeouts: Timeouts | None = None):
        self.proxy = proxy
        self.profile = laptop
        self.timeouts = timeouts

    def sync(self) -> tuple[SyncReport, float, ServiceClient]:
        store = SyncAdapter(self.profile)
        credential = store.credential()
        assert credential is not None
        client = ServiceClient(self.proxy.url, credential=credential, timeouts=self.timeouts)
        client.renew_token()  # not part of what is measured
        self.proxy.reset_counters()
        started = time.perf_counter()
        report = SyncEngine(store, client).sync()
        elapsed = time.perf_counter() - started
        client.close()
        return report, elapsed, client


def _enrol(folder: Path, url: str, user: str) -> Profile:
    result = online.enrol(folder, url, user, PASSWORD, keep_open=True)
    assert result.profile is not None
    return result.profile


def _pull_requests(proxy: FaultProxy) -> int:
    return sum(1 for r in proxy.log if r.path.startswith("/v1/sync/pull"))


def _line(label: str, report: SyncReport, elapsed: float, proxy: FaultProxy) -> None:
    wire = proxy.bytes_up + proxy.bytes_down
    print(
        f"{label}: {elapsed:.1f} s, {proxy.requests} requests on {proxy.connections} "
        f"connection(s), {wire / 1e6:.2f} MB on the wire (up {proxy.bytes_up / 1e6:.2f}, down "
        f"{proxy.bytes_down / 1e6:.2f}); sent {report.pushed}, received {report.received} "
        f"in {report.pages} pages"
    )


def loopback(tmp: Path, cases: int, edits: int) -> None:
    db = sqlite_url(tmp)
    _server_side(db, [{"op": "user", "name": "loop", "team": "Loop", "password": PASSWORD}])
    with running_server(db) as srv, FaultProxy(("127.0.0.1", srv.port)) as proxy:
        profile = _enrol(tmp / "loop", proxy.url, "loop")
        _server_side(
            db,
            [
                {
                    "op": "cases",
                    "team": "Loop",
                    "user": "loop",
                    "tag": 1,
                    "cases": cases,
                    "notes": NOTES_PER_CASE,
                }
            ],
        )
        run = Run(proxy, profile)
        report, elapsed, _ = run.sync()
        floor = _floor_bytes(profile)
        wire = proxy.bytes_up + proxy.bytes_down
        print(f"== loopback, first sync of {cases} cases with {NOTES_PER_CASE} notes each")
        _line("first sync", report, elapsed, proxy)
        print(
            f"  floor (same records as gzip JSON): {floor / 1e6:.2f} MB; wire/floor = "
            f"{wire / floor:.2f}; {report.received / elapsed:.0f} records/s"
        )
        from app.core import Casework

        work = Casework(profile)
        refs = [row.ref for row in work.list_cases(limit=edits)]
        for n, ref in enumerate(refs):
            work.edit_case(ref, {"summary": f"Reviewed on the phone, call {n}; all well."})
        report, elapsed, client = run.sync()
        print(f"== loopback, incremental sync of {len(refs)} edits")
        _line("incremental", report, elapsed, proxy)
        print(f"  requests by kind: {client.stats.by_path}")
        profile.close()


def shaped(tmp: Path, name: str, link: LinkProfile, cases: int, note: str) -> None:
    db = sqlite_url(tmp)
    user = f"rural{name}"
    _server_side(db, [{"op": "user", "name": user, "team": "Rural", "password": PASSWORD}])
    with running_server(db) as srv, FaultProxy(("127.0.0.1", srv.port)) as proxy:
        profile = _enrol(tmp / name, proxy.url, user)
        _server_side(
            db,
            [
                {
                    "op": "cases",
                    "team": "Rural",
                    "user": user,
                    "tag": 2,
                    "cases": cases,
                    "notes": NOTES_PER_CASE,
                }
            ],
        )
        run = Run(proxy, profile)
        proxy.shape(link)
        started = time.monotonic()
        report, elapsed, _client = run.sync()
        ended = time.monotonic()
        stall = proxy.stall_time_between(started, ended)
        rtt = link.up_delay + link.down_delay
        round_trips = proxy.requests + proxy.connections
        up_bps, down_bps = link.up_bps or 1e12, link.down_bps or 1e12
        floor = (
            proxy.bytes_up * 8 / up_bps
            + proxy.bytes_down * 8 / down_bps
            + round_trips * rtt
            + stall
        )
        pulls = _pull_requests(proxy)
        print(f"== {note}: first sync of {cases} cases")
        _line("shaped", report, elapsed, proxy)
        print(
            f"  floor {floor:.1f} s (wire bytes / bandwidth + {round_trips} round trips x "
            f"{rtt * 1000:.0f} ms + {stall:.0f} s of stalls); time/floor = {elapsed / floor:.2f}"
        )
        print(
            f"  pull requests {pulls} for {report.pages} pages: "
            f"{pulls / max(report.pages, 1):.2f} round trips per page; pages sent again (after "
            f"cuts or stalls): {pulls - report.pages}; cuts: {proxy.cuts}"
        )
        profile.close()


def main() -> None:
    cases = int(os.environ.get("FIELDCASE_BENCH_SYNC_CASES", "10000"))
    edits = int(os.environ.get("FIELDCASE_BENCH_SYNC_EDITS", "1000"))
    cases_a = int(os.environ.get("FIELDCASE_BENCH_SYNC_A", "2000"))
    cases_b = int(os.environ.get("FIELDCASE_BENCH_SYNC_B", "500"))
    with tempfile.TemporaryDirectory(prefix="fieldcase-bench-sync-") as folder:
        tmp = Path(folder)
        (tmp / "loop").mkdir()
        loopback(tmp / "loop", cases, edits)
        (tmp / "a").mkdir()
        shaped(
            tmp / "a",
            "a",
            LinkProfile(
                up_bps=256_000,
                down_bps=256_000,
                up_delay=0.15,
                down_delay=0.15,
                cut_every=2_000_000,
            ),
            cases_a,
            "profile A (256 kbit/s, 150 ms each way, a cut every 2 MB)",
        )
        (tmp / "a2").mkdir()
        shaped(
            tmp / "a2",
            "a2",
            LinkProfile(
                up_bps=256_000,
                down_bps=256_000,
                up_delay=0.15,
                down_delay=0.15,
                cut_every=100_000,
            ),
            cases_a,
            "profile A with a cut every 100 kB (2 MB is more than this sync sends)",
        )
        (tmp / "b").mkdir()
        shaped(
            tmp / "b",
            "b",
            LinkProfile(
                up_bps=64_000,
                down_bps=64_000,
                up_delay=0.4,
                down_delay=0.4,
                stall_every=60.0,
                stall_for=20.0,
                stall_first=5.0,
            ),
            cases_b,
            "profile B (64 kbit/s, 400 ms each way, a 20 s stall once a minute)",
        )


if __name__ == "__main__":
    main()
