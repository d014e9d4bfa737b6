"""A person's cases and warnings are found by ``record.person_id`` (migration 0015), kept equal
to the person their fields name through every way a record is written (a push, an import, a
merge and its undoing), on SQLite and PostgreSQL; the migration fills it for records already
held. A merge, a share, an erasure, a subject access request and an import's second team's
case each look people up by it; without it each would read every record on the service."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import text
from sqlmodel import Session, col, select

from server.core.db import alembic_config, make_engine
from server.models import Record
from tests.server.helpers import Service, change, new_case


def _column_matches_fields(service: Service) -> dict[uuid.UUID, uuid.UUID | None]:
    with Session(service.engine) as session:
        records = session.exec(select(Record)).all()
    for record in records:
        named = record.fields.get("person_id") if record.kind in ("case", "warning") else None
        assert record.person_id == (uuid.UUID(named) if named else None), record.kind
    return {record.record_id: record.person_id for record in records}


def test_the_person_a_record_names_is_kept_beside_it(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    from server.cli import main as cli_main

    laptop = service.device("nina", "North")
    service.user("gus", "Records", role="governance")
    robert, bob, warning = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    case_a, made_a = new_case("North", "nina", person_id=str(robert))
    case_b, made_b = new_case("North", "nina", person_id=str(bob))
    risk = {"person_id": str(bob), "text": "Dog", "category": "risk", "active": True}
    laptop.push(
        made_a,
        change("person", robert, case_a, {"name": "Robert Smith"}),
        made_b,
        change("person", bob, case_b, {"name": "Bob Smith"}),
        change("warning", warning, case_b, risk),
    )
    held = _column_matches_fields(service)
    assert held[case_a] == robert and held[case_b] == held[warning] == bob
    assert held[robert] is None
    merge = ["duplicates", "merge", str(robert), str(bob), "--reason", "same", "--officer", "gus"]
    assert cli_main(["admin", *merge, "--db", service.db_url]) == 0
    held = _column_matches_fields(service)
    assert held[case_b] == held[warning] == robert  # moved by the merge
    split = ["duplicates", "split", "1", "--reason", "two men", "--officer", "gus"]
    assert cli_main(["admin", *split, "--db", service.db_url]) == 0
    held = _column_matches_fields(service)
    assert held[case_b] == held[warning] == bob
    capsys.readouterr()


def test_the_records_naming_a_person_are_found_by_the_index(service: Service) -> None:
    query = select(Record.record_id).where(
        col(Record.kind).in_(["case", "warning"]), col(Record.person_id) == uuid.uuid4()
    )
    with Session(service.engine) as session:
        connection = session.connection()
        sql = str(query.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
        if connection.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL enable_seqscan = off"))
            plan = [row[0] for row in connection.execute(text(f"EXPLAIN {sql}"))]
        else:
            plan = [row[-1] for row in connection.execute(text(f"EXPLAIN QUERY PLAN {sql}"))]
    assert any("ix_record_person_id" in line for line in plan), plan


@pytest.fixture(params=["sqlite", "postgres"])
def old_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of either kind, not migrated yet."""
    if request.param == "postgres":
        cluster = request.getfixturevalue("pg_cluster")
        return str(cluster.create_database("fcperson"))
    return f"sqlite:///{tmp_path / 'old.db'}"


def test_the_migration_fills_the_column_for_records_held(old_db_url: str) -> None:
    engine = make_engine(old_db_url, pool_size=1)
    config = alembic_config()
    person, case_id, warning, note = (uuid.uuid4() for _ in range(4))

    def insert(conn: Any, record_id: uuid.UUID, kind: str, fields: dict[str, Any]) -> None:
        as_id = (lambda u: u.hex) if conn.dialect.name == "sqlite" else str
        conn.execute(
            text(
                "INSERT INTO record (record_id, kind, case_id, version, fields, stamps,"
                " created_at, updated_at, updated_by, seq) VALUES (:id, :kind, :case, 1, :f,"
                " '{}', '2026-03-01 10:00:00', '2026-03-01 10:00:00', 'sam', 1)"
            ),
            {"id": as_id(record_id), "kind": kind, "case": as_id(case_id), "f": json.dumps(fields)},
        )

    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0014_duplicate_people")
            insert(conn, case_id, "case", {"ref": "FC-2026-00001", "person_id": str(person)})
            insert(conn, warning, "warning", {"text": "Dog", "person_id": str(person)})
            insert(conn, note, "note", {"text": "Visited", "person_id": "not an id"})
            command.upgrade(config, "head")
        with Session(engine) as session:
            held = dict(session.exec(select(Record.record_id, Record.person_id)).all())
        assert held == {case_id: person, warning: person, note: None}
        with engine.begin() as conn:  # and back down and up again
            config.attributes["connection"] = conn
            command.downgrade(config, "0014_duplicate_people")
            command.upgrade(config, "head")
    finally:
        engine.dispose()
