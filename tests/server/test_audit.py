"""The audit trail: hash-chained; altering or deleting a row is found and named."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlmodel import Session

from server import audit
from tests.server.helpers import Service, new_case
from tests.support.server import add_user, admin, sqlite_url


def _busy_trail(service: Service) -> int:
    laptop = service.device("sam", "Housing")
    for _ in range(3):
        laptop.push(new_case("Housing", "sam")[1])
    service.login("sam", "wrong password")
    with Session(service.engine) as session:
        report = audit.verify(session)
    assert report.ok and report.checked >= 8
    return report.checked


def test_altering_a_row_is_named(service: Service) -> None:
    _busy_trail(service)
    with Session(service.engine) as session:
        session.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE id = 4"))
        session.commit()
        report = audit.verify(session)
    assert not report.ok and report.broken_id == 4
    assert "altered" in report.reason


def test_deleting_a_middle_row_is_named(service: Service) -> None:
    _busy_trail(service)
    with Session(service.engine) as session:
        session.execute(text("DELETE FROM audit_log WHERE id = 5"))
        session.commit()
        report = audit.verify(session)
    assert not report.ok and report.broken_id == 5
    assert "missing" in report.reason


def test_deleting_the_last_row_is_named(service: Service) -> None:
    total = _busy_trail(service)
    with Session(service.engine) as session:
        session.execute(text(f"DELETE FROM audit_log WHERE id = {total}"))
        session.commit()
        report = audit.verify(session)
    assert not report.ok and report.broken_id == total


def test_rewriting_a_row_and_its_hash_breaks_the_next_link(service: Service) -> None:
    _busy_trail(service)
    with Session(service.engine) as session:
        session.execute(text("UPDATE audit_log SET hash = :h WHERE id = 3"), {"h": "f" * 64})
        session.commit()
        report = audit.verify(session)
    assert not report.ok and report.broken_id == 3


def test_verify_audit_command_names_the_row(tmp_path: Path) -> None:
    db = sqlite_url(tmp_path)
    add_user(db, "sam", "Housing")
    add_user(db, "kim", "Housing")
    ok = admin(db, "verify-audit")
    assert ok.returncode == 0 and "intact" in ok.stdout
    from server.core.db import make_engine

    engine = make_engine(db, pool_size=1)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET detail = '{}' WHERE id = 2"))
    engine.dispose()
    broken = admin(db, "verify-audit")
    assert broken.returncode != 0
    assert "row 2" in broken.stdout
