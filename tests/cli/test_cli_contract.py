"""The command-line contract of issue 2, end to end on real encrypted profiles."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.profile import ROOT, cli_env, run_cli, run_cli_inprocess

REF = re.compile(r"^FC-\d{4}-(\d{5}|[A-Z0-9]{3,4}-\d{4,})$")


@pytest.fixture
def initialised(profile_dir: Path) -> Path:
    result = run_cli_inprocess(["init", "--user", "ajones", "--team", "North"], profile_dir)
    assert result.returncode == 0, result.stderr
    return profile_dir


def cli(profile_dir: Path, *args: str) -> str:
    result = run_cli_inprocess(list(args), profile_dir)
    assert result.returncode == 0, result.stderr
    return result.out


def test_a_caseworkers_day_through_the_cli(initialised: Path, tmp_path: Path) -> None:
    ref = cli(
        initialised,
        "case", "new", "--type", "housing_repair", "--person", "Pat Morgan",
        "--set", "summary=Damp in the back bedroom",
        "--set", "priority=high",
        "--set", "next_review=2026-12-01",
        "--set", "person.address=19 Hughes Road, Bridport",
        "--set", "person.phone=01308 123456",
        "--set", "person.date_of_birth=1950-04-30",
    )  # fmt: skip
    assert REF.match(ref), ref
    note_id = cli(initialised, "note", "add", ref, "--text", "Visited at home.")
    fix_id = cli(
        initialised, "note", "add", ref, "--text", "Visited at 10:40.", "--corrects", note_id
    )
    visit_id = cli(initialised, "visit", "add", ref, "--due", "2026-12-02T10:30", "--place", "Home")
    cli(initialised, "warning", "add", ref, "--text", "Dog on premises")
    source = tmp_path / "photo.jpg"
    source.write_bytes(b"\xff\xd8 not really a photo " * 1000)
    cli(initialised, "document", "add", ref, str(source))
    cli(initialised, "case", "edit", ref, "--set", "status=in_progress")

    shown = json.loads(cli(initialised, "case", "show", ref, "--json"))
    assert shown["ref"] == ref
    assert shown["type"] == "housing_repair"
    assert shown["version"] == 0
    assert shown["fields"]["summary"] == "Damp in the back bedroom"
    assert shown["fields"]["status"] == "in_progress"
    assert shown["fields"]["priority"] == "high"
    assert shown["fields"]["next_review"] == "2026-12-01"
    assert shown["person"] == {
        "name": "Pat Morgan",
        "date_of_birth": "1950-04-30",
        "address": "19 Hughes Road, Bridport",
        "phone": "01308 123456",
        "preferred_contact": None,
        "language": "",
        "access_needs": "",
        "external_ids": "",
    }
    assert shown["warnings"] == ["Dog on premises"]
    assert [n["id"] for n in shown["notes"]] == [note_id, fix_id]
    assert shown["notes"][1]["corrects"] == note_id
    assert shown["notes"][0]["author"] == "ajones"
    assert set(shown["notes"][0]) == {"id", "text", "author", "at", "corrects"}
    assert shown["visits"] == [
        {"id": visit_id, "due": shown["visits"][0]["due"], "place": "Home", "status": "planned"}
    ]
    assert shown["documents"][0]["name"] == "photo.jpg"
    assert shown["documents"][0]["size"] == source.stat().st_size
    # person+case, 2 notes, visit, warning, document, edit: all waiting to be sent
    assert shown["pending"] == 8

    cli(initialised, "visit", "done", visit_id)
    shown = json.loads(cli(initialised, "case", "show", ref, "--json"))
    assert shown["visits"][0]["status"] == "done"

    out = tmp_path / "back.jpg"
    cli(initialised, "document", "get", ref, "photo.jpg", "--out", str(out))
    assert out.read_bytes() == source.read_bytes()

    listed = json.loads(cli(initialised, "cases", "--json"))
    assert listed == [
        {
            "ref": ref,
            "type": "housing_repair",
            "status": "in_progress",
            "priority": "high",
            "person_name": "Pat Morgan",
            "next_visit": None,
        }
    ]
    assert json.loads(cli(initialised, "cases", "--search", "morg", "--json"))[0]["ref"] == ref
    assert json.loads(cli(initialised, "cases", "--search", "bedroom", "--json"))[0]["ref"] == ref
    assert json.loads(cli(initialised, "cases", "--search", "10:40", "--json"))[0]["ref"] == ref
    assert json.loads(cli(initialised, "cases", "--search", "nobody", "--json")) == []
    human = cli(initialised, "case", "show", ref)
    assert "Dog on premises" in human and "Pat Morgan" in human


def test_case_new_prints_the_reference_alone_in_a_real_process(initialised: Path) -> None:
    result = run_cli(["case", "new", "--type", "safeguarding", "--person", "Sam Lee"], initialised)
    assert result.returncode == 0, result.stderr
    assert REF.match(result.stdout.rstrip("\n")), result.stdout
    assert result.stdout.count("\n") == 1


BAD_EDITS: list[tuple[list[str], list[str]]] = [
    (["--set", "colour=red"], ["no field called 'colour'", "summary", "person.phone"]),
    (["--set", "status=opne"], ["open, in_progress, waiting, closed"]),
    (["--set", "priority=very"], ["low, normal, high, urgent"]),
    (["--set", "next_review=1 Dec"], ["next_review must be a date like 2026-12-01"]),
    (["--set", "person.preferred_contact=fax"], ["phone, email, letter, visit"]),
    (["--set", "summary"], ["FIELD=VALUE"]),
    ([], ["Say what to change"]),
]


def test_bad_fields_and_values_are_explained(initialised: Path) -> None:
    ref = cli(initialised, "case", "new", "--type", "carer_support", "--person", "Jo Bloggs")
    before = json.loads(cli(initialised, "case", "show", ref, "--json"))
    for args, words in BAD_EDITS:
        result = run_cli_inprocess(["case", "edit", ref, *args], initialised)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stdout == ""
        for word in words:
            assert word in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    after = json.loads(cli(initialised, "case", "show", ref, "--json"))
    assert after["fields"] == before["fields"] and after["pending"] == before["pending"]


def test_the_cli_refuses_what_the_window_refuses(initialised: Path) -> None:
    """The core's required fields: an empty summary, worker or name is refused with the same
    plain words the window shows, exit code 2, and nothing is saved."""
    ref = cli(
        initialised, "case", "new", "--type", "carer_support", "--person", "Jo Bloggs",
        "--set", "summary=Needs a carer's assessment",
    )  # fmt: skip
    before = json.loads(cli(initialised, "case", "show", ref, "--json"))
    for args, words in (
        (["--set", "summary=  "], "Write a short summary of the case. It cannot be empty."),
        (["--set", "assigned_to="], "Give the user name of the worker this case is for."),
        (["--set", "person.name= "], "Enter the person's full name. It cannot be empty."),
    ):
        result = run_cli_inprocess(["case", "edit", ref, *args], initialised)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.strip() == words
        assert result.stdout == ""
    after = json.loads(cli(initialised, "case", "show", ref, "--json"))
    assert after["fields"] == before["fields"] and after["person"] == before["person"]
    assert after["pending"] == before["pending"]
    made = run_cli_inprocess(
        ["case", "new", "--type", "carer_support", "--person", "Kim Ode", "--set", "summary="],
        initialised,
    )
    assert made.returncode == 2
    assert made.stderr.strip() == "Write a short summary of the case. It cannot be empty."
    refs = [row["ref"] for row in json.loads(cli(initialised, "cases", "--json"))]
    assert refs == [ref]


def test_unknown_type_lists_the_types(initialised: Path) -> None:
    result = run_cli_inprocess(
        ["case", "new", "--type", "plumbing", "--person", "Jo Bloggs"], initialised
    )
    assert result.returncode == 2
    assert "adult_social_care" in result.stderr and "occupational_therapy" in result.stderr


def test_unknown_reference(initialised: Path) -> None:
    result = run_cli_inprocess(["case", "show", "FC-2026-00099", "--json"], initialised)
    assert result.returncode != 0
    assert result.stderr.strip() == (
        "There is no case FC-2026-00099 on this laptop. Check the reference, or sync to fetch "
        "new cases."
    )


def test_wrong_password_and_missing_profile(initialised: Path, tmp_path: Path) -> None:
    wrong = run_cli_inprocess(["cases"], initialised, password="not the password at all")
    assert wrong.returncode != 0
    assert "That password does not unlock this profile" in wrong.stderr
    missing = run_cli_inprocess(["cases"], tmp_path / "nowhere")
    assert missing.returncode != 0
    assert "There is no Fieldcase profile" in missing.stderr


def test_passwd_changes_the_password(initialised: Path) -> None:
    db = initialised / "fieldcase.db"
    before = db.read_bytes()
    result = run_cli_inprocess(["passwd"], initialised, new_password="a brand new passphrase")
    assert result.returncode == 0, result.stderr
    assert db.read_bytes() == before
    assert run_cli_inprocess(["cases"], initialised).returncode != 0
    ok = run_cli_inprocess(["cases"], initialised, password="a brand new passphrase")
    assert ok.returncode == 0, ok.stderr


def test_init_refuses_an_existing_profile(initialised: Path) -> None:
    again = run_cli_inprocess(["init", "--user", "someone"], initialised)
    assert again.returncode != 0
    assert "already" in again.stderr


def test_init_refuses_a_short_password(profile_dir: Path) -> None:
    result = run_cli_inprocess(["init", "--user", "ajones"], profile_dir, password="short")
    assert result.returncode != 0
    assert "too short" in result.stderr
    assert not (profile_dir / "fieldcase.db").exists()


def test_backups_and_restore(initialised: Path) -> None:
    first = cli(initialised, "case", "new", "--type", "safeguarding", "--person", "Sam Lee")
    # every unlock backs up the profile as it was, so this command's backup holds `first`
    second = cli(initialised, "case", "new", "--type", "safeguarding", "--person", "Kim Ode")
    listing = json.loads(cli(initialised, "backups", "--json"))
    assert len(listing) == 2 and all(b["name"].startswith("fieldcase-") for b in listing)
    restored = cli(initialised, "restore")
    assert "kept as" in restored
    kept = list(initialised.glob("fieldcase.db.before-restore-*"))
    assert len(kept) == 1
    refs = [row["ref"] for row in json.loads(cli(initialised, "cases", "--json"))]
    assert first in refs and second not in refs
    result = run_cli_inprocess(["restore", "fieldcase-nonsense.db"], initialised)
    assert result.returncode != 0 and "There is no backup called" in result.stderr


def test_backups_hold_the_documents(initialised: Path, tmp_path: Path) -> None:
    ref = cli(initialised, "case", "new", "--type", "safeguarding", "--person", "Sam Lee")
    letter = tmp_path / "letter.txt"
    letter.write_text("Dear Sam")
    cli(initialised, "document", "add", ref, str(letter))
    cli(initialised, "cases")  # this unlock backs up the profile with its document
    newest = json.loads(cli(initialised, "backups", "--json"))[0]
    assert newest["documents"] == 1
    assert cli(initialised, "backups").splitlines()[0].endswith(", 1 document")
    for stored in (initialised / "documents").glob("*.fcd"):
        stored.unlink()  # the document's file is lost
    restored = cli(initialised, "restore", newest["name"])
    assert "Put back 1 document from the backup." in restored
    out = tmp_path / "out.txt"
    cli(initialised, "document", "get", ref, "letter.txt", "--out", str(out))
    assert out.read_text() == "Dear Sam"


def test_repeated_wrong_passwords_meet_a_growing_wait(initialised: Path) -> None:
    messages = []
    for _ in range(8):
        result = run_cli_inprocess(["cases"], initialised, password="wrong wrong wrong")
        assert result.returncode != 0
        messages.append(result.stderr.strip())
        if "Too many wrong passwords" in messages[-1]:
            break
    assert "That password does not unlock this profile" in messages[0]
    assert "Too many wrong passwords" in messages[-1] and "Wait" in messages[-1]
    refused = run_cli_inprocess(["cases"], initialised)  # even the right one, for now
    assert refused.returncode != 0 and "Too many wrong passwords" in refused.stderr


def test_today_history_and_visit_done_by_short_id(initialised: Path) -> None:
    ref = cli(initialised, "case", "new", "--type", "adult_social_care", "--person", "Kim Ode")
    cli(initialised, "warning", "add", ref, "--text", "Lone-worker risk: visit in pairs")
    visit_id = cli(initialised, "visit", "add", ref, "--due", "2020-01-01", "--place", "Hall")
    today = json.loads(cli(initialised, "today", "--json"))
    assert [(v["id"], v["overdue"], v["warnings"]) for v in today] == [
        (visit_id, True, ["Lone-worker risk: visit in pairs"])
    ]
    assert "Overdue" in cli(initialised, "today")
    cli(initialised, "visit", "done", visit_id[:8], "--note", "Seen at the hall.")
    assert json.loads(cli(initialised, "today", "--json")) == []
    history = json.loads(cli(initialised, "history", ref, "--json"))
    assert [h["action"] for h in history][:3] == ["created", "created", "created"]
    assert all(h["actor"] == "ajones" for h in history)
    again = run_cli_inprocess(["visit", "done", visit_id], initialised)
    assert again.returncode != 0 and "already done" in again.stderr


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs POSIX resource limits")
def test_a_refused_write_is_a_plain_message_and_saves_nothing(initialised: Path) -> None:
    """A real write failure: the child may not grow any file past 64 KiB (RLIMIT_FSIZE)."""
    resource = pytest.importorskip("resource")
    cli(initialised, "case", "new", "--type", "safeguarding", "--person", "Kept Case")

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

    proc = subprocess.run(
        [sys.executable, "-m", "app.cli.main", "case", "new", "--type", "housing_repair",
         "--person", "Never Saved", "--set", "summary=" + "damp " * 20_000],
        env=cli_env(initialised), cwd=ROOT, capture_output=True, text=True,
        preexec_fn=small_files, timeout=120,
    )  # fmt: skip
    assert proc.returncode != 0
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert "your last change was not saved. Nothing was saved" in proc.stderr
    rows = json.loads(cli(initialised, "cases", "--json"))
    assert [r["person_name"] for r in rows] == ["Kept Case"]


def test_a_warning_is_retired_by_its_short_id_and_stays_in_the_history(initialised: Path) -> None:
    ref = cli(initialised, "case", "new", "--type", "adult_social_care", "--person", "Kim Ode")
    warning_id = cli(initialised, "warning", "add", ref, "--text", "Dog on premises")
    assert f"id {warning_id}" in cli(initialised, "case", "show", ref)
    said = cli(initialised, "warning", "retire", warning_id[:8])
    assert said.startswith("Retired.")
    assert json.loads(cli(initialised, "case", "show", ref, "--json"))["warnings"] == []
    history = json.loads(cli(initialised, "history", ref, "--json"))
    assert [
        h["actor"] for h in history if h["action"] == "changed" and h["record_kind"] == "warning"
    ] == ["ajones"]
    unknown = run_cli_inprocess(["warning", "retire", "0123456789abcdef"], initialised)
    assert unknown.returncode != 0 and "Traceback" not in unknown.stderr
    assert unknown.stderr.strip().count("\n") == 0  # one plain line


def test_a_visit_where_nobody_was_in_is_recorded_so(initialised: Path) -> None:
    ref = cli(initialised, "case", "new", "--type", "adult_social_care", "--person", "Kim Ode")
    visit_id = cli(initialised, "visit", "add", ref, "--due", "2020-01-01", "--place", "Hall")
    said = cli(
        initialised, "visit", "done", visit_id[:8], "--outcome", "not_in", "--note", "Card left."
    )
    assert said.startswith("Recorded: not in.")
    assert json.loads(cli(initialised, "today", "--json")) == []
    bad = run_cli_inprocess(["visit", "done", visit_id, "--outcome", "asleep"], initialised)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
