"""``fieldcase-server admin import`` (server/imports/), on SQLite and PostgreSQL: a predecessor
system's CSV (Windows-1252, as Excel writes it), workbook or JSON lines becomes people, cases,
warnings and notes that a laptop of the team pulls; a dry run imports nothing and reports every
bad row by number and column (also in a refused-rows file); re-importing changes nothing; a
corrected file updates only what changed; a field changed in Fieldcase since the last import
becomes a clash; a malformed file or mapping is one plain line."""

from __future__ import annotations

import csv
import io
import json
import re
import stat
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, func, select

from server.cli import main as cli_main
from server.models import AuditEntry, Conflict, ImportKey, Record
from sync.protocol import PROTOCOL_VERSION
from tests.server.helpers import Device, Service, change, new_case

MAPPING = """
[source]
name = "west_dorset_carefirst"

[defaults]
team = "North"
type = "adult_social_care"

[columns]
"person.external_id" = "Client ID"
"case.external_id" = "Referral ID"
"person.name" = "{Forename} {Surname}"
"person.date_of_birth" = "DOB"
"person.address" = "Address"
"case.summary" = "Reason for referral"
"case.status" = "Status"
"warning.text" = "Alerts"
"note.text" = "Last contact note"

[values."case.status"]
"Open" = "open"
"Closed - NFA" = "closed"

[formats]
"person.date_of_birth" = "%d/%m/%Y"

[teams]
"DT2" = "South"
"""
HEADER = [
    "Client ID",
    "Referral ID",
    "Forename",
    "Surname",
    "DOB",
    "Address",
    "Reason for referral",
    "Status",
    "Alerts",
    "Last contact note",
]
GOOD = [
    ["C1", "R1", "Siân", "O'Neill", "02/04/1950", "4 Mill Lane, Dorchester DT1 1XJ",
     "Falls at home", "Open", "Dog on premises; Lone worker", "Visited, all well"],
    ["C1", "R2", "Siân", "O'Neill", "02/04/1950", "4 Mill Lane, Dorchester DT1 1XJ",
     "Carer's assessment", "Closed - NFA", "", ""],
    ["C2", "R3", "Robert", "Smith", "11/09/1944", "2 High St, Bridport DT2 4AA",
     "Housing adaptation", "open", "", ""],
]  # fmt: skip
BAD = [
    ["C3", "R4", "Ann", "Bad", "31/02/1950", "", "", "Open", "", ""],  # no such date
    ["C4", "R5", "Ben", "Odd", "01/01/1950", "", "", "Pending", "", ""],  # unknown status
    ["", "R6", "Cat", "Noid", "01/01/1950", "", "", "Open", "", ""],  # no client id
]


def _csv(path: Path, rows: list[list[str]], encoding: str = "cp1252") -> Path:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(HEADER)
    writer.writerows(rows)
    path.write_bytes(text.getvalue().encode(encoding))
    return path


def _admin(
    capsys: pytest.CaptureFixture[str], service: Service, *args: str
) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli_main(["admin", *args, "--db", service.db_url])
    out = capsys.readouterr()
    return code, out.out, out.err


def _records(service: Service) -> int:
    with Session(service.engine) as session:
        return int(session.exec(select(func.count()).select_from(Record)).one())


def _by_kind(laptop: Device) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for record in laptop.pull_all()["records"].values():
        found.setdefault(record["kind"], []).append(record)
    return found


@pytest.fixture
def setup(service: Service, tmp_path: Path) -> tuple[Path, Device]:
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    north = service.device("nell", "North")
    service.user("sid", "South")
    return mapping, north


def test_an_export_comes_in_once_and_only_what_changed_changes(
    service: Service,
    setup: tuple[Path, Device],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    mapping, north = setup
    export = _csv(tmp_path / "clients.csv", GOOD + BAD)
    run = ["import", "--mapping", str(mapping), str(export)]

    code, out, err = _admin(capsys, service, *run, "--dry-run")
    assert code == 0, err
    assert "6 rows read" in out and "3 rows would be refused" in out and "dry run" in out
    assert "Created: 3 case, 1 note, 2 person, 2 warning." in out, out
    assert 'row 5, DOB: has "31/02/1950", which is not a date written as %d/%m/%Y' in out
    assert 'row 6, Status: has "Pending"' in out
    assert "row 7, Client ID: is empty" in out
    assert _records(service) == 0
    refused = tmp_path / "clients.refused.csv"
    assert stat.S_IMODE(refused.stat().st_mode) == 0o600
    with refused.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["row"], r["column"]) for r in rows] == [
        ("5", "DOB"),
        ("6", "Status"),
        ("7", "Client ID"),
    ]
    assert rows[0]["Forename"] == "Ann"

    code, out, err = _admin(capsys, service, *run)
    assert code == 0 and "Created: 3 case, 1 note, 2 person, 2 warning." in out, err
    pulled = _by_kind(north)
    people = {p["fields"]["name"]: p for p in pulled["person"]}
    assert set(people) == {"Siân O'Neill"}  # Robert's case went to South by his postcode
    sian = people["Siân O'Neill"]
    assert sian["fields"]["date_of_birth"] == "1950-04-02"
    cases = {c["fields"]["summary"]: c["fields"] for c in pulled["case"]}
    assert set(cases) == {"Falls at home", "Carer's assessment"}
    assert cases["Carer's assessment"]["status"] == "closed"
    assert all(c["person_id"] == sian["record_id"] for c in cases.values())
    assert all(re.fullmatch(r"FC-\d{4}-\d{5}", c["ref"]) for c in cases.values())
    assert sorted(w["fields"]["text"] for w in pulled["warning"]) == [
        "Dog on premises",
        "Lone worker",
    ]
    assert [n["fields"]["text"] for n in pulled["note"]] == ["Visited, all well"]
    before = _records(service)

    code, out, err = _admin(capsys, service, *run)
    assert code == 0 and "Created: nothing. Updated: nothing. Unchanged: 5." in out, out
    assert _records(service) == before

    # Fieldcase edits a summary; the old system's corrected file moves her and rewords it
    falls = next(c for c in pulled["case"] if c["fields"]["summary"] == "Falls at home")
    (done,) = north.push(
        change(
            "case",
            falls["record_id"],
            falls["record_id"],
            {"summary": "Falls (2)"},
            base=falls["version"],
        )
    )
    assert done["status"] == "applied", done
    fixed = [list(r) for r in GOOD]
    fixed[0][5] = fixed[1][5] = "9 New Road, Dorchester DT1 2AB"
    fixed[0][6] = "Falls at home, twice"
    code, out, err = _admin(
        capsys, service, "import", "--mapping", str(mapping), str(_csv(export, fixed))
    )
    assert code == 0, err
    assert "Updated: 1 person." in out and "1 field changed in Fieldcase" in out, out
    code, out, err = _admin(
        capsys, service, "import", "--mapping", str(mapping), str(_csv(export, fixed))
    )
    assert code == 0 and "Created: nothing. Updated: nothing." in out, out  # no second clash
    now = _by_kind(north)
    (person,) = now["person"]
    assert person["fields"]["address"] == "9 New Road, Dorchester DT1 2AB"
    assert "external_ids" not in person["fields"]  # a laptop before protocol 7 knows none
    north.protocol = str(PROTOCOL_VERSION)
    (person,) = _by_kind(north)["person"]
    assert person["fields"]["external_ids"] == "west_dorset_carefirst:C1"  # found by it
    falls_now = next(c for c in now["case"] if c["record_id"] == falls["record_id"])
    assert falls_now["fields"]["summary"] == "Falls (2)"  # kept: a person decides
    with Session(service.engine) as session:
        (clash,) = session.exec(
            select(Conflict).where(col(Conflict.record_id) == uuid.UUID(falls["record_id"]))
        ).all()
        assert (clash.field, clash.other_value) == ("summary", "Falls at home, twice")
        keys = session.exec(select(ImportKey)).all()
        assert {k.source for k in keys} == {"west_dorset_carefirst"}
        assert {(k.kind, k.external_id) for k in keys} >= {("person", "C1"), ("case", "R3")}
        events = session.exec(select(AuditEntry).where(col(AuditEntry.event) == "imported")).all()
    assert [e.detail["dry_run"] for e in events] == [True, False, False, False, False]
    assert all("Siân" not in json.dumps(e.detail) for e in events)


def test_a_workbook_and_json_lines_come_in_the_same_way(
    service: Service,
    setup: tuple[Path, Device],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import openpyxl

    mapping, north = setup
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    for row in GOOD[:2]:
        sheet.append(row)
    workbook = tmp_path / "clients.xlsx"
    book.save(workbook)
    code, out, err = _admin(capsys, service, "import", "--mapping", str(mapping), str(workbook))
    assert code == 0 and "Created: 2 case, 1 note, 1 person, 2 warning." in out, (out, err)

    lines = tmp_path / "more.jsonl"
    lines.write_text(
        "\n".join(json.dumps(dict(zip(HEADER, row, strict=True))) for row in GOOD) + "\nnot json\n",
        encoding="utf-8",
    )
    code, out, err = _admin(capsys, service, "import", "--mapping", str(mapping), str(lines))
    assert code == 0, err
    assert "Created: 1 case, 1 person." in out and "Unchanged: 3" in out, out
    assert "row 4, (the whole row): This line is not a JSON object." in out
    assert len(_by_kind(north)["case"]) == 2


BAD_MAPPINGS = [
    ("[source]\nname = 'Bad Name'\n", "[source] needs a name"),
    (
        MAPPING.replace('"case.status" = "Status"', '"case.colour" = "Status"'),
        '"case.colour" is not a field',
    ),
    (
        MAPPING.replace('"person.external_id" = "Client ID"\n', ""),
        "must name the file's column for person.external_id",
    ),
    (MAPPING.replace('"DOB"', '"Date of birth"'), "has no column 'Date of birth'"),
    (MAPPING + "\n[extra]\nx = 'y'\n", "[extra] is not a section"),
    ("[source\n", "is not valid TOML"),
]


@pytest.mark.parametrize(("change_to", "said"), BAD_MAPPINGS)
def test_a_bad_mapping_is_one_plain_line(
    service: Service,
    setup: tuple[Path, Device],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change_to: str,
    said: str,
) -> None:
    mapping, _north = setup
    mapping.write_text(change_to, encoding="utf-8")
    export = _csv(tmp_path / "clients.csv", GOOD)
    code, _, err = _admin(capsys, service, "import", "--mapping", str(mapping), str(export))
    assert code == 1 and said in err and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert _records(service) == 0


def test_a_file_that_is_not_what_it_says_is_one_plain_line(
    service: Service,
    setup: tuple[Path, Device],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    mapping, _north = setup
    for name, content, said in (
        ("clients.xlsx", b"not a workbook", "is not an Excel workbook"),
        ("clients.pdf", b"%PDF", "is not a file an import reads"),
        ("empty.csv", b"", "is empty"),
    ):
        path = tmp_path / name
        path.write_bytes(content)
        code, _, err = _admin(capsys, service, "import", "--mapping", str(mapping), str(path))
        assert code == 1 and said in err and "Traceback" not in err, (name, err)
    utf8 = _csv(tmp_path / "utf8.csv", GOOD, encoding="utf-8")
    code, out, err = _admin(
        capsys, service, "import", "--mapping", str(mapping), str(utf8), "--dry-run"
    )
    assert code == 0 and "Created: 3 case" in out, err


@pytest.mark.parametrize("helper", [False, True], ids=["in-process", "helper-process"])
def test_a_file_that_breaks_part_way_keeps_what_came_before(
    service: Service,
    setup: tuple[Path, Device],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    helper: bool,
) -> None:
    """Batches before a broken line are kept; after the file is fixed, running it again
    imports the rest and nothing twice. The same when a helper process builds the rows (as
    for a large file)."""
    from server.imports import importer, pipeline

    monkeypatch.setattr(importer, "BATCH_ROWS", 2)
    monkeypatch.setattr(pipeline, "HELPER_FROM_BYTES", 0 if helper else 1 << 40)
    mapping, north = setup
    rows = [
        [f"P{n}", f"Q{n}", "Ann", f"Case{n}", "01/01/1950", "", "", "Open", "", ""]
        for n in range(5)
    ]
    rows[1][4] = "not a date"  # refused before the file breaks: kept in the refused list
    export = _csv(tmp_path / "clients.csv", rows)
    # an unterminated quote: the rest of the file is one field, too large to be a field
    export.write_bytes(export.read_bytes() + b'P9,Q9,"Ann' + b"x" * 200_000 + b"\r\n")
    code, _, err = _admin(capsys, service, "import", "--mapping", str(mapping), str(export))
    assert code == 1 and "row 7" in err and "Traceback" not in err, err
    refused = (tmp_path / "clients.refused.csv").read_text(encoding="utf-8-sig")
    assert "not a date" in refused and "Case1" in refused
    rows[1][4] = "01/01/1950"
    assert len(_by_kind(north)["case"]) == 3  # two whole batches of two rows, one refused
    _csv(export, [*rows, ["P9", "Q9", "Ann", "Case9", "01/01/1950", "", "", "Open", "", ""]])
    code, out, err = _admin(capsys, service, "import", "--mapping", str(mapping), str(export))
    assert code == 0 and "Created: 3 case, 3 person." in out and "Unchanged: 6." in out, out
    cases = _by_kind(north)["case"]
    numbers = sorted(int(c["fields"]["ref"].rsplit("-", 1)[1]) for c in cases)
    assert numbers == list(range(numbers[0], numbers[0] + 6))  # taken batch by batch, no gaps


@pytest.mark.parametrize("helper", [False, True], ids=["in-process", "helper-process"])
def test_a_new_record_missing_what_the_schema_requires_is_refused_with_its_column(
    service: Service,
    setup: tuple[Path, Device],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    helper: bool,
) -> None:
    """A new person must have a name (the whole record's rule, checked with the row, in the
    helper process for a large file): the row is refused, naming the columns that make it.
    A later referral for a person already brought in may leave the name out: it keeps theirs."""
    from server.imports import pipeline

    monkeypatch.setattr(pipeline, "HELPER_FROM_BYTES", 0 if helper else 1 << 40)
    mapping, north = setup
    rows = [
        ["C1", "R1", "Ann", "Hale", "01/01/1950", "", "", "Open", "", ""],
        ["C2", "R2", "", "", "01/01/1950", "", "", "Open", "Dog on premises", "Met"],
        ["C1", "R3", "", "", "", "", "", "Open", "", ""],
    ]
    export = _csv(tmp_path / "clients.csv", rows)
    code, out, err = _admin(capsys, service, "import", "--mapping", str(mapping), str(export))
    assert code == 0, err
    assert "row 3, Forename + Surname: is required" in out, out
    assert "Created: 2 case, 1 person." in out, out
    people = _by_kind(north)["person"]
    assert [p["fields"]["name"] for p in people] == ["Ann Hale"]
    assert "warning" not in _by_kind(north) and "note" not in _by_kind(north)


def test_only_what_the_file_changed_is_sent_and_the_import_never_clashes_with_itself(
    service: Service,
    setup: tuple[Path, Device],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    mapping, north = setup
    run = ["import", "--mapping", str(mapping)]
    export = _csv(tmp_path / "clients.csv", GOOD[:1])
    assert _admin(capsys, service, *run, str(export))[0] == 0
    (case,) = _by_kind(north)["case"]
    edited = change("case", case["record_id"], case["record_id"], {"summary": "Falls (2)"}, base=1)
    assert north.push(edited)[0]["status"] == "applied"
    # the file closes the case: the caseworker's summary is not touched, nothing clashes
    closed = [list(GOOD[0])]
    closed[0][7] = "Closed - NFA"
    code, out, err = _admin(capsys, service, *run, str(_csv(export, closed)))
    assert code == 0 and "Updated: 1 case." in out and "clash" not in out, (out, err)
    # then reopens it: the import changes its own value again, still no clash
    code, out, err = _admin(capsys, service, *run, str(_csv(export, GOOD[:1])))
    assert code == 0 and "Updated: 1 case." in out and "clash" not in out, (out, err)
    fields = {c["record_id"]: c["fields"] for c in _by_kind(north)["case"]}[case["record_id"]]
    assert (fields["status"], fields["summary"]) == ("open", "Falls (2)")
    with Session(service.engine) as session:
        assert session.exec(select(Conflict)).all() == []


def test_an_erased_case_is_never_brought_back_by_an_import(
    service: Service,
    setup: tuple[Path, Device],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    mapping, north = setup
    service.user("gina", "Records", role="governance")
    run = ["import", "--mapping", str(mapping)]
    export = _csv(tmp_path / "clients.csv", GOOD[:1])
    assert _admin(capsys, service, *run, str(export))[0] == 0
    (case,) = _by_kind(north)["case"]
    erase = ["erase-case", case["fields"]["ref"], "--reason", "SAR 7", "--officer", "gina"]
    assert _admin(capsys, service, *erase)[0] == 0
    again = [list(GOOD[0])]
    again[0][8] = "Dog on premises; New alert"
    code, out, err = _admin(capsys, service, *run, str(_csv(export, again)))
    assert code == 0 and "1 row was refused" in out and "was erased" in out, (out, err)
    assert _by_kind(north).get("case") is None and _by_kind(north).get("warning") is None
    with Session(service.engine) as session:
        texts = [r.fields.get("text") for r in session.exec(select(Record)).all()]
    assert "New alert" not in texts


def test_a_dry_run_takes_no_reference_and_the_refused_list_runs_no_formula(
    service: Service,
    setup: tuple[Path, Device],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from server.models import RefCounter

    mapping, _north = setup
    hostile = [["C9", "R9", '=HYPERLINK("http://x")', "X", "31/02/1950", "", "", "Open", "", ""]]
    export = _csv(tmp_path / "clients.csv", GOOD + hostile)
    code, out, err = _admin(
        capsys, service, "import", "--mapping", str(mapping), str(export), "--dry-run"
    )
    assert code == 0 and "Created: 3 case" in out, err
    with Session(service.engine) as session:
        assert session.exec(select(RefCounter)).all() == []
        assert session.exec(select(ImportKey)).all() == []
    with (tmp_path / "clients.refused.csv").open(encoding="utf-8-sig", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["Forename"].startswith("'=")
    code, out, _ = _admin(
        capsys, service, "import", "--mapping", str(mapping), str(_csv(export, GOOD))
    )
    assert code == 0 and not (tmp_path / "clients.refused.csv").exists()


def test_a_person_on_two_teams_cases_is_seen_by_both_and_a_merge_holds(
    service: Service,
    setup: tuple[Path, Device],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Robert's second referral goes to South (its postcode): South's laptop gets Robert's
    record with its case, though North's case holds it. After Robert (C2) is merged into
    another person, a new referral for C2 names the kept person, and the merged-away record
    never comes back."""
    mapping, north = setup
    south = service.device("sol", "South")
    run = ["import", "--mapping", str(mapping)]
    first = [list(GOOD[2])]
    first[0][5] = "2 High St, Dorchester DT1 4AA"  # North's, this time
    assert _admin(capsys, service, *run, str(_csv(tmp_path / "a.csv", first)))[0] == 0
    later = [list(GOOD[2])]
    later[0][1] = "R9"  # a second referral, from South's district
    assert _admin(capsys, service, *run, str(_csv(tmp_path / "b.csv", later)))[0] == 0
    seen = _by_kind(south)
    (case,) = seen["case"]
    (person,) = seen["person"]
    assert case["fields"]["person_id"] == person["record_id"]
    assert person["fields"]["name"] == "Robert Smith"

    # Robert (C2) is merged into a person North made; a third referral names the kept one
    service.user("gina", "Records", role="governance")
    kept = uuid.uuid4()
    _case_id, made = new_case("North", "nell", person_id=str(kept))
    north.push(made, change("person", kept, _case_id, {"name": "Bob Smith"}))
    merge = [
        "duplicates", "merge", str(kept), person["record_id"], "--reason", "same man",
        "--officer", "gina",
    ]  # fmt: skip
    code, _out, err = _admin(capsys, service, *merge)
    assert code == 0, err
    third = [list(GOOD[2])]
    third[0][1] = "R10"
    assert _admin(capsys, service, *run, str(_csv(tmp_path / "c.csv", third)))[0] == 0
    with Session(service.engine) as session:
        assert session.get(Record, uuid.UUID(person["record_id"])) is None
        key = session.exec(
            select(ImportKey).where(ImportKey.kind == "case", ImportKey.external_id == "R10")
        ).one()
        new = session.get(Record, key.record_id)
        assert new is not None and new.fields["person_id"] == str(kept)
    with Session(service.engine) as session:
        kept_now = session.get(Record, kept)
        assert kept_now is not None
        # laptops find the kept person by the merged-away one's old id too
        assert kept_now.fields["external_ids"] == "west_dorset_carefirst:C2"
    # only the service sets a person's old ids: sending the value held is no change
    (refused,) = north.push(
        change("person", kept, _case_id, {"external_ids": "mine:1"}, base=kept_now.version)
    )
    assert refused["status"] == "rejected", refused
    assert "central service only" in refused["error"]["message"]
    held = {"external_ids": "west_dorset_carefirst:C2", "phone": "01305 1"}
    (same,) = north.push(change("person", kept, _case_id, held, base=kept_now.version))
    assert same["status"] == "applied", same
    # the split gives each their own again
    merge_id = re.search(r"^Merge id: (\d+)$", _out, re.MULTILINE)
    assert merge_id, _out
    split = ["duplicates", "split", merge_id.group(1), "--reason", "two men", "--officer", "gina"]
    assert _admin(capsys, service, *split)[0] == 0
    with Session(service.engine) as session:
        kept_now = session.get(Record, kept)
        back = session.get(Record, uuid.UUID(person["record_id"]))
        assert kept_now is not None and back is not None
        assert kept_now.fields["external_ids"] == ""
        assert back.fields["external_ids"] == "west_dorset_carefirst:C2"


def test_risk_warnings_about_a_person_reach_every_team_holding_a_case_for_them(
    service: Service,
    setup: tuple[Path, Device],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Robert has a referral in North and one in South, each with a risk alert: each team sees
    the other's risk warning about him (with the holding team's name), never the other's case;
    a risk alert added by a later import reaches the other team too."""
    mapping, north = setup
    mapping.write_text(
        MAPPING.replace("[defaults]\n", '[defaults]\n"warning.category" = "risk"\n'),
        encoding="utf-8",
    )
    south = service.device("sol", "South")
    north.protocol = south.protocol = str(PROTOCOL_VERSION)
    in_north = list(GOOD[2])
    in_north[5], in_north[8] = "2 High St, Dorchester DT1 4AA", "Knife in the house"
    in_south = list(GOOD[2])
    in_south[1], in_south[8] = "R9", "Visit in pairs"
    run = ["import", "--mapping", str(mapping)]
    assert (
        _admin(capsys, service, *run, str(_csv(tmp_path / "a.csv", [in_north, in_south])))[0] == 0
    )

    def risks(laptop: Device) -> dict[str, str | None]:
        found = _by_kind(laptop)
        assert len(found["case"]) == 1  # its own case only
        return {w["fields"]["text"]: w.get("held_by") for w in found["warning"]}

    with Session(service.engine) as session:  # each imported case and warning names him
        records = session.exec(select(Record)).all()
        named = {r.person_id for r in records if r.kind in ("case", "warning")}
        assert len(named) == 1 and None not in named
    assert risks(north) == {"Knife in the house": None, "Visit in pairs": "South"}
    assert risks(south) == {"Knife in the house": "North", "Visit in pairs": None}
    in_north[8] = "Knife in the house; Dog loose"
    assert _admin(capsys, service, *run, str(_csv(tmp_path / "b.csv", [in_north])))[0] == 0
    assert risks(south)["Dog loose"] == "North"
