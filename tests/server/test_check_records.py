"""``fieldcase-server admin check-records [--quarantine]`` finds records stored before the
service checked every change (written here straight into the database) and moves them aside,
so the team's pulls and laptops sync again; ``admin problems`` lists what laptops set aside.
Real service processes and the real command line, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from server.core.db import make_engine
from server.models import AuditEntry, QuarantinedRecord, Record
from tests.server.helpers import change
from tests.server.hostile import NOW, RawDevice, assert_all_valid, note_change
from tests.support.server import add_user, admin, enrol, running_server
from tests.sync.helpers import enrol_laptop

pytestmark = pytest.mark.slow

SECRET_TEXT = "Lives at 4 Secret Lane"


def _corrupt(db_url: str, record_id: str, fields: dict[str, Any]) -> None:
    """Overwrite a stored record's fields, as a service without validation would have kept
    them."""
    engine = make_engine(db_url, pool_size=1)
    try:
        with Session(engine) as session:
            session.execute(
                update(Record)
                .where(col(Record.record_id) == uuid.UUID(record_id))
                .values(fields=fields)
            )
            session.commit()
    finally:
        engine.dispose()


def test_check_records_finds_and_quarantines_bad_records_and_the_team_syncs_again(
    db_url: str, tmp_path: Path
) -> None:
    for user in ("sam", "kim", "lee"):
        add_user(db_url, user, "Housing")
    with running_server(db_url) as srv:
        sam = enrol_laptop(tmp_path / "sam", srv.url, "sam")
        try:
            ref = sam.work.create_case("housing_repair", "Ada Lovelace")
            assert sam.sync().completed
            team_case = sam.case_id(ref)
            kim = RawDevice(srv.url, enrol(srv.url, "kim")["token"])
            note = note_change(team_case, text="A fine note")
            other_id = uuid.uuid4()
            other = change("case", other_id, other_id, {"team": "Housing"})
            results = kim.push(note, other).json()["results"]
            assert [r["status"] for r in results] == ["applied", "applied"]
            assert admin(db_url, "check-records").returncode == 0

            # stored before validation existed: a lone surrogate and no author; a bad status
            _corrupt(
                db_url, note["record_id"], {"text": SECRET_TEXT + " \ud800", "written_at": NOW}
            )
            bad_case = {**other["fields"], "status": "pwned", "priority": 42}
            _corrupt(db_url, other["record_id"], bad_case)

            # before IT acts: pulls still answer (the surrogate does not make a 500) and a
            # laptop sets the bad records aside and finishes its sync
            before = kim.pull_all()
            assert note["record_id"] in before
            stuck = enrol_laptop(tmp_path / "early", srv.url, "lee")  # enrolling syncs
            try:
                assert stuck.store.set_aside_count() == 2
                assert stuck.sync().completed
            finally:
                stuck.close()

            found = admin(db_url, "check-records")
            assert found.returncode == 3, found.stdout + found.stderr
            assert "2 stored records fail the record schema" in found.stdout
            assert f"note  {note['record_id']}  case {ref}  text:" in found.stdout
            assert f"note  {note['record_id']}  case {ref}  author: is required" in found.stdout
            assert f"case  {other_id}  case {other['fields']['ref']}  status:" in found.stdout
            assert "priority: must be one of low, normal, high, urgent" in found.stdout
            assert "--quarantine" in found.stdout
            assert SECRET_TEXT not in found.stdout + found.stderr

            moved = admin(db_url, "check-records", "--quarantine")
            assert moved.returncode == 3, moved.stdout + moved.stderr
            assert "Moved 2 records aside" in moved.stdout
            assert admin(db_url, "check-records").returncode == 0

            records = kim.pull_all()
            assert_all_valid(records)
            assert note["record_id"] not in records and str(other_id) not in records
            assert sam.sync().completed
            lee = enrol_laptop(tmp_path / "lee", srv.url, "lee")
            try:
                assert lee.sync().completed
                assert lee.state() == sam.state()
            finally:
                lee.close()
            kim.close()
        finally:
            sam.close()

    engine = make_engine(db_url, pool_size=1)
    try:
        with Session(engine) as session:
            kept = {row.record_id: row for row in session.exec(select(QuarantinedRecord))}
            assert set(kept) == {uuid.UUID(note["record_id"]), other_id}
            problems = kept[other_id].problems
            assert {p["field"] for p in problems} == {"status", "priority"}
            assert kept[other_id].fields["status"] == "pwned"  # kept as it was, for IT
            events = session.exec(
                select(AuditEntry).where(col(AuditEntry.event) == "record_quarantined")
            ).all()
            assert {e.record_id for e in events} == {note["record_id"], str(other_id)}
            assert all(SECRET_TEXT not in str(e.detail) for e in events)
    finally:
        engine.dispose()
    assert admin(db_url, "verify-audit").returncode == 0


def test_problems_lists_what_laptops_set_aside(db_url: str) -> None:
    add_user(db_url, "kim", "Housing")
    assert "No laptop has reported" in admin(db_url, "problems").stdout
    with running_server(db_url) as srv:
        enrolled = enrol(srv.url, "kim")
        kim = RawDevice(srv.url, enrolled["token"])
        case_id = uuid.uuid4()
        case = change("case", case_id, case_id, {"team": "Housing"})
        missing = uuid.uuid4()
        set_aside = change(
            "audit",
            uuid.uuid4(),
            case_id,
            {
                "actor": "kim",
                "action": "set_aside",
                "record_kind": "note",
                "record_id": str(missing),
                "at": NOW,
                "detail": "not_storable",
            },
            complete=False,
        )
        results = kim.push(case, set_aside).json()["results"]
        assert [r["status"] for r in results] == ["applied", "applied"], results
        kim.close()
    listed = admin(db_url, "problems")
    assert listed.returncode == 0, listed.stderr
    lines = [line for line in listed.stdout.splitlines() if str(missing) in line]
    assert len(lines) == 1, listed.stdout
    for part in ("kim", "note", str(case_id), "not_storable"):
        assert part in lines[0], (part, lines[0])
    assert enrolled["device_id"] in lines[0]
