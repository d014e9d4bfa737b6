"""``make run``: the whole of Fieldcase on one machine, for a demonstration.

1. a demo folder in the user data folder (``.../Fieldcase/demo``) with the service's SQLite
   database, seeded once with ``fieldcase-server demo``;
2. ``fieldcase-server serve`` on 127.0.0.1 at a free port;
3. a laptop profile enrolled to it as a demo caseworker (first run only);
4. the window, showing the demo sign-in on its unlock screen.

The service stops when the window closes. Nothing leaves this machine.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

DEMO_USER = "ben.carter"
DEMO_PASSWORD = "fieldcase-demo"  # noqa: S105 (the demo's published password)
SEEDED_MARKER = "seeded"

log = logging.getLogger("fieldcase.demo")


def demo_dir() -> Path:
    override = os.environ.get("FIELDCASE_DEMO_DIR")
    if override:
        return Path(override)
    from app.paths import default_profile_dir

    return default_profile_dir() / "demo"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def db_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'server.db'}"


def seed(folder: Path) -> None:
    """Run ``fieldcase-server demo`` once (it is idempotent; the marker saves the time)."""
    if (folder / SEEDED_MARKER).exists():
        return
    print("Setting up the demo council (first run only)...", flush=True)
    subprocess.run(
        [sys.executable, "-m", "server.cli", "demo", "--db", db_url(folder)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    (folder / SEEDED_MARKER).write_text("yes\n", encoding="utf-8")


@contextlib.contextmanager
def service(folder: Path, timeout: float = 60.0) -> Iterator[str]:
    """``fieldcase-server serve`` on a free loopback port; stopped on exit."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_file = open(folder / "serve.log", "ab")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "server.cli",
            "serve",
            "--db",
            db_url(folder),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--migrate",  # a demo folder made by an earlier version is brought up to date
        ],
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise SystemExit(f"The demo service stopped at start; see {folder / 'serve.log'}")
            try:
                with urllib.request.urlopen(url + "/health", timeout=2) as answer:  # noqa: S310
                    if answer.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise SystemExit("The demo service did not start in time.")
            time.sleep(0.1)  # waiting for our own child process before any window exists
        yield url
    finally:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        log_file.close()


def enrol_demo_laptop(profile_dir: Path, url: str) -> None:
    if (profile_dir / "key.json").exists():
        return
    from app import online

    print(f"Enrolling a demo laptop as {DEMO_USER}...", flush=True)
    online.enrol(profile_dir, url, DEMO_USER, DEMO_PASSWORD, device_name="Demo laptop")


def main() -> int:
    from app.logs import setup_logging
    from app.ui.app import run

    setup_logging()
    folder = demo_dir()
    folder.mkdir(parents=True, exist_ok=True)
    seed(folder)
    profile_dir = folder / "laptop"
    with service(folder) as url:
        enrol_demo_laptop(profile_dir, url)
        login = (
            f"Demo: you are {DEMO_USER}, a caseworker. This laptop's password is {DEMO_PASSWORD}"
        )
        print(f"Demo service at {url}. {login}", flush=True)
        return run(profile_dir, demo_login=login, server_url=url)


if __name__ == "__main__":
    from app.ui.app import leave

    leave(main())
