"""A throwaway PostgreSQL cluster for tests (real server binaries, free port, own folder).

Public API::

    find_bindir() -> Path                      # pg_config --bindir, else /usr/lib/postgresql/*/bin
    free_port() -> int                         # a free TCP port on 127.0.0.1 (this worker's)
    PgCluster.start(durable=False) -> PgCluster  # initdb + pg_ctl start on a free 127.0.0.1
                                               # port (durable=False: fsync off, for tests)
    cluster.url(dbname="postgres") -> str      # postgresql+psycopg://postgres@127.0.0.1:PORT/db
    cluster.create_database(prefix="t", template=None) -> str   # a fresh database; its URL
    cluster.drop_database(url_or_name) -> None
    cluster.stop() -> None                     # stop the server and remove its folder
    pg_cluster                                 # pytest fixture, session scope: one PgCluster
    fresh_pg_url(cluster, prefix="t") -> str   # shorthand for cluster.create_database(prefix)

Use in a conftest.py::

    from tests.support.pg import pg_cluster  # noqa: F401  (registers the fixture)

    @pytest.fixture(scope="module")
    def pg_url(pg_cluster):
        return pg_cluster.create_database("mysuite")

When the tests run as root, the server runs as the ``postgres`` user (``runuser -u postgres``)
in a folder made with ``tempfile.mkdtemp(dir="/tmp")`` and given to that user (pytest's own
temporary tree is private to root, so initdb would fail inside it). Missing binaries FAIL the
test with a clear message: CI installs them (see .ci/run); nothing is skipped.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["PgCluster", "find_bindir", "free_port", "fresh_pg_url", "pg_cluster"]


def find_bindir() -> Path:
    """The folder holding initdb/pg_ctl, or raise RuntimeError saying how to get it."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if out.returncode == 0 and out.stdout.strip():
            candidates.append(Path(out.stdout.strip()))
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    raise RuntimeError(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found. Install them "
        "(Debian/Ubuntu: apt-get install postgresql) and run the tests again."
    )


#: Ports handed out come from below the kernel's ephemeral range (32768 and up on Linux), so
#: an outgoing connection never holds one when a server comes to bind it, and each xdist
#: worker has its own slice, so two workers never hand out the same port.
PORT_BASE = 20_000
PORT_SLICE = 1_500
_handed_out: set[int] = set()


def _worker_index() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    digits = worker.removeprefix("gw")
    return int(digits) % 8 if digits.isdigit() else 0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now, that no other test worker can be handed, and
    that this process has not handed out before."""
    low = PORT_BASE + _worker_index() * PORT_SLICE
    start = secrets.randbelow(PORT_SLICE)
    for step in range(PORT_SLICE):
        port = low + (start + step) % PORT_SLICE
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port left in {low}..{low + PORT_SLICE - 1}")


def _as_postgres(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


class PgCluster:
    """One running PostgreSQL server owned by the test session."""

    def __init__(self, bindir: Path, folder: Path, port: int) -> None:
        self.bindir = bindir
        self.folder = folder
        self.datadir = folder / "data"
        self.socket_dir = folder / "socket"
        self.port = port
        self.user = "postgres"

    @classmethod
    def start(cls, *, durable: bool = False) -> PgCluster:
        """``durable=False`` (tests) turns fsync off for speed; benchmarks pass True."""
        bindir = find_bindir()
        folder = Path(tempfile.mkdtemp(prefix="fieldcase-pg-", dir="/tmp"))
        cluster = cls(bindir, folder, free_port())
        cluster.socket_dir.mkdir()
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres", "postgres")
            shutil.chown(cluster.socket_dir, "postgres", "postgres")
        try:
            cluster._run(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(cluster.datadir),
                    "-U",
                    cluster.user,
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                    "--no-sync",
                ]
            )
            options = (
                f"-p {cluster.port} -c listen_addresses=127.0.0.1 "
                f"-c unix_socket_directories={cluster.socket_dir} -c max_connections=200 "
            )
            if durable:
                options += "-c shared_buffers=128MB"
            else:
                options += (
                    "-c shared_buffers=32MB -c fsync=off -c synchronous_commit=off "
                    "-c full_page_writes=off"
                )
            cluster._run(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(cluster.datadir),
                    "-o",
                    options,
                    "-l",
                    str(folder / "server.log"),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            )
        except Exception:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return cluster

    def _run(self, cmd: list[str]) -> None:
        out = subprocess.run(_as_postgres(cmd), capture_output=True, text=True, check=False)
        if out.returncode != 0:
            log = ""
            logfile = self.folder / "server.log"
            if logfile.exists():
                log = logfile.read_text(errors="replace")[-2000:]
            raise RuntimeError(
                f"PostgreSQL command failed: {' '.join(cmd)}\n{out.stdout}\n{out.stderr}\n{log}"
            )

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{dbname}"

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=self.user, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def create_database(self, prefix: str = "t", template: str | None = None) -> str:
        """Create a new, empty database (or a copy of ``template``); returns its URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}".lower()
        clause = f' TEMPLATE "{template}"' if template else ""
        self._admin(f'CREATE DATABASE "{name}"{clause}')
        return self.url(name)

    def drop_database(self, url_or_name: str) -> None:
        name = url_or_name.rsplit("/", 1)[-1]
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        try:
            self._run(
                [
                    str(self.bindir / "pg_ctl"),
                    "-D",
                    str(self.datadir),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ]
            )
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def fresh_pg_url(cluster: PgCluster, prefix: str = "t") -> str:
    return cluster.create_database(prefix)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """One PostgreSQL server for the whole test session (per xdist worker)."""
    try:
        cluster = PgCluster.start()
    except RuntimeError as err:
        pytest.fail(str(err), pytrace=False)
    try:
        yield cluster
    finally:
        cluster.stop()
