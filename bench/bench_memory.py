"""Memory of a first sync: does either side hold more than one page at a time?

A real ``fieldcase-server serve`` on SQLite holds realistic council cases
(:mod:`server.records.realistic`) of about 10,000 records, then, in a fresh database and a
fresh service process, about 100,000. Each time a laptop (a process of its own, with a cheap
key derivation so Argon2's memory does not hide the sync's) enrols, which pulls everything, and
prints:

* the laptop process's peak resident memory (``VmHWM``), and, from a second laptop's first
  sync of the same cases, the peak of Python's own memory while it synced (``tracemalloc``:
  the pages, records and values it held; traced apart, since tracemalloc's own records of
  every live allocation would add to the resident memory measured);
* the service process's peak resident memory (``VmHWM`` of ``serve`` and its workers).

The goal (issue 11): each side's peak at 100,000 records is at most 1.2x its peak at 10,000,
so what a first sync holds does not grow with what it receives. Median of the runs.

    .venv/bin/python -m bench.bench_memory
    FIELDCASE_BENCH_MEMORY_RUNS=1 .venv/bin/python -m bench.bench_memory   # a quick look
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("FIELDCASE_ARGON2_MEMORY_KIB", "8192")
os.environ.setdefault("FIELDCASE_ARGON2_TIME_COST", "1")

from bench.bench_sync import PASSWORD, USER, _server_side  # noqa: E402
from bench.cpu import peak_rss_kib  # noqa: E402
from server.records import realistic  # noqa: E402
from tests.support.server import running_server, sqlite_url  # noqa: E402

#: Records per generated case (a person, the case, warnings, three notes, a visit): 7.66 on
#: average for seed 0.
SIZES = {"10,000": 1_306, "100,000": 13_055}

_LAPTOP = r"""
import json, sys, tracemalloc
from pathlib import Path
from app import online
from app.vault.kdf import KdfCost
folder, url, user, password, traced = sys.argv[1:6]
cheap = KdfCost(memory_kib=8192, iterations=1, lanes=1)
if traced == "1":
    tracemalloc.start()
result = online.enrol(Path(folder), url, user, password, kdf=cheap)
peak = tracemalloc.get_traced_memory()[1] if traced == "1" else None
status = Path("/proc/self/status").read_text()
hwm = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
received = result.report.received if result.report else None
print(json.dumps({"python_peak": peak, "rss_peak_kib": hwm, "received": received}))
"""


def one_run(tmp: Path, cases: int) -> dict[str, Any]:
    db = sqlite_url(tmp)
    _server_side(db, [{"op": "user", "name": USER, "team": realistic.TEAM, "password": PASSWORD}])
    _server_side(db, [{"op": "cases", "cases": cases, "seed": 0}])
    with running_server(db) as srv:
        service_before = peak_rss_kib(srv.process.pid)
        figures = _laptop(tmp / "laptop", srv.url, traced=False)
        figures["service_rss_kib"] = peak_rss_kib(srv.process.pid)
        figures["service_rss_before_kib"] = service_before
        # Python's own peak in a second laptop: tracemalloc's own records of every live
        # allocation would add to the first one's resident memory
        figures["python_peak"] = _laptop(tmp / "traced", srv.url, traced=True)["python_peak"]
    return figures


def _laptop(folder: Path, url: str, *, traced: bool) -> dict[str, Any]:
    """Enrol (and so first-sync) a laptop in a process of its own; its figures."""
    laptop = subprocess.run(
        [sys.executable, "-c", _LAPTOP, str(folder), url, USER, PASSWORD, "1" if traced else "0"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if laptop.returncode != 0:
        raise SystemExit(f"the laptop failed: {laptop.stderr[-2000:]}")
    figures: dict[str, Any] = json.loads(laptop.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    runs = int(os.environ.get("FIELDCASE_BENCH_MEMORY_RUNS", "3"))
    print(f"machine: {os.cpu_count()} CPUs; {runs} runs per size (median)")
    medians: dict[str, dict[str, float]] = {}
    for label, cases in SIZES.items():
        results = []
        for run in range(runs):
            with tempfile.TemporaryDirectory(prefix="fieldcase-bench-memory-") as folder:
                figures = one_run(Path(folder), cases)
            results.append(figures)
            print(
                f"{label} records ({cases} cases) run {run + 1}: received "
                f"{figures['received']}; laptop peak RSS {figures['rss_peak_kib'] / 1024:.0f} MB, "
                f"Python peak {figures['python_peak'] / 1e6:.1f} MB; service peak RSS "
                f"{figures['service_rss_kib'] / 1024:.0f} MB (at start "
                f"{figures['service_rss_before_kib'] / 1024:.0f} MB)"
            )
        medians[label] = {
            key: statistics.median(r[key] for r in results)
            for key in ("rss_peak_kib", "python_peak", "service_rss_kib")
        }
    small, large = medians["10,000"], medians["100,000"]
    print(
        "100,000 / 10,000 records, median peaks: laptop RSS "
        f"{large['rss_peak_kib'] / small['rss_peak_kib']:.2f}x, laptop Python "
        f"{large['python_peak'] / small['python_peak']:.2f}x, service RSS "
        f"{large['service_rss_kib'] / small['service_rss_kib']:.2f}x (goal: at most 1.2x each)"
    )


if __name__ == "__main__":
    main()
