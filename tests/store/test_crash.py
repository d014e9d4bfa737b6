"""Crash safety: a child writing cases is killed with SIGKILL at random moments (some of them
inside open transactions). Every commit it reported is there afterwards with its outbox entry,
nothing of an unfinished transaction is, the integrity checks pass, and the last backup
restores."""

from __future__ import annotations

import os
import random
import select
import signal
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from app import vault
from app.core import Casework
from app.store import db
from app.store.profile import Profile, list_backups
from tests.store import crash_child
from tests.support.profile import PASSWORD, make_profile

ROUNDS = 30
LINE_DEADLINE = 60.0


def start_child(folder: Path, key: bytes, round_: int) -> tuple[int, int, int]:
    """Fork a writer whose stdout is a pipe to us; return (pid, read end, go-on write end).
    Inside an open bulk transaction the writer waits for a byte on go-on before going on."""
    read_end, write_end = os.pipe()
    go_read, go_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            os.close(read_end)
            os.close(go_write)
            os.dup2(write_end, 1)
            sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115

            def hold_inside() -> None:
                os.read(go_read, 1)

            crash_child.run(Profile.open_with_key(folder, key), str(round_), hold_inside)
        finally:
            os._exit(1)
    os.close(write_end)
    os.close(go_read)
    return pid, read_end, go_write


class Lines:
    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = b""

    def next(self, deadline: float) -> str | None:
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            assert remaining > 0, "the child stopped reporting"
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if ready:
                chunk = os.read(self.fd, 65536)
                if not chunk:
                    return None
                self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode()

    def rest(self) -> list[str]:
        while chunk := os.read(self.fd, 65536):
            self.buffer += chunk
        os.close(self.fd)
        return [line.decode() for line in self.buffer.split(b"\n") if line]


def verify(folder: Path, key: bytes, reported: set[str], unfinished: set[str]) -> None:
    with Profile.open_with_key(folder, key, backup=False) as profile:  # checks integrity too
        work = Casework(profile)
        with profile.engine.connect() as conn:
            present = dict(
                conn.execute(
                    text(
                        "SELECT c.ref, EXISTS (SELECT 1 FROM outbox o WHERE o.record_id = c.id"
                        " AND o.kind = 'case') FROM cases c"
                    )
                ).all()
            )
        missing = reported - set(present)
        assert not missing, f"reported commits lost: {sorted(missing)[:5]}"
        assert all(present[ref] for ref in reported), "a commit without its outbox entry"
        for tag in unfinished:
            assert work.count_cases(f"uncommitted {tag}") == 0, f"half a transaction: {tag}"
    db.check_database(folder / db.DB_FILE, key)


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork and SIGKILL")
def test_killed_at_random_moments_loses_no_reported_commit(profile_dir: Path) -> None:
    make_profile(profile_dir).close()
    key = vault.unlock(profile_dir, PASSWORD)
    rng = random.Random(os.environ.get("FIELDCASE_CRASH_SEED", "20261127"))
    reported: set[str] = set()
    unfinished: set[str] = set()
    inside_kills = 0
    before_last_round: set[str] = set()
    for round_ in range(ROUNDS):
        before_last_round = set(reported)
        pid, fd, go_on = start_child(profile_dir, key, round_)
        lines = Lines(fd)
        try:
            deadline = time.monotonic() + LINE_DEADLINE
            assert lines.next(deadline) == "READY"
            kill_inside = rng.random() < 0.4  # kill as soon as a transaction is known open
            commits_wanted = rng.randint(1, 6)
            while True:
                line = lines.next(deadline)
                assert line is not None, "the child ended on its own"
                kind, _, rest = line.partition(" ")
                if kind == "COMMIT":
                    reported.update(rest.split())
                    commits_wanted -= 1
                    if commits_wanted <= 0 and not kill_inside:
                        break
                elif kind == "INSIDE" and kill_inside:
                    unfinished.add(rest)  # the writer holds it open: the kill lands inside
                    inside_kills += 1
                    break
                elif kind == "INSIDE":
                    os.write(go_on, b".")
        finally:
            os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            os.close(go_on)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        for line in lines.rest():  # reported before the kill landed: committed too
            kind, _, rest = line.partition(" ")
            if kind == "COMMIT":
                reported.update(rest.split())
        verify(profile_dir, key, reported, unfinished)
    assert inside_kills >= 3 and len(reported) > ROUNDS

    # the last backup (made when the last writer unlocked) restores and holds everything
    # committed before that round
    assert list_backups(profile_dir)
    Profile.restore(profile_dir, PASSWORD)
    verify(profile_dir, key, before_last_round, unfinished)
