"""Retention (server/records/retention.py) with an injected clock, on SQLite and PostgreSQL:
a dry run lists exactly the cases due with the rule that applies, a held case is kept, a run
erases the rest and a second run finds nothing; the schedule file is checked in plain words;
through the command, only a governance officer runs it, and only with --yes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from server.cli import main as cli_main
from server.models import AuditEntry, ErasedCase, Record
from server.records import holds, retention
from sync.clock import ManualClock
from tests.server.helpers import Device, Service, new_case

SCHEDULE = """
[[rule]]
case_type = "adult_social_care"
years = 8
after = "closure"

[[rule]]
case_type = "safeguarding"
years = 25

[[rule]]
case_type = "housing_repair"
years = 6
"""


def _schedule(tmp_path: Path, text: str = SCHEDULE) -> Path:
    path = tmp_path / "retention.toml"
    path.write_text(text)
    return path


def _case(laptop: Device, kind: str, status: str, closed: str | None, opened: str) -> str:
    fields = {"type": kind, "status": status, "closed_on": closed, "opened_on": opened}
    _case_id, case = new_case("Housing", "sam", **fields)
    (result,) = laptop.push(case)
    assert result["status"] == "applied", result
    return str(case["fields"]["ref"])


@pytest.fixture
def cases(service: Service) -> dict[str, str]:
    service.user("gina", "Records", role="governance")
    sam = service.device("sam", "Housing")
    return {
        "adult_due": _case(sam, "adult_social_care", "closed", "2015-03-01", "2010-01-01"),
        "adult_recent": _case(sam, "adult_social_care", "closed", "2020-01-01", "2019-01-01"),
        "adult_open": _case(sam, "adult_social_care", "open", None, "2001-01-01"),
        "safeguarding": _case(sam, "safeguarding", "closed", "2005-01-01", "2004-01-01"),
        "housing_due": _case(sam, "housing_repair", "closed", "2019-06-01", "2019-01-01"),
        "housing_held": _case(sam, "housing_repair", "closed", "2018-01-01", "2017-01-01"),
        "housing_tomorrow": _case(sam, "housing_repair", "closed", "2020-11-13", "2020-01-01"),
        "carer": _case(sam, "carer_support", "closed", "1990-01-01", "1989-01-01"),
    }


def test_a_dry_run_lists_what_is_due_a_run_erases_it_and_is_idempotent(
    service: Service, cases: dict[str, str], tmp_path: Path
) -> None:
    schedule = retention.load_schedule(_schedule(tmp_path))
    clock = ManualClock(datetime(2026, 11, 12, 9, 0, tzinfo=UTC))
    with Session(service.engine) as session:
        holds.place(session, cases["housing_held"], "Disrepair claim", by="gina", clock=clock)
        session.commit()
    with Session(service.engine) as session:
        dry = retention.run(session, schedule, by="gina", clock=clock, dry_run=True)
        session.commit()
    listed = {d.ref: d for d in dry.due}
    assert set(listed) == {cases[k] for k in ("adult_due", "housing_due", "housing_held")}
    assert str(listed[cases["adult_due"]].rule) == "Adult social care: 8 years after closure"
    assert listed[cases["adult_due"]].due_on.isoformat() == "2023-03-01"
    assert [d.ref for d in dry.held] == [cases["housing_held"]] and dry.erased == []
    with Session(service.engine) as session:
        assert session.exec(select(ErasedCase)).all() == []

    clock.advance(86400)  # a day on, the case closed on 13 Nov 2020 is due as well
    with Session(service.engine) as session:
        done = retention.run(session, schedule, by="gina", clock=clock, dry_run=False)
        session.commit()
    erased = {e.ref for e in done.erased}
    assert erased == {cases[k] for k in ("adult_due", "housing_due", "housing_tomorrow")}
    with Session(service.engine) as session:
        refs = {
            r.fields["ref"]
            for r in session.exec(select(Record).where(col(Record.kind) == "case")).all()
        }
        assert refs == {cases[k] for k in cases} - erased
        tomb = session.exec(
            select(ErasedCase).where(col(ErasedCase.ref) == cases["adult_due"])
        ).one()
        assert tomb.rule == "Adult social care: 8 years after closure"
        assert tomb.reason == "retention schedule" and tomb.erased_by == "gina"
        runs = session.exec(
            select(AuditEntry).where(col(AuditEntry.event) == "retention_run")
        ).all()
        assert [r.detail["dry_run"] for r in runs] == [True, False]
        assert sorted(runs[1].detail["erased"]) == sorted(erased)

    with Session(service.engine) as session:
        again = retention.run(session, schedule, by="gina", clock=clock, dry_run=False)
        session.commit()
    assert [d.ref for d in again.due] == [cases["housing_held"]] and again.erased == []


def test_the_command_needs_a_governance_officer_and_yes(
    service: Service, cases: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(_schedule(tmp_path))
    service.user("ivan", "IT", role="admin")

    def admin(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = cli_main(["admin", "retention", *args, "--schedule", path, "--db", service.db_url])
        out = capsys.readouterr()
        return code, out.out, out.err

    code, out, _ = admin("show")
    assert code == 0 and "Safeguarding: 25 years after closure" in out
    code, _, err = admin("run", "--dry-run", "--officer", "ivan")
    assert code == 1 and "only a governance officer" in err
    code, _, err = admin("run", "--dry-run")
    assert code == 1 and "--officer" in err
    code, out, _ = admin("run", "--dry-run", "--officer", "gina")
    assert code == 0 and cases["adult_due"] in out and "nothing was (a dry run)" in out
    code, out, err = admin("run", "--officer", "gina")
    assert code == 1 and "run again with --yes" in err and cases["adult_due"] in out
    with Session(service.engine) as session:
        assert session.exec(select(ErasedCase)).all() == []
    code, out, _ = admin("run", "--yes", "--officer", "gina")
    assert code == 0 and "Erased" in out and "Laptops remove them" in out
    with Session(service.engine) as session:
        assert {t.ref for t in session.exec(select(ErasedCase)).all()} >= {cases["adult_due"]}
    code, out, _ = admin("run", "--yes", "--officer", "gina")
    assert code == 0 and "Erased 0 cases" in out


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("[[rule]]\ncase_type = 'adult_socal_care'\nyears = 8\n", "is not a case type"),
        ("[[rule]]\ncase_type = 'safeguarding'\nyears = 0\n", "whole number from 1 to 150"),
        ("[[rule]]\ncase_type = 'safeguarding'\nyears = 5\nafter = 'birth'\n", "after must be"),
        ("[[rule]]\ncase_type = 'safeguarding'\nyears = '5'\n", "whole number"),
        ("rule = [", "not valid TOML"),
        ("", "holds no [[rule]]"),
        ("[[rule]]\ncase_type='safeguarding'\nyears=5\n" * 2, "has a rule already"),
        ("[[rules]]\ncase_type = 'safeguarding'\nyears = 5\n", "only [[rule]] tables"),
    ],
)
def test_a_wrong_schedule_is_refused_in_plain_words(tmp_path: Path, text: str, said: str) -> None:
    with pytest.raises(retention.ScheduleError, match=said.replace("[", r"\[")):
        retention.load_schedule(_schedule(tmp_path, text))


def test_no_schedule_or_a_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(retention.ScheduleError, match="FIELDCASE_RETENTION_FILE"):
        retention.load_schedule(None)
    with pytest.raises(retention.ScheduleError, match="does not exist"):
        retention.load_schedule(tmp_path / "nope.toml")
