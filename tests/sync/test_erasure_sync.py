"""Erasure end to end (issue 13), with a real ``fieldcase-server serve`` on SQLite and on
PostgreSQL and real encrypted laptops: a governance officer erases a case and a person; both
laptops sync; neither finds them by reference or by search; every backup on a laptop,
restored in turn, lacks them; a laptop that restored an old backup (holding unsent work on
the case) before syncing does not bring them back; and the service keeps no personal data of
them in any table or in its log; nor do the laptops, in their log or in plain text in any
file they keep."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core import Casework, UnknownCase
from app.logs import setup_logging
from app.paths import LOG_DIR_ENV
from app.store.profile import Profile, list_backups
from tests.support.pg import pg_cluster  # noqa: F401  (registers the fixture)
from tests.support.server import TEST_PASSWORD, ServerProcess, admin, served_per_database
from tests.sync.helpers import Laptop, add_users, enrol_laptop, unique
from tests.sync.service_rows import call


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    with served_per_database(request, tmp_path_factory, "erasure") as srv:
        yield srv


def _word(label: str) -> str:
    return f"zqcanary{label}{secrets.token_hex(4)}"


def _refs(laptop: Laptop, search: str | None = None) -> list[str]:
    return [c.ref for c in laptop.work.list_cases(search)]


def _gone(laptop: Laptop, ref: str, name: str) -> None:
    with pytest.raises(UnknownCase):
        laptop.work.get_case(ref)
    assert ref not in _refs(laptop) and _refs(laptop, name.split()[1][:12]) == []


@pytest.fixture
def laptop_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The laptops' own log (app/logs.py), at its most detailed, in a folder of this test."""
    folder = tmp_path / "laptop-logs"
    monkeypatch.setenv(LOG_DIR_ENV, str(folder))
    setup_logging(logging.DEBUG)
    yield folder
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_fieldcase_log", None)]:
        root.removeHandler(handler)
        handler.close()


def _files_holding(folder: Path, words: list[str]) -> list[str]:
    """Files under ``folder`` whose bytes hold any of ``words`` in plain text."""
    found = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes().lower()
            found += [f"{path.name}: {w}" for w in words if w.encode() in data]
    return found


def test_an_erased_case_and_person_leave_every_laptop_and_never_come_back(
    served: ServerProcess, tmp_path: Path, laptop_log: Path
) -> None:
    team = unique("team")
    ann, bea, gina = unique("ann"), unique("bea"), unique("gina")
    add_users(
        served.db_url,
        [(ann, team, "caseworker"), (bea, team, "caseworker"), (gina, unique("gov"), "governance")],
    )
    a = enrol_laptop(tmp_path / "a", served.url, ann)
    b = enrol_laptop(tmp_path / "b", served.url, bea)
    try:
        name1, name2 = f"Erin {_word('one')}", f"Ivo {_word('two')}"
        words = [name1.split()[1], name2.split()[1], _word("note"), _word("warn"), _word("sum")]
        ref1 = a.work.create_case("adult_social_care", name1, {"summary": words[4]})
        a.work.add_note(ref1, f"Visited; {words[2]}.")
        a.work.add_warning(ref1, words[3])
        source = tmp_path / "letter.txt"
        source.write_text("A letter\n" * 50)
        a.work.add_document(ref1, source)
        ref2 = a.work.create_case("housing_repair", name2, {})
        kept = a.work.create_case("housing_repair", "Kim Ode", {})
        a.sync()
        b.sync()
        assert {ref1, ref2, kept} <= set(_refs(b))
        person2 = str(b.work.get_case(ref2, record_view=False).person_id)

        # b works offline on the case, backs up, works on
        b.work.add_note(ref1, f"Offline: {_word('offline')}")
        b.profile.backup()
        b.work.add_note(ref1, "More offline work")

        for args in (
            ("erase-case", ref1, "--reason", "ER-2026-1"),
            ("erase-person", person2, "--reason", "ER-2026-2"),
        ):
            done = admin(served.db_url, *args, "--officer", gina)
            assert done.returncode == 0, done.stderr

        report = a.sync()
        assert report.erased == 2, report
        assert "erased from the council's records" in report.summary()
        _gone(a, ref1, name1)
        _gone(a, ref2, name2)
        assert kept in _refs(a)

        # b was offline: it restores its older backup (with the unsent note) and then syncs
        b.close()
        older = list_backups(b.folder)  # newest first: the one made while offline
        Profile.restore(b.folder, TEST_PASSWORD, older[0].path)
        b.profile = Profile.open(b.folder, TEST_PASSWORD)
        report = b.sync()
        assert report.erased_changes >= 1 and report.rejected == 0, report
        _gone(b, ref1, name1)
        _gone(b, ref2, name2)
        assert b.store.pending_count() == 0
        # nothing came back to the service: a fresh laptop of the team never sees them
        c = enrol_laptop(tmp_path / "c", served.url, ann)
        try:
            assert kept in _refs(c) and ref1 not in _refs(c) and ref2 not in _refs(c)
        finally:
            c.close()
        # every backup on b, restored in turn, lacks them
        b.close()
        for backup in list_backups(b.folder):
            Profile.restore(b.folder, TEST_PASSWORD, backup.path)
            with Profile.open(b.folder, TEST_PASSWORD, backup=False) as profile:
                refs = [x.ref for x in Casework(profile).list_cases()]
                assert ref1 not in refs and ref2 not in refs, backup.path.name
        b.profile = Profile.open(b.folder, TEST_PASSWORD, backup=False)

        assert call("words_found", served.db_url, words) == {}
        log = served.log_path.read_text(errors="replace").lower()
        assert not [w for w in words if w in log]
        # on the laptops: not in their log, nor in plain text in any file they keep
        logging.getLogger("fieldcase").info("laptop log checked after erasure")
        assert list(laptop_log.glob("fieldcase.log*")), "the laptops logged nothing"
        assert _files_holding(laptop_log, words) == []
        assert _files_holding(a.folder, words) == [] and _files_holding(b.folder, words) == []
    finally:
        a.close()
        b.close()
