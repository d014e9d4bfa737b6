"""``fieldcase-server admin duplicates find`` on the issue's evaluation data: precision, recall
and time (issue 14: at least 0.95 precision at 0.90 recall at the default threshold).

A seeded population of 50,000 people recorded by three predecessor systems
(server/linkage/population.py: typos, short first names, swapped day and month, moved
addresses, missing phones, relatives at one address, namesakes) is scored by the same code
the command runs, with the model trained on the data (as on a real merger) and with the
figures shipped for a small council. Each run uses another seed; the medians follow. Peak
memory is the process's own (it grows with the population, which is held in DuckDB).

    .venv/bin/python -m bench.bench_linkage
    FIELDCASE_BENCH_LINKAGE_PEOPLE=20000 FIELDCASE_BENCH_LINKAGE_RUNS=1 \
        .venv/bin/python -m bench.bench_linkage   # a quick look
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from server.linkage.find import find_pairs  # noqa: E402
from server.linkage.model import DEFAULT_THRESHOLD  # noqa: E402
from server.linkage.population import make_population  # noqa: E402

PEOPLE = int(os.environ.get("FIELDCASE_BENCH_LINKAGE_PEOPLE", "50000"))
RUNS = int(os.environ.get("FIELDCASE_BENCH_LINKAGE_RUNS", "3"))


def one(seed: int, *, trained: bool) -> tuple[float, float, float, int, int]:
    population = make_population(PEOPLE, seed=seed)
    truth = population.true_pairs()
    started = time.perf_counter()
    pairs = find_pairs(population.person_rows(), trained=trained)
    seconds = time.perf_counter() - started
    found = {frozenset((pair.person_a, pair.person_b)) for pair in pairs}
    right = len(found & truth)
    return (
        right / max(len(found), 1),
        right / len(truth),
        seconds,
        len(population.entries),
        len(truth),
    )


def main() -> None:
    print(f"{PEOPLE:,} people, three systems, threshold {DEFAULT_THRESHOLD}")
    for trained in (True, False):
        how = "trained on the data" if trained else "shipped figures"
        precisions, recalls, times = [], [], []
        for run in range(RUNS):
            precision, recall, seconds, records, pairs = one(100 + run, trained=trained)
            precisions.append(precision)
            recalls.append(recall)
            times.append(seconds)
            print(
                f"{how}, seed {100 + run}: {records:,} person records, {pairs:,} true pairs; "
                f"precision {precision:.4f}, recall {recall:.4f}, {seconds:.1f} s"
            )
        print(
            f"{how}: median precision {statistics.median(precisions):.4f}, recall "
            f"{statistics.median(recalls):.4f}, time {statistics.median(times):.1f} s "
            f"(goal: precision >= 0.95 at recall >= 0.90)"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
