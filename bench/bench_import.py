"""``fieldcase-server admin import`` at a merger's scale (issue 14's goal: 100,000 rows in under
a minute on a 2-core machine with PostgreSQL, memory flat in the file's size).

A seeded CSV of predecessor-system rows (a person on one or two referrals, warnings, notes) is
imported by the real command, in a child process, into a fresh database: PostgreSQL (a
throwaway cluster) and SQLite. Prints, per run, the wall time and rows a second of the first
import and of re-importing the same file (which must change nothing), and the command's peak
memory for the small and the large file (their ratio shows whether memory grows with the
file); then the medians.

    .venv/bin/python -m bench.bench_import
    FIELDCASE_BENCH_IMPORT_ROWS=20000 FIELDCASE_BENCH_IMPORT_RUNS=1 \
        .venv/bin/python -m bench.bench_import   # a quick look
"""

from __future__ import annotations

import csv
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.pg import PgCluster  # noqa: E402

ROWS = int(os.environ.get("FIELDCASE_BENCH_IMPORT_ROWS", "100000"))
RUNS = int(os.environ.get("FIELDCASE_BENCH_IMPORT_RUNS", "3"))
SMALL = max(ROWS // 10, 1000)
AUDIT_KEY = secrets.token_hex(32)
MAPPING = """
[source]
name = "bench_carefirst"
[defaults]
team = "North"
type = "adult_social_care"
[columns]
"person.external_id" = "Client ID"
"case.external_id" = "Referral ID"
"person.name" = "{Forename} {Surname}"
"person.date_of_birth" = "DOB"
"person.address" = "{Address}, {Postcode}"
"person.phone" = "Phone"
"case.summary" = "Reason"
"case.status" = "Status"
"case.opened_on" = "Opened"
"warning.text" = "Alerts"
"note.text" = "Last note"
[values."case.status"]
"Open" = "open"
"Closed" = "closed"
[formats]
"person.date_of_birth" = "%d/%m/%Y"
"case.opened_on" = "%d/%m/%Y"
"""
FIRST = ["Ann", "Bob", "Cai", "Dee", "Eve", "Fay", "Gus", "Hal", "Ivy", "Jon", "Kit", "Lea"]
LAST = ["Smith", "Jones", "Evans", "Price", "Hughes", "Lloyd", "Rees", "Owen", "Morgan"]
REASONS = ["Falls at home", "Carer's assessment", "Housing adaptation", "Hospital discharge"]


def write_export(path: Path, rows: int, seed: int = 14) -> None:
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(
            ["Client ID", "Referral ID", "Forename", "Surname", "DOB", "Address", "Postcode",
             "Phone", "Reason", "Status", "Opened", "Alerts", "Last note"]
        )  # fmt: skip
        client = 0
        for number in range(rows):
            if rng.random() > 0.3 or number == 0:
                client += 1  # 30% of referrals are a second one for the same person
                person = (rng.choice(FIRST), rng.choice(LAST), rng.randint(1930, 2005))
            out.writerow(
                [
                    f"C{client:07d}",
                    f"R{number:07d}",
                    person[0],
                    person[1],
                    f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{person[2]}",
                    f"{rng.randint(1, 200)} Mill Lane, Dorchester",
                    f"DT{rng.randint(1, 11)} {rng.randint(1, 9)}XJ",
                    "" if rng.random() < 0.3 else f"01305 {rng.randint(100000, 999999)}",
                    rng.choice(REASONS),
                    rng.choice(["Open", "Closed"]),
                    f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/20{rng.randint(10, 26)}",
                    "Dog on premises; Lone worker" if rng.random() < 0.2 else "",
                    "Visited, all well" if rng.random() < 0.5 else "",
                ]
            )


def run(db_url: str, *args: str) -> tuple[float, float, str]:
    """Run the admin command in a child; its wall seconds, its peak memory (MiB), its output."""
    env = {
        **os.environ,
        "FIELDCASE_DB_URL": db_url,
        "FIELDCASE_AUDIT_KEY": AUDIT_KEY,  # a throwaway key for throwaway databases
        "PYTHONPATH": str(ROOT),
    }
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "admin", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert child.stdout is not None
    output = child.stdout.read()
    _pid, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if child.returncode != 0:
        raise RuntimeError(f"admin {' '.join(args)} failed: {output}")
    return seconds, usage.ru_maxrss / 1024, output


def one(db_url: str, folder: Path, big: Path) -> dict[str, float]:
    mapping = folder / "mapping.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    run(db_url, "add-team", "North")
    seconds, memory, _ = run(db_url, "import", "--mapping", str(mapping), str(big))
    again, _, out_again = run(db_url, "import", "--mapping", str(mapping), str(big))
    assert "Created: nothing. Updated: nothing." in out_again, out_again
    return {"first": seconds, "again": again, "memory": memory}


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="fc-bench-import-") as tmp:
        folder = Path(tmp)
        big, small = folder / "big.csv", folder / "small.csv"
        write_export(big, ROWS)
        write_export(small, SMALL, seed=15)
        print(f"{ROWS:,} rows ({big.stat().st_size / 1e6:.1f} MB); small file {SMALL:,} rows")
        cluster = PgCluster.start(durable=True)
        try:
            for kind in ("postgresql", "sqlite"):
                firsts, agains = [], []
                for number in range(RUNS):
                    if kind == "postgresql":
                        url = cluster.create_database(f"imp{number}")
                    else:
                        url = f"sqlite:///{folder / f'imp{number}.db'}"
                    figures = one(url, folder, big)
                    firsts.append(figures["first"])
                    agains.append(figures["again"])
                    print(
                        f"{kind} run {number + 1}: first import {figures['first']:.1f} s "
                        f"({ROWS / figures['first']:,.0f} rows/s), again {figures['again']:.1f} s,"
                        f" peak memory {figures['memory']:.0f} MiB"
                    )
                if kind == "postgresql":
                    url = cluster.create_database("impsmall")
                else:
                    url = f"sqlite:///{folder / 'small.db'}"
                mapping = folder / "mapping.toml"
                run(url, "add-team", "North")
                _, small_memory, _ = run(url, "import", "--mapping", str(mapping), str(small))
                first = statistics.median(firsts)
                print(
                    f"{kind}: median first import {first:.1f} s ({ROWS / first:,.0f} rows/s), "
                    f"re-import {statistics.median(agains):.1f} s; peak memory small file "
                    f"{small_memory:.0f} MiB"
                )
        finally:
            cluster.stop()


if __name__ == "__main__":
    main()
