"""References are unique forever, and a rolled-back data file is noticed: real encrypted
laptops against a real service process, on SQLite and on PostgreSQL.

* ``fieldcase restore`` of the oldest backup, then a new case: its reference is not one the
  service holds already; the rollback is explained at the next sync; a colleague's laptop
  syncs fine; nothing is lost.
* A case made offline whose reference another case took first gets a fresh one: its history
  says so, the sync summary says so, everything of the case is sent, both laptops converge.
* An older data file copied over the profile is noticed at the next sync and explained; the
  laptop fetches again what it lacks, its unsent work is still sent, new cases get fresh
  references.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.core import Casework
from app.paths import marks_dir
from app.store.profile import Profile
from app.store.refs import MARK_FILE
from sync.engine import ROLLED_BACK, SyncEngine, describe_re_reference
from sync.protocol import Change, ChangeStatus, ErrorCode, PushRequest
from sync.records import RecordKind
from tests.support.kdf import TEST_KDF  # noqa: F401  (the root fixture makes it the default)
from tests.support.pg import pg_cluster  # noqa: F401  (registers the fixture)
from tests.support.profile import run_cli_inprocess
from tests.support.server import ServerProcess, running_server, served_per_database, sqlite_url
from tests.sync.helpers import PROFILE_PASSWORD, Laptop

POOL_TEAMS = 5
Makes = Callable[..., list[Laptop]]
DB_FILES = ("fieldcase.db", "fieldcase.db-wal", "fieldcase.db-shm")


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """A real ``fieldcase-server serve`` on SQLite or on PostgreSQL."""
    with served_per_database(request, tmp_path_factory, "fcrefs") as srv:
        yield srv


def reopen(laptop: Laptop) -> Laptop:
    laptop.profile = Profile.open(laptop.folder, PROFILE_PASSWORD, backup=False)
    return laptop


def all_refs(laptop: Laptop) -> list[str]:
    return sorted(laptop.work.refs())


def cli(laptop: Laptop, *args: str) -> tuple[int, str, str]:
    result = run_cli_inprocess(list(args), laptop.folder, password=PROFILE_PASSWORD)
    return result.returncode, result.out.strip(), result.stderr.strip()


def case_change(ref: str, team: str, user: str) -> Change:
    case_id = uuid.uuid4()
    return Change(
        change_id=uuid.uuid4(),
        kind=RecordKind.CASE,
        record_id=case_id,
        case_id=case_id,
        base_version=0,
        fields={
            "ref": ref,
            "type": "housing_repair",
            "status": "open",
            "priority": "normal",
            "summary": "made elsewhere",
            "team": team,
            "assigned_to": user,
            "person_id": str(uuid.uuid4()),
        },
        made_at=datetime.now(UTC),
    )


def test_restore_of_the_oldest_backup_then_a_new_case(
    laptops: Makes, service: ServerProcess
) -> None:
    a, b = laptops(2)
    first = [a.work.create_case("housing_repair", f"First {n}") for n in range(2)]
    a.sync()
    a.close()
    # a backup of this state (each unlock makes one when the file changed)
    code, _, err = cli(a, "cases")
    assert code == 0, err
    for n in range(3):
        code, _, err = cli(a, "case", "new", "--type", "housing_repair", "--person", f"Later {n}")
        assert code == 0, err
    code, out, err = cli(a, "sync")
    assert code == 0 and "Sent" in out, err
    later = sorted(set(all_refs(reopen(a))) - set(first))
    assert len(later) == 3
    a.close()

    code, out, err = cli(a, "backups", "--json")
    assert code == 0, err
    oldest = json.loads(out)[-1]["name"]
    code, out, err = cli(a, "restore", oldest)
    assert code == 0, err
    assert f"Restored {oldest}." in out
    assert "Fetched fresh case reference numbers" in out

    code, new_ref, err = cli(a, "case", "new", "--type", "housing_repair", "--person", "After")
    assert code == 0, err
    assert new_ref not in first + later  # no number the newer file used is handed out again

    code, out, err = cli(a, "sync")
    assert code == 0, err
    assert ROLLED_BACK in out
    reopen(a)
    assert set(all_refs(a)) == set(first + later + [new_ref])  # fetched again: nothing lost
    code, out, err = cli(a, "sync")
    assert code == 0 and ROLLED_BACK not in out, err  # said once

    report = b.sync()  # a colleague's laptop syncs fine and holds every case once
    assert report.completed and report.rejected == 0
    assert set(all_refs(b)) == set(first + later + [new_ref])
    assert a.state() == b.state()


def test_offline_after_a_restore_new_cases_cannot_clash(
    laptops: Makes, service: ServerProcess
) -> None:
    (a,) = laptops(1)
    a.work.create_case("housing_repair", "Before")
    a.sync()
    backup = a.profile.backup()
    from_block = a.work.create_case("housing_repair", "From a block")  # sent, then lost
    a.sync()
    a.close()

    Profile.restore(a.folder, PROFILE_PASSWORD, backup.name)  # no service contact at all
    reopen(a)
    offline = a.work.create_case("housing_repair", "Offline after restore")
    assert offline != from_block
    assert offline.count("-") == 3  # the fallback form FC-YYYY-CODE-NNNN, after a jump
    assert int(offline.rsplit("-", 1)[1]) > 1000
    report = a.sync()
    assert report.rolled_back and report.rejected == 0 and not report.re_referenced
    assert {from_block, offline} <= set(all_refs(a))
    assert a.work.create_case("housing_repair", "Online again").count("-") == 2  # fresh block


def test_a_taken_reference_gets_a_fresh_one_and_everything_is_sent(
    laptops: Makes, service: ServerProcess
) -> None:
    a, b, c = laptops(3)
    a.sync()  # reference blocks
    ref = a.work.create_case("housing_repair", "Offline Person", {"summary": "made offline"})
    note = a.work.add_note(ref, "A note written offline")
    case_id = a.case_id(ref)

    # a third laptop of the team got there first with the same reference (raw API)
    other = case_change(ref, a.profile.team, c.user)
    client = c.client()
    try:
        (result,) = client.push(PushRequest(changes=[other])).results
        assert result.status is ChangeStatus.APPLIED
        # a second case with that reference is refused with its own code
        (again,) = client.push(
            PushRequest(changes=[case_change(ref, a.profile.team, b.user)])
        ).results
        assert again.status is ChangeStatus.REJECTED
        assert again.error is not None and again.error.code is ErrorCode.DUPLICATE_REF
    finally:
        client.close()

    report = a.sync()
    assert report.completed and report.rejected == 0
    ((old, new),) = report.re_referenced
    assert old == ref and new != ref
    assert describe_re_reference(ref, new) in report.summary()
    assert f"Case {ref} made offline was given the new reference {new}" in report.summary()
    assert a.case_id(new) == case_id
    history = a.work.audit(new)
    assert [h.action for h in history].count("re_referenced") == 1
    moved = next(h for h in history if h.action == "re_referenced")
    assert ref in moved.detail and new in moved.detail
    assert a.work.pending_count() == 0  # the case, its person, its note: all sent

    b.sync()
    assert a.sync().re_referenced == []
    assert a.state() == b.state()
    assert {ref, new} <= set(all_refs(b))
    shown = b.work.get_case(new, record_view=False)
    assert any(n.id == note for n in shown.notes)


@pytest.mark.parametrize("copied", ["data-file", "whole-folder", "everything"])
def test_an_older_data_file_copied_over_the_profile(
    laptops: Makes, service: ServerProcess, tmp_path: Path, copied: str
) -> None:
    """The data file alone, or the whole profile folder (mark file too), copied back: noticed
    on unlock (the mark beside the data file, or the one kept outside the profile, is newer),
    so a case made before the next sync cannot reuse a number. Everything copied back, the
    push-mark folder outside the profile too (another copy of the user's account): noticed
    only at the next sync, and the case that reused a number the service holds gets a fresh
    reference. Either way the sync explains it and nothing the service holds, nor the old
    file's unsent work, is lost."""
    files = DB_FILES if copied == "data-file" else (*DB_FILES, MARK_FILE)
    marks = marks_dir()
    a, b = laptops(2)
    sent = a.work.create_case("housing_repair", "Sent early")
    a.sync()
    unsent = a.work.create_case("housing_repair", "Not sent before the copy")
    a.close()
    aside = tmp_path / "old-copy"
    aside.mkdir()
    for name in files:
        if (a.folder / name).exists():
            shutil.copy2(a.folder / name, aside / name)
    shutil.copytree(marks, aside / "push-marks")

    reopen(a)
    newer = [a.work.create_case("housing_repair", f"Newer {n}") for n in range(2)]
    a.sync()
    assert b.sync().completed
    colleague = b.work.create_case("housing_repair", "Colleague's")
    b.sync()
    a.close()

    for name in files:  # the older file is copied back over the profile
        (a.folder / name).unlink(missing_ok=True)
        if (aside / name).exists():
            shutil.copy2(aside / name, a.folder / name)
    if copied == "everything":
        shutil.rmtree(marks)
        shutil.copytree(aside / "push-marks", marks)
    reopen(a)
    assert set(all_refs(a)) == {sent, unsent}
    made = a.work.create_case("housing_repair", "Made on the old copy")
    if copied == "everything":
        # nothing on this laptop says it went back in time: the case takes the next number
        # of the old file's block, the same as a newer case the service holds
        assert made in newer
    else:
        assert made not in newer and made.count("-") == 3  # a jumped fallback reference

    report = a.sync()
    assert report.completed, report.summary()
    assert report.rolled_back
    assert ROLLED_BACK in report.summary()
    if copied == "everything":
        ((old, fresh),) = report.re_referenced
        assert old == made and fresh not in [*newer, sent, unsent, colleague]
    else:
        assert report.re_referenced == []
        fresh = made
    assert report.rejected == 0
    # everything is back, the unsent work of the old file was sent, nothing was lost
    assert set(all_refs(a)) == {sent, unsent, colleague, fresh, *newer}
    assert a.work.pending_count() == 0
    b.sync()
    assert a.state() == b.state()
    later = a.work.create_case("housing_repair", "After it all")
    assert later not in all_refs(b)
    a.sync()
    b.sync()
    assert a.state() == b.state()


def test_a_laptop_never_rolled_back_is_not_told_so(laptops: Makes) -> None:
    (a,) = laptops(1)
    for n in range(3):
        a.work.create_case("housing_repair", f"Case {n}")
        report = a.sync()
        assert not report.rolled_back and ROLLED_BACK not in report.summary()
    work = Casework(a.profile)
    assert work.pending_count() == 0


def test_a_service_without_push_marks_is_still_synced_with(laptops: Makes) -> None:
    """A version 2 laptop meeting a service that predates push marks (404 on the state
    route) syncs as before: no mark sent, no rollback check."""
    from sync.errors import ServiceError, ServiceErrorKind

    (a,) = laptops(1)
    sent: list[int | None] = []
    client = a.client()
    real_push = client.push

    def older_state() -> object:
        raise ServiceError(ServiceErrorKind.NOT_FOUND, detail="404 not_found")

    def watched_push(request: PushRequest) -> object:
        sent.append(request.mark)
        return real_push(request)

    client.sync_state = older_state  # type: ignore[method-assign,assignment]
    client.push = watched_push  # type: ignore[method-assign,assignment]
    ref = a.work.create_case("housing_repair", "Older service")
    try:
        report = SyncEngine(a.store, client).sync()
    finally:
        client.close()
    assert report.completed and report.pushed == 3 and not report.rolled_back
    assert sent == [None]
    assert ref in all_refs(a) and a.work.pending_count() == 0
    assert a.sync().completed  # and the next ordinary sync is not taken for a rollback


def test_restore_while_the_service_cannot_be_reached(tmp_path: Path) -> None:
    """``fieldcase restore`` offline: it says so, and the next case gets a fallback reference
    that cannot clash (none of the backup's reserved numbers is used again)."""
    from tests.sync.helpers import add_users, enrol_laptop

    db = sqlite_url(tmp_path)
    add_users(db, [("offline1", "Offline team", "caseworker")])
    with running_server(db) as srv:
        a = enrol_laptop(tmp_path / "laptop", srv.url, "offline1")
        backup = a.profile.backup()
        used = a.work.create_case("housing_repair", "Sent before the service went away")
        a.sync()
        a.close()
    code, out, err = cli(a, "restore", backup.name)
    assert code == 0, err
    assert "could not be reached" in out
    code, ref, err = cli(a, "case", "new", "--type", "housing_repair", "--person", "Offline")
    assert code == 0, err
    assert ref != used and ref.count("-") == 3 and int(ref.rsplit("-", 1)[1]) > 1000
