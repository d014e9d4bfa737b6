"""Running the service as council IT does (issue 15): ``fieldcase-server migrate`` and its
``--sql`` for a database administrator, ``serve`` refusing a database that is not up to date
unless ``--migrate``, ``--version``, and the checks an orchestrator makes: ``/health`` (the
process answers) and ``/ready`` (its database answers and is up to date), outside the protocol
gate. A real PostgreSQL, stopped for the readiness check; the SQL run by ``psql``."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from server.cli import main as cli_main
from server.core.db import alembic_config, make_engine, migrate, schema_state
from server.main import create_app
from sync.version import VERSION
from tests.server.helpers import service_settings
from tests.support.pg import PgCluster, _as_postgres
from tests.support.server import sqlite_url

HEAD = "0018_sso_start_address"


def _migrate_to(engine: Engine, revision: str) -> None:
    """Bring ``engine``'s database to ``revision`` only (a database some versions behind)."""
    config = alembic_config()
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        connection.commit()


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli_main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def _client(cluster: PgCluster, program: str, url: str, *args: str) -> list[str]:
    """A PostgreSQL client program's command line for the database at ``url``."""
    where = ["-h", "127.0.0.1", "-p", str(cluster.port), "-U", cluster.user]
    return [str(cluster.bindir / program), *where, *args, "-d", url.rsplit("/", 1)[-1]]


def _psql(cluster: PgCluster, url: str, script: Path) -> subprocess.CompletedProcess[str]:
    """Run ``script`` as a database administrator would, stopping at the first error."""
    command = _client(cluster, "psql", url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(script))
    return subprocess.run(command, capture_output=True, text=True, check=False)


def _schema(cluster: PgCluster, url: str) -> str:
    command = _client(cluster, "pg_dump", url, "--schema-only", "--no-owner")
    dump = subprocess.run(_as_postgres(command), capture_output=True, text=True, check=True).stdout
    kept = (
        ln for ln in dump.splitlines() if not ln.startswith(("--", "\\restrict", "\\unrestrict"))
    )
    return "\n".join(kept)


def test_the_version_is_the_one_the_package_has(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        cli_main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"fieldcase-server {VERSION}"


def test_serve_refuses_a_database_that_is_not_up_to_date_and_migrate_brings_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = sqlite_url(tmp_path)
    code, _, err = _cli(capsys, "serve", "--db", db, "--port", "0")
    assert code == 78, err
    assert err.startswith(
        "The database has no Fieldcase tables yet. Run `fieldcase-server migrate`"
    )
    assert "serve --migrate" in err and "Traceback" not in err

    engine = make_engine(db)
    _migrate_to(engine, "0013_import_keys")
    code, _, err = _cli(capsys, "serve", "--db", db, "--port", "0")
    assert code == 78
    assert f"needs 5 migrations (0014_duplicate_people to {HEAD})" in err, err

    code, out, err = _cli(capsys, "migrate", "--db", db)
    assert code == 0, err
    assert out.strip() == (
        f"The database was brought up to date (5 migrations: 0014_duplicate_people to {HEAD})."
    )
    assert schema_state(engine).pending == ()
    code, out, _ = _cli(capsys, "migrate", "--db", db)
    assert (code, out.strip()) == (0, f"The database is up to date (its schema is at {HEAD}).")
    code, _, err = _cli(capsys, "migrate", "--db", db, "--sql")
    assert code == 2 and "--sql prints PostgreSQL's SQL" in err
    engine.dispose()


def test_a_database_from_a_newer_service_is_refused_plainly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = sqlite_url(tmp_path)
    engine = make_engine(db)
    migrate(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0099_from_the_future'"))
    for args in (["migrate"], ["serve", "--port", "0"]):
        code, _, err = _cli(capsys, *args, "--db", db)
        assert code == 78, err
        assert "brought up to date by a newer version of Fieldcase's service" in err
        assert f"schema is at 0099_from_the_future; this version knows up to {HEAD}" in err
    engine.dispose()


@pytest.mark.postgres
def test_the_sql_for_a_dba_makes_the_same_schema_and_moves_the_data(
    pg_cluster: PgCluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    online, offline = pg_cluster.create_database("on"), pg_cluster.create_database("off")
    code, _, err = _cli(capsys, "migrate", "--db", online)
    assert code == 0, err
    code, sql, err = _cli(capsys, "migrate", "--db", offline, "--sql")
    assert code == 0, err
    assert "CREATE TABLE record" in sql and sql.rstrip().endswith("COMMIT;")
    script = tmp_path / "migrate.sql"
    script.write_text(sql, encoding="utf-8")
    ran = _psql(pg_cluster, offline, script)
    assert ran.returncode == 0, ran.stderr
    assert _schema(pg_cluster, offline) == _schema(pg_cluster, online)
    code, out, _ = _cli(capsys, "migrate", "--db", offline)
    assert out.strip() == f"The database is up to date (its schema is at {HEAD})."
    code, out, _ = _cli(capsys, "migrate", "--db", offline, "--sql")
    assert out.strip() == "-- The database is up to date: nothing to run."

    # a database with cases, one migration behind: the script fills the new column in too
    behind = pg_cluster.create_database("behind")
    engine = make_engine(behind)
    _migrate_to(engine, "0014_duplicate_people")
    person, case = uuid.uuid4(), uuid.uuid4()
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO record (record_id, kind, case_id, version, fields, stamps, "
                "created_at, updated_at, updated_by, seq) VALUES (:r, 'case', :r, 1, "
                "CAST(:f AS json), '{}', now(), now(), 'x', 1)"
            ),
            {"r": case, "f": f'{{"person_id": "{person}"}}'},
        )
    code, sql, err = _cli(capsys, "migrate", "--db", behind, "--sql")
    assert code == 0, err
    assert "0014_duplicate_people -> 0015_person_index" in sql
    assert "CREATE TABLE record" not in sql and "CREATE TABLE sso_nonce" in sql
    script.write_text(sql, encoding="utf-8")
    ran = _psql(pg_cluster, behind, script)
    assert ran.returncode == 0, ran.stderr
    with engine.connect() as connection:
        found = connection.execute(
            text("SELECT person_id FROM record WHERE record_id = :r"), {"r": case}
        ).scalar_one()
    assert found == person
    assert schema_state(engine).pending == ()
    engine.dispose()


@pytest.mark.postgres
def test_ready_says_when_the_database_is_down_or_behind_and_health_still_answers() -> None:
    cluster = PgCluster.start()
    running = True
    try:
        url = cluster.create_database("ready")
        engine = make_engine(url)
        _migrate_to(engine, "0014_duplicate_people")
        app = create_app(service_settings(url))
        with TestClient(app, raise_server_exceptions=False) as client:  # no protocol header
            behind = client.get("/ready")
            assert behind.status_code == 503
            assert behind.json() == {"status": "the database is waiting for migrations"}
            migrate(engine)
            for path in ("/ready", "/readyz", "/health", "/healthz"):
                answer = client.get(path)
                assert (answer.status_code, answer.json()) == (200, {"status": "ok"}), path
            running = False
            cluster.stop()
            down = client.get("/ready")
            assert down.status_code == 503
            assert down.json() == {"status": "the database cannot be reached"}
            assert client.get("/readyz").status_code == 503
            assert client.get("/health").status_code == 200  # the process still answers
        engine.dispose()
        app.state.engine.dispose()
    finally:
        if running:
            cluster.stop()


def test_a_database_not_in_utf8_is_refused_plainly(
    pg_cluster: PgCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    """A DBA's database made with SQL_ASCII (a cluster initialised without a locale) would keep
    names and notes as raw bytes: every command refuses it in one line, exit code 78."""
    name = f"ascii_{uuid.uuid4().hex[:10]}"
    pg_cluster._admin(
        f"CREATE DATABASE \"{name}\" ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' "
        "TEMPLATE template0"
    )
    url = pg_cluster.url(name)
    for args in (["migrate"], ["serve", "--port", "1"], ["admin", "list-users"]):
        code = cli_main([*args, "--db", url])
        said = capsys.readouterr()
        assert code == 78, said
        assert "keeps text in the SQL_ASCII encoding; Fieldcase needs UTF8" in said.err
        assert "createdb -E UTF8 -T template0" in said.err
        assert "Traceback" not in said.err + said.out
    utf8 = pg_cluster.create_database("utf8")
    assert cli_main(["migrate", "--db", utf8]) == 0  # the cluster's own default is fine
