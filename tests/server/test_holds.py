"""Legal holds (server/records/holds.py), through the admin commands as IT runs them, on
SQLite and PostgreSQL: a held case is listed with who held it and why, holding twice changes
nothing, releasing needs a hold, and each step is in the audit trail."""

from __future__ import annotations

import pytest
from sqlmodel import Session, col, select

from server.cli import main as cli_main
from server.models import AuditEntry
from server.records import holds
from tests.server.helpers import Service, new_case


def _admin(capsys: pytest.CaptureFixture[str], db_url: str, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli_main(["admin", *args, "--db", db_url])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_case_is_held_listed_released_and_audited(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    laptop = service.device("sam", "Housing")
    service.user("gina", "Records", role="governance")
    service.user("ivan", "IT", role="admin")
    case_id, case = new_case("Housing", "sam", ref="FC-2026-00411")
    laptop.push(case)
    db = service.db_url
    gina = ("--officer", "gina")
    assert _admin(capsys, db, "holds")[1].strip() == "No case is held."
    for someone in ("ivan", "sam"):  # only a governance officer may hold a case
        code, _, err = _admin(
            capsys, db, "hold", "FC-2026-00411", "--reason", "x", "--officer", someone
        )
        assert code == 1 and "only a governance officer" in err
    code, _, err = _admin(
        capsys, db, "hold", "FC-2026-00411", "--reason", "x", "--officer", "nobody"
    )
    assert code == 1 and "no user called 'nobody'" in err
    code, out, _ = _admin(
        capsys, db, "hold", "FC-2026-00411", "--reason", "Claim  pending\n", *gina
    )
    assert code == 0 and "is held" in out
    code, out, _ = _admin(capsys, db, "hold", "FC-2026-00411", "--reason", "again", *gina)
    assert code == 0 and "already held" in out
    listed = _admin(capsys, db, "holds")[1]
    assert "FC-2026-00411" in listed and "Claim pending" in listed and "gina" in listed
    with Session(service.engine) as session:
        hold = holds.held(session, case_id)
        assert hold is not None and hold.reason == "Claim pending"
    code, out, _ = _admin(capsys, db, "release", "FC-2026-00411", *gina)
    assert code == 0 and "no longer held" in out and "Claim pending" in out
    code, _, err = _admin(capsys, db, "release", "FC-2026-00411", *gina)
    assert code == 1 and "is not held" in err
    code, _, err = _admin(capsys, db, "hold", "FC-1999-00001", "--reason", "x", *gina)
    assert code == 1 and "no case with reference" in err
    code, _, err = _admin(capsys, db, "hold", "FC-2026-00411", "--reason", "   ", *gina)
    assert code == 1 and "Say why" in err
    with Session(service.engine) as session:
        events = session.exec(
            select(AuditEntry.event)
            .where(col(AuditEntry.case_id) == str(case_id))
            .where(col(AuditEntry.event).in_(["hold_placed", "hold_released"]))
        ).all()
        assert sorted(events) == ["hold_placed", "hold_released"]
        assert holds.held(session, case_id) is None
