"""``fieldcase-server``: every failure is one plain line with its exit code
(docs/server-deployment.md, "Exit codes") for a database that cannot be used, whichever way,
for ``serve`` and the admin commands alike; anything unexpected names an incident in the
service's log, which holds the traceback without values. Real processes, a real PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from server.cli import common
from server.core.db import make_engine
from tests.support.pg import PgCluster, free_port
from tests.support.server import ROOT, admin, server_cli, server_cli_env, sqlite_url

ADMIN_AND_SERVE = [
    ["admin", "list-users"],
    ["admin", "add-team", "North"],
    ["admin", "verify-audit"],
    ["serve", "--port", "0"],
]


def fieldcase_server(
    *args: str, log_dir: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    env = {"FIELDCASE_LOG_DIR": str(log_dir)} if log_dir is not None else None
    return server_cli(*args, env=env, timeout=timeout)


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.stdout == "", result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def _pg_url(cluster: PgCluster, user: str, password: str | None, db: str) -> str:
    secret = f":{password}" if password else ""
    return f"postgresql://{user}{secret}@127.0.0.1:{cluster.port}/{db}"


@pytest.mark.parametrize("command", ADMIN_AND_SERVE, ids=" ".join)
def test_a_database_that_is_not_running_is_one_line(command: list[str]) -> None:
    port = free_port()  # nothing listens there
    result = fieldcase_server(*command, "--db", f"postgresql://fieldcase@127.0.0.1:{port}/fc")
    line = one_line(result)
    assert line.startswith(f'Could not reach the database "fc" on 127.0.0.1:{port}')
    assert "check that PostgreSQL is running" in line
    assert result.returncode == common.EXIT_UNAVAILABLE == 69


def test_a_host_that_does_not_exist_is_one_line() -> None:
    result = fieldcase_server(
        "admin", "list-users", "--db", "postgresql://fc@no-such-host.invalid/fc"
    )
    assert one_line(result).startswith('Could not reach the database "fc" on no-such-host.invalid')
    assert result.returncode == 69


@pytest.mark.parametrize("command", ADMIN_AND_SERVE, ids=" ".join)
def test_a_role_that_does_not_exist_is_one_line(pg_cluster: PgCluster, command: list[str]) -> None:
    url = _pg_url(pg_cluster, "nobody_here", None, "postgres")
    result = fieldcase_server(*command, "--db", url)
    line = one_line(result)
    assert line.startswith('The database server refused the sign-in of user "nobody_here"')
    assert "does not exist or the password is wrong" in line
    assert result.returncode == common.EXIT_REFUSED == 77


@contextmanager
def role_with_password(cluster: PgCluster, name: str, password: str) -> Iterator[None]:
    """A role that must give its password (the test cluster trusts everyone else)."""
    hba = cluster.datadir / "pg_hba.conf"
    before = hba.read_text()
    hba.write_text(f"host all {name} 127.0.0.1/32 scram-sha-256\n" + before)
    with psycopg.connect(cluster.url().replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("SET password_encryption = 'scram-sha-256'")
        conn.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{password}'")
        conn.execute("SELECT pg_reload_conf()")
    try:
        yield
    finally:
        hba.write_text(before)
        with psycopg.connect(cluster.url().replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute("SELECT pg_reload_conf()")
            conn.execute(f"DROP ROLE {name}")


def test_a_wrong_password_is_one_line_and_never_repeats_it(pg_cluster: PgCluster) -> None:
    with role_with_password(pg_cluster, "fc_pw_role", "the-right-one"):
        right = make_engine(_pg_url(pg_cluster, "fc_pw_role", "the-right-one", "postgres"))
        with right.connect() as conn:  # the role and its password do work
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
        right.dispose()
        url = _pg_url(pg_cluster, "fc_pw_role", "Wr0ng-Passw0rd", "postgres")
        result = fieldcase_server("admin", "list-users", "--db", url)
    line = one_line(result)
    assert line.startswith('The database server refused the sign-in of user "fc_pw_role"')
    assert "Wr0ng-Passw0rd" not in result.stderr
    assert result.returncode == 77


@pytest.mark.parametrize("command", ADMIN_AND_SERVE, ids=" ".join)
def test_a_database_that_does_not_exist_is_one_line(
    pg_cluster: PgCluster, command: list[str]
) -> None:
    url = _pg_url(pg_cluster, "postgres", None, "no_such_database")
    result = fieldcase_server(*command, "--db", url)
    line = one_line(result)
    assert line.startswith('There is no database called "no_such_database" on 127.0.0.1')
    assert "createdb" in line
    assert result.returncode == common.EXIT_CONFIG == 78


@pytest.mark.parametrize("command", ADMIN_AND_SERVE, ids=" ".join)
def test_a_read_only_folder_for_the_sqlite_file_is_one_line(
    tmp_path: Path, command: list[str]
) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() == 0:
        chattr = shutil.which("chattr")
        if chattr is None or subprocess.run([chattr, "+i", str(folder)], check=False).returncode:
            pytest.skip("running as root without a way to make a folder read-only")
    else:
        folder.chmod(0o500)
    try:
        result = fieldcase_server(*command, "--db", f"sqlite:///{folder / 'server.db'}")
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        else:
            folder.chmod(0o700)
    line = one_line(result)
    assert line.startswith(f"The service cannot write the database file {folder / 'server.db'}")
    assert "read-only" in line
    assert result.returncode == 77


@pytest.mark.parametrize(
    "url",
    ["not a url", "postgresql://fc@host:notaport/fc", "mysql://fc@127.0.0.1/fc"],
)
def test_a_database_address_that_cannot_be_used_is_one_line(url: str) -> None:
    result = fieldcase_server("admin", "list-users", "--db", url)
    line = one_line(result)
    assert line.startswith("The database address (--db or FIELDCASE_DB_URL) is not one")
    assert "postgresql://USER@HOST:5432/DATABASE" in line
    assert result.returncode == common.EXIT_USAGE == 2


def test_a_setting_that_is_not_valid_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIELDCASE_TOKEN_TTL_SECONDS", "soon")
    result = fieldcase_server("admin", "list-users", "--db", f"sqlite:///{tmp_path}/s.db")
    line = one_line(result)
    assert line.startswith("A setting of the service is not valid (token_ttl_seconds)")
    assert result.returncode == 78


# ------------------------------------------------------------------------- unexpected: 70

INCIDENT = re.compile(r"incident ([0-9a-f]{8}), in the log (.+)\.$")


def test_an_unexpected_error_names_an_incident_and_logs_no_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from server import cli
    from server.cli import accounts

    secret = "Mrs Secretname, 19 Hughes Road"

    def list_users_that_goes_wrong(args: object, clock: object) -> int:
        raise RuntimeError(f"could not list {secret}")

    monkeypatch.setenv("FIELDCASE_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.setattr(accounts, "cmd_list_users", list_users_that_goes_wrong)

    code = cli.main(["admin", "list-users", "--db", f"sqlite:///{tmp_path}/s.db"])
    err = capsys.readouterr().err
    assert code == common.EXIT_UNEXPECTED == 70
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "did not expect" in lines[0], err
    match = INCIDENT.search(lines[0])
    assert match is not None, lines[0]
    log_file = Path(match.group(2))
    assert log_file == tmp_path / "logs" / "fieldcase-server.log"
    logged = log_file.read_text()
    assert f"incident {match.group(1)}: unexpected RuntimeError" in logged
    assert "list_users_that_goes_wrong" in logged  # where it happened
    assert "Secretname" not in logged and "Secretname" not in err


def test_the_service_engine_never_shows_values(pg_cluster: PgCluster, tmp_path: Path) -> None:
    from sqlalchemy.exc import DBAPIError

    for url in (pg_cluster.url(), f"sqlite:///{tmp_path}/v.db"):
        engine = make_engine(url, pool_size=1)
        try:
            with engine.connect() as conn, pytest.raises(DBAPIError) as caught:
                conn.execute(text("SELECT * FROM no_such_table WHERE x = :v"), {"v": "Secretname"})
        finally:
            engine.dispose()
        assert "Secretname" not in str(caught.value), url


def test_every_exit_code_is_in_the_deployment_guide() -> None:
    guide = (ROOT / "docs" / "server-deployment.md").read_text()
    section = guide.split("## Exit codes of `fieldcase-server`", 1)[1].split("\n## ", 1)[0]
    codes = {v for k, v in vars(common).items() if k.startswith("EXIT_")}
    assert len(codes) == 7
    for code in codes:
        assert f"| `{code}` |" in section, code


def test_serve_on_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        db = f"sqlite:///{tmp_path}/s.db"
        assert fieldcase_server("migrate", "--db", db).returncode == 0
        result = fieldcase_server("serve", "--db", db, "--port", str(port), timeout=60)
    line = one_line(result)
    assert line == (
        f"Port {port} on 127.0.0.1 is already in use by another program. Stop it, or choose "
        "another --port."
    )
    assert result.returncode == 69


def _read_until(fd: int, wanted: bytes, deadline: float) -> bytes:
    """What the terminal shows, read until ``wanted`` appears (or the child ends)."""
    seen = b""
    while wanted not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    return seen


def _exit_status(pid: int, deadline: float, shown: bytes) -> int:
    """The child's wait status once it has ended; if it has not by ``deadline``, what it was
    doing (its state, its signals: blocked, ignored, caught, pending) and what the terminal
    showed, and the child killed."""
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.1)
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as proc:
            state = [
                line
                for line in proc.read().splitlines()
                if line.startswith(("State", "Sig", "Shd"))
            ]
    except OSError:
        state = []
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail(f"still running after Ctrl-C: {state}; the terminal showed {shown!r}")


@pytest.mark.parametrize("ignored_at_start", [False, True], ids=["terminal", "ignored and blocked"])
def test_ctrl_c_at_the_password_prompt_is_stopped_exit_130(
    tmp_path: Path, ignored_at_start: bool
) -> None:
    """An admin typing a new password presses Ctrl-C at a real terminal (a pseudo-terminal
    whose line discipline turns ^C into SIGINT): one line, exit 130, nothing made; also when
    the command was started with SIGINT ignored and blocked (as a script's background job, or
    a program that blocks it, would start it)."""
    db = sqlite_url(tmp_path)
    assert admin(db, "add-team", "Housing").returncode == 0
    env = server_cli_env()
    argv = [sys.executable, "-m", "server.cli", "admin", "add-user", "sam", "--team", "Housing"]
    pid, fd = pty.fork()
    if pid == 0:  # the child: its controlling terminal is the pseudo-terminal
        try:
            os.chdir(ROOT)
            if ignored_at_start:
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
            os.execve(sys.executable, [*argv, "--db", db], env)  # noqa: S606 - no shell
        finally:
            os._exit(127)  # never back into pytest
    status: int | None = None
    try:
        shown = _read_until(fd, b"New password:", time.monotonic() + 120)
        assert b"New password:" in shown, shown
        os.write(fd, b"\x03")  # Ctrl-C
        deadline = time.monotonic() + 60
        shown += _read_until(fd, b"Stopped.", deadline)
        status = _exit_status(pid, deadline, shown)
        shown += _read_until(fd, b"\x00never", time.monotonic() + 1)
    finally:
        os.close(fd)
        if status is None:  # the prompt never came: no child left behind
            with contextlib.suppress(ChildProcessError, ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
    text = shown.decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 130, text
    assert text.strip().splitlines()[-1].strip() == "Stopped.", text
    assert "Traceback" not in text
    assert "sam" not in admin(db, "list-users").stdout
