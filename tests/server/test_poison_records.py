"""The poison records of issue 10 sent through the real API of a real service (SQLite and
PostgreSQL): each is refused on its own with ``validation`` and the field, none is stored, and
afterwards the team's pull works and laptops (a synced one, and one enrolled afterwards) sync
fine."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.server.helpers import change
from tests.server.hostile import (
    RawDevice,
    assert_all_valid,
    assert_refused,
    dumps,
    note_change,
    poison_change,
    poisons,
)
from tests.support.server import add_user, enrol, running_server
from tests.sync.helpers import enrol_laptop

pytestmark = pytest.mark.slow


def test_each_poison_record_is_refused_and_the_team_still_syncs(
    db_url: str, tmp_path: Path
) -> None:
    add_user(db_url, "sam", "Housing")
    add_user(db_url, "kim", "Housing")
    add_user(db_url, "lee", "Housing")
    with running_server(db_url) as srv:
        laptop = enrol_laptop(tmp_path / "sam", srv.url, "sam")
        try:
            ref = laptop.work.create_case("housing_repair", "Ada Lovelace")
            laptop.work.add_note(ref, "First visit booked.")
            assert laptop.sync().completed
            team_case = laptop.case_id(ref)

            attacker = RawDevice(srv.url, enrol(srv.url, "kim")["token"])
            before = attacker.pull_all()
            sent = {p.name: poison_change(p, team_case) for p in poisons()}
            # one at a time (each its own request) and all in one batch with a good note
            for poison in poisons():
                answer = attacker.push(sent[poison.name])
                assert answer.status_code == 200, (poison.name, answer.text[:300])
                assert_refused(answer.json()["results"][0], poison.field)
            good = note_change(team_case, text="A good note beside the bad ones.")
            answer = attacker.push(*sent.values(), good)
            assert answer.status_code == 200, answer.text[:300]
            results = answer.json()["results"]
            for poison, result in zip(poisons(), results, strict=False):
                assert_refused(result, poison.field)
            assert results[-1]["status"] == "applied"

            after = attacker.pull_all()
            assert_all_valid(after)
            poison_ids = {c["record_id"] for c in sent.values()}
            assert not poison_ids & set(after), "a refused record was stored"
            assert set(after) - set(before) == {good["record_id"]}

            report = laptop.sync()
            assert report.completed and not report.rejected, report
            assert "A good note beside the bad ones." in {
                n.text for n in laptop.work.get_case(ref, record_view=False).notes
            }
            colleague = enrol_laptop(tmp_path / "lee", srv.url, "lee")
            try:
                assert colleague.sync().completed
                assert colleague.state() == laptop.state()
            finally:
                colleague.close()
        finally:
            laptop.close()


def test_an_update_that_breaks_a_stored_record_is_refused(db_url: str) -> None:
    """A valid case, then updates setting bad values or emptying required fields."""
    add_user(db_url, "kim", "Housing")
    with running_server(db_url) as srv:
        device = RawDevice(srv.url, enrol(srv.url, "kim")["token"])
        case_id = uuid.uuid4()
        created = change(
            "case",
            case_id,
            case_id,
            {"summary": "Damp", "ref": "FC-2026-K7Q-0001", "team": "Housing"},
        )
        assert device.push(created).json()["results"][0]["status"] == "applied"
        for fields, field in (
            ({"ref": None}, "ref"),
            ({"ref": ""}, "ref"),
            ({"person_id": "not-an-id"}, "person_id"),
            ({"status": "pwned"}, "status"),
            ({"closed_on": "2026-02-30"}, "closed_on"),
            ({"colour": "red"}, "colour"),
        ):
            result = device.push(change("case", case_id, case_id, fields, base=1)).json()
            assert_refused(result["results"][0], field)
        stored = device.pull_all()[str(case_id)]
        assert stored["version"] == 1 and stored["fields"]["ref"] == "FC-2026-K7Q-0001"


HOSTILE_BODIES = (
    b'{"changes": [{"change_id": NaN}]}',
    b'{"changes": [], "\\ud800": 1}',
    b'{"changes": [{"\\udc00\\u0000": Infinity}]}',
    b'{"cursor": "\\ud800"}',
    b'{"cursor": "c1.99999999999999999999", "max_bytes": NaN}',
    b'{"changes": [' * 5000 + b"]" * 5000 + b"}",
    b'{"changes": [], "max_bytes": 1' + b"1" * 5000 + b"}",
)


def test_hostile_json_outside_the_fields_is_a_plain_422(db_url: str) -> None:
    add_user(db_url, "kim", "Housing")
    with running_server(db_url) as srv:
        device = RawDevice(srv.url, enrol(srv.url, "kim")["token"])
        for body in HOSTILE_BODIES:
            for path in ("/v1/sync/push", "/v1/sync/pull"):
                answer = device.post(path, body)
                assert 400 <= answer.status_code < 500, (path, body[:60], answer.text[:300])
                # a cursor the service never gave out is its own refusal (start again)
                allowed = {"validation", "bad_cursor"} if path.endswith("pull") else {"validation"}
                assert answer.json()["code"] in allowed, answer.text[:300]
        assert device.pull_all() == {}
    assert dumps({"text": "\ud800"}) == b'{"text": "\\ud800"}'
