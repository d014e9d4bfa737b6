"""A profile is its owner's alone, and a revoked laptop erases all of it.

* Every file of a real profile (key, database with -wal/-shm, documents, backups, a restore's
  before-restore copies, device.json) and the log files are 0600, every folder 0700, even
  when the process started with a permissive umask; an older profile's readable files are
  tightened when it is opened.
* Revoked by IT, the laptop erases everything at its next sync and says how many changes
  that had not been sent were lost (counted by the outbox's one rule).
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import online, vault
from app.files import keep_private
from app.logs import setup_logging
from app.paths import log_dir, marks_dir
from app.store.profile import Profile
from app.store.sync_adapter import SyncAdapter
from sync.errors import DeviceRevoked, SyncError
from tests.support.server import ServerProcess, admin, running_server, sqlite_url
from tests.sync.helpers import PROFILE_PASSWORD, Laptop, add_users, enrol_laptop, unique

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    db = sqlite_url(tmp_path_factory.mktemp("service"))
    with running_server(db) as srv:
        yield srv


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """Start as a careless desktop session would (umask 022); put the old one back after."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def enrolled(service: ServerProcess, folder: Path) -> Laptop:
    user = unique("ann")
    add_users(service.db_url, [(user, unique("team"), "caseworker")])
    return enrol_laptop(folder, service.url, user)


def modes(*folders: Path) -> dict[str, int]:
    found: dict[str, int] = {}
    for folder in folders:
        found[str(folder)] = stat.S_IMODE(folder.stat().st_mode)
        for path in folder.rglob("*"):
            found[str(path)] = stat.S_IMODE(path.lstat().st_mode)
    return found


def not_private(found: dict[str, int]) -> dict[str, str]:
    return {
        path: oct(mode)
        for path, mode in found.items()
        if mode != (0o700 if Path(path).is_dir() else 0o600)
    }


def full_profile(service: ServerProcess, tmp_path: Path) -> tuple[Laptop, str]:
    """Enrol (device.json, a first sync), then a case, a note, a document, a backup, a sync
    and a restore (before-restore copies), and open it again: every kind of file there is."""
    setup_logging()
    folder = tmp_path / "profile"
    laptop = enrolled(service, folder)
    ref = laptop.work.create_case("housing_repair", "Private Person")
    laptop.work.add_note(ref, "a private note")
    letter = tmp_path / "letter.txt"
    letter.write_text("Dear tenant", encoding="utf-8")
    laptop.work.add_document(ref, letter)
    laptop.profile.backup()
    laptop.sync()
    laptop.close()
    assert Profile.restore(folder, PROFILE_PASSWORD).aside is not None
    laptop.profile = Profile.open(folder, PROFILE_PASSWORD)
    laptop.work.add_note(ref, "written after the restore")
    laptop.sync()
    return laptop, ref


@pytest.mark.usefixtures("permissive_umask")
def test_every_file_of_a_real_profile_and_its_logs_is_owner_only(
    service: ServerProcess, tmp_path: Path
) -> None:
    laptop, _ref = full_profile(service, tmp_path)
    folder = laptop.folder
    names = {p.name for p in folder.iterdir()}
    assert {"key.json", "fieldcase.db", "device.json", "documents", "backups"} <= names
    assert any(".before-restore-" in name for name in names)
    assert list((folder / "documents").rglob("*")) and list((folder / "backups").glob("*.db"))
    laptop.close()
    logs = log_dir()
    assert (logs / "fieldcase.log").is_file()
    assert not_private(modes(folder, logs)) == {}


@pytest.mark.usefixtures("permissive_umask")
def test_an_older_profiles_readable_files_are_tightened_when_it_is_opened(
    service: ServerProcess, tmp_path: Path
) -> None:
    laptop = enrolled(service, tmp_path / "profile")
    laptop.profile.backup()
    laptop.close()
    for path in [laptop.folder, *laptop.folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)  # as an older version left them
    assert not_private(modes(laptop.folder))
    with Profile.open(laptop.folder, PROFILE_PASSWORD):
        pass
    assert not_private(modes(laptop.folder)) == {}


def test_keep_private_leaves_a_folder_it_cannot_change_as_it_is(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        missing = tmp_path / "not-there"
        keep_private(missing)  # no error for a folder that is not there
        assert not missing.exists()
        target = tmp_path / "elsewhere.txt"
        target.write_text("x", encoding="utf-8")
        target.chmod(0o644)
        (tmp_path / "p").mkdir()
        (tmp_path / "p" / "link").symlink_to(target)
        keep_private(tmp_path / "p")
        assert stat.S_IMODE(target.stat().st_mode) == 0o644  # links are not followed
        assert stat.S_IMODE((tmp_path / "p").stat().st_mode) == 0o700
    finally:
        os.umask(old)


# ------------------------------------------------------------------------------- the wipe


@pytest.mark.usefixtures("permissive_umask")
def test_a_revoked_laptop_erases_everything_and_says_how_many_unsent_changes_went(
    service: ServerProcess, tmp_path: Path
) -> None:
    laptop, ref = full_profile(service, tmp_path)
    laptop.work.add_note(ref, "unsent one")
    laptop.work.add_note(ref, "unsent two")
    laptop.work.create_case("housing_repair", "Unsent Person")
    unsent = SyncAdapter(laptop.profile).pending_count()
    assert unsent >= 3
    logs = log_dir()
    before = {p.name: p.read_text(encoding="utf-8") for p in logs.glob("fieldcase.log*")}
    assert before and any("enrolled as device" in text for text in before.values())

    device = SyncAdapter(laptop.profile).credential()
    assert device is not None
    outside_mark = marks_dir() / f"{device.device_id}.json"  # kept outside the profile
    assert outside_mark.exists()
    done = admin(service.db_url, "revoke-device", str(device.device_id))
    assert done.returncode == 0, done.stderr
    with pytest.raises(SyncError) as caught:
        online.sync(laptop.profile)

    assert isinstance(caught.value, DeviceRevoked)
    assert caught.value.message == (
        f"This laptop was revoked by IT. Its local data was erased, including {unsent} changes "
        "that had not been sent. Ask your IT team to set it up again."
    )
    assert caught.value.exit_code == 6
    assert sorted(p.name for p in laptop.folder.iterdir()) == []
    assert not outside_mark.exists()
    for path in logs.iterdir():  # only what was logged after the erasure, naming no case
        text = path.read_text(encoding="utf-8")
        assert ref not in text and "enrolled as device" not in text, path.name
    with pytest.raises(vault.ProfileMissing):
        Profile.open(laptop.folder, PROFILE_PASSWORD)


def test_a_revoked_laptop_with_everything_sent_says_so(
    service: ServerProcess, tmp_path: Path
) -> None:
    laptop = enrolled(service, tmp_path / "profile")
    device = SyncAdapter(laptop.profile).credential()
    assert device is not None
    assert admin(service.db_url, "revoke-device", str(device.device_id)).returncode == 0
    with pytest.raises(DeviceRevoked) as caught:
        online.sync(laptop.profile)
    assert "every change made on it had already been sent" in caught.value.message
    assert sorted(p.name for p in laptop.folder.iterdir()) == []


@pytest.mark.parametrize(
    ("unsent", "words"),
    [
        (0, "Its local data was erased; every change made on it had already been sent."),
        (1, "Its local data was erased, including 1 change that had not been sent."),
        (3, "Its local data was erased, including 3 changes that had not been sent."),
    ],
)
def test_the_revoked_message_counts_the_erased_changes(unsent: int, words: str) -> None:
    message = DeviceRevoked.erased(unsent).message
    assert message == f"This laptop was revoked by IT. {words} Ask your IT team to set it up again."
