"""A pull reads its page by the change log's ``seq`` index on SQLite and PostgreSQL, so the
service's cost per page does not grow with the number of records it holds.

The statements are the ones :func:`server.records.pull.pull_page` really runs (caught as they
go to the database), explained with their own parameters (SQLite: EXPLAIN QUERY PLAN;
PostgreSQL: EXPLAIN) on a real database of each kind holding enough records, in several
teams, for the planner to choose.
"""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

from server.core.db import make_engine, snapshot_session
from server.crud import Actor
from server.demo import generate_cases
from server.records.pull import make_cursor, pull_page
from server.records.seeding import bulk_insert
from sync.clock import ManualClock

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TEAMS = 4
CASES = 2400  # about 13,000 records: enough for both planners to prefer an index walk


@pytest.fixture
def seeded(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url, pool_size=1)
    rng = random.Random(5)
    clock = ManualClock(NOW)
    with Session(engine) as session:
        batch: list[Any] = []
        for number in range(CASES):
            team = number % TEAMS
            batch += generate_cases(
                rng,
                f"Team {team}",
                [f"worker{team}"],
                ("housing_repair",),
                1,
                number + 1,
                date(2026, 12, 1),
            )
        bulk_insert(session, batch, by="seed", clock=clock)
        session.commit()
    try:
        yield engine
    finally:
        engine.dispose()


def _pull_statements(engine: Engine, cursor: str | None) -> list[tuple[str, Any]]:
    """The statements one pull_page runs, with their parameters."""
    caught: list[tuple[str, Any]] = []

    def catch(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        caught.append((statement, parameters))

    actor = Actor(uuid.uuid4(), "worker0", "Team 0", "device", NOW)
    event.listen(engine, "before_cursor_execute", catch)
    try:
        with snapshot_session(engine) as session:
            page = pull_page(session, actor, cursor, 256 * 1024, clock=ManualClock(NOW))
    finally:
        event.remove(engine, "before_cursor_execute", catch)
    assert page.records and page.more  # a full page of a larger whole
    return [(s, p) for s, p in caught if " seq >" in s or ".seq >" in s]


def _plan(engine: Engine, statement: str, parameters: Any) -> str:
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(prefix + statement, parameters).all()
    return "\n".join(str(row[-1]) for row in rows)


@pytest.mark.parametrize("where", ["start", "middle"])
def test_a_pull_page_walks_the_log_by_its_seq_index(seeded: Engine, where: str) -> None:
    cursor = None if where == "start" else make_cursor(CASES * 5 // 2)
    statements = _pull_statements(seeded, cursor)
    streams = {
        name: [s for s in statements if re.search(rf"FROM \"?{name}\"?\s", s[0])]
        for name in ("record", "conflict", "scope_event")
    }
    assert all(len(found) == 1 for found in streams.values())
    (record_query,) = streams["record"]
    plan = _plan(seeded, *record_query)
    assert "ix_record_seq" in plan, plan
    assert "ix_record_case_id" not in plan, plan
    if seeded.dialect.name == "sqlite":
        assert "TEMP B-TREE" not in plan, plan
        for name in ("conflict", "scope_event"):
            other = _plan(seeded, *streams[name][0])
            assert f"ix_{name}_seq" in other and "TEMP B-TREE" not in other, other
    else:
        assert "Sort" not in plan.split("Limit", 1)[1].split("Index Scan", 1)[0], plan
