"""Role checks for every records-management command: each ``admin`` command that takes
``--officer`` (found by walking the parser, so a new one is covered the day it is added)
refuses a caseworker, a manager, an admin and a disabled governance account with one plain
line, and changes nothing; the audit trail is the same before and after."""

from __future__ import annotations

import argparse
import uuid
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from server import crud
from server.cli import build_parser
from server.cli import main as cli_main
from server.models import AuditEntry
from tests.server.helpers import Service, new_case


def officer_commands() -> set[str]:
    """The admin commands that take ``--officer``."""

    def choices(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                return dict(action.choices)
        return {}

    def walk(parser: argparse.ArgumentParser, prefix: str) -> set[str]:
        found = set()
        for name, sub in choices(parser).items():
            if any("--officer" in action.option_strings for action in sub._actions):
                found.add(prefix + name)
            found |= walk(sub, f"{prefix}{name} ")  # a group: `duplicates merge`
        return found

    return walk(choices(build_parser())["admin"], "")


def _audit_rows(service: Service) -> int:
    with Session(service.engine) as session:
        return int(session.exec(select(func.count()).select_from(AuditEntry)).one())


def test_every_officer_command_refuses_every_other_role(
    service: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sam = service.device("sam", "Housing")
    _case_id, case = new_case("Housing", "sam")
    sam.push(case)
    ref = case["fields"]["ref"]
    schedule = tmp_path / "retention.toml"
    schedule.write_text('[[rule]]\ncase_type = "housing_repair"\nyears = 1\nafter = "opening"\n')
    arguments = {
        "hold": [ref, "--reason", "Tribunal"],
        "release": [ref],
        "erase-case": [ref, "--reason", "SAR 1"],
        "erase-person": [case["fields"]["person_id"], "--reason", "SAR 1"],
        "retention": ["run", "--yes", "--schedule", str(schedule)],
        "subject-access": ["--person-id", str(uuid.uuid4()), "--out", str(tmp_path / "x.zip")],
        "duplicates merge": [case["fields"]["person_id"], str(uuid.uuid4()), "--reason", "x"],
        "duplicates split": ["1", "--reason", "x"],
        "duplicates not-same": [str(uuid.uuid4()), str(uuid.uuid4()), "--reason", "x"],
    }
    #: commands a team manager may run too
    managers_may = {"duplicates merge", "duplicates split", "duplicates not-same"}
    assert officer_commands() == set(arguments), "give the new command's arguments here"
    service.user("mona", "Housing", role="manager")
    service.user("ivan", "IT", role="admin")
    service.user("gus", "Records", role="governance")
    with Session(service.engine) as session:
        crud.disable_user(session, "gus", clock=service.clock)
        session.commit()
    before = _audit_rows(service)
    for command, args in sorted(arguments.items()):
        only = "only a manager or a governance" if command in managers_may else "only a governance"
        for who, said in (
            ("sam", only),
            ("mona", only),
            ("ivan", only),
            ("gus", "is disabled"),
            ("nobody", "nobody"),
        ):
            if who == "mona" and command in managers_may:
                continue
            capsys.readouterr()
            code = cli_main(
                ["admin", *command.split(), *args, "--officer", who, "--db", service.db_url]
            )
            err = capsys.readouterr().err
            assert code == 1, (command, who, err)
            assert said in err and "Traceback" not in err, (command, who, err)
            assert len(err.strip().splitlines()) == 1, (command, who, err)
    assert _audit_rows(service) == before
    assert not (tmp_path / "x.zip").exists()
    assert sam.pull_all()["records"], "the case is still there"
