"""Canary: a unique string written into every text field of every model, a note and a document
is found nowhere on disk: not in the profile (database, -wal, -shm, backups, documents, key
file), not in the temp folder, not in the log folder; in UTF-8 or UTF-16, in any letter case."""

from __future__ import annotations

import logging
import secrets
import sqlite3
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest
from sqlalchemy import inspect

from app.core import Casework
from app.core.fields import CASE_FIELDS, PERSON_FIELDS
from app.logs import setup_logging
from app.store import db
from app.store.models import KIND_MODELS, Record
from app.store.profile import Profile
from app.store.records import column_python_type
from app.store.types import UTCDateTime
from tests.support.profile import PASSWORD, make_profile, run_cli_inprocess


def canary(label: str) -> str:
    # lower-case letters and digits only: the full-text index stores words case-folded, so a
    # mixed-case canary could leak in lower case unseen.
    return f"zqcanary{label.replace('_', '').replace('.', '')}{secrets.token_hex(6)}"


def encodings(word: str) -> list[bytes]:
    return [
        word.encode("utf-8"),
        word.encode("utf-16-le"),
        word.encode("utf-16-be"),
    ]


def files_under(*folders: Path) -> Iterator[Path]:
    for folder in folders:
        if folder.exists():
            yield from (p for p in folder.rglob("*") if p.is_file())


def hits(words: list[str], *folders: Path) -> dict[str, list[str]]:
    """Where each word appears: in a file's bytes, or in a file's or folder's name."""
    found: dict[str, list[str]] = {}
    for path in files_under(*folders):
        data = path.read_bytes().lower()
        for word in words:
            if any(needle in data for needle in encodings(word)) or word in str(path).lower():
                found.setdefault(word, []).append(str(path))
    return found


def text_columns(model: type[Record]) -> list[str]:
    skip = {"id", "case_id", "version", "sort_name"}  # sort_name derives from the name
    return [
        c.key
        for c in inspect(model).columns
        if c.key not in skip and column_python_type(model, c.key) is str
    ]


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_the_grep_finds_a_canary_when_it_is_there(tmp_path: Path) -> None:
    word = canary("control")
    (tmp_path / "plain.txt").write_text(f"Notes: {word.upper()}", encoding="utf-16")
    assert hits([word], tmp_path) == {word: [str(tmp_path / "plain.txt")]}


def test_no_canary_anywhere_on_disk(
    tmp_path: Path, private_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log_folder = tmp_path / "logs"
    monkeypatch.setenv("FIELDCASE_LOG_DIR", str(log_folder))
    log_file = setup_logging(logging.DEBUG)
    profile_dir = tmp_path / "profile"
    outside = tmp_path / "outside"  # where the person's own files are: not scanned
    outside.mkdir()
    words: list[str] = []

    def new(label: str) -> str:
        words.append(canary(label))
        return words[-1]

    with make_profile(profile_dir, user="ajones") as profile:
        work = Casework(profile)
        # 1. through the core actions, every free-text field a person can type
        free_text = [
            name
            for name in (*CASE_FIELDS, *PERSON_FIELDS)
            if name not in {"status", "priority", "person.preferred_contact", "person.name"}
            and "date" not in name
            and name not in {"next_review", "opened_on", "closed_on"}
        ]
        ref = work.create_case(
            "adult_social_care", f"Pat {new('person')}", {n: new(n) for n in free_text}
        )
        note_id = work.add_note(ref, f"Visited. {new('note')} was there.")
        work.add_note(ref, f"Correction: {new('correction')}", corrects=note_id)
        visit_id = work.add_visit(ref, "2026-12-01T10:30", new("place"), title=new("title"))
        work.complete_visit(visit_id, f"Done. {new('visitnote')}")
        work.add_warning(ref, new("warning"))
        source = outside / f"{new('filename')}.txt"
        source.write_text(("Letter about " + new("doccontent") + "\n") * 5000)
        work.add_document(ref, source)
        work.read_document(ref, source.name, outside / "copy.txt")
        assert work.list_cases(words[1][:10])  # search touches the full-text index

        # 2. straight into the tables, every text column of every model (as a pulled record
        #    from the service would arrive), enumerated from the models themselves
        with profile.session() as session, session.begin():
            for kind, model in KIND_MODELS.items():
                values = {name: new(f"{kind.value}{name}") for name in text_columns(model)}
                row = model(id=uuid4(), **values)
                for column in inspect(model).columns:
                    if column.key in values or column.key in {"id", "version"}:
                        continue
                    if column.key == "case_id" or column.key.endswith("_id"):
                        setattr(row, column.key, uuid4())
                    elif isinstance(column.type, UTCDateTime):
                        setattr(row, column.key, datetime.now(UTC))
                session.add(row)
        assert sum(len(text_columns(m)) for m in KIND_MODELS.values()) >= 30

        # 3. the CLI path (its output goes to the terminal, never to a file)
        shown = run_cli_inprocess(["case", "show", ref, "--json"], profile_dir)
        assert shown.returncode == 0 and words[0] in shown.stdout
        profile.backup()

        # while the profile is open (WAL and shared-memory files present)
        assert hits(words, profile_dir, private_tmp, log_folder) == {}

    # after closing, and after another unlock (which makes another backup)
    Profile.open(profile_dir, PASSWORD).close()
    assert hits(words, profile_dir, private_tmp, log_folder) == {}
    assert log_file.exists() and log_file.stat().st_size > 0  # the log was written, cleanly
    assert hits(words, outside)  # the control: the person's own files do hold the words

    path = profile_dir / db.DB_FILE
    assert not path.read_bytes().startswith(b"SQLite format 3")
    plain = sqlite3.connect(path)
    try:
        with pytest.raises(sqlite3.DatabaseError):
            plain.execute("SELECT count(*) FROM sqlite_master").fetchall()
    finally:
        plain.close()
