"""A real ``fieldcase-server serve`` process on 127.0.0.1 for end-to-end tests.

Public API::

    ROOT                                   # the repository's root folder (Path)
    PROTOCOL_HEADERS                       # {"X-Fieldcase-Protocol": "1"}
    TEST_PASSWORD                          # "correct horse battery" (used by the helpers)
    FAST_HASHING_ENV                       # the service's settings for cheap password hashes
                                           # (every server and admin command started here)
    sqlite_url(folder) -> str              # sqlite:////.../server.db inside ``folder``
    running_server(db_url, *, workers=1, env=None, timeout=60.0) -> ContextManager[ServerProcess]
        # migrates the DB, starts `python -m server.cli serve --db URL --port FREE`, waits for
        # GET /health, yields a ServerProcess (.url "http://127.0.0.1:PORT", .port, .db_url,
        # .process, .log_path, .log_tail()), then SIGTERM (SIGKILL after 10 s) on exit.
    server_factory                         # pytest fixture: start(db_url, **kw) -> ServerProcess,
                                           # all stopped at teardown
    admin(db_url, *args, password=None) -> subprocess.CompletedProcess[str]
        # runs `fieldcase-server admin ARGS --db URL` (FIELDCASE_PASSWORD=password if given)
    add_team(db_url, name) / add_user(db_url, name, team, role="caseworker", password=TEST_PASSWORD)
        # in-process (fast), creating and migrating the database when new; add_user adds the
        # team when missing
    seed_demo(db_url) -> None              # in-process `fieldcase-server demo`
    login(base_url, username, password=TEST_PASSWORD) -> str          # access token
    enrol(base_url, username, password=TEST_PASSWORD, device_name="Test laptop") -> dict
        # {"device_id", "device_secret", "recovery_secret", "token"} (token: a device token)
    expire_tokens(db_url, username=None) -> int
        # test hook: every access token (of that user) expires now -> next call gets token_expired

Example::

    from tests.support.server import running_server, sqlite_url, add_user, enrol

    def test_something(tmp_path):
        db = sqlite_url(tmp_path)
        add_user(db, "sam", "Team A")
        with running_server(db) as srv:
            creds = enrol(srv.url, "sam")
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sync.clock import SystemClock
from tests.support.pg import free_port

ROOT = Path(__file__).resolve().parents[2]
PROTOCOL_HEADERS = {"X-Fieldcase-Protocol": "1"}
TEST_PASSWORD = "correct horse battery"
#: Argon2id at its cheapest for tests, through the service's own settings (never production).
FAST_HASHING_ENV = {"FIELDCASE_ARGON2_MEMORY_KIB": "8192", "FIELDCASE_ARGON2_TIME_COST": "1"}
#: The audit key of every service the tests and benchmarks start, in this process and in the
#: processes it starts (PostgreSQL has no default key; the key's own tests set or drop it).
TEST_AUDIT_KEY = "5e" * 32
os.environ.setdefault("FIELDCASE_AUDIT_KEY", TEST_AUDIT_KEY)

__all__ = [
    "FAST_HASHING_ENV",
    "PROTOCOL_HEADERS",
    "ROOT",
    "TEST_PASSWORD",
    "ServerProcess",
    "add_team",
    "add_user",
    "admin",
    "enrol",
    "expire_tokens",
    "login",
    "running_server",
    "seed_demo",
    "server_factory",
    "sqlite_url",
]


def sqlite_url(folder: Path | str) -> str:
    return f"sqlite:///{Path(folder) / 'server.db'}"


@dataclass
class ServerProcess:
    url: str
    port: int
    db_url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    extra: dict[str, Any] = field(default_factory=dict)

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def _http_json(
    method: str, url: str, body: dict[str, Any] | None = None, token: str | None = None
) -> Any:
    headers = {"Content-Type": "application/json", **PROTOCOL_HEADERS}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback only)
        return json.loads(response.read().decode())


def _listening_pid_owns(pid: int, port: int) -> bool:
    """On Linux: whether a socket listening on 127.0.0.1:port is held by ``pid`` (or one of
    its children, for several workers); elsewhere assume so."""
    try:
        table = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return True
    wanted = f"0100007F:{port:04X}"
    inodes = {f"socket:[{row.split()[9]}]" for row in table if row.split()[1] == wanted}
    if not inodes:
        return False
    pids = [pid]
    with suppress(OSError):
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    for owner in pids:
        try:
            fds = list(Path(f"/proc/{owner}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) in inodes:
                    return True
            except OSError:
                continue
    return False


def _wait_healthy(srv: ServerProcess, timeout: float) -> None:
    """Until our server answers /health. An answer from a process that is not ours (another
    test's server that took the port first) does not count."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if srv.process.poll() is not None:
            raise RuntimeError(f"fieldcase-server exited early:\n{srv.log_tail()}")
        try:
            with urllib.request.urlopen(srv.url + "/health", timeout=2) as response:  # noqa: S310
                if response.status == 200 and _listening_pid_owns(srv.process.pid, srv.port):
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.05)  # polling a subprocess's readiness, bounded by the deadline
    raise RuntimeError(f"fieldcase-server did not answer /health in {timeout} s:\n{srv.log_tail()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@contextmanager
def running_server(
    db_url: str,
    *,
    workers: int = 1,
    env: dict[str, str] | None = None,
    timeout: float = 60.0,
    args: tuple[str, ...] = (),
) -> Iterator[ServerProcess]:
    """Start ``fieldcase-server serve`` against ``db_url`` (with ``args`` besides); stop it on
    exit. A port that something else took meanwhile is given up for another (three tries)."""
    for attempt in range(3):
        try:
            srv = _start_server(db_url, workers=workers, env=env, timeout=timeout, args=args)
        except _PortTaken:
            if attempt == 2:
                raise
            continue
        try:
            yield srv
        finally:
            _stop(srv.process)
        return


@contextmanager
def served_per_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, name: str
) -> Iterator[ServerProcess]:
    """For a fixture parametrised ``["sqlite", "postgres"]``: a real ``fieldcase-server serve``
    on a new SQLite file, or on a new database ``name`` of the suite's PostgreSQL cluster."""
    if request.param == "postgres":
        db = request.getfixturevalue("pg_cluster").create_database(name)
    else:
        db = sqlite_url(tmp_path_factory.mktemp("service"))
    with running_server(db) as srv:
        yield srv


class _PortTaken(RuntimeError):
    pass


def _start_server(
    db_url: str,
    *,
    workers: int,
    env: dict[str, str] | None,
    timeout: float,
    args: tuple[str, ...] = (),
) -> ServerProcess:
    port = free_port()
    log_dir = Path(tempfile.mkdtemp(prefix="fieldcase-serve-"))
    log_path = log_dir / "serve.log"
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **FAST_HASHING_ENV, **(env or {})}
    full_env.pop("FIELDCASE_DB_URL", None)
    cmd = [
        sys.executable,
        "-m",
        "server.cli",
        "serve",
        *(("--db", db_url) if db_url else ()),  # "": the environment names it
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--migrate",
        *args,
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=full_env,
            cwd=ROOT,
            start_new_session=True,
        )
    srv = ServerProcess(f"http://127.0.0.1:{port}", port, db_url, process, log_path)
    try:
        _wait_healthy(srv, timeout)
    except BaseException as err:
        _stop(process)
        if "address already in use" in srv.log_tail().lower():
            raise _PortTaken(f"port {port} was taken") from err
        raise
    return srv


@pytest.fixture
def server_factory() -> Iterator[Callable[..., ServerProcess]]:
    """``start(db_url, workers=1, env=None) -> ServerProcess``; all stopped at teardown."""
    stack: list[Any] = []

    def start(db_url: str, **kwargs: Any) -> ServerProcess:
        manager = running_server(db_url, **kwargs)
        srv = manager.__enter__()
        stack.append(manager)
        return srv

    try:
        yield start
    finally:
        while stack:
            stack.pop().__exit__(None, None, None)


def server_cli_env(env: dict[str, str] | None = None, drop: tuple[str, ...] = ()) -> dict[str, str]:
    """The environment of a ``server.cli`` child: the suite's cheap hashing, no
    ``FIELDCASE_PASSWORD`` or ``FIELDCASE_DB_URL`` from the shell; ``env`` added, ``drop``
    removed."""
    full = {**os.environ, "PYTHONPATH": str(ROOT), **FAST_HASHING_ENV}
    for name in ("FIELDCASE_PASSWORD", "FIELDCASE_DB_URL", *drop):
        full.pop(name, None)
    full.update({k: v for k, v in (env or {}).items() if k not in drop})
    return full


def server_cli(
    *args: str,
    env: dict[str, str] | None = None,
    drop: tuple[str, ...] = (),
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """``python -m server.cli ARGS`` in a child process (environment: :func:`server_cli_env`)."""
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        capture_output=True,
        text=True,
        env=server_cli_env(env, drop),
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )


def admin(
    db_url: str,
    *args: str,
    password: str | None = None,
    env: dict[str, str] | None = None,
    drop: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    """``fieldcase-server admin ARGS --db DB_URL`` (``password`` as ``FIELDCASE_PASSWORD``)."""
    extra = dict(env or {})
    if password is not None:
        extra["FIELDCASE_PASSWORD"] = password
    return server_cli("admin", *args, "--db", db_url, env=extra, drop=drop)


def _engine(db_url: str) -> Any:
    from server.core.db import make_engine, migrate

    engine = make_engine(db_url, pool_size=1)
    migrate(engine)
    return engine


def _settings(db_url: str) -> Any:
    from server.core.config import Settings

    return Settings.from_env(db_url=db_url, argon2_memory_kib=8192, argon2_time_cost=1)


def add_team(db_url: str, name: str) -> None:
    from sqlmodel import Session

    from server import crud

    engine = _engine(db_url)
    try:
        with Session(engine) as session:
            if crud.get_team(session, name) is None:
                crud.add_team(session, name, clock=SystemClock())
                session.commit()
    finally:
        engine.dispose()


def add_user(
    db_url: str, name: str, team: str, role: str = "caseworker", password: str = TEST_PASSWORD
) -> None:
    from sqlmodel import Session

    from server import crud

    engine = _engine(db_url)
    try:
        with Session(engine) as session:
            clock = SystemClock()
            if crud.get_team(session, team) is None:
                crud.add_team(session, team, clock=clock)
            crud.add_user(session, _settings(db_url), name, team, role, password, clock=clock)
            session.commit()
    finally:
        engine.dispose()


def seed_demo(db_url: str) -> None:
    from server import demo

    engine = _engine(db_url)
    try:
        demo.seed(engine, _settings(db_url), SystemClock())
    finally:
        engine.dispose()


def login(base_url: str, username: str, password: str = TEST_PASSWORD) -> str:
    body = _http_json(
        "POST", base_url + "/v1/auth/login", {"username": username, "password": password}
    )
    return str(body["access_token"])


def enrol(
    base_url: str, username: str, password: str = TEST_PASSWORD, device_name: str = "Test laptop"
) -> dict[str, str]:
    token = login(base_url, username, password)
    body = _http_json("POST", base_url + "/v1/devices/enrol", {"device_name": device_name}, token)
    device = _http_json(
        "POST",
        base_url + "/v1/auth/device-token",
        {"device_id": body["device_id"], "device_secret": body["device_secret"]},
    )
    return {
        "device_id": body["device_id"],
        "device_secret": body["device_secret"],
        "recovery_secret": body["recovery_secret"],
        "token": device["access_token"],
    }


def expire_tokens(db_url: str, username: str | None = None) -> int:
    """Make access tokens expire now (all, or one user's). Returns how many."""
    from sqlalchemy import update
    from sqlmodel import Session, select

    from server.models import AccessToken, User

    engine = _engine(db_url)
    try:
        with Session(engine) as session:
            stmt = update(AccessToken).values(expires_at=SystemClock().now())
            if username is not None:
                user_id = session.exec(select(User.id).where(User.username == username)).one()
                stmt = stmt.where(AccessToken.user_id == user_id)  # type: ignore[arg-type]
            count = session.execute(stmt).rowcount  # type: ignore[attr-defined]
            session.commit()
            return int(count)
    finally:
        engine.dispose()
