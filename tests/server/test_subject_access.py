"""Subject access (server/records/subject_access.py) through ``admin subject-access`` as a
governance officer runs it, on SQLite and PostgreSQL: a person with cases in two teams is
found by name and date of birth (near misses listed, not included), the request is logged
with its due date, and the ZIP's ``record.json`` holds every record the service has for them
(compared with a direct query) less what the review withholds; ``record.pdf`` opens, its
text holds each note not withheld and names each withheld item; the export is audited."""

from __future__ import annotations

import hashlib
import io
import json
import re
import stat
import statistics
import uuid
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from pypdf import PdfReader
from sqlmodel import Session, col, select

from server.cli import main as cli_main
from server.models import AuditEntry, QuarantinedRecord, Record
from server.records.sar_log import due_date
from tests.server.helpers import Device, Service, change, new_case, viewed

BORN = "1950-04-02"


def _admin(capsys: pytest.CaptureFixture[str], db_url: str, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli_main(["admin", *args, "--db", db_url])
    out = capsys.readouterr()
    return code, out.out, out.err


def _person(case_id: uuid.UUID, person_id: uuid.UUID, name: str, born: str | None) -> Any:
    fields: dict[str, Any] = {"name": name, "address": "19 Hughes Road, Llandeilo"}
    if born:
        fields["date_of_birth"] = born
    return change("person", person_id, case_id, fields)


def _upload(laptop: Device, document_id: uuid.UUID, content: bytes, parts: int = 1) -> None:
    size = -(-len(content) // parts)
    for offset in range(0, len(content), size):
        put = laptop.svc.client.put(
            f"/v1/documents/{document_id}/content",
            content=content[offset : offset + size],
            headers={
                **laptop.headers,
                "X-Upload-Offset": str(offset),
                "X-Total-Size": str(len(content)),
                "X-Sha256": hashlib.sha256(content).hexdigest(),
            },
        )
        assert put.status_code == 200, put.text


def _two_teams(service: Service) -> dict[str, Any]:
    """Siân O'Neill: a housing case (holding her record, a carer's record, notes, a visit, a
    document) and an adult social care case in another team holding her record again."""
    sam = service.device("sam", "Housing")
    ada = service.device("ada", "Adults")
    her, her_again, carer = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    housing_id, housing = new_case("Housing", "sam", person_id=str(her))
    adults_id, adults = new_case(
        "Adults", "ada", person_id=str(her_again), type="adult_social_care"
    )
    kept, third, fixed, echo = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    about_carer = uuid.uuid4()
    document_id, content = uuid.uuid4(), b"Tenancy agreement, signed 2019. " * 40_000
    results = sam.push(
        housing,
        _person(housing_id, her, "Siân O'Neill", BORN),
        _person(housing_id, carer, "Gareth Price", "1948-01-01"),
        change("warning", uuid.uuid4(), housing_id, {"person_id": str(her), "text": "Dog"}),
        change("warning", uuid.uuid4(), housing_id, {"person_id": str(carer), "text": "Hears"}),
        change("note", kept, housing_id, {"text": "Damp seen in the back bedroom."}),
        change("note", third, housing_id, {"text": "Neighbour Mr Evans says she is away."}),
        change(
            "note",
            fixed,
            housing_id,
            {"text": "Correction: damp in the front bedroom.", "corrects": str(kept)},
        ),
        change(
            "note",
            echo,
            housing_id,
            {"text": "Correction: Mr Evans meant next week.", "corrects": str(third)},
        ),
        change("note", about_carer, housing_id, {"text": "Gareth collects her pension."}),
        change("visit", uuid.uuid4(), housing_id, {"title": "Survey", "place": "Home"}),
        change(
            "document",
            document_id,
            housing_id,
            {
                "name": "../../tenancy.txt",
                "size": len(content),
                "sha256": hashlib.sha256(content).hexdigest(),
            },
        ),
        viewed(housing_id, "sam", "2026-12-01T10:04:00+00:00"),
    )
    assert all(r["status"] == "applied" for r in results), results
    _upload(sam, document_id, content, parts=2)
    # a clash on the carer's address: both versions are the carer's, never hers
    tom = service.device("tom", "Housing")
    for laptop, value in ((sam, "1 Carer Row"), (tom, "2 Carer Row")):
        (done,) = laptop.push(change("person", carer, housing_id, {"address": value}, base=1))
        assert done["status"] in ("applied", "conflict"), done
    with Session(service.engine) as session:  # records `admin check-records` moved aside
        for record_id, kind, fields in (
            (uuid.uuid4(), "note", {"text": "Set aside: her old note."}),
            (uuid.uuid4(), "warning", {"person_id": str(carer), "text": "Set aside: Gareth's"}),
        ):
            session.add(
                QuarantinedRecord(
                    record_id=record_id,
                    kind=kind,
                    case_id=housing_id,
                    version=1,
                    fields=fields,
                    stamps={},
                    created_at=datetime.now(UTC),
                    updated_at=datetime.now(UTC),
                    updated_by="sam",
                    seq=10**9,
                    problems=[{"field": "text", "reason": "too_long"}],
                    quarantined_at=datetime.now(UTC),
                    quarantined_by="admin",
                )
            )
        session.commit()
    results = ada.push(
        adults,
        _person(adults_id, her_again, "SIAN  O'NEILL", BORN),
        change("note", uuid.uuid4(), adults_id, {"text": "Asked for a carer's assessment."}),
    )
    assert all(r["status"] == "applied" for r in results), results
    # near misses and a stranger
    for name, born in (("Sian O'Neill", "1961-09-30"), ("Siân Jones", BORN), ("Bob Smith", BORN)):
        other_id, other = new_case("Housing", "sam")
        person_id = uuid.UUID(other["fields"]["person_id"])
        assert sam.push(other, _person(other_id, person_id, name, born))[0]["status"] == "applied"
    return {
        "her": her,
        "her_again": her_again,
        "cases": {housing_id, adults_id},
        "refs": {housing["fields"]["ref"], adults["fields"]["ref"]},
        "third": third,
        "echo": echo,
        "about_carer": about_carer,
        "housing": housing["fields"]["ref"],
        "carer": carer,
        "document": (document_id, content),
        "notes": [
            "Damp seen in the back bedroom.",
            "Correction: damp in the front bedroom.",
            "Asked for a carer's assessment.",
        ],
    }


def _held_ids(data: dict[str, Any]) -> set[str]:
    ids = {p["record_id"] for p in data["people"]}
    for case in data["cases"]:
        ids.add(case["case"]["record_id"])
        for kind in ("warnings", "notes", "visits", "documents", "set_aside"):
            ids |= {r["record_id"] for r in case[kind]}
    return ids


def _text_size(pdf: bytes) -> float:
    """The size, in points, of most of the PDF's text."""
    sizes: list[float] = []

    def seen(text: str, _cm: Any, tm: Any, _font: Any, size: float) -> None:
        if text.strip():
            sizes.append(abs(size * tm[3]))

    for page in PdfReader(io.BytesIO(pdf)).pages:
        page.extract_text(visitor_text=seen)
    return statistics.median(sizes)


def _pdf_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


def test_a_person_in_two_teams_gets_everything_held_less_what_is_withheld(
    service: Service,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FIELDCASE_COUNCIL_NAME", "Northshire Council")
    found = _two_teams(service)
    service.user("gina", "Records", role="governance")
    service.user("mona", "Housing", role="manager")
    db = service.db_url
    who = ["--name", "sian o'neill", "--date-of-birth", BORN]
    out = tmp_path / "sar.zip"

    code, _, err = _admin(capsys, db, "subject-access", *who, "--officer", "mona")
    assert code == 1 and "only a governance officer" in err

    received = (datetime.now(UTC).date() - timedelta(days=3)).isoformat()
    code, said, err = _admin(
        capsys, db, "subject-access", *who, "--received", received, "--officer", "gina"
    )
    assert code == 0, err
    covered, _, possible = said.partition("Possible matches, NOT included")
    assert str(found["her"]) in covered and str(found["her_again"]) in covered
    assert "Siân Jones" in possible and "1961" not in covered and "30 Sep 1961" in possible
    assert "Bob Smith" not in said
    due = due_date(date.fromisoformat(received))
    assert "Logged the request SAR-1" in said and f"{due.day} {due:%b %Y}" in said
    code, listed, _ = _admin(capsys, db, "sar-log")
    assert code == 0 and "SAR-1" in listed and "due in" in listed

    ids = ["--person-id", str(found["her"]), "--person-id", str(found["her_again"])]
    code, _, err = _admin(
        capsys, db, "subject-access", *who, "--out", str(out), "--officer", "gina"
    )
    assert code == 1 and "Say whose record to export by id" in err and not out.exists()
    # a draft to review: it says so, and the request stays open
    code, said, err = _admin(
        capsys, db, "subject-access", *ids, "--out", str(out), "--officer", "gina"
    )
    assert code == 0 and "a draft for review" in said, err
    with zipfile.ZipFile(out) as archive:
        assert "DRAFT for review" in _pdf_text(archive.read("record.pdf"))
    assert "SAR-1" in _admin(capsys, db, "sar-log")[1]

    review = tmp_path / "review.toml"
    review.write_text(
        f'[[withhold]]\nid = "{found["third"]}"\nreason = "Information about a neighbour."\n'
        f'[[withhold]]\nid = "{found["about_carer"]}"\nreason = "About her carer."\n',
        encoding="utf-8",
    )
    final = [*ids, "--out", str(out), "--review", str(review), "--final", "--officer", "gina"]
    code, said, err = _admin(capsys, db, "subject-access", *final)
    assert code == 0, err
    assert "SAR-1 is marked answered" in said and "6 items withheld" in said, said
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    document_id, content = found["document"]
    with zipfile.ZipFile(out) as archive:
        data = json.loads(archive.read("record.json"))
        pdf = archive.read("record.pdf")
        names = archive.namelist()
        (copy,) = [n for n in names if n.startswith(f"documents/{document_id}/")]
        assert archive.read(copy) == content  # uploaded in two chunks, whole
    assert all(".." not in PurePosixPath(n).parts and not n.startswith("/") for n in names)

    # every record the service holds in their cases: exported, or listed as withheld
    with Session(service.engine) as session:
        direct = set()
        for table in (Record, QuarantinedRecord):
            direct |= {
                str(r)
                for r in session.exec(
                    select(table.record_id).where(
                        col(table.case_id).in_(sorted(found["cases"])), col(table.kind) != "audit"
                    )
                )
            }
    withheld = {w["record_id"]: w for w in data["withheld"]}
    assert _held_ids(data) | set(withheld) == direct
    assert not _held_ids(data) & set(withheld)
    assert withheld[str(found["third"])]["reason"] == "Information about a neighbour."
    assert withheld[str(found["echo"])]["reason"] == "It corrects a note that is withheld."
    assert withheld[str(found["carer"])]["reason"] == "It is about another person."
    assert {c["ref"] for c in data["cases"]} == found["refs"]
    assert all(c["about_you"] for c in data["cases"])
    assert {p["record_id"] for p in data["people"]} == {str(found["her"]), str(found["her_again"])}
    housing = next(c for c in data["cases"] if c["team"] == "Housing")
    assert any(
        h["text"].startswith("sam viewed this case on 1 Dec 2026") for h in housing["history"]
    )
    raw = json.dumps(data)
    for secret in ("Mr Evans", "Gareth", "Hears", "Carer Row"):
        assert secret not in raw, secret
    assert "Set aside: her old note." in raw

    text = _pdf_text(pdf)
    for note in found["notes"]:
        assert note in text, note
    for secret in ("Mr Evans", "Gareth", "Carer Row", "DRAFT"):
        assert secret not in text, secret
    assert str(found["third"]) in text and "Information about a neighbour." in text
    assert "Northshire Council" in text and "Contents" in text and "Page 1 of" in text
    assert "sam viewed this case" in text and "tenancy.txt" in text
    assert "This note corrects the note of" in text and "Set aside: her old note." in text
    catalog = PdfReader(io.BytesIO(pdf)).trailer["/Root"]
    assert "/StructTreeRoot" in catalog and catalog["/Lang"] == "en-GB"

    code, listed, _ = _admin(capsys, db, "sar-log")
    assert "No subject access request is waiting" in listed
    assert "answered on" in _admin(capsys, db, "sar-log", "--all")[1]
    with Session(service.engine) as session:
        exports = session.exec(select(AuditEntry).where(col(AuditEntry.event) == "exported")).all()
    assert {e.case_id for e in exports} == {str(c) for c in found["cases"]}
    details = json.dumps([e.detail for e in exports])
    assert all(e.actor == "gina" for e in exports)
    for personal in ("Siân", "O'Neill", "Llandeilo", BORN, "Damp"):
        assert personal not in details, personal


def test_someone_in_another_persons_case_gets_only_what_is_about_them(
    service: Service, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Her carer asks: his details, the warning about him and his own clash are his; the rest
    of her case is withheld as another person's, unless the review includes a record."""
    found = _two_teams(service)
    service.user("gina", "Records", role="governance")
    out = tmp_path / "carer.zip"
    his = ["--person-id", str(found["carer"]), "--out", str(out), "--final", "--officer", "gina"]
    code, _, err = _admin(capsys, service.db_url, "subject-access", *his)
    assert code == 0, err
    with zipfile.ZipFile(out) as archive:
        data = json.loads(archive.read("record.json"))
        text = _pdf_text(archive.read("record.pdf"))
        assert not [n for n in archive.namelist() if n.startswith("documents/")]
    (case,) = data["cases"]
    assert case["ref"] == found["housing"] and case["about_you"] is False
    assert case["case"] is None and case["notes"] == [] and case["history"] == []
    assert [w["fields"]["text"] for w in case["warnings"]] == ["Hears"]
    assert [p["fields"]["name"] for p in data["people"]] == ["Gareth Price"]
    assert {c["field"] for c in case["clashes"]} == {"address"}
    reasons = {w["record_id"]: w["reason"] for w in data["withheld"]}
    assert reasons[str(found["her"])] == "It is about another person."
    assert reasons[str(found["third"])] == "It is part of another person's case."
    raw = json.dumps(data)
    for hers in ("Siân", "Damp", "Tenancy", "Dog", "Set aside: her old note."):
        assert hers not in raw and hers not in text, hers
    assert "another person's case" in text and "Gareth Price" in text

    review = tmp_path / "review.toml"
    review.write_text(f'[[include]]\nid = "{found["about_carer"]}"\n', encoding="utf-8")
    code, _, err = _admin(capsys, service.db_url, "subject-access", *his, "--review", str(review))
    assert code == 0, err
    with zipfile.ZipFile(out) as archive:
        data = json.loads(archive.read("record.json"))
    assert [n["fields"]["text"] for n in data["cases"][0]["notes"]] == [
        "Gareth collects her pension."
    ]


def test_a_bad_request_is_one_plain_line_and_writes_nothing(
    service: Service, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    found = _two_teams(service)
    service.user("gina", "Records", role="governance")
    db = service.db_url
    out = tmp_path / "sar.zip"
    by_id = ["--person-id", str(found["her"]), "--out", str(out), "--officer", "gina"]
    review = tmp_path / "review.toml"
    for text, said in (
        ("[[withhold]]\nid = 'nope'\n", "needs an id"),
        (f"[[withhold]]\nid = '{found['third']}'\nreason = ''\n", "gives no reason"),
        (f"[[withhold]]\nid = '{uuid.uuid4()}'\nreason = 'x'\n", "not in this person's cases"),
        ("withhold = [", "not valid TOML"),
    ):
        review.write_text(text, encoding="utf-8")
        code, _, err = _admin(capsys, db, "subject-access", *by_id, "--review", str(review))
        assert code == 1 and said in err and "Traceback" not in err, (text, err)
        assert not out.exists() and not list(tmp_path.glob("*.partial"))
    code, _, err = _admin(
        capsys,
        db,
        "subject-access",
        "--name",
        "Nobody",
        "--date-of-birth",
        BORN,
        "--officer",
        "gina",
    )
    assert code == 1 and "No person called 'Nobody'" in err
    code, _, err = _admin(
        capsys, db, "subject-access", "--person-id", str(uuid.uuid4()), "--officer", "gina"
    )
    assert code == 1 and "No person on the service has the id" in err
    future = (datetime.now(UTC).date() + timedelta(days=2)).isoformat()
    code, _, err = _admin(
        capsys, db, "subject-access", *by_id[:2], "--received", future, "--officer", "gina"
    )
    assert code == 1 and "in the future" in err
    # a request logged stays logged when the export then fails
    review.write_text(f"[[include]]\nid = '{uuid.uuid4()}'\n", encoding="utf-8")
    today = datetime.now(UTC).date().isoformat()
    code, said, err = _admin(
        capsys, db, "subject-access", *by_id, "--received", today, "--review", str(review)
    )
    assert code == 1 and "Logged the request SAR-1" in said and "not in this person's" in err
    assert "SAR-1" in _admin(capsys, db, "sar-log")[1] and not out.exists()
    nowhere = ["--out", str(tmp_path / "no" / "x.zip")]
    code, _, err = _admin(capsys, db, "subject-access", *by_id[:2], *nowhere, *by_id[4:])
    assert code == 1 and "There is no folder" in err
    # by id, the other record of the same person is offered, not included
    code, said, err = _admin(capsys, db, "subject-access", *by_id)
    assert code == 0, err
    assert str(found["her_again"]) in said.partition("Possible matches")[2]
    with zipfile.ZipFile(out) as archive:
        data = json.loads(archive.read("record.json"))
        ordinary = _text_size(archive.read("record.pdf"))
    assert [c["ref"] for c in data["cases"]] != [] and len(data["cases"]) == 1
    code, _, err = _admin(capsys, db, "subject-access", *by_id, "--large-print")
    assert code == 0, err
    with zipfile.ZipFile(out) as archive:
        assert _text_size(archive.read("record.pdf")) > ordinary


@pytest.mark.parametrize(
    ("received", "due"),
    [
        ("2026-11-20", "2026-12-21"),  # 20 Dec is a Sunday: the Monday
        ("2027-01-31", "2027-03-01"),  # no 31 Feb: 28 Feb, a Sunday: the Monday
        ("2028-01-31", "2028-02-29"),  # a leap year's last day of February (a Tuesday)
        ("2026-12-15", "2027-01-15"),  # over the year's end (a Friday)
    ],
)
def test_the_answer_is_due_one_calendar_month_on(received: str, due: str) -> None:
    assert due_date(date.fromisoformat(received)) == date.fromisoformat(due)


def test_governance_officers_search_and_export_over_the_api(service: Service) -> None:
    """POST /v1/governance/people and /v1/governance/subject-access: a governance officer
    finds her and gets the same ZIP; a caseworker and a manager are refused, audited."""
    found = _two_teams(service)
    service.user("gina", "Records", role="governance")
    service.user("mona", "Housing", role="manager")

    def post(who: str, path: str, body: dict[str, Any]) -> Any:
        token = service.user_token(who)
        return service.client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})

    search = {"name": "Sian O'Neill", "date_of_birth": BORN}
    got = post("gina", "/v1/governance/people", search)
    assert got.status_code == 200, got.text
    exact = {p["person_id"] for p in got.json()["exact"]}
    assert exact == {str(found["her"]), str(found["her_again"])}
    assert {p["name"] for p in got.json()["possible"]} == {"Sian O'Neill", "Siân Jones"}
    body = {
        "person_ids": sorted(exact),
        "withhold": [{"id": str(found["third"]), "reason": "About a neighbour."}],
        "final": True,
    }
    got = post("gina", "/v1/governance/subject-access", body)
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(got.content)) as archive:
        data = json.loads(archive.read("record.json"))
        assert "About a neighbour." in _pdf_text(archive.read("record.pdf"))
    assert {c["ref"] for c in data["cases"]} == found["refs"]
    assert str(found["third"]) in {w["record_id"] for w in data["withheld"]}

    for who in ("sam", "mona"):
        for path, sent in (
            ("/v1/governance/people", search),
            ("/v1/governance/subject-access", body),
        ):
            got = post(who, path, sent)
            assert got.status_code == 403 and "Only a governance officer" in got.json()["message"]
    service.user("ivan", "IT", role="admin")
    for path, sent in (("/v1/governance/people", search), ("/v1/governance/subject-access", body)):
        got = post("ivan", path, sent)
        assert got.status_code == 403 and "cannot hold case records" in got.json()["message"]
    blank = {**body, "withhold": [{"id": str(found["third"]), "reason": "   "}]}
    got = post("gina", "/v1/governance/subject-access", blank)
    assert got.status_code == 422 and "Give a reason" in got.json()["message"]
    missing = post("gina", "/v1/governance/subject-access", {"person_ids": [str(uuid.uuid4())]})
    assert missing.status_code == 422 and "No person on the service" in missing.json()["message"]
    with Session(service.engine) as session:
        events = session.exec(select(AuditEntry.event, AuditEntry.actor)).all()
    assert events.count(("access_denied", "sam")) == 2
    assert events.count(("access_denied", "mona")) == 2
    assert events.count(("access_denied", "ivan")) == 2
    assert ("people_searched", "gina") in events and ("exported", "gina") in events
