"""Team moves (server/records/moves.py), on SQLite and PostgreSQL: a user moved to another
team gets the new team's cases whole and loses the old team's at their next pull (not the
cases assigned to them), can still send the work their laptop had waiting on the old team's
cases until it has pulled past the move, and not after; colleagues see no change."""

from __future__ import annotations

import uuid

import pytest
from sqlmodel import Session, col, select

from server.cli import main as cli_main
from server.models import AuditEntry, MoveGrace
from sync.protocol import PROTOCOL_VERSION
from tests.server.helpers import Service, change, new_case


def _admin(capsys: pytest.CaptureFixture[str], db_url: str, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli_main(["admin", *args, "--db", db_url])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_moved_user_gets_the_new_scope_and_sends_waiting_work_first(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    sam = service.device("sam", "Housing")
    sam.protocol = str(PROTOCOL_VERSION)
    hal = service.device("hal", "Housing")
    ann = service.device("ann", "Adults")
    housing_id, housing = new_case("Housing", "hal")
    mine_id, mine = new_case("Housing", "sam")  # assigned to sam: stays with them
    adults_id, adults = new_case("Adults", "ann")
    hal.push(housing)
    sam.push(mine)
    ann.push(adults, change("note", uuid.uuid4(), adults_id, {"text": "an older note"}))
    cursors = {d.username: d.pull_all()["cursor"] for d in (sam, hal, ann)}

    db = service.db_url
    code, _, err = _admin(capsys, db, "move-user", "sam", "--team", "Nowhere")
    assert code == 1 and "no team called 'Nowhere'" in err
    code, out, err = _admin(capsys, db, "move-user", "sam", "--team", "Adults")
    assert code == 0, err
    assert "moved from Housing to Adults" in out and "2 cases change" in out
    code, out, _ = _admin(capsys, db, "move-user", "sam", "--team", "Adults")
    assert code == 0 and "nothing changed" in out

    # work typed on the laptop before the move still goes (it pushes before it pulls)
    (sent,) = sam.push(change("note", uuid.uuid4(), housing_id, {"text": "written before"}))
    assert sent["status"] == "applied", sent
    pulled = sam.pull_all(cursors["sam"])
    assert pulled["removed"] == [str(housing_id)]
    kinds = sorted(r["kind"] for r in pulled["records"].values())
    assert kinds == ["case", "note"] and str(adults_id) in {
        r["case_id"] for r in pulled["records"].values()
    }
    assert str(mine_id) not in pulled["removed"]
    with Session(service.engine) as session:
        assert session.exec(select(MoveGrace)).all() == []  # pulled past the move
        moved = session.exec(select(AuditEntry).where(col(AuditEntry.event) == "user_moved")).one()
        assert moved.detail["from"] == "Housing" and moved.detail["to"] == "Adults"
    # after that, the old team's cases are closed to them
    (late,) = sam.push(change("note", uuid.uuid4(), housing_id, {"text": "written after"}))
    assert late["status"] == "rejected" and late["error"]["code"] == "forbidden"
    (fine,) = sam.push(change("note", uuid.uuid4(), adults_id, {"text": "now in Adults"}))
    assert fine["status"] == "applied"
    # colleagues on either side hear nothing of it but the notes
    for colleague in (hal, ann):
        got = colleague.pull_all(cursors[colleague.username])
        assert got["removed"] == [] and all(r["kind"] == "note" for r in got["records"].values())
