"""The laptop's process killed with SIGKILL at random points of its edits and syncs: the next
sync completes, nothing acknowledged is lost and nothing is applied twice."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Callable

import pytest
from sqlmodel import col, func
from sqlmodel import select as sql_select

from app.store.models import AuditEvent
from tests.support.server import ROOT
from tests.sync.helpers import PROFILE_PASSWORD, Laptop

POOL_TEAMS = 1  # laptops() calls in this module (see conftest)

ROUNDS = 30


class Killer:
    """The helper process that forks each round's child and kills it (see crash_child)."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.sync.crash_child"],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )

    def round(
        self, laptop: Laptop, round_no: int, ref: str, delay: float, anchor: str
    ) -> list[str]:
        assert self.process.stdin is not None and self.process.stdout is not None
        job = {
            "folder": str(laptop.folder),
            "password": PROFILE_PASSWORD,
            "round": round_no,
            "ref": ref,
            "delay": delay,
            "anchor": anchor,
        }
        self.process.stdin.write(json.dumps(job) + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        assert answer, "the crash helper died"
        return list(json.loads(answer))

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.mark.slow
def test_sigkill_at_random_points_loses_and_doubles_nothing(
    laptops: Callable[..., list[Laptop]],
) -> None:
    a, b = laptops(2)
    ref = a.work.create_case("housing_repair", "Crash Person", {"summary": "start"})
    a.sync()
    a.close()  # the child owns the profile during each round
    rng = random.Random(20261127)
    acknowledged: list[str] = []
    killed_in_sync = 0
    killer = Killer()
    try:
        for round_no in range(ROUNDS):
            # Half the rounds count the delay from the start of the edits (a kill may land
            # anywhere), half from the start of the sync, so that on a fast machine too enough
            # kills land inside a sync rather than after it has finished.
            if round_no % 2:
                printed = killer.round(a, round_no, ref, rng.uniform(0.0, 0.7), "ready")
            else:
                printed = killer.round(a, round_no, ref, rng.uniform(0.0, 0.1), "sync")
            acknowledged += [line[5:] for line in printed if line.startswith("note ")]
            if "sync" in printed and "synced" not in printed:
                killed_in_sync += 1
    finally:
        killer.close()
    assert killed_in_sync >= 5, f"only {killed_in_sync} kills landed inside a sync"

    from app.store.profile import Profile

    a.profile = Profile.open(a.folder, PROFILE_PASSWORD)
    assert a.sync().completed
    assert a.store.pending_count() == 0
    b.sync()
    notes_b = [n.text for n in b.work.get_case(ref, record_view=False).notes]
    assert len(notes_b) == len(set(notes_b)), "a note arrived twice"
    assert set(acknowledged) <= set(notes_b), "an acknowledged note was lost"
    notes_a = {n.text for n in a.work.get_case(ref, record_view=False).notes}
    assert notes_a == set(notes_b)
    # every committed summary edit was applied exactly once: one version each
    case_id = a.case_id(ref)
    with a.profile.session() as s:
        edits = s.exec(
            sql_select(func.count())
            .select_from(AuditEvent)
            .where(col(AuditEvent.record_id) == case_id, col(AuditEvent.action) == "changed")
        ).one()
    assert b.work.get_case(ref, record_view=False).version == 1 + edits
    assert a.state() == b.state()
