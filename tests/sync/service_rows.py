"""Write straight into the service's database, as a record stored before the service checked
records would be, and read what laptops reported. Runs in a child process (the service's and
the laptop's tables cannot be imported into one process): ``call(function, *args)``.
"""

from __future__ import annotations

from typing import Any


def call(function: str, *args: Any) -> Any:
    """``tests.sync.service_rows.<function>(*args)`` in a child process; its JSON result."""
    from tests.sync.helpers import child_call

    return child_call(__name__, function, *args)


def rewrite(db_url: str, record_id: str, patch: dict[str, Any]) -> int:
    """Set fields of a stored record to ``patch`` (no checks at all), as a new version at a new
    change-log position, so every laptop pulls it. Returns the new version."""
    import uuid

    from sqlmodel import Session

    from server.core.db import make_engine
    from server.models import Record
    from server.records.changelog import take_positions

    engine = make_engine(db_url, pool_size=1)
    try:
        with Session(engine) as session:
            row = session.get(Record, uuid.UUID(record_id))
            assert row is not None, record_id
            row.fields = {**row.fields, **patch}
            row.version += 1
            row.seq = take_positions(session, 1)
            session.add(row)
            session.commit()
            return int(row.version)
    finally:
        engine.dispose()


def set_aside_events(db_url: str, actor: str) -> list[dict[str, Any]]:
    """The audit trail's entries of laptops' set-aside reports sent by ``actor``."""
    from sqlmodel import Session, col, select

    from server.core.db import make_engine
    from server.models import AuditEntry

    engine = make_engine(db_url, pool_size=1)
    try:
        with Session(engine) as session:
            rows = session.exec(
                select(AuditEntry)
                .where(AuditEntry.event == "laptop_set_aside", AuditEntry.actor == actor)
                .order_by(col(AuditEntry.id))
            ).all()
            return [
                {
                    "event": row.event,
                    "record_kind": row.record_kind,
                    "record_id": row.record_id,
                    "case_id": row.case_id,
                    "detail": row.detail,
                }
                for row in rows
            ]
    finally:
        engine.dispose()


def seed_realistic(db_url: str, count: int, team: str, user: str) -> int:
    """``count`` realistic cases (server.records.realistic, seed 0) of ``team`` assigned to
    ``user``, bulk-inserted as the demo and the benchmark seed them. Returns the records made."""
    from sqlmodel import Session

    from server.core.db import make_engine, migrate
    from server.records import realistic
    from server.records.seeding import bulk_insert
    from sync.clock import SystemClock

    engine = make_engine(db_url, pool_size=1)
    try:
        migrate(engine)
        rows = [
            row
            for bundle in realistic.cases(count, team=team, workers=[user])
            for row in bundle.seed_rows()
        ]
        with Session(engine) as session:
            bulk_insert(session, rows, by="test", clock=SystemClock())
            session.commit()
        return len(rows)
    finally:
        engine.dispose()


def words_found(db_url: str, words: list[str]) -> dict[str, list[str]]:
    """Which of the service's tables hold any of ``words`` (any column, any row, any case)."""
    from sqlalchemy import select as sa_select
    from sqlmodel import Session

    from server.core.db import make_engine
    from server.models import ServerTable

    engine = make_engine(db_url, pool_size=1)
    found: dict[str, list[str]] = {}
    try:
        with Session(engine) as session:
            for table in ServerTable.metadata.sorted_tables:
                for row in session.execute(sa_select(table)).all():
                    text = " ".join(
                        v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                        for v in row
                    ).lower()
                    for word in words:
                        if word.lower() in text:
                            found.setdefault(word, []).append(table.name)
    finally:
        engine.dispose()
    return found
