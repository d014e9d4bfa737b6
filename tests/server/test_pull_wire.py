"""Each record's wire JSON is stored when it is written, and pulls send those bytes without
reading (decoding) the stored fields; the stored JSON never goes stale, whoever changes the
row, and a legacy record that UTF-8 cannot carry still travels as its JSON escape. On SQLite
and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import event, update
from sqlmodel import Session, col, select

from server.core.db import snapshot_session
from server.crud import Actor
from server.models import Record
from server.records.pull import pull_page
from server.records.wire import fields_fingerprint, record_json
from tests.server.helpers import Service, change, new_case

#: The field names the stored wire JSON holds (sync.records.FIELDS). When they change, add a
#: migration that sets record.wire to NULL (rows then get new JSON as they are written).
FINGERPRINT = "dbfaf7ffa78b5517"


def test_the_stored_json_follows_the_record_schema_s_fields() -> None:
    assert fields_fingerprint() == FINGERPRINT, (
        "sync.records.FIELDS changed: add a service migration that sets record.wire to NULL, "
        "then update FINGERPRINT"
    )


def _rows(service: Service) -> dict[str, Record]:
    with Session(service.engine) as session:
        return {str(r.record_id): r for r in session.exec(select(Record)).all()}


def _case(service: Service) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    device = service.device("sam", "Housing")
    case_id, case = new_case("Housing", "sam")
    note = change("note", uuid.uuid4(), case_id, {"text": "Dog is friendly — café at 5"})
    assert [r["status"] for r in device.push(case, note)] == ["applied", "applied"]
    return device, case, note


def _edit(case: dict[str, Any], **fields: Any) -> dict[str, Any]:
    case_id = uuid.UUID(case["record_id"])
    edit = change("case", case_id, case_id, fields)
    edit["base_version"] = 1
    return edit


def test_a_written_record_keeps_its_wire_json_and_a_pull_sends_it(service: Service) -> None:
    device, case, _note = _case(service)
    assert device.push(_edit(case, summary="Damp — and mould"))[0]["status"] == "applied"
    rows = _rows(service)
    assert len(rows) == 2
    for row in rows.values():
        assert row.wire == record_json(row).encode("utf-8")
    pulled = device.pull_all()["records"]
    assert pulled == {key: json.loads(row.wire or b"") for key, row in rows.items()}
    assert pulled[case["record_id"]]["fields"]["summary"] == "Damp — and mould"
    assert pulled[case["record_id"]]["version"] == 2


def test_a_pull_does_not_read_the_stored_fields(service: Service) -> None:
    device, _made, _note = _case(service)
    statements: list[str] = []

    def catch(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        statements.append(statement)

    event.listen(service.engine, "before_cursor_execute", catch)
    try:
        assert len(device.pull_all()["records"]) == 2
    finally:
        event.remove(service.engine, "before_cursor_execute", catch)
    reads = [s for s in statements if "FROM record" in s]
    assert reads and not any("record.fields" in s for s in reads), reads


def test_a_row_changed_without_its_json_is_sent_as_it_now_is(service: Service) -> None:
    """IT (or an old writer) changes a row by hand: the trigger clears the stored JSON and
    the pull makes it from the row."""
    device, _made, note = _case(service)
    record_id = uuid.UUID(note["record_id"])
    with Session(service.engine) as session:
        session.execute(
            update(Record)
            .where(col(Record.record_id) == record_id)
            .values(fields={**note["fields"], "text": "changed by hand"})
        )
        session.commit()
    row = _rows(service)[note["record_id"]]
    assert row.wire is None
    pulled = device.pull_all()["records"][note["record_id"]]
    assert pulled == json.loads(record_json(row))
    assert pulled["fields"]["text"] == "changed by hand"


def test_a_legacy_lone_surrogate_is_sent_as_its_escape_and_an_edit_still_applies(
    service: Service,
) -> None:
    device, case, _note = _case(service)
    with Session(service.engine) as session:
        session.execute(
            update(Record)
            .where(col(Record.record_id) == uuid.UUID(case["record_id"]))
            .values(fields={**case["fields"], "summary": "before \ud800 after"})
        )
        session.commit()
    # an edit of another field of that record: written without stored JSON, no 500
    assert device.push(_edit(case, priority="high"))[0]["status"] == "applied"
    assert _rows(service)[case["record_id"]].wire is None
    actor = Actor(uuid.uuid4(), "sam", "Housing", "device", service.clock.now())
    with snapshot_session(service.engine) as session:
        body = pull_page(session, actor, None, 256 * 1024, clock=service.clock).to_bytes()
    assert b"before \\ud800 after" in body
    (pulled,) = [r for r in json.loads(body)["records"] if r["record_id"] == case["record_id"]]
    assert pulled["fields"]["summary"] == "before \ud800 after"
    assert pulled["fields"]["priority"] == "high" and pulled["version"] == 2
