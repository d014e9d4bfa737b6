"""Fixtures of the service's tests: every test runs on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.core.db import make_engine, migrate
from tests.server.helpers import Service, service_settings
from tests.support.pg import PgCluster, pg_cluster  # noqa: F401  (registers the fixture)

DB_KINDS = ["sqlite", "postgres"]


@pytest.fixture(scope="session")
def pg_template(pg_cluster: PgCluster) -> str:  # noqa: F811
    """A migrated database that each test's database is copied from (fast)."""
    url = pg_cluster.create_database("fctemplate")
    engine = make_engine(url, pool_size=1)
    migrate(engine)
    engine.dispose()
    return url.rsplit("/", 1)[-1]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "server.db"
    engine = make_engine(f"sqlite:///{path}", pool_size=1)
    migrate(engine)
    engine.dispose()  # the last connection closing folds the WAL into the file
    return path


def new_db_url(request: pytest.FixtureRequest, kind: str, tmp_path: Path) -> str:
    if kind == "postgres":
        cluster: PgCluster = request.getfixturevalue("pg_cluster")
        template = request.getfixturevalue("pg_template")
        return cluster.create_database("fc", template=template)
    template_file: Path = request.getfixturevalue("sqlite_template")
    target = tmp_path / "server.db"
    shutil.copyfile(template_file, target)
    return f"sqlite:///{target}"


@pytest.fixture(params=DB_KINDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated database: SQLite file or PostgreSQL database."""
    return new_db_url(request, request.param, tmp_path)


@pytest.fixture
def pg_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated PostgreSQL database (PostgreSQL-only tests)."""
    return new_db_url(request, "postgres", tmp_path)


@pytest.fixture
def service(db_url: str) -> Iterator[Service]:
    """The app in-process (TestClient) on a fresh database, with helpers."""
    svc = Service(service_settings(db_url))
    try:
        yield svc
    finally:
        svc.close()
