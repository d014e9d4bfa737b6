"""A person's cases and warnings are looked up by the index on the person a record names
(migration 0015), on SQLite and PostgreSQL: a merge, a share, an erasure, a subject access
request and an import's second team's case each ask it, and without the index each would read
every record on the service."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlmodel import Session, col, select

from server.models import Record, person_named
from tests.server.helpers import Service


def test_the_records_naming_a_person_are_found_by_the_index(service: Service) -> None:
    fields = Record.__table__.c.fields  # type: ignore[attr-defined]
    query = select(Record.record_id).where(
        col(Record.kind).in_(["case", "warning"]), person_named(fields) == str(uuid.uuid4())
    )
    with Session(service.engine) as session:
        connection = session.connection()
        dialect = connection.dialect.name
        sql = str(query.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
        if dialect == "postgresql":
            connection.execute(text("SET LOCAL enable_seqscan = off"))
            plan = [row[0] for row in connection.execute(text(f"EXPLAIN {sql}"))]
        else:
            plan = [row[-1] for row in connection.execute(text(f"EXPLAIN QUERY PLAN {sql}"))]
    assert any("ix_record_person_id" in line for line in plan), plan


def test_the_index_finds_what_reading_every_record_finds(service: Service) -> None:
    """The expression the index holds is the person id as text, for a case and a warning."""
    from tests.server.helpers import change, new_case

    laptop = service.device("nina", "North")
    person = uuid.uuid4()
    case_id, case = new_case("North", "nina", person_id=str(person))
    warning = uuid.uuid4()
    laptop.push(
        case,
        change("person", person, case_id, {"name": "Robert Smith"}),
        change(
            "warning",
            warning,
            case_id,
            {"person_id": str(person), "text": "Dog", "category": "risk", "active": True},
        ),
    )
    fields = Record.__table__.c.fields  # type: ignore[attr-defined]
    with Session(service.engine) as session:
        found = set(
            session.exec(select(Record.record_id).where(person_named(fields) == str(person)))
        )
    assert found == {case_id, warning}
