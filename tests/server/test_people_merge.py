"""Merging two records of one person on the service, and undoing it (issue 14), on SQLite and
PostgreSQL, through the admin commands: cases and warnings move to the kept person, each team
sees the person through its own cases with every risk warning (and the holding team's name),
a laptop's change to the merged-away person reaches the kept one and never brings the other
back, and a split undoes it all."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import Session, col, select

from server.cli import main as cli_main
from server.linkage import queue
from server.linkage.find import Pair
from server.models import AuditEntry, DuplicatePair, PersonMerge, Record, SharedRecord
from sync.protocol import PROTOCOL_VERSION
from tests.server.helpers import Service, change, new_case


def _admin(capsys: pytest.CaptureFixture[str], db_url: str, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli_main(["admin", *args, "--db", db_url])
    out = capsys.readouterr()
    return code, out.out, out.err


class World:
    """North's case about Robert (a risk warning, an access warning, a note) and South's
    case about Bob (a risk warning, a note): one man, recorded twice."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.nina = service.device("nina", "North")
        self.sol = service.device("sol", "South")
        self.nina.protocol = self.sol.protocol = str(PROTOCOL_VERSION)
        service.user("gus", "Records", role="governance")
        self.robert, self.bob = uuid.uuid4(), uuid.uuid4()
        self.case_a, case_a = new_case("North", "nina", person_id=str(self.robert))
        self.case_b, case_b = new_case("South", "sol", person_id=str(self.bob))
        self.risk_a, self.access_a, self.risk_b = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        self.note_a, self.note_b = uuid.uuid4(), uuid.uuid4()
        now = datetime.now(UTC).isoformat()
        self.nina.push(
            case_a,
            change("person", self.robert, self.case_a, {"name": "Robert Smith", "phone": "1"}),
            self._warning(self.risk_a, self.case_a, self.robert, "risk", "Aggressive dog"),
            self._warning(self.access_a, self.case_a, self.robert, "access", "Key safe 1234"),
            change("note", self.note_a, self.case_a, {"text": "North's note", "written_at": now}),
        )
        self.sol.push(
            case_b,
            change("person", self.bob, self.case_b, {"name": "Bob Smith", "phone": "2"}),
            self._warning(self.risk_b, self.case_b, self.bob, "risk", "Visit in pairs"),
            change("note", self.note_b, self.case_b, {"text": "South's note", "written_at": now}),
        )
        self.nina_cursor = self.nina.pull_all()["cursor"]
        self.sol_cursor = self.sol.pull_all()["cursor"]

    @staticmethod
    def _warning(
        record_id: uuid.UUID, case_id: uuid.UUID, person: uuid.UUID, category: str, text: str
    ) -> dict[str, Any]:
        fields = {"person_id": str(person), "category": category, "text": text, "active": True}
        return change("warning", record_id, case_id, fields)

    def record(self, record_id: uuid.UUID) -> Record | None:
        with Session(self.service.engine) as session:
            return session.get(Record, record_id)

    def merge(self, capsys: pytest.CaptureFixture[str]) -> int:
        code, out, err = _admin(
            capsys,
            self.service.db_url,
            "duplicates",
            "merge",
            str(self.robert),
            str(self.bob),
            "--reason",
            "Same date of birth and address; Bob is Robert",
            "--officer",
            "gus",
        )
        assert code == 0, err
        found = re.search(r"^Merge id: (\d+)$", out, re.MULTILINE)
        assert found, out
        return int(found.group(1))


def test_a_merge_moves_cases_and_warnings_and_each_team_sees_one_person(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    world = World(service)
    merge_id = world.merge(capsys)
    # on the service: Bob's record is gone; South's case and warning name Robert
    assert world.record(world.bob) is None
    case_b, risk_b = world.record(world.case_b), world.record(world.risk_b)
    assert case_b is not None and case_b.fields["person_id"] == str(world.robert)
    assert risk_b is not None and risk_b.fields["person_id"] == str(world.robert)
    note_b = world.record(world.note_b)
    assert note_b is not None and note_b.case_id == world.case_b  # notes stay with their case
    with Session(service.engine) as session:
        merge = session.get(PersonMerge, merge_id)
        assert merge is not None and merge.merged_by == "gus" and "Bob is Robert" in merge.reason
        assert set(merge.moved) == {str(world.case_b), str(world.risk_b)}
        events = [e.event for e in session.exec(select(AuditEntry)).all()]
        assert "person_merged" in events
    # South's laptop hears of the merge, gets its case naming Robert, Robert's record and
    # North's risk warning (with North's name), never North's access warning or note
    sol = world.sol.pull_all(world.sol_cursor)
    assert sol["merged"] == [{"merged": str(world.bob), "kept": str(world.robert)}]
    records = sol["records"]
    assert records[str(world.case_b)]["fields"]["person_id"] == str(world.robert)
    assert records[str(world.robert)]["held_by"] == "North"
    assert records[str(world.risk_a)]["held_by"] == "North"
    assert records[str(world.risk_a)]["fields"]["text"] == "Aggressive dog"
    assert str(world.access_a) not in records and str(world.note_a) not in records
    assert records[str(world.risk_b)].get("held_by") is None  # South's own
    # North's laptop gets South's risk warning about the man, with South's name
    nina = world.nina.pull_all(world.nina_cursor)
    assert nina["records"][str(world.risk_b)]["held_by"] == "South"
    assert str(world.note_b) not in nina["records"] and str(world.case_b) not in nina["records"]
    # a laptop of protocol 5 is sent neither the merge nor held_by
    older = service.device("sue", "South")
    older.protocol = "5"
    raw = service.client.post(
        "/v1/sync/pull", json={"cursor": None, "max_bytes": 1_000_000}, headers=older.headers
    )
    assert raw.status_code == 200
    assert "merged_people" not in raw.json() and "held_by" not in raw.text
    assert str(world.robert) in raw.text  # the shared person still reaches its cases


def test_a_change_to_the_merged_away_person_reaches_the_kept_one(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    world = World(service)
    world.merge(capsys)
    # North renames Robert after the merge; South, offline since before it, changed Bob's
    # name and phone and added a warning about Bob
    robert = world.record(world.robert)
    assert robert is not None
    world.nina.push(
        change("person", world.robert, world.case_a, {"name": "Rob Smith"}, base=robert.version)
    )
    late = uuid.uuid4()
    results = world.sol.push(
        change(
            "person", world.bob, world.case_b, {"name": "Bobby Smith", "phone": "07700"}, base=1
        ),
        World._warning(late, world.case_b, world.bob, "risk", "Knife reported"),
    )
    assert [r["status"] for r in results] == ["conflict", "applied"], results
    robert = world.record(world.robert)
    assert robert is not None
    assert robert.fields["phone"] == "07700"  # not changed since the merge: applied
    assert robert.fields["name"] == "Rob Smith"  # changed since: kept, the other a clash
    assert [c["field"] for c in results[0]["conflicts"]] == ["name"]
    assert world.record(world.bob) is None  # never brought back
    warning = world.record(late)
    assert warning is not None and warning.fields["person_id"] == str(world.robert)
    # the new risk warning reaches North too, with South's name
    nina = world.nina.pull_all(world.nina_cursor)
    assert nina["records"][str(late)]["held_by"] == "South"


def test_a_split_undoes_the_merge(service: Service, capsys: pytest.CaptureFixture[str]) -> None:
    world = World(service)
    merge_id = world.merge(capsys)
    after_merge = world.sol.pull_all(world.sol_cursor)["cursor"]
    code, out, err = _admin(
        capsys,
        service.db_url,
        "duplicates",
        "split",
        str(merge_id),
        "--reason",
        "Different fathers and sons",
        "--officer",
        "gus",
    )
    assert code == 0, err
    assert f"Merge {merge_id} is undone" in out
    bob = world.record(world.bob)
    assert bob is not None and bob.fields["name"] == "Bob Smith" and bob.version == 2
    case_b, risk_b = world.record(world.case_b), world.record(world.risk_b)
    assert case_b is not None and case_b.fields["person_id"] == str(world.bob)
    assert risk_b is not None and risk_b.fields["person_id"] == str(world.bob)
    with Session(service.engine) as session:
        assert session.exec(select(SharedRecord)).all() == []
        pair = session.exec(select(DuplicatePair)).one()
        assert pair.state == "open" and pair.merge_id is None
    sol = world.sol.pull_all(after_merge)["records"]
    assert sol[str(world.bob)]["fields"]["name"] == "Bob Smith"
    assert sol[str(world.case_b)]["fields"]["person_id"] == str(world.bob)
    # undone once only
    code, _out, err = _admin(
        capsys, service.db_url, "duplicates", "split", str(merge_id), "--reason", "x",
        "--officer", "gus",
    )  # fmt: skip
    assert code == 1 and "undone already" in err


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["same", "same"], "two different people"),
        (["robert", "nobody"], "There is no person"),
        (["robert", "bob", "--officer", "sol"], "only a manager or a governance officer"),
        (["robert", "bob", "--officer", "max"], "not yours to make"),  # West's manager
    ],
)
def test_merges_that_cannot_be_made_are_refused_plainly(
    service: Service, capsys: pytest.CaptureFixture[str], args: list[str], said: str
) -> None:
    world = World(service)
    service.user("max", "West", role="manager")
    ids = {"robert": str(world.robert), "bob": str(world.bob), "same": str(world.robert)}
    ids["nobody"] = str(uuid.uuid4())
    people = [ids.get(arg, arg) for arg in args[:2]]
    officer = args[2:] or ["--officer", "gus"]
    code, out, err = _admin(
        capsys, service.db_url, "duplicates", "merge", *people, "--reason", "r", *officer
    )
    assert code == 1 and said in err, (out, err)
    assert "Traceback" not in err
    assert world.record(world.bob) is not None and world.record(world.robert) is not None


def test_a_manager_merges_and_splits_only_their_teams_people(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    world = World(service)
    service.user("mona", "North", role="manager")
    service.user("max", "West", role="manager")
    merge = ["duplicates", "merge", str(world.robert), str(world.bob), "--reason", "same man"]
    code, out, err = _admin(capsys, service.db_url, *merge, "--officer", "mona")
    assert code == 0, err  # Robert is about North's case
    found = re.search(r"^Merge id: (\d+)$", out, re.MULTILINE)
    assert found, out
    split = ["duplicates", "split", found.group(1), "--reason", "two men"]
    code, _out, err = _admin(capsys, service.db_url, *split, "--officer", "max")
    assert code == 1 and "not yours to make" in err, err
    assert world.record(world.bob) is None
    code, _out, err = _admin(capsys, service.db_url, *split, "--officer", "mona")
    assert code == 0, err
    assert world.record(world.bob) is not None


def test_a_merged_away_person_cannot_be_merged_again(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    world = World(service)
    merge_id = world.merge(capsys)
    other = uuid.uuid4()
    code, _out, err = _admin(
        capsys, service.db_url, "duplicates", "merge", str(other), str(world.bob), "--reason",
        "r", "--officer", "gus",
    )  # fmt: skip
    assert code == 1
    assert f"merged into {world.robert} already (merge {merge_id})" in err
    code, _out, err = _admin(
        capsys, service.db_url, "erase-person", str(world.bob), "--reason", "SAR", "--officer",
        "gus",
    )  # fmt: skip
    assert code == 1 and f"erase {world.robert}" in err


def test_find_queues_pairs_that_a_reviewer_can_set_aside(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    world = World(service)
    for person, case_id, address, born in (
        (world.robert, world.case_a, "4 Mill Lane, Dorchester, DT1 1AA", "1950-03-07"),
        (world.bob, world.case_b, "4 Mill Ln, DT1 1AA", "1950-07-03"),
    ):
        device = world.nina if case_id == world.case_a else world.sol
        device.push(
            change("person", person, case_id, {"address": address, "date_of_birth": born}, base=1)
        )
    code, out, err = _admin(capsys, service.db_url, "duplicates", "find", "--json")
    assert code == 0, err
    pairs = json.loads(out)
    assert len(pairs) == 1
    (pair,) = pairs
    assert set(pair) == {
        "person_a", "person_b", "external_ids_a", "external_ids_b", "probability", "reasons",
    }  # fmt: skip
    assert {pair["person_a"], pair["person_b"]} == {str(world.robert), str(world.bob)}
    assert 0.9 <= pair["probability"] <= 1 and pair["external_ids_a"] == []
    assert "date of birth with day and month swapped" in pair["reasons"]
    code, out, _err = _admin(capsys, service.db_url, "duplicates", "list")
    assert code == 0 and "Robert Smith" in out and "Bob Smith" in out
    code, out, err = _admin(
        capsys, service.db_url, "duplicates", "not-same", str(world.bob), str(world.robert),
        "--reason", "Father and son", "--officer", "gus",
    )  # fmt: skip
    assert code == 0, err
    code, out, _err = _admin(capsys, service.db_url, "duplicates", "find")
    assert code == 0 and "0 new to review" in out and "said before not to be" in out
    code, out, _err = _admin(capsys, service.db_url, "duplicates", "list")
    assert "No possible duplicates are waiting" in out
    with Session(service.engine) as session:
        row = session.exec(select(DuplicatePair).where(col(DuplicatePair.state) == "not_same"))
        assert row.one().decided_by == "gus"


def _queue(world: World, *pairs: tuple[uuid.UUID, uuid.UUID]) -> None:
    with Session(world.service.engine) as session:
        queue.queue(
            session,
            [
                Pair(str(a), str(b), [], [], 0.97, ["same surname", "same address"])
                for a, b in pairs
            ],
            at=datetime.now(UTC),
            by="admin",
        )
        session.commit()


def _as(service: Service, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {service.user_token(name)}"}


def test_reviewers_see_the_pairs_theirs_to_decide_and_decide_them(service: Service) -> None:
    world = World(service)
    stranger_a, stranger_b = uuid.uuid4(), uuid.uuid4()  # two people of no team's case here
    service.user("mona", "North", role="manager")
    service.user("max", "West", role="manager")
    _queue(world, (world.robert, world.bob), (stranger_a, stranger_b))
    # a caseworker may not review; an admin account never sees people
    answer = service.client.get("/v1/duplicates", headers=_as(service, "nina"))
    assert answer.status_code == 403 and "manager or a governance officer" in answer.text
    # North's manager sees the pair about North's Robert, both men whole, not the strangers'
    answer = service.client.get("/v1/duplicates", headers=_as(service, "mona"))
    assert answer.status_code == 200, answer.text
    (pair,) = answer.json()["pairs"]
    sides = {pair["a"]["name"]: pair["a"], pair["b"]["name"]: pair["b"]}
    assert set(sides) == {"Robert Smith", "Bob Smith"}
    assert sides["Bob Smith"]["teams"] == ["South"] and sides["Robert Smith"]["cases"] == 1
    assert pair["probability"] == 0.97 and "same address" in pair["reasons"]
    # the governance officer sees both pairs; a manager of another team none
    everything = service.client.get("/v1/duplicates", headers=_as(service, "gus")).json()
    assert len(everything["pairs"]) == 2
    assert service.client.get("/v1/duplicates", headers=_as(service, "max")).json()["pairs"] == []
    # a manager's decision about people not theirs is refused; about theirs it is made
    decision = {"keep": str(stranger_a), "other": str(stranger_b), "same": False, "reason": "x"}
    refused = service.client.post(
        "/v1/duplicates/decide", json=decision, headers=_as(service, "mona")
    )
    assert refused.status_code == 403 and "not yours to make" in refused.text
    decision = {
        "keep": str(world.robert), "other": str(world.bob), "same": True, "reason": "Same man",
    }  # fmt: skip
    made = service.client.post("/v1/duplicates/decide", json=decision, headers=_as(service, "mona"))
    assert made.status_code == 200, made.text
    assert made.json()["merge_id"] and "Merged" in made.json()["message"]
    assert world.record(world.bob) is None
    # merging again is refused plainly (409), not a 500
    again = service.client.post(
        "/v1/duplicates/decide", json=decision, headers=_as(service, "mona")
    )
    assert again.status_code == 409 and "already" in again.json()["message"]
    with Session(service.engine) as session:
        events = {e.event for e in session.exec(select(AuditEntry)).all()}
    assert {"duplicates_viewed", "person_merged", "access_denied"} <= events


def test_a_subject_access_request_by_a_merged_away_id_finds_the_kept_person(
    service: Service, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    world = World(service)
    world.merge(capsys)
    out_zip = tmp_path / "sar.zip"
    code, out, err = _admin(
        capsys, service.db_url, "subject-access", "--person-id", str(world.bob),
        "--out", str(out_zip), "--officer", "gus",
    )  # fmt: skip
    assert code == 0, err
    assert "Robert Smith" in out and out_zip.exists()
    import zipfile

    with zipfile.ZipFile(out_zip) as archive:
        record = archive.read("record.json").decode()
    # South's case, moved to Robert by the merge, is in Robert's record
    assert "Visit in pairs" in record and "South's note" in record


def test_a_laptop_naming_another_teams_person_is_shared_nothing(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    """A laptop makes every case with a person of its own; one whose case names a person it
    learnt the id of (shared after a merge) reads nothing of them, and its warning about them
    reaches no other team."""
    world = World(service)
    world.merge(capsys)
    wes = service.device("wes", "West")
    wes.protocol = str(PROTOCOL_VERSION)
    case_id, case = new_case("West", "wes", person_id=str(world.robert))
    planted = uuid.uuid4()
    results = wes.push(case, World._warning(planted, case_id, world.robert, "risk", "Planted"))
    assert [r["status"] for r in results] == ["applied", "applied"]
    seen = wes.pull_all()["records"]
    assert str(world.robert) not in seen and str(world.risk_a) not in seen
    assert str(planted) not in world.nina.pull_all(world.nina_cursor)["records"]
