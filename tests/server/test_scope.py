"""Scope: a case entering a user's scope arrives whole; leaving it is announced; paging."""

from __future__ import annotations

import uuid

import pytest
from sqlmodel import Session

from server.models import Record
from server.records import pull
from server.records.changelog import Pending, finalize
from server.records.push import service_change
from server.records.scope import find_case_by_ref
from tests.server.helpers import Service, change, new_case


def _full_case(laptop_team: str, owner: str) -> tuple[uuid.UUID, list[dict[str, object]]]:
    case_id, case = new_case(laptop_team, owner, ref=f"FC-2026-{uuid.uuid4().int % 99999:05d}")
    person = uuid.uuid4()
    return case_id, [
        case,
        change("person", person, case_id, {"name": "Doris Evans", "address": "1 Mill Lane"}),
        change("note", uuid.uuid4(), case_id, {"text": "First visit"}),
        change("note", uuid.uuid4(), case_id, {"text": "Second visit"}),
        change("visit", uuid.uuid4(), case_id, {"title": "Home visit", "status": "planned"}),
        change(
            "warning", uuid.uuid4(), case_id, {"person_id": str(person), "text": "Dog on premises"}
        ),
        change("document", uuid.uuid4(), case_id, {"name": "letter.pdf", "size": 10}),
    ]


def _assign(service: Service, ref: str, team: str, user: str) -> None:
    """What `admin assign REF --to USER` does (the CLI itself is tested through serve)."""
    with Session(service.engine) as session:
        scope = find_case_by_ref(session, ref)
        assert scope is not None
        record = session.get(Record, scope.case_id)
        assert record is not None
        pending = Pending()
        service_change(
            session,
            record,
            {"team": team, "assigned_to": user},
            "admin",
            pending,
            clock=service.clock,
        )
        finalize(session, pending, at=service.clock.now())
        session.commit()


def test_a_case_assigned_into_a_team_reaches_a_members_pull_whole(service: Service) -> None:
    housing = service.device("sam", "Housing")
    social = service.device("kim", "Social Care")
    social_member = service.device("lee", "Social Care")
    case_id, changes = _full_case("Housing", "sam")
    assert {r["status"] for r in housing.push(*changes)} == {"applied"}
    before = social_member.pull_all()
    assert before["records"] == {}
    housing_cursor = housing.pull_all()["cursor"]
    ref = changes[0]["fields"]["ref"]  # type: ignore[index]
    _assign(service, str(ref), "Social Care", "kim")
    after = social_member.pull_all(before["cursor"])
    kinds = sorted(r["kind"] for r in after["records"].values())
    assert kinds == ["case", "document", "note", "note", "person", "visit", "warning"]
    assert after["records"][str(case_id)]["fields"]["assigned_to"] == "kim"
    assert social.pull_all()["records"][str(case_id)]["fields"]["team"] == "Social Care"
    gone = housing.pull_all(housing_cursor)
    assert gone["removed"] == [str(case_id)]
    assert not any(r["case_id"] == str(case_id) for r in gone["records"].values())


def test_reassigning_by_push_moves_the_case_and_its_later_changes(service: Service) -> None:
    housing = service.device("sam", "Housing", role="manager")
    social = service.device("kim", "Social Care")
    case_id, changes = _full_case("Housing", "sam")
    housing.push(*changes)
    cursor = social.pull_all()["cursor"]
    moved = housing.push(
        change("case", case_id, case_id, {"team": "Social Care", "assigned_to": "kim"}, base=1)
    )
    assert moved[0]["status"] == "applied"
    got = social.pull_all(cursor)
    assert len(got["records"]) == 7
    later = housing.push(change("note", uuid.uuid4(), case_id, {"text": "too late"}))
    assert later[0]["error"]["code"] == "forbidden"


def test_pages_are_bounded_by_bytes_and_lose_nothing(service: Service) -> None:
    laptop = service.device("sam", "Housing")
    case_id, case = new_case("Housing", "sam")
    notes = [change("note", uuid.uuid4(), case_id, {"text": "x" * 400}) for _ in range(60)]
    laptop.push(case, *notes)
    colleague = service.device("kim", "Housing")  # (sam's own pushes are not sent back to sam)
    small = colleague.pull_all(max_bytes=2048)
    assert small["pages"] >= 10
    assert len(small["records"]) == 61
    pages = service.client.post(
        "/v1/sync/pull", json={"max_bytes": 2048}, headers=colleague.headers
    ).json()
    assert pages["more"] is True
    assert len(pages["records"]) < 61


def test_a_bad_cursor_is_refused_as_bad_cursor(service: Service) -> None:
    laptop = service.device("sam", "Housing")
    response = service.client.post(
        "/v1/sync/pull", json={"cursor": "garbage"}, headers=laptop.headers
    )
    assert response.status_code == 422 and response.json()["code"] == "bad_cursor"


def test_reference_blocks_are_unique_across_laptops(service: Service) -> None:
    one = service.device("sam", "Housing")
    two = service.device("kim", "Housing")
    seen: set[int] = set()
    codes = set()
    for laptop in (one, two, one, two):
        response = service.client.post(
            "/v1/refs/blocks", json={"unused": 0}, headers=laptop.headers
        )
        assert response.status_code == 200, response.text
        body = response.json()
        codes.add(body["device_code"])
        (block,) = body["blocks"]
        numbers = set(range(block["start"], block["end"] + 1))
        assert len(numbers) == 100 and not numbers & seen
        seen |= numbers
    assert len(codes) == 2
    full = service.client.post("/v1/refs/blocks", json={"unused": 150}, headers=one.headers)
    assert full.json()["blocks"] == []


def test_tiny_row_windows_still_deliver_everything(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Records, conflicts and scope changes interleave; reading them a few rows at a time
    (so the row window, not the byte bound, ends each page) loses nothing."""
    one = service.device("sam", "Housing")
    two = service.device("kim", "Housing")
    elsewhere = service.device("lee", "Social Care")
    case_id, changes = _full_case("Social Care", "lee")
    elsewhere.push(*changes)
    mine, case = new_case("Housing", "sam")
    one.push(case)
    for i in range(6):
        one.push(change("case", mine, mine, {"summary": f"one {i}"}, base=1))
        two.push(change("case", mine, mine, {"summary": f"two {i}"}, base=1))
        one.push(change("note", uuid.uuid4(), mine, {"text": f"note {i}"}))
    _assign(service, str(changes[0]["fields"]["ref"]), "Housing", "kim")  # type: ignore[index]
    expected = two.pull_all(max_bytes=4 * 1024 * 1024)
    monkeypatch.setattr(pull, "MIN_PULL_ROWS", 2)
    monkeypatch.setattr(pull, "ROW_BYTES", 10**9)
    windowed = two.pull_all(max_bytes=4 * 1024 * 1024)
    assert windowed["pages"] > 5
    assert set(windowed["records"]) == set(expected["records"])
    assert len(windowed["records"]) == 7 + 1 + 6
    assert {k: v["resolved"] for k, v in windowed["conflicts"].items()} == {
        k: v["resolved"] for k, v in expected["conflicts"].items()
    }
    assert len(expected["conflicts"]) >= 6
    assert str(case_id) in {r["case_id"] for r in windowed["records"].values()}
