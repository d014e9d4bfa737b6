"""The service's settings (issue 15): every one from its ``FIELDCASE_*`` variable, a secret
from the file ``FIELDCASE_*_FILE`` names (out of the environment and ``ps``), the database pool
as settings, and a warning when the processes could open more connections than PostgreSQL
allows. Faults are one plain line with the configuration exit code."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.core.config import SettingFileError, Settings
from server.main import create_app
from tests.server.helpers import service_settings
from tests.support.server import running_server, server_cli, sqlite_url


def test_a_secret_comes_from_the_file_its_variable_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "db_url"
    secret.write_text("postgresql://fieldcase:s3cret@db.example/fieldcase\n", encoding="utf-8")
    token = tmp_path / "metrics_token"
    token.write_text("a-long-random-token", encoding="utf-8")
    monkeypatch.delenv("FIELDCASE_DB_URL", raising=False)
    monkeypatch.setenv("FIELDCASE_DB_URL_FILE", str(secret))
    monkeypatch.setenv("FIELDCASE_METRICS_TOKEN_FILE", str(token))
    monkeypatch.setenv("FIELDCASE_DB_POOL_SIZE", "3")
    settings = Settings.from_env()
    assert settings.db_url == "postgresql+psycopg://fieldcase:s3cret@db.example/fieldcase"
    assert settings.metrics_token is not None
    assert settings.metrics_token.get_secret_value() == "a-long-random-token"
    assert settings.db_pool_size == 3
    assert "s3cret" not in repr(settings.metrics_token)

    monkeypatch.setenv("FIELDCASE_DB_URL", "sqlite://")
    with pytest.raises(SettingFileError, match="Both FIELDCASE_DB_URL and FIELDCASE_DB_URL_FILE"):
        Settings.from_env()


def test_the_pool_settings_reach_the_services_engine(tmp_path: Path) -> None:
    app = create_app(service_settings(sqlite_url(tmp_path), db_pool_size=3, db_max_overflow=2))
    try:
        assert app.state.engine.pool.size() == 3
    finally:
        app.state.engine.dispose()


def test_a_settings_file_that_cannot_be_read_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "db_url"
    result = server_cli("admin", "list-users", env={"FIELDCASE_DB_URL_FILE": str(missing)})
    assert result.returncode == 78, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"FIELDCASE_DB_URL_FILE names {missing}, which cannot be read (No such file or "
        "directory). Check the path and that the service's user may read it."
    ]


def test_a_bad_pool_setting_is_one_line(tmp_path: Path) -> None:
    result = server_cli(
        "admin",
        "list-users",
        "--db",
        sqlite_url(tmp_path),
        env={"FIELDCASE_DB_POOL_SIZE": "none"},
    )
    assert result.returncode == 78
    assert result.stderr.strip() == (
        "A setting of the service is not valid (db_pool_size): check its FIELDCASE_ "
        "environment variable (docs/server-deployment.md lists them)."
    )


@pytest.mark.postgres
def test_serve_warns_when_its_workers_could_exhaust_postgresqls_connections(
    pg_url: str,
) -> None:
    with socket.socket() as taken:  # the service stops at the port, after its warnings
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = server_cli(
            "serve",
            "--db",
            pg_url,
            "--port",
            str(port),
            "--workers",
            "20",
            "--migrate",
            env={"FIELDCASE_DB_POOL_SIZE": "5", "FIELDCASE_DB_MAX_OVERFLOW": "5"},
        )
    assert result.returncode == 69
    assert (
        "Warning: 20 workers may open up to 200 database connections (5 each, and 5 more when "
        "busy), but PostgreSQL allows 200." in result.stderr
    ), result.stderr


@pytest.mark.postgres
def test_serve_warns_that_a_password_in_db_shows_in_the_process_list(
    pg_cluster: Any, tmp_path: Path
) -> None:
    url = pg_cluster.create_database("pw").replace("postgres@", "postgres:not-needed@")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = server_cli("serve", "--db", url, "--port", str(port), "--migrate")
    assert result.returncode == 69  # stopped at the port, after its warnings
    assert "the database password in --db can be read by every user" in result.stderr
    assert "FIELDCASE_DB_URL_FILE" in result.stderr
    assert "not-needed" not in result.stderr + result.stdout


def test_serve_from_a_url_file_gives_its_workers_the_file_not_the_secret(tmp_path: Path) -> None:
    """Under systemd's credentials or a container's secrets only FIELDCASE_DB_URL_FILE is set:
    every worker reads the file too, and the address never enters a worker's environment."""
    secret = tmp_path / "db_url"
    secret.write_text(sqlite_url(tmp_path) + "\n", encoding="utf-8")
    with running_server("", workers=2, env={"FIELDCASE_DB_URL_FILE": str(secret)}) as srv:
        with httpx.Client(trust_env=False) as web:
            assert web.get(srv.url + "/ready").status_code == 200
        children = Path(f"/proc/{srv.process.pid}/task/{srv.process.pid}/children")
        workers = children.read_text().split()
        assert len(workers) >= 2
        for pid in workers:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            assert any(v.startswith(b"FIELDCASE_DB_URL_FILE=") for v in environ)
            assert not any(v.startswith(b"FIELDCASE_DB_URL=") for v in environ)
