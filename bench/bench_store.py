"""Benchmark of the encrypted local store: unlock, creating cases, full-text search, memory.

Prints:
* unlock time with the production key derivation (tuned to about half a second), and the time
  to open the profile (unlock + integrity check + backup + schema check) at 10,000 cases;
* creating 10,000 cases one by one through the core action (median and 95th percentile, ms);
* full-text search latency (median and 95th percentile, ms) over 10,000 and 100,000 cases,
  a page of 50 results as the search box shows it; the large store is seeded through the bulk
  path of the same core code;
* peak memory of the process.

Run: ``python -m bench.bench_store`` (or ``make bench``). Env ``FIELDCASE_BENCH_SMALL=1`` runs
a tenth of the sizes for a quick look.
"""

from __future__ import annotations

import os
import random
import resource
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from app import vault
from app.core import Casework, NewCase
from app.store.profile import Profile

PASSWORD = "a long benchmark passphrase"
SMALL = os.environ.get("FIELDCASE_BENCH_SMALL") == "1"
ONE_BY_ONE = 1_000 if SMALL else 10_000
LARGE = 10_000 if SMALL else 100_000
QUERIES = 200
UNLOCKS = 5

FIRST = [
    "Pat",
    "Ann",
    "Bob",
    "Siân",
    "Kim",
    "Jo",
    "Sam",
    "Alex",
    "Chris",
    "Dee",
    "Eve",
    "Fran",
    "Gwen",
    "Huw",
    "Ivy",
    "Jack",
    "Kate",
    "Liam",
    "Mair",
    "Ned",
    "Owen",
    "Pia",
    "Rhys",
    "Sue",
    "Tom",
    "Una",
    "Vic",
    "Wyn",
    "Yan",
    "Zoe",
    "Aled",
    "Beth",
    "Carys",
    "Dai",
    "Elin",
    "Ffion",
    "Gareth",
    "Hywel",
    "Iwan",
]
LAST = [
    "Morgan",
    "Jones",
    "Davies",
    "Evans",
    "Thomas",
    "Roberts",
    "Lewis",
    "Hughes",
    "Edwards",
    "Price",
    "Williams",
    "Owen",
    "Griffiths",
    "Rees",
    "Phillips",
    "Powell",
    "Jenkins",
    "James",
    "Watkins",
    "Lloyd",
    "Harris",
    "Clarke",
    "Walker",
    "Wright",
    "Green",
    "Hall",
    "Wood",
    "Turner",
    "Baker",
    "Hill",
    "Moore",
    "Cooper",
    "Ward",
    "King",
    "Parry",
    "Pritchard",
    "Vaughan",
    "Bowen",
    "Howell",
    "Ellis",
    "Morris",
]
SUMMARY = [
    "damp",
    "mould",
    "roof",
    "leak",
    "boiler",
    "heating",
    "rails",
    "ramp",
    "stairlift",
    "carer",
    "respite",
    "assessment",
    "noise",
    "pest",
    "drains",
    "fence",
    "window",
    "door",
    "bathroom",
    "kitchen",
    "garden",
    "benefits",
    "safeguarding",
    "fall",
]
TYPES = ["housing_repair", "adult_social_care", "carer_support", "environmental_health"]


def new_case(rng: random.Random) -> NewCase:
    words = " ".join(rng.sample(SUMMARY, 3))
    return NewCase(
        rng.choice(TYPES),
        f"{rng.choice(FIRST)} {rng.choice(LAST)}",
        {"summary": words.capitalize(), "person.address": f"{rng.randint(1, 200)} High Street"},
    )


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def queries(rng: random.Random, refs: list[str]) -> Iterator[str]:
    """What people type in the search box: parts of names, whole names, references, words."""
    while True:
        pick = rng.random()
        if pick < 0.3:
            surname = rng.choice(LAST)
            yield surname[: rng.randint(2, len(surname))]
        elif pick < 0.5:
            yield f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        elif pick < 0.7:
            ref = rng.choice(refs)
            yield ref[: rng.randint(9, len(ref))]
        elif pick < 0.9:
            yield rng.choice(SUMMARY)
        else:
            yield f"{rng.choice(LAST)[:3]} {rng.choice(SUMMARY)[:3]}"


def search_figures(work: Casework, rng: random.Random, label: str) -> None:
    refs = list(work.refs())
    times = []
    gen = queries(rng, refs)
    for _ in range(QUERIES):
        text = next(gen)
        times.append(timed(lambda text=text: work.list_cases(text, limit=50)) * 1000)
    counts = []
    for _ in range(QUERIES // 4):
        text = next(gen)
        counts.append(timed(lambda text=text: work.count_cases(text, cap=1000)) * 1000)
    print(
        f"search over {label} cases (page of 50, {QUERIES} queries): "
        f"median {statistics.median(times):.1f} ms, p95 {percentile(times, 95):.1f} ms, "
        f"max {max(times):.1f} ms"
    )
    print(
        "  counting the matches (up to 1,000, as the list shows them): "
        f"median {statistics.median(counts):.1f} ms, p95 {percentile(counts, 95):.1f} ms"
    )


def open_figures(folder: Path, label: str) -> None:
    """Opening = unlock + cipher_integrity_check + quick_check + schema check; the backup runs
    on its own thread meanwhile, and not at all when nothing changed since the last one."""
    first = timed(lambda: Profile.open(folder, PASSWORD).close())  # with a fresh backup
    opens = [timed(lambda: Profile.open(folder, PASSWORD).close()) for _ in range(3)]
    with Profile.open(folder, PASSWORD) as profile:
        backup = timed(profile.backup)
    size = (folder / "fieldcase.db").stat().st_size
    print(
        f"open at {label} cases (database {size / 1e6:.0f} MB): median "
        f"{statistics.median(opens):.2f} s (unlock, integrity checks, schema check); "
        f"a backup takes {backup:.2f} s on its own thread; first open after changes, "
        f"waiting for its backup: {first:.2f} s"
    )


def main() -> None:
    rng = random.Random(42)
    with tempfile.TemporaryDirectory(prefix="fieldcase-bench-") as tmp:
        folder = Path(tmp) / "profile"
        params = vault.tuned_kdf_params()
        print(
            f"key derivation: Argon2id {params.memory_kib // 1024} MiB, "
            f"{params.iterations} passes, {params.lanes} lanes"
        )
        profile = Profile.create(folder, PASSWORD, user="bench", team="North")
        work = Casework(profile)

        times = [
            timed(lambda: work.create_case(*_args(new_case(rng)))) * 1000 for _ in range(ONE_BY_ONE)
        ]
        print(
            f"create {ONE_BY_ONE} cases one by one: median {statistics.median(times):.2f} ms, "
            f"p95 {percentile(times, 95):.2f} ms per case (each its own durable transaction)"
        )
        for ref in rng.sample(list(work.refs()), 200):
            work.add_note(ref, f"Visited; {' '.join(rng.sample(SUMMARY, 4))} discussed.")
        search_figures(work, rng, f"{ONE_BY_ONE:,}")
        profile.close()

        unlocks = [timed(lambda: vault.unlock(folder, PASSWORD)) for _ in range(UNLOCKS)]
        print(f"unlock (key derivation and unwrap): median {statistics.median(unlocks):.2f} s")
        open_figures(folder, f"{ONE_BY_ONE:,}")

        profile = Profile.open(folder, PASSWORD)
        work = Casework(profile)
        extra = LARGE - ONE_BY_ONE
        seconds = timed(lambda: work.create_cases_bulk(new_case(rng) for _ in range(extra)))
        print(f"seed {extra:,} more cases through the bulk path: {seconds:.1f} s")
        search_figures(work, rng, f"{LARGE:,}")
        profile.close()
        open_figures(folder, f"{LARGE:,}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS): {peak:.0f} MB")


def _args(item: NewCase) -> tuple[str, str, dict[str, str]]:
    return item.type, item.person_name, item.fields


if __name__ == "__main__":
    main()
