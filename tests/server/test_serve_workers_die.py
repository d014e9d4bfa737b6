"""``fieldcase-server serve --workers 2`` killed outright (SIGKILL: no chance to stop its
workers) leaves no worker serving: each worker stops when its parent goes."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from sync.clock import SystemClock
from tests.support.pg import free_port
from tests.support.server import FAST_HASHING_ENV, ROOT, add_team, sqlite_url

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

CLOCK = SystemClock()
WORKERS = ("--workers", "2")


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    """Running (a zombie nobody reaped yet counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as reply:
            return bool(reply.status == 200)
    except OSError:
        return False


def _wait(condition: object, seconds: float, what: str) -> None:
    deadline = CLOCK.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert CLOCK.monotonic() < deadline, what
        CLOCK.sleep(0.1)


def test_workers_stop_when_serve_is_killed(tmp_path: Path) -> None:
    db = sqlite_url(tmp_path)
    add_team(db, "North")  # creates and migrates the database
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), **FAST_HASHING_ENV}
    with open(tmp_path / "serve.log", "wb") as log:
        serve = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "server.cli",
                "serve",
                "--db",
                db,
                "--port",
                str(port),
                *WORKERS,
            ],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: cleaned up below whatever happens
        )
    workers: list[int] = []
    try:
        _wait(lambda: _healthy(port), 90, "the service never answered")

        def two_workers() -> bool:
            workers[:] = [
                pid
                for pid in _children(serve.pid)
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
            ]
            return len(workers) == 2

        _wait(two_workers, 30, "serve did not start two workers")
        serve.kill()  # SIGKILL: the supervisor cannot pass anything on
        serve.wait(timeout=10)

        _wait(lambda: not any(_alive(pid) for pid in workers), 30, "a worker outlived serve")
        _wait(lambda: not _answers(port), 10, "the port still answers after serve was killed")
    finally:
        for pid in [serve.pid, *workers]:
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        if serve.poll() is None:
            serve.kill()
            serve.wait(timeout=10)
