"""Two edges of a pull, on SQLite and PostgreSQL: a record the service completed (a new case
sent without its team) goes back to the laptop that pushed it, and a conflict stored before
the service checked every change (a lone surrogate in a value) is sent as its JSON escape
instead of failing every pull of the team."""

from __future__ import annotations

import json
import uuid

from sqlmodel import Session, col, select

from server.models import Conflict
from tests.server.helpers import Device, Service, change, new_case


def _cursor_after_something(service: Service, device_name: str) -> tuple[Device, str]:
    laptop = service.device(device_name, "Housing")
    _, first = new_case("Housing", device_name)
    assert laptop.push(first)[0]["status"] == "applied"
    return laptop, laptop.pull_all()["cursor"]


def test_a_case_the_service_completed_comes_back_to_its_laptop(service: Service) -> None:
    laptop, cursor = _cursor_after_something(service, "sam")
    # with its team: the laptop holds exactly what the service stored, so it is not sent back
    kept_id, kept = new_case("Housing", "sam")
    # without its team: the service adds it, so the laptop must hear of it
    added_id, added = new_case("Housing", "sam")
    del added["fields"]["team"]
    assert [r["status"] for r in laptop.push(kept, added)] == ["applied", "applied"]
    pulled = laptop.pull_all(cursor)["records"]
    assert str(added_id) in pulled and pulled[str(added_id)]["fields"]["team"] == "Housing"
    assert str(kept_id) not in pulled


def test_a_legacy_conflict_with_a_lone_surrogate_does_not_stop_the_pull(service: Service) -> None:
    laptop, _ = _cursor_after_something(service, "sam")
    other = service.device("kim", "Housing")
    case_id, case = new_case("Housing", "sam")
    laptop.push(case)
    one = change("case", case_id, case_id, {"summary": "Sam's words"}, base=1)
    two = change("case", case_id, case_id, {"summary": "Kim's words"}, base=1)
    laptop.push(one)
    other.push(two)
    with Session(service.engine) as session:  # as a service before the checks kept it
        row = session.exec(select(Conflict).where(col(Conflict.record_id) == case_id)).one()
        row.kept_value = "Sam's words \ud800"
        session.add(row)
        session.commit()
    answer = service.client.post(
        "/v1/sync/pull", json={"cursor": None, "max_bytes": 262144}, headers=other.headers
    )
    assert answer.status_code == 200, answer.text
    page = json.loads(answer.content)  # the laptop's reader takes the escape (sync.transport)
    (conflict,) = [c for c in page["conflicts"] if c["record_id"] == str(case_id)]
    assert conflict["kept_value"] == "Sam's words \ud800"  # sent as its escape, read back
    assert uuid.UUID(conflict["conflict_id"])
