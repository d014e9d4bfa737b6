"""Installer figures: bundle size, .deb size, and cold start of the built app to its unlock
screen (median of several runs). Targets: cold start under 2 s; bundle under 150 MB.

Run alone with ``.venv/bin/python -m bench.run_all installer``. It builds the bundle and a
release (xz) .deb into a temporary folder, which takes a few minutes; set
``FIELDCASE_BENCH_DIST=dist`` to measure an existing ``make installer`` output instead.

Start-up is timed from launching the executable until the unlock screen is on screen
(``FIELDCASE_EXIT_WHEN_SHOWN=1`` makes the app exit right then), offscreen, with an existing
profile. The first run after the build is reported on its own: it reads the bundle from disk;
the later runs find it in the page cache, as a laptop does after the first start of the day.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = 7
TARGET_START_S = 2.0
TARGET_BUNDLE_MB = 150.0
MB = 1000 * 1000


def _tree_bytes(folder: Path) -> tuple[int, int]:
    total = count = 0
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            total += path.stat().st_size
            count += 1
    return total, count


def _build(out: Path) -> Path:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("FIELDCASE_FAST_PACKAGE", None)  # release compression: the .deb IT would ship
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "installer.build", "--dist", str(out), "--work", str(out / "w")],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"build (PyInstaller + dpkg-deb -Zxz): {time.perf_counter() - started:.0f} s")
    return out


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _start_times(executable: Path, home: Path) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU seconds (user + system) of each start to the unlock screen."""
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "FIELDCASE_PROFILE": str(home / "profile"),
        "FIELDCASE_LOG_DIR": str(home / "logs"),
        "FIELDCASE_PASSWORD": "bench password, long enough",
    }
    env.pop("FIELDCASE_SITE_CONFIG", None)
    subprocess.run(
        [str(executable), "init", "--user", "bench"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    env.pop("FIELDCASE_PASSWORD")
    env["FIELDCASE_EXIT_WHEN_SHOWN"] = "1"
    times, cpu = [], []
    for _ in range(RUNS + 1):
        cpu_before = _children_cpu()
        started = time.perf_counter()
        subprocess.run(
            [str(executable)],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,  # Qt's offscreen plugin notes, not ours
            cwd=home,
        )
        times.append(time.perf_counter() - started)
        cpu.append(_children_cpu() - cpu_before)
    return times, cpu


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="fieldcase-bench-installer-") as scratch:
        given = os.environ.get("FIELDCASE_BENCH_DIST")
        dist = Path(given).resolve() if given else _build(Path(scratch) / "dist")
        bundle = dist / "fieldcase"
        size, files = _tree_bytes(bundle)
        verdict = "meets" if size / MB < TARGET_BUNDLE_MB else "MISSES"
        print(
            f"bundle: {size / MB:.1f} MB in {files} files "
            f"({verdict} the {TARGET_BUNDLE_MB:.0f} MB target)"
        )
        for deb in sorted(dist.glob("fieldcase_*.deb")):
            print(f".deb: {deb.stat().st_size / MB:.1f} MB ({deb.name})")
        home = Path(scratch) / "home"
        home.mkdir()
        times, cpu = _start_times(bundle / "fieldcase", home)
        first, warm = times[0], times[1:]
        median = statistics.median(warm)
        verdict = "meets" if median < TARGET_START_S else "MISSES"
        print(f"start to unlock screen, first run after build: {first:.2f} s")
        print(
            f"start to unlock screen, median of {len(warm)}: {median:.2f} s "
            f"(min {min(warm):.2f}, max {max(warm):.2f}; {verdict} the "
            f"{TARGET_START_S:.0f} s target; offscreen, {os.cpu_count()} CPUs, load average "
            f"{os.getloadavg()[0]:.1f} at the end)"
        )
        print(
            f"CPU time (user + system) of a start, median of {len(warm)}: "
            f"{statistics.median(cpu[1:]):.2f} s (what the start costs a quiet laptop's core)"
        )


if __name__ == "__main__":
    main()
