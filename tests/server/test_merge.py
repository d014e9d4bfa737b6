"""Idempotency and per-field merge through the API (both databases), and the pure rules."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from server.records.merge import MergeRefused, Stamp, merge_change
from sync.protocol import PROTOCOL_VERSION
from sync.records import RecordKind
from tests.server.helpers import Service, change, new_case


def test_replayed_push_is_a_duplicate_with_the_original_version(service: Service) -> None:
    laptop = service.device("sam", "Housing")
    case_id, case = new_case("Housing", "sam")
    first = laptop.push(case)
    edit = change("case", case_id, case_id, {"status": "in_progress"}, base=1)
    applied = laptop.push(edit)
    assert applied[0]["status"] == "applied" and applied[0]["version"] == 2
    replay = laptop.push(case, edit)
    assert [r["status"] for r in replay] == ["duplicate", "duplicate"]
    assert [r["version"] for r in replay] == [first[0]["version"], 2]
    records = laptop.pull_all()["records"]
    assert records[str(case_id)]["version"] == 2


def test_edits_to_different_fields_merge(service: Service) -> None:
    one = service.device("sam", "Housing")
    two = service.device("kim", "Housing")
    case_id, case = new_case("Housing", "sam")
    one.push(case)
    r1 = one.push(change("case", case_id, case_id, {"status": "waiting"}, base=1))
    r2 = two.push(change("case", case_id, case_id, {"priority": "urgent"}, base=1))
    assert r1[0]["status"] == "applied" and r2[0]["status"] == "applied"
    fields = two.pull_all()["records"][str(case_id)]["fields"]
    assert (fields["status"], fields["priority"]) == ("waiting", "urgent")


def test_same_field_keeps_the_first_and_stores_a_conflict(service: Service) -> None:
    one = service.device("sam", "Housing")
    two = service.device("kim", "Housing")
    case_id, case = new_case("Housing", "sam")
    one.push(case)
    one.push(change("case", case_id, case_id, {"summary": "Roof leak"}, base=1))
    result = two.push(change("case", case_id, case_id, {"summary": "Broken boiler"}, base=1))[0]
    assert result["status"] == "conflict"
    (info,) = result["conflicts"]
    assert (info["kept_value"], info["kept_by"]) == ("Roof leak", "sam")
    assert (info["other_value"], info["other_by"]) == ("Broken boiler", "kim")
    for laptop in (one, two):  # visible to both sides
        pulled = laptop.pull_all()
        assert pulled["records"][str(case_id)]["fields"]["summary"] == "Roof leak"
        conflict = pulled["conflicts"][info["conflict_id"]]
        assert conflict["other_value"] == "Broken boiler" and conflict["resolved"] is False
    cursor = one.pull_all()["cursor"]
    version = one.pull_all()["records"][str(case_id)]["version"]
    settle = change(
        "case",
        case_id,
        case_id,
        {"summary": "Broken boiler"},
        base=version,
        resolves=[info["conflict_id"]],
    )
    assert two.push(settle)[0]["status"] == "applied"
    later = one.pull_all(cursor)
    assert later["conflicts"][info["conflict_id"]]["resolved"] is True
    assert later["conflicts"][info["conflict_id"]]["resolved_value"] == "Broken boiler"
    assert later["records"][str(case_id)]["fields"]["summary"] == "Broken boiler"


def _clash(service: Service) -> tuple[Any, Any, uuid.UUID, dict[str, Any]]:
    """Two laptops (sam's value kept, kim's not) and their clash on a case's summary."""
    one = service.device("sam", "Housing")
    two = service.device("kim", "Housing")
    case_id, case = new_case("Housing", "sam")
    one.push(case)
    one.push(change("case", case_id, case_id, {"summary": "Roof leak"}, base=1))
    result = two.push(change("case", case_id, case_id, {"summary": "Broken boiler"}, base=1))[0]
    (info,) = result["conflicts"]
    return one, two, case_id, info


def test_the_first_decision_settles_a_clash_for_everyone(service: Service) -> None:
    """Both people choose, each their own version: the first decision stands, the second is
    not applied to the field (no fresh clash) and its answer says who chose what."""
    one, two, case_id, info = _clash(service)
    one.protocol = two.protocol = str(PROTOCOL_VERSION)
    version = one.pull_all()["records"][str(case_id)]["version"]
    mine = change(
        "case",
        case_id,
        case_id,
        {"summary": "Roof leak"},
        base=version,
        resolves=[info["conflict_id"]],
    )
    assert one.push(mine)[0]["status"] == "applied"
    theirs = change(
        "case",
        case_id,
        case_id,
        {"summary": "Broken boiler", "priority": "urgent"},
        base=version,
        resolves=[info["conflict_id"]],
    )
    (second,) = two.push(theirs)
    assert second["status"] == "applied" and second["conflicts"] == []
    (settled,) = second["settled"]
    assert settled["conflict_id"] == info["conflict_id"]
    assert (settled["resolved_by"], settled["resolved_value"]) == ("sam", "Roof leak")
    assert settled["resolved_at"] is not None
    assert second["fields_now"] == {"summary": "Roof leak"}
    pulled = two.pull_all()
    fields = pulled["records"][str(case_id)]["fields"]
    assert fields["summary"] == "Roof leak"  # the first decision stands
    assert fields["priority"] == "urgent"  # the rest of the change applied as usual
    assert [c for c in pulled["conflicts"].values() if not c["resolved"]] == []
    assert pulled["conflicts"][info["conflict_id"]]["resolved_by"] == "sam"


def test_same_value_on_both_sides_is_no_conflict(service: Service) -> None:
    one = service.device("sam", "Housing")
    two = service.device("kim", "Housing")
    case_id, case = new_case("Housing", "sam")
    one.push(case)
    one.push(change("case", case_id, case_id, {"status": "closed"}, base=1))
    result = two.push(change("case", case_id, case_id, {"status": "closed"}, base=1))[0]
    assert result["status"] == "applied" and result["conflicts"] == []


def test_one_laptops_successive_offline_edits_do_not_clash(service: Service) -> None:
    one = service.device("sam", "Housing")
    case_id, case = new_case("Housing", "sam")
    one.push(case)
    first = change("case", case_id, case_id, {"summary": "A"}, base=1)
    second = change("case", case_id, case_id, {"summary": "B"}, base=1)
    results = one.push(first, second)
    assert [r["status"] for r in results] == ["applied", "applied"]
    assert one.pull_all()["records"][str(case_id)]["fields"]["summary"] == "B"


def test_notes_from_two_laptops_are_both_kept_and_never_edited(service: Service) -> None:
    one = service.device("sam", "Housing")
    two = service.device("kim", "Housing")
    case_id, case = new_case("Housing", "sam")
    one.push(case)
    n1, n2 = uuid.uuid4(), uuid.uuid4()
    assert one.push(change("note", n1, case_id, {"text": "Sam's visit"}))[0]["status"] == "applied"
    assert two.push(change("note", n2, case_id, {"text": "Kim's call"}))[0]["status"] == "applied"
    records = one.pull_all()["records"]
    assert records[str(n1)]["fields"]["text"] == "Sam's visit"
    assert records[str(n2)]["fields"]["text"] == "Kim's call"
    edit = two.push(change("note", n1, case_id, {"text": "rewritten"}, base=1))[0]
    assert edit["status"] == "rejected" and edit["error"]["code"] == "conflict"


def test_bad_changes_are_rejected_one_by_one(service: Service) -> None:
    one = service.device("sam", "Housing")
    case_id, case = new_case("Housing", "sam")
    good_note = change("note", uuid.uuid4(), case_id, {"text": "ok"})
    unknown_field = change("note", uuid.uuid4(), case_id, {"colour": "red"})
    orphan = change("note", uuid.uuid4(), uuid.uuid4(), {"text": "no case"})
    results = one.push(good_note, unknown_field, case, orphan)
    assert [r["status"] for r in results] == ["applied", "rejected", "applied", "rejected"]
    assert results[1]["error"]["code"] == "validation"
    assert results[3]["error"]["code"] == "not_found"


def test_device_audit_events_are_appended_to_the_trail(service: Service) -> None:
    one = service.device("sam", "Housing")
    case_id, case = new_case("Housing", "sam")
    one.push(case)
    event = change(
        "audit",
        uuid.uuid4(),
        case_id,
        {"action": "viewed", "record_kind": "case", "record_id": str(case_id), "actor": "sam"},
    )
    assert one.push(event)[0]["status"] == "applied"
    assert one.push(event)[0]["status"] == "duplicate"
    from sqlmodel import Session, select

    from server.models import AuditEntry

    with Session(service.engine) as session:
        rows = session.exec(select(AuditEntry).where(AuditEntry.event == "laptop_viewed")).all()
    assert len(rows) == 1 and rows[0].record_id == str(case_id)


# ------------------------------------------------------------------------- pure rules

STAMP = Stamp(version=3, device="dev-a", user="sam", at="2026-01-01T00:00:00+00:00")


def test_pure_merge_rules() -> None:
    current = {"status": "open", "summary": "x"}
    stamps = {"status": STAMP, "summary": STAMP}
    seen = merge_change(RecordKind.CASE, True, current, stamps, 3, {"status": "closed"}, "dev-b")
    assert seen.applied == {"status": "closed"} and not seen.clashes
    stale = merge_change(RecordKind.CASE, True, current, stamps, 2, {"status": "closed"}, "dev-b")
    assert stale.applied == {} and stale.clashes[0].kept_value == "open"
    own = merge_change(RecordKind.CASE, True, current, stamps, 2, {"status": "closed"}, "dev-a")
    assert own.applied == {"status": "closed"}
    same = merge_change(RecordKind.CASE, True, current, stamps, 2, {"status": "open"}, "dev-b")
    assert same.applied == {} and same.clashes == []
    settle = merge_change(
        RecordKind.CASE, True, current, stamps, 2, {"status": "closed"}, "dev-b", {"status"}
    )
    assert settle.applied == {"status": "closed"}
    with pytest.raises(MergeRefused):
        merge_change(RecordKind.NOTE, True, {"text": "a"}, {}, 1, {"text": "b"}, "dev-a")
    with pytest.raises(MergeRefused):
        merge_change(RecordKind.CASE, False, {}, {}, 0, {"nope": 1}, "dev-a")


def test_a_laptop_before_protocol_4_is_answered_without_what_it_does_not_know(
    service: Service,
) -> None:
    """Protocol 4 added a result's ``settled`` and ``fields_now`` and a conflict's
    ``resolved_at``: a version 3 laptop (whose models forbid unknown fields) gets neither, in
    a push's answer or a pull; the first decision still stands for it."""
    one, two, case_id, info = _clash(service)
    one.protocol, two.protocol = str(PROTOCOL_VERSION), "3"
    version = one.pull_all()["records"][str(case_id)]["version"]
    settle = {"resolves": [info["conflict_id"]], "base": version}
    one.push(change("case", case_id, case_id, {"summary": "Roof leak"}, **settle))
    (second,) = two.push(change("case", case_id, case_id, {"summary": "Broken boiler"}, **settle))
    assert second["status"] == "applied"
    assert "settled" not in second and "fields_now" not in second
    conflict = two.pull_all()["conflicts"][info["conflict_id"]]
    assert conflict["resolved"] is True and "resolved_at" not in conflict
    assert "resolved_at" in one.pull_all()["conflicts"][info["conflict_id"]]
