"""The laptop's CPU for a first sync, this checkout against an earlier commit, run by turns.

On a shared machine the speed of the whole machine changes by half from one hour to the next,
so two figures taken minutes apart do not tell a change of a few per cent. Here both versions
sync the same cases from the same running service, one after the other, several times (a fresh
laptop each, made by its own version), and the median of the per-pair ratios of their CPU
seconds is printed: the machine's mood is in both halves of each pair.

    .venv/bin/python -m bench.against REF          # e.g. a commit id or HEAD~3
    FIELDCASE_BENCH_AGAINST_CASES=2000 FIELDCASE_BENCH_AGAINST_RUNS=3 \
        .venv/bin/python -m bench.against REF      # a quick look

The earlier version is checked out into a temporary git worktree and run with this checkout's
interpreter and packages; it must have ``bench/bench_sync.py`` (from 2 Dec 2026 on). The service
is this checkout's. Each sync runs in a process of its own; the figure is that process's CPU
time (all its threads) from the start of the sync to its end.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _child(tree: str, action: str, folder: str, url: str) -> None:
    """In a process of its own: enrol a laptop, or run its first sync and print its CPU."""
    sys.path.insert(0, tree)
    os.environ.setdefault("FIELDCASE_ARGON2_MEMORY_KIB", "8192")
    os.environ.setdefault("FIELDCASE_ARGON2_TIME_COST", "1")
    from bench.bench_sync import PASSWORD, USER, _engine, _enrol

    if action == "enrol":
        _enrol(Path(folder), url, USER).close()
        return
    from app.store.profile import Profile

    profile = Profile.open(Path(folder), PASSWORD, backup=False)
    engine, client = _engine(url, profile)
    cpu, wall = time.process_time(), time.perf_counter()
    report = engine.sync()
    print(f"{time.process_time() - cpu:.3f} {time.perf_counter() - wall:.3f} {report.received}")
    client.close()
    profile.close()


def _run(tree: Path, action: str, folder: Path, url: str) -> str:
    # run as a script from the tree, so every project module (bench too) is the tree's own
    command = [sys.executable, str(Path(__file__).resolve()), "--child", str(tree), action]
    done = subprocess.run(
        [*command, str(folder), url],
        cwd=tree,
        check=True,
        capture_output=True,
        text=True,
        timeout=900,
    )
    return done.stdout


def main(argv: list[str]) -> None:
    if argv[:1] == ["--child"]:
        _child(*argv[1:5])
        return
    if len(argv) != 1:
        sys.exit("usage: python -m bench.against REF")
    sys.path.insert(0, str(ROOT))
    from bench.bench_sync import PASSWORD, USER, _server_side
    from server.records import realistic
    from tests.support.server import running_server, sqlite_url

    cases = int(os.environ.get("FIELDCASE_BENCH_AGAINST_CASES", "10000"))
    runs = int(os.environ.get("FIELDCASE_BENCH_AGAINST_RUNS", "5"))
    ref = argv[0]
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} when started")
    with tempfile.TemporaryDirectory(prefix="fieldcase-bench-against-") as folder:
        tmp = Path(folder)
        earlier = tmp / "earlier"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "--quiet", str(earlier), ref],
            cwd=ROOT,
            check=True,
        )
        try:
            trees = {ref: earlier, "this checkout": ROOT}
            db = sqlite_url(tmp)
            user = {"op": "user", "name": USER, "team": realistic.TEAM, "password": PASSWORD}
            _server_side(db, [user])
            seconds: dict[str, list[float]] = {name: [] for name in trees}
            with running_server(db) as srv:
                order = [name for _ in range(runs) for name in trees]
                for n, name in enumerate(order):
                    _run(trees[name], "enrol", tmp / f"laptop{n}", srv.url)
                _server_side(db, [{"op": "cases", "cases": cases, "seed": 0}])
                print(f"== a first sync of {cases} realistic cases, {runs} pairs, by turns")
                for n, name in enumerate(order):
                    cpu, wall, received = _run(
                        trees[name], "sync", tmp / f"laptop{n}", srv.url
                    ).split()
                    seconds[name].append(float(cpu))
                    figures = f"CPU {float(cpu):.2f} s, wall {float(wall):.2f} s"
                    print(f"{name}: {figures}, {received} records")
            before, after = seconds[ref], seconds["this checkout"]
            ratios = [a / b for a, b in zip(after, before, strict=True)]
            print(
                f"median CPU: {ref} {statistics.median(before):.2f} s, this checkout "
                f"{statistics.median(after):.2f} s; median of the per-pair ratios "
                f"{statistics.median(ratios):.3f} (from {min(ratios):.3f} to {max(ratios):.3f})"
            )
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(earlier)], cwd=ROOT, check=False
            )


if __name__ == "__main__":
    main(sys.argv[1:])
