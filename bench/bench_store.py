"""Benchmark of the encrypted local store: unlock, creating cases, full-text search, memory,
and applying a first sync's pulled pages.

Prints:
* a first sync's pages applied to a fresh profile (10,000 realistic cases, about eight
  records each, in pages growing from about 256 KB to 1 MB as the sync engine asks for them;
  already decoded, so only the laptop's store is measured): median CPU and wall time of
  several runs, and the peak of Python memory while applying 10,000 and 100,000 records (one
  page at a time, it must not grow with the number of records);
* unlock time with the production key derivation (tuned to about half a second), and the time
  to open the profile (unlock + integrity check + backup + schema check) at 10,000 cases;
* creating 10,000 cases one by one through the core action (median and 95th percentile, ms);
* full-text search latency (median and 95th percentile, ms) over 10,000 and 100,000 cases,
  a page of 50 results as the search box shows it; the large store is seeded through the bulk
  path of the same core code;
* peak memory of the process.

Run: ``python -m bench.bench_store`` (or ``make bench``). Env ``FIELDCASE_BENCH_SMALL=1`` runs
a tenth of the sizes for a quick look; ``python -m bench.bench_store first_sync`` runs only the
first-sync figures.
"""

from __future__ import annotations

import os
import random
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from app import vault
from app.core import Casework, NewCase
from app.store.profile import Profile
from app.store.sync_adapter import SyncAdapter
from app.vault.kdf import KdfCost
from sync.protocol import PullResponse, RecordState
from sync.records import RecordKind

PASSWORD = "a long benchmark passphrase"
SMALL = os.environ.get("FIELDCASE_BENCH_SMALL") == "1"
ONE_BY_ONE = 1_000 if SMALL else 10_000
LARGE = 10_000 if SMALL else 100_000
QUERIES = 200
UNLOCKS = 5
FIRST_SYNC_CASES = 1_000 if SMALL else 10_000
FIRST_SYNC_RUNS = 3
#: Records per pulled page: about the service's default 256 KB page of these records at first,
#: then doubling up to the engine's largest (1 MB) as the sync engine asks for them.
PAGE_RECORDS = 1_000
MAX_PAGE_RECORDS = 4_000
#: The cheapest password wrap (the first-sync figures are not about unlocking).
CHEAP_KDF = KdfCost(memory_kib=8 * 1024, iterations=1, lanes=1)

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
    first_sync_figures()
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


NOTE_WORDS = (
    "Visited the tenant at home and discussed the {a} and the {b}; agreed the next steps with "
    "the family, who asked for a follow-up call about the {c} before the end of the month."
)


def _wire_time(moment: datetime) -> str:
    return moment.isoformat()


def realistic_case(rng: random.Random, n: int) -> list[RecordState]:
    """One council case as the service sends it on a first sync (seeded, about 1.5 KB as
    JSON): its person, the case, one to three warnings, three notes and one planned visit."""
    case_id, person_id = uuid.UUID(int=rng.getrandbits(128)), uuid.UUID(int=rng.getrandbits(128))
    opened = datetime(2025, 1, 1, 9, tzinfo=UTC) + timedelta(minutes=rng.randrange(500_000))
    worker = f"{rng.choice(FIRST).lower()}.{rng.choice(LAST).lower()}"
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"

    def state(kind: RecordKind, record_id: uuid.UUID, fields: dict[str, Any]) -> RecordState:
        return RecordState(
            kind=kind,
            record_id=record_id,
            case_id=case_id,
            version=rng.randint(1, 40),
            fields=fields,
            updated_at=opened,
            updated_by=worker,
        )

    def an_id() -> uuid.UUID:
        return uuid.UUID(int=rng.getrandbits(128))

    records = [
        state(
            RecordKind.PERSON,
            person_id,
            {
                "name": name,
                "date_of_birth": f"{rng.randint(1930, 2005)}-{rng.randint(1, 12):02d}-"
                f"{rng.randint(1, 28):02d}",
                "address": f"{rng.randint(1, 200)} High Street, Llan{rng.choice(LAST).lower()}",
                "phone": f"07{rng.randint(100000000, 999999999)}",
                "preferred_contact": rng.choice(["phone", "letter", "visit"]),
                "language": rng.choice(["English", "Welsh", "Polish"]),
                "access_needs": rng.choice(["", "Wheelchair user", "Hearing loop"]),
            },
        ),
        state(
            RecordKind.CASE,
            case_id,
            {
                "ref": f"FC-2026-{n:05d}",
                "type": rng.choice(TYPES),
                "status": rng.choice(["open", "in_progress", "waiting"]),
                "priority": rng.choice(["low", "normal", "high"]),
                "summary": f"{' '.join(rng.sample(SUMMARY, 4)).capitalize()}; reported by the "
                "tenant, inspection needed.",
                "team": "North",
                "assigned_to": worker,
                "next_review": (opened + timedelta(days=30)).date().isoformat(),
                "opened_on": opened.date().isoformat(),
                "closed_on": None,
                "person_id": str(person_id),
            },
        ),
    ]
    for _ in range(rng.randint(1, 3)):
        fields = {
            "person_id": str(person_id),
            "text": rng.choice(["Dog on premises", "Lone working: visit in pairs", "Fragile"]),
            "category": rng.choice(["risk", "access", "health"]),
            "active": True,
            "added_by": worker,
            "added_at": _wire_time(opened),
        }
        records.append(state(RecordKind.WARNING, an_id(), fields))
    for k in range(3):
        a, b, c = (rng.choice(SUMMARY) for _ in range(3))
        text = NOTE_WORDS.format(a=a, b=b, c=c)
        fields = {
            "text": text[: rng.randint(150, 300)],
            "author": worker,
            "written_at": _wire_time(opened + timedelta(days=k + 1)),
            "corrects": None,
        }
        records.append(state(RecordKind.NOTE, an_id(), fields))
    fields = {
        "title": "Home visit",
        "kind": "visit",
        "due": _wire_time(opened + timedelta(days=14)),
        "place": records[0].fields["address"],
        "status": "planned",
        "done_at": None,
    }
    records.append(state(RecordKind.VISIT, an_id(), fields))
    return records


def first_sync_pages(cases: int, *, seed: int = 0) -> Iterator[PullResponse]:
    """A first sync's pages, made one at a time (seeded, so every run gets the same)."""
    rng = random.Random(seed)
    batch: list[RecordState] = []
    n = 0
    size = PAGE_RECORDS
    while n < cases:
        n += 1
        batch.extend(realistic_case(rng, n))
        if len(batch) >= size or n == cases:
            size = min(MAX_PAGE_RECORDS, size * 2)
            yield PullResponse(
                records=batch,
                next_cursor=f"c1.{n}",
                more=n < cases,
                server_time=datetime(2026, 12, 1, 9, tzinfo=UTC),
            )
            batch = []


def apply_first_sync(folder: Path, pages: list[PullResponse]) -> tuple[float, float]:
    """CPU and wall seconds to apply ``pages`` to a fresh profile in ``folder``."""
    with Profile.create(folder, PASSWORD, user="bench", team="North", kdf=CHEAP_KDF) as profile:
        adapter = SyncAdapter(profile)
        cpu, wall = time.process_time(), time.perf_counter()
        for page in pages:
            adapter.apply_page(page)
        return time.process_time() - cpu, time.perf_counter() - wall


def peak_while_applying(folder: Path, cases: int) -> tuple[int, float]:
    """Records applied and the peak of Python memory (MB) while the pages are made and applied
    one at a time."""
    records = 0
    with Profile.create(folder, PASSWORD, user="bench", team="North", kdf=CHEAP_KDF) as profile:
        adapter = SyncAdapter(profile)
        tracemalloc.start()
        for page in first_sync_pages(cases, seed=1):
            records += len(page.records)
            adapter.apply_page(page)
        _now, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return records, peak / 1e6


def first_sync_figures() -> None:
    pages = list(first_sync_pages(FIRST_SYNC_CASES))
    records = sum(len(page.records) for page in pages)
    cpus, walls = [], []
    for run in range(FIRST_SYNC_RUNS):
        with tempfile.TemporaryDirectory(prefix="fieldcase-bench-") as tmp:
            cpu, wall = apply_first_sync(Path(tmp) / f"profile{run}", pages)
        cpus.append(cpu)
        walls.append(wall)
    print(
        f"first sync applied: {FIRST_SYNC_CASES:,} cases ({records:,} records, {len(pages)} "
        "pages, already decoded) into a fresh profile: "
        f"median CPU {statistics.median(cpus):.2f} s, "
        f"wall {statistics.median(walls):.2f} s ({FIRST_SYNC_RUNS} runs)"
    )
    peaks = []
    for cases in (FIRST_SYNC_CASES // 8, FIRST_SYNC_CASES * 10 // 8):
        with tempfile.TemporaryDirectory(prefix="fieldcase-bench-") as tmp:
            peaks.append(peak_while_applying(Path(tmp) / "profile", cases))
    print(
        "  peak Python memory while applying page by page: "
        + ", ".join(f"{mb:.1f} MB at {n:,} records" for n, mb in peaks)
    )


def _args(item: NewCase) -> tuple[str, str, dict[str, str]]:
    return item.type, item.person_name, item.fields


if __name__ == "__main__":
    if sys.argv[1:] == ["first_sync"]:
        first_sync_figures()
    else:
        main()
