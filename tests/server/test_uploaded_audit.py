"""Audit events pushed by laptops: checked against the case's scope like any record, their
action from the fixed list, stored as ``laptop_<action>`` (never a service event), and their
detail ids and short codes only. Nothing the service writes to its trail holds personal data."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlmodel import Session, col, select

from server.models import AuditEntry
from sync.records import AUDIT_ACTIONS, FIELDS, RecordKind, check_fields
from tests.server.helpers import Device, Service, change, new_case


def audit_event(case_id: uuid.UUID, action: str, detail: str = "", **extra: Any) -> dict[str, Any]:
    fields = {
        "actor": "sam",
        "action": action,
        "record_kind": "case",
        "record_id": str(case_id),
        "at": "2026-11-28T14:02:00+00:00",
        "detail": detail,
        **extra,
    }
    return change("audit", uuid.uuid4(), case_id, fields)


def trail(service: Service) -> list[AuditEntry]:
    with Session(service.engine) as session:
        return list(session.exec(select(AuditEntry).order_by(col(AuditEntry.id))).all())


def with_case(service: Service) -> tuple[Device, uuid.UUID]:
    laptop = service.device("sam", "Housing")
    case_id, created = new_case("Housing", "sam")
    assert laptop.push(created)[0]["status"] == "applied"
    return laptop, case_id


def test_a_forged_service_event_on_another_teams_case_is_refused_and_audited(
    service: Service,
) -> None:
    _sam, theirs = with_case(service)
    mallory = service.device("mallory", "Social care")
    before = len(trail(service))
    result = mallory.push(audit_event(theirs, "revoked"))[0]
    assert result["status"] == "rejected" and result["error"]["code"] == "forbidden"
    added = trail(service)[before:]
    assert [e.event for e in added] == ["access_denied"]
    assert added[0].actor == "mallory" and added[0].case_id == str(theirs)
    assert all(e.event != "device_revoked" for e in trail(service)[before:])


def test_a_service_event_name_cannot_be_made(service: Service) -> None:
    laptop, case_id = with_case(service)
    for action in ("device_revoked", "revoked_device_refused", "", "viewed\x00", "VIEWED"):
        result = laptop.push(audit_event(case_id, action))[0]
        assert result["status"] == "rejected", action
        assert result["error"]["code"] == "validation"
    events = {e.event for e in trail(service)}
    assert not any(e.startswith("laptop_") for e in events)


def test_an_event_for_a_case_not_on_the_service_is_not_found(service: Service) -> None:
    laptop = service.device("sam", "Housing")
    result = laptop.push(audit_event(uuid.uuid4(), "viewed"))[0]
    assert result["status"] == "rejected" and result["error"]["code"] == "not_found"


def test_every_action_is_stored_in_the_laptop_namespace(service: Service) -> None:
    laptop, case_id = with_case(service)
    results = laptop.push(*(audit_event(case_id, a, "fields: status") for a in AUDIT_ACTIONS))
    assert [r["status"] for r in results] == ["applied"] * len(AUDIT_ACTIONS)
    stored = [e for e in trail(service) if e.event.startswith("laptop_")]
    assert [e.event for e in stored] == ["laptop_" + a for a in AUDIT_ACTIONS]
    first = stored[0]
    assert first.actor == "sam" and first.device_id == laptop.device_id
    assert first.record_kind == "case" and first.record_id == str(case_id)
    assert first.detail["detail"] == "fields: status" and first.detail["uploaded"] is True


def test_an_event_with_a_new_case_in_one_batch_is_applied(service: Service) -> None:
    laptop = service.device("sam", "Housing")
    case_id, created = new_case("Housing", "sam")
    results = laptop.push(audit_event(case_id, "created"), created)
    assert [r["status"] for r in results] == ["applied", "applied"]


@pytest.mark.parametrize(
    "detail",
    [
        "Mary Smith",  # a name
        "fields: status; text: She said her son hits her",
        "x" * 301,
        "fields: status\x00",
        "email: mary@example.org",
        "phone: 07700 900123 Mary",
    ],
)
def test_personal_data_in_the_detail_is_refused(service: Service, detail: str) -> None:
    laptop, case_id = with_case(service)
    result = laptop.push(audit_event(case_id, "viewed", detail))[0]
    assert result["status"] == "rejected" and result["error"]["code"] == "validation"
    shown = json.dumps(result)
    assert detail not in shown and json.dumps(detail)[1:-1] not in shown  # no echo, escaped or not


@pytest.mark.parametrize(
    "fields",
    [
        {"record_kind": "wizard"},
        {"record_id": "not-an-id"},
        {"at": "yesterday"},
        {"detail": {"an": "object"}},
        {"password": "x"},
    ],
)
def test_other_malformed_events_are_validation(service: Service, fields: dict[str, Any]) -> None:
    laptop, case_id = with_case(service)
    result = laptop.push(audit_event(case_id, "viewed", **fields))[0]
    assert result["status"] == "rejected" and result["error"]["code"] == "validation"


def detail_problem(detail: str) -> list[object]:
    """The record schema's problems with an audit detail (one rule, laptop and service)."""
    return list(check_fields(RecordKind.AUDIT, {"detail": detail}, whole=False))


def test_the_details_the_laptop_writes_pass() -> None:
    for fields in FIELDS.values():
        for count in range(1, len(fields) + 1):
            assert detail_problem("fields: " + ", ".join(fields[:count])) == []
    # editing a case and its person at once (app/core/cases.py): every field of both
    everything = sorted(FIELDS[RecordKind.CASE]) + sorted(
        "person." + name for name in FIELDS[RecordKind.PERSON]
    )
    assert detail_problem("fields: " + ", ".join(everything)) == []
    for detail in ("", "fields: summary", "FC-2026-00042 -> FC-2026-K7Q-0001", str(uuid.uuid4())):
        assert detail_problem(detail) == [], detail


def test_the_service_never_writes_names_or_text_to_its_trail(service: Service) -> None:
    laptop, case_id = with_case(service)
    laptop.push(
        change("person", uuid.uuid4(), case_id, {"name": "Mary Quietname"}),
        change("note", uuid.uuid4(), case_id, {"text": "Secret note words", "author": "sam"}),
    )
    service.login("Mary Typedintheuserbox", "wrong")
    service.login("sam", "wrong")
    text = " ".join(f"{e.actor} {e.address} {e.record_kind} {e.detail}" for e in trail(service))
    for secret in ("Quietname", "Secret note", "Typedintheuserbox", "Damp in the bedroom"):
        assert secret not in text
    failed = [e for e in trail(service) if e.event == "login_failed"]
    assert [e.actor for e in failed] == [None, "sam"]
