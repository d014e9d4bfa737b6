"""Erasure on the service (server/records/erasure.py), through the admin commands as a
governance officer runs them, on SQLite and PostgreSQL: a case and a person erased leave no
personal data in any table (a canary in every field of every kind, and in a document's
content), laptops are told, and a change to an erased case never brings it back."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from typing import Any

import pytest
from sqlmodel import Session, col, select

from server.cli import main as cli_main
from server.models import AuditEntry, ErasedCase, Record
from sync.protocol import PROTOCOL_VERSION
from tests.server.helpers import Device, Service, change, new_case, viewed
from tests.sync import service_rows


def _admin(capsys: pytest.CaptureFixture[str], db_url: str, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli_main(["admin", *args, "--db", db_url])
    out = capsys.readouterr()
    return code, out.out, out.err


def _canary(label: str) -> str:
    return f"zqcanary{label}{secrets.token_hex(5)}"


def canary_hits(service: Service, words: list[str]) -> dict[str, list[str]]:
    """Which service tables hold any of ``words`` (in any column, any row)."""
    return service_rows.words_found(service.db_url, words)


def _full_case(
    laptop: Device, team: str, user: str
) -> tuple[uuid.UUID, dict[str, Any], dict[str, Any]]:
    """A case with a record of every kind, a canary in every text field; returns the case id,
    the change that made the case and the canaries by field."""
    person_id = uuid.uuid4()
    words = {
        name: _canary(name)
        for name in ("summary", "name", "address", "phone", "lang", "access", "warn", "note")
    }
    words |= {"visit": _canary("visit"), "place": _canary("place"), "doc": _canary("doc")}
    words |= {"content": _canary("content")}
    case_id, case = new_case(team, user, summary=words["summary"], person_id=str(person_id))
    content = f"scan of {words['content']}".encode()
    document_id = uuid.uuid4()
    results = laptop.push(
        case,
        change(
            "person",
            person_id,
            case_id,
            {
                "name": words["name"],
                "address": words["address"],
                "phone": words["phone"],
                "language": words["lang"],
                "access_needs": words["access"],
            },
        ),
        change(
            "warning",
            uuid.uuid4(),
            case_id,
            {"person_id": str(person_id), "text": words["warn"]},
        ),
        change("note", uuid.uuid4(), case_id, {"text": words["note"]}),
        change("visit", uuid.uuid4(), case_id, {"title": words["visit"], "place": words["place"]}),
        change(
            "document",
            document_id,
            case_id,
            {
                "name": words["doc"],
                "size": len(content),
                "sha256": hashlib.sha256(content).hexdigest(),
                "mime": "text/plain",
            },
        ),
    )
    assert all(r["status"] == "applied" for r in results), results
    put = laptop.svc.client.put(
        f"/v1/documents/{document_id}/content",
        content=content,
        headers={
            **laptop.headers,
            "X-Upload-Offset": "0",
            "X-Total-Size": str(len(content)),
            "X-Sha256": hashlib.sha256(content).hexdigest(),
        },
    )
    assert put.status_code == 200, put.text
    return case_id, case, words


def test_an_erased_case_leaves_nothing_and_never_comes_back(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    sam = service.device("sam", "Housing")
    sam.protocol = str(PROTOCOL_VERSION)
    tom = service.device("tom", "Housing")
    tom.protocol = str(PROTOCOL_VERSION)
    old = service.device("olga", "Housing")  # a laptop of protocol 1
    service.user("gina", "Records", role="governance")
    service.user("mona", "Housing", role="manager")
    case_id, made, words = _full_case(sam, "Housing", "sam")
    ref = made["fields"]["ref"]
    kept_id, kept = new_case("Housing", "sam")
    sam.push(kept)
    # a clash on the case, kept for a person to settle
    base = 1
    sam.push(change("case", case_id, case_id, {"priority": "high"}, base=base))
    tom.push(change("case", case_id, case_id, {"priority": "low"}, base=base))
    cursors = {who.username: who.pull_all()["cursor"] for who in (sam, tom, old)}
    db = service.db_url

    # only a governance officer may erase; a reason is required
    for someone in ("mona", "sam"):
        code, _, err = _admin(
            capsys, db, "erase-case", ref, "--reason", "SAR 42", "--officer", someone
        )
        assert code == 1 and "only a governance officer" in err
    code, _, err = _admin(capsys, db, "erase-case", ref, "--reason", " ", "--officer", "gina")
    assert code == 1 and "Say why" in err
    # a held case is not erased
    assert _admin(capsys, db, "hold", ref, "--reason", "Tribunal 7", "--officer", "gina")[0] == 0
    code, _, err = _admin(capsys, db, "erase-case", ref, "--reason", "SAR 42", "--officer", "gina")
    assert code == 1 and "legal hold" in err and "Tribunal 7" in err
    assert canary_hits(service, list(words.values())), "nothing erased while held"
    assert _admin(capsys, db, "release", ref, "--officer", "gina")[0] == 0

    code, out, err = _admin(
        capsys, db, "erase-case", ref, "--reason", "Erasure request ER-2026-7", "--officer", "gina"
    )
    assert code == 0, err
    assert f"Erased case {ref}: 6 records, 1 document" in out

    assert canary_hits(service, list(words.values())) == {}
    with Session(service.engine) as session:
        assert session.exec(select(Record).where(col(Record.case_id) == case_id)).all() == []
        assert session.get(Record, kept_id) is not None
        tomb = session.get(ErasedCase, case_id)
        assert tomb is not None and tomb.ref == ref and tomb.erased_by == "gina"
        entry = session.exec(select(AuditEntry).where(col(AuditEntry.event) == "case_erased")).one()
        assert entry.actor == "gina" and entry.case_id == str(case_id)
        assert entry.detail["ref"] == ref and entry.detail["reason"] == "Erasure request ER-2026-7"
    code, _, err = _admin(capsys, db, "erase-case", ref, "--reason", "again", "--officer", "gina")
    assert code == 1 and "erased already" in err and "gina" in err

    # laptops are told: erased (protocol 5), removed (older)
    for laptop in (sam, tom):
        pulled = laptop.pull_all(cursors[laptop.username])
        assert pulled["erased"] == [str(case_id)] and pulled["removed"] == []
        assert laptop.pull_all()["erased"] == [str(case_id)]  # a pull from the start too
    raw = service.client.post(
        "/v1/sync/pull", json={"cursor": cursors["olga"]}, headers=old.headers
    ).json()
    assert raw["removed_cases"] == [str(case_id)] and "erased_cases" not in raw

    # a change to it, or a replay of the change that made it, is refused with `erased`
    note = change("note", uuid.uuid4(), case_id, {"text": "written offline"})
    edit = change("case", case_id, case_id, {"summary": "typed offline"}, base=2)
    (refused_note, refused_edit, replay, fine) = sam.push(note, edit, made, kept)
    for result in (refused_note, refused_edit, replay):
        assert result["status"] == "rejected" and result["error"]["code"] == "erased"
        assert "erased from the council's records" in result["error"]["message"]
    assert fine["status"] == "duplicate"
    (older,) = old.push(change("note", uuid.uuid4(), case_id, {"text": "from an old laptop"}))
    assert older["error"]["code"] == "forbidden"  # protocol 1 does not know `erased`
    # nor can its document's content be sent again
    content = b"again"
    put = service.client.put(
        f"/v1/documents/{uuid.uuid4()}/content",
        content=content,
        headers={
            **sam.headers,
            "X-Upload-Offset": "0",
            "X-Total-Size": str(len(content)),
            "X-Sha256": hashlib.sha256(content).hexdigest(),
            "X-Case-Id": str(case_id),
        },
    )
    assert put.status_code == 410 and put.json()["code"] == "erased"
    # a record id it held, sent under another case, is refused too
    with Session(service.engine) as session:
        assert session.get(Record, case_id) is None
    (moved,) = sam.push(change("case", case_id, kept_id, {"summary": "x"}, base=0))
    assert moved["status"] == "rejected"
    assert canary_hits(service, list(words.values())) == {}


def test_erasing_a_person_erases_every_case_about_them(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    sam = service.device("sam", "Housing")
    ann = service.device("ann", "Adults")
    service.user("gina", "Records", role="governance")
    first_id, made, words = _full_case(sam, "Housing", "sam")
    first_ref = made["fields"]["ref"]
    with Session(service.engine) as session:
        person_id = uuid.UUID(str(session.get(Record, first_id).fields["person_id"]))  # type: ignore[union-attr]
    # another team's case about the same person (it names them)
    second_id, second = new_case("Adults", "ann", person_id=str(person_id))
    ann.push(second)
    other_id, other = new_case("Adults", "ann")
    ann.push(other)
    db = service.db_url
    code, _, err = _admin(
        capsys, db, "erase-person", "not-an-id", "--reason", "x", "--officer", "gina"
    )
    assert code == 1 and "is not a person id" in err
    code, _, err = _admin(
        capsys, db, "erase-person", str(uuid.uuid4()), "--reason", "x", "--officer", "gina"
    )
    assert code == 1 and "No case on the service is about the person" in err
    # held: nothing at all is erased
    second_ref = second["fields"]["ref"]
    assert (
        _admin(capsys, db, "hold", second_ref, "--reason", "Inquest", "--officer", "gina")[0] == 0
    )
    code, _, err = _admin(
        capsys, db, "erase-person", str(person_id), "--reason", "ER-9", "--officer", "gina"
    )
    assert code == 1 and "legal hold" in err
    with Session(service.engine) as session:
        assert session.get(Record, first_id) is not None
    assert _admin(capsys, db, "release", second_ref, "--officer", "gina")[0] == 0
    code, out, err = _admin(
        capsys, db, "erase-person", str(person_id), "--reason", "ER-9", "--officer", "gina"
    )
    assert code == 0, err
    assert "Erased 2 cases" in out and first_ref in out and second_ref in out
    assert canary_hits(service, list(words.values())) == {}
    with Session(service.engine) as session:
        assert session.get(Record, first_id) is None and session.get(Record, second_id) is None
        assert session.get(Record, other_id) is not None
        entry = session.exec(
            select(AuditEntry).where(col(AuditEntry.event) == "person_erased")
        ).one()
        assert entry.record_id == str(person_id) and sorted(entry.detail["refs"]) == sorted(
            [first_ref, second_ref]
        )
        assert json.dumps(entry.detail).find("zqcanary") == -1


def test_admin_audit_prints_a_cases_history_and_a_users(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    sam = service.device("sam", "Housing")
    service.user("gina", "Records", role="governance")
    case_id, case = new_case("Housing", "sam")
    ref = case["fields"]["ref"]
    sam.push(case, viewed(case_id, "sam", "2026-12-01T09:30:00+00:00"))
    db = service.db_url
    code, out, _ = _admin(capsys, db, "audit", "--case", ref)
    assert code == 0 and f"The history of case {ref}" in out
    assert "sam viewed this case on 1 Dec 2026, 09:30 UTC (on the laptop; received" in out
    assert "sam changed this case on" in out
    code, out, _ = _admin(capsys, db, "audit", "--user", "sam")
    assert code == 0 and f"sam viewed case {ref} on 1 Dec 2026" in out
    # the history outlives the case: erased, it still shows who did what (and the erasure)
    assert _admin(capsys, db, "erase-case", ref, "--reason", "ER-1", "--officer", "gina")[0] == 0
    code, out, _ = _admin(capsys, db, "audit", "--case", ref)
    assert code == 0 and "sam viewed this case" in out and "gina erased this case" in out
    assert _admin(capsys, db, "audit")[2].startswith("Name a case (--case REF) or a user")
    assert "no case with reference" in _admin(capsys, db, "audit", "--case", "FC-1-2")[2]
    assert "no user called" in _admin(capsys, db, "audit", "--user", "nobody")[2]
