"""The writer of the crash test: writes cases until it is killed.

Prints on stdout ``READY`` once the profile is open, ``COMMIT <ref> [<ref> ...]`` after each
transaction has committed, and ``INSIDE <tag>`` from inside an open bulk transaction (rows
written and flushed, not yet committed; that transaction's cases are named
``Uncommitted <tag> ...``). With ``hold_inside`` the transaction stays open after ``INSIDE``
until that call returns, so the test decides whether the kill lands inside it (without, a busy
machine could let the commit through before the kill arrives). The test runs :func:`run` in a
forked child (no start-up cost); by hand::

    FIELDCASE_PASSWORD=... python -m tests.store.crash_child PROFILE_DIR ROUND
"""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from app.core import Casework, NewCase
from app.store.profile import Profile


def run(profile: Profile, round_: str, hold_inside: Callable[[], None] | None = None) -> None:
    rng = random.Random(f"{round_}-{os.getpid()}")
    work = Casework(profile)
    profile.wait_for_backup()  # so that the last round's backup is whole when it is killed
    print("READY", flush=True)
    step = 0
    while True:
        step += 1
        tag = f"r{round_}s{step}"
        if rng.random() < 0.5:
            ref = work.create_case("housing_repair", f"Crash {tag}", {"summary": f"step {tag}"})
            work.add_note(ref, f"note {tag}")
            print(f"COMMIT {ref}", flush=True)
        else:

            def items(tag: str = tag) -> Iterator[NewCase]:
                for i in range(40):
                    if i == 20:
                        print(f"INSIDE {tag}", flush=True)
                        if hold_inside is not None:
                            hold_inside()
                    yield NewCase("safeguarding", f"Uncommitted {tag} {i}")

            refs = work.create_cases_bulk(items(), flush_every=10)
            print("COMMIT " + " ".join(refs), flush=True)


if __name__ == "__main__":
    run(Profile.open(Path(sys.argv[1]), os.environ["FIELDCASE_PASSWORD"]), sys.argv[2])
