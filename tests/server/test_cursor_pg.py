"""Cursor correctness on PostgreSQL, deterministically: a writer whose transaction is still open
while a later one commits is still delivered after the reader has moved past the later one."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlmodel import Session

from server import crud
from server.records.changelog import Pending, finalize
from server.records.push import apply_change
from sync.protocol import Change
from tests.server.helpers import Service, change, new_case, service_settings

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_service(pg_url: str) -> Iterator[Service]:
    svc = Service(service_settings(pg_url))
    try:
        yield svc
    finally:
        svc.close()


def _note(case_id: uuid.UUID, text_: str) -> dict[str, object]:
    return change("note", uuid.uuid4(), case_id, {"text": text_})


def test_open_writer_committing_after_a_later_one_is_not_skipped(pg_service: Service) -> None:
    svc = pg_service
    writer = svc.device("sam", "Housing")
    reader = svc.device("kim", "Housing")
    case_id, case = new_case("Housing", "sam")
    writer.push(case)
    start = reader.pull_all()["cursor"]

    first = _note(case_id, "first, committed last")
    session_a = Session(svc.engine, expire_on_commit=False)
    actor_a = crud.authenticate_token(session_a, writer.token, clock=svc.clock)
    pending = Pending()
    result = apply_change(
        session_a, actor_a, Change.model_validate(first), pending, clock=svc.clock
    )
    assert result.status == "applied"
    session_a.flush()  # its rows are written, its transaction still open

    second = _note(case_id, "second, committed first")
    assert writer.push(second)[0]["status"] == "applied"

    middle = reader.pull_all(start)
    assert set(middle["records"]) == {second["record_id"]}

    finalize(session_a, pending, at=svc.clock.now())
    session_a.commit()
    session_a.close()

    late = reader.pull_all(middle["cursor"])
    assert set(late["records"]) == {first["record_id"]}


def _wait_for_lock_waiter(svc: Service, deadline_s: float = 20.0) -> None:
    deadline = time.monotonic() + deadline_s
    with svc.engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            ).scalar_one()
            conn.commit()
            if waiting:
                return
            time.sleep(0.02)  # polling another backend's state, bounded by the deadline
    raise AssertionError("the second writer never waited for the first")


def test_a_writer_holding_positions_makes_later_writers_commit_after_it(
    pg_service: Service,
) -> None:
    svc = pg_service
    writer = svc.device("sam", "Housing")
    reader = svc.device("kim", "Housing")
    case_id, case = new_case("Housing", "sam")
    writer.push(case)
    start = reader.pull_all()["cursor"]

    first = _note(case_id, "took its position first")
    session_a = Session(svc.engine, expire_on_commit=False)
    actor_a = crud.authenticate_token(session_a, writer.token, clock=svc.clock)
    pending = Pending()
    apply_change(session_a, actor_a, Change.model_validate(first), pending, clock=svc.clock)
    finalize(
        session_a, pending, at=svc.clock.now()
    )  # position taken, counter row locked, not committed

    second = _note(case_id, "must wait")
    outcome: dict[str, object] = {}
    thread = threading.Thread(target=lambda: outcome.update(r=writer.push(second)))
    thread.start()
    try:
        _wait_for_lock_waiter(svc)
        middle = reader.pull_all(start)
        assert middle["records"] == {}
        assert middle["cursor"] == start
    finally:
        session_a.commit()
        session_a.close()
        thread.join(timeout=30)
    assert outcome["r"][0]["status"] == "applied"  # type: ignore[index]
    late = reader.pull_all(start)
    assert set(late["records"]) == {first["record_id"], second["record_id"]}
