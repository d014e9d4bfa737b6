"""Command-line start-up: ``fieldcase --version`` and ``fieldcase cases`` on a small profile.

Prints the median wall time of several runs of each, as a person runs them (a new process each
time, the installed ``fieldcase`` script when there is one), and beside them:
* the interpreter on its own (``python -c pass``): the floor no command can go under;
* the key derivation on its own (one unlock of the same profile, timed inside a fresh process):
  ``cases`` must unlock the profile, so its budget is "0.6 s plus the key derivation".
The profile holds :data:`CASES` cases; its password wrap is made with the cost given
explicitly in :data:`KDF` (Argon2id at the production floor: 64 MiB, 3 passes, 4 lanes), not
the machine-tuned production cost, so the figure does not move with the tuning.

Run alone with ``.venv/bin/python -m bench.run_all cli`` (or ``python -m bench.bench_cli``).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from app import vault
from app.core import Casework, NewCase
from app.store.profile import Profile
from app.vault import kdf as vault_kdf

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "bench password, long enough"
RUNS = 7
CASES = 50
KDF = vault.KdfCost(vault_kdf.FLOOR_MEMORY_KIB, vault_kdf.FLOOR_ITERATIONS, vault_kdf.DEFAULT_LANES)


def _fieldcase() -> tuple[list[str], str]:
    """The command to run: the installed script beside this interpreter, else the module."""
    script = Path(sys.executable).parent / ("fieldcase.exe" if os.name == "nt" else "fieldcase")
    if script.is_file():
        return [str(script)], str(script.name)
    return [sys.executable, "-m", "app.cli.main"], "python -m app.cli.main"


def _median_run(command: Sequence[str], env: Mapping[str, str], cwd: Path) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run(
            command, env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, check=True
        )
        times.append(time.perf_counter() - started)
    return statistics.median(times)


#: One unlock in a fresh process, as the command makes it (its memory is new to the process
#: too), timed around the unlock alone.
UNLOCK = """
import sys, time
from pathlib import Path
from app import vault
started = time.perf_counter()
vault.unlock(Path(sys.argv[1]), sys.argv[2])
print(time.perf_counter() - started)
"""


def _median_unlock(folder: Path, env: Mapping[str, str], cwd: Path) -> float:
    times = []
    for _ in range(RUNS):
        ran = subprocess.run(
            [sys.executable, "-c", UNLOCK, str(folder), PASSWORD],
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=True,
            text=True,
        )
        times.append(float(ran.stdout))
    return statistics.median(times)


def _make_profile(folder: Path) -> None:
    with Profile.create(folder, PASSWORD, user="bench", team="North", kdf=KDF) as profile:
        Casework(profile).create_cases_bulk(
            NewCase("housing_repair", f"Person {n:03d}", {"summary": "Damp in the back room"})
            for n in range(CASES)
        )


def main() -> None:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.2f} when started")
    command, name = _fieldcase()
    with tempfile.TemporaryDirectory(prefix="fieldcase-bench-cli-") as tmp:
        root = Path(tmp)
        profile = root / "profile"
        _make_profile(profile)
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("FIELDCASE_") and key != "PYTHONPATH"
        }
        env.update(
            PYTHONPATH=str(ROOT),
            FIELDCASE_PROFILE=str(profile),
            FIELDCASE_PASSWORD=PASSWORD,
            FIELDCASE_LOG_DIR=str(root / "logs"),
            FIELDCASE_MARKS_DIR=str(root / "marks"),
        )
        floor = _median_run([sys.executable, "-c", "pass"], env, root)
        version = _median_run([*command, "--version"], env, root)
        cases = _median_run([*command, "cases"], env, root)
        unlock = _median_unlock(profile, env, root)
    print(f"command: {name}; median of {RUNS} runs each, wall time, a new process per run")
    print(f"python -c pass (the interpreter alone): {floor:.3f} s")
    print(f"fieldcase --version: {version:.3f} s")
    print(
        f"key derivation alone (unlock, Argon2id {KDF.memory_kib // 1024} MiB, "
        f"{KDF.iterations} passes, {KDF.lanes} lanes, given explicitly): {unlock:.3f} s"
    )
    print(
        f"fieldcase cases ({CASES} cases): {cases:.3f} s, "
        f"that is {cases - unlock:.3f} s plus the key derivation"
    )


if __name__ == "__main__":
    main()
