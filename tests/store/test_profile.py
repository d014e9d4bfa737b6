"""Opening, damage, passwords, backups and restore of a real encrypted profile."""

from __future__ import annotations

import hashlib
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from app.core import Casework
from app.store import db
from app.store.errors import DataFileExists, DataFileMissing, NoBackup, ProfileDamaged
from app.store.profile import Profile, list_backups
from app.vault.errors import ProfileExists, ProfileMissing, WrongPassword
from tests.support.profile import PASSWORD, make_profile


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def seed(folder: Path, n: int = 3) -> list[str]:
    with make_profile(folder) as profile:
        work = Casework(profile)
        return [work.create_case("housing_repair", f"Person {i}", {}) for i in range(n)]


def test_create_then_open_reads_what_was_written(profile_dir: Path) -> None:
    refs = seed(profile_dir)
    with Profile.open(profile_dir, PASSWORD) as profile:
        assert profile.user == "ajones" and profile.team == "North"
        assert Casework(profile).refs() == sorted(refs)
        assert profile.documents_dir.is_dir()
    assert not profile.is_open


def test_the_file_is_not_plain_sqlite(profile_dir: Path) -> None:
    seed(profile_dir)
    path = profile_dir / db.DB_FILE
    assert not path.read_bytes().startswith(db.PLAIN_SQLITE_HEADER)
    plain = sqlite3.connect(path)
    try:
        with pytest.raises(sqlite3.DatabaseError):
            plain.execute("SELECT * FROM sqlite_master").fetchall()
    finally:
        plain.close()


def test_pragmas_are_in_force(profile: Profile) -> None:
    with profile.engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert raw.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert raw.execute("PRAGMA temp_store").fetchone()[0] == 2  # MEMORY


def test_wrong_password(profile_dir: Path) -> None:
    seed(profile_dir, 1)
    with pytest.raises(WrongPassword) as caught:
        Profile.open(profile_dir, "not the right password")
    assert "That password does not unlock this profile" in str(caught.value)


def test_missing_profile(tmp_path: Path) -> None:
    with pytest.raises(ProfileMissing) as caught:
        Profile.open(tmp_path / "nothing-here", PASSWORD)
    assert "fieldcase init" in str(caught.value)


def test_missing_data_file(profile_dir: Path) -> None:
    seed(profile_dir, 1)
    (profile_dir / db.DB_FILE).unlink()
    with pytest.raises(DataFileMissing) as caught:
        Profile.open(profile_dir, PASSWORD)
    assert "fieldcase restore" in str(caught.value)


def test_create_never_overwrites(profile_dir: Path) -> None:
    seed(profile_dir, 1)
    before = digest(profile_dir / db.DB_FILE)
    with pytest.raises((ProfileExists, DataFileExists)):
        Profile.create(profile_dir, PASSWORD, user="someone")
    (profile_dir / "key.json").rename(profile_dir / "key.json.away")
    with pytest.raises(DataFileExists):
        Profile.create(profile_dir, PASSWORD, user="someone")
    assert digest(profile_dir / db.DB_FILE) == before


@pytest.mark.parametrize("offset", [100, 3 * 4096 + 777, -50], ids=["page1", "page4", "last"])
def test_one_flipped_byte_is_detected_and_the_file_left_alone(
    profile_dir: Path, offset: int
) -> None:
    refs = seed(profile_dir, 5)
    Profile.open(profile_dir, PASSWORD).close()  # makes a backup holding the cases
    path = profile_dir / db.DB_FILE
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
    damaged = digest(path)
    backups_before = [b.name for b in list_backups(profile_dir)]

    with pytest.raises(ProfileDamaged) as caught:
        Profile.open(profile_dir, PASSWORD)
    message = str(caught.value)
    assert message.startswith("This profile's data file is damaged. Nothing has been changed.")
    assert "fieldcase restore" in message
    assert digest(path) == damaged
    assert [b.name for b in list_backups(profile_dir)] == backups_before  # no backup of damage

    aside = Profile.restore(profile_dir, PASSWORD).aside
    assert aside is not None and digest(aside) == damaged  # kept, never deleted
    with Profile.open(profile_dir, PASSWORD) as profile:
        assert Casework(profile).refs() == sorted(refs)


def test_damage_without_a_backup_says_so(profile_dir: Path) -> None:
    seed(profile_dir, 1)
    path = profile_dir / db.DB_FILE
    data = bytearray(path.read_bytes())
    data[4096 + 10] ^= 0x80
    path.write_bytes(bytes(data))
    with pytest.raises(ProfileDamaged) as caught:
        Profile.open(profile_dir, PASSWORD)
    assert "There is no backup on this laptop" in str(caught.value)
    with pytest.raises(NoBackup):
        Profile.restore(profile_dir, PASSWORD)


def test_password_change_rewraps_only(profile_dir: Path) -> None:
    seed(profile_dir, 2)
    path = profile_dir / db.DB_FILE
    before = digest(path)
    with Profile.open(profile_dir, PASSWORD, backup=False) as profile:
        profile.change_password(PASSWORD, "a completely new passphrase")
    assert digest(path) == before
    with pytest.raises(WrongPassword):
        Profile.open(profile_dir, PASSWORD)
    with Profile.open(profile_dir, "a completely new passphrase") as profile:
        assert len(Casework(profile).refs()) == 2


def test_backups_rotate_and_open_with_the_same_key(profile_dir: Path) -> None:
    seed(profile_dir, 1)
    for n in range(4):
        with Profile.open(profile_dir, PASSWORD) as profile:
            Casework(profile).create_case("housing_repair", f"Person {n}", {})
    backups = list_backups(profile_dir)
    assert len(backups) == 2  # all made today: the newest and the day's first are kept
    # the last case came after the newest backup, so the next unlock backs up again ...
    Profile.open(profile_dir, PASSWORD).close()
    newest = list_backups(profile_dir)[0]
    assert newest != backups[0]
    # ... and unlocking a profile unchanged since its newest backup copies nothing again
    Profile.open(profile_dir, PASSWORD).close()
    assert list_backups(profile_dir)[0] == newest
    backups = list_backups(profile_dir)
    assert backups == sorted(backups, key=lambda b: b.made_at, reverse=True)
    for backup in backups:
        assert not backup.path.read_bytes().startswith(db.PLAIN_SQLITE_HEADER)
    from app import vault

    db.check_database(backups[-1].path, vault.unlock(profile_dir, PASSWORD))


def test_restore_a_named_backup_and_refuse_a_damaged_one(profile_dir: Path) -> None:
    seed(profile_dir, 1)
    Profile.open(profile_dir, PASSWORD).close()
    with Profile.open(profile_dir, PASSWORD) as profile:
        Casework(profile).create_case("housing_repair", "Second", {})
    Profile.open(profile_dir, PASSWORD).close()
    newest, older = list_backups(profile_dir)[:2]
    data = bytearray(newest.path.read_bytes())
    data[5000] ^= 0x04
    newest.path.write_bytes(bytes(data))
    before = digest(profile_dir / db.DB_FILE)
    with pytest.raises(NoBackup) as caught:
        Profile.restore(profile_dir, PASSWORD)
    assert "damaged too" in str(caught.value)
    assert digest(profile_dir / db.DB_FILE) == before
    Profile.restore(profile_dir, PASSWORD, older.name)
    with Profile.open(profile_dir, PASSWORD) as profile:
        assert len(Casework(profile).refs()) == 1


def test_made_on_one_thread_used_on_another(profile: Profile) -> None:
    work = Casework(profile)
    with ThreadPoolExecutor(max_workers=1) as worker:
        ref = worker.submit(work.create_case, "safeguarding", "Ann Other", {}).result()
        rows = worker.submit(work.list_cases, "other").result()
    assert [r.ref for r in rows] == [ref]
    assert work.get_case(ref).person["name"] == "Ann Other"


def test_a_failed_automatic_backup_does_not_lock_the_caseworker_out(profile_dir: Path) -> None:
    seed(profile_dir, 1)
    backups = profile_dir / "backups"
    for old in backups.iterdir():
        old.unlink()
    backups.rmdir()
    backups.write_text("in the way")  # the backup folder cannot be made
    with Profile.open(profile_dir, PASSWORD) as profile:
        problem = profile.wait_for_backup()
        assert problem is not None and "The automatic backup could not be made" in problem
        assert len(Casework(profile).refs()) == 1


def test_the_backup_on_unlock_is_the_profile_as_unlocked(
    profile_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The copy runs on a thread, but what it copies is fixed when the profile opens: cases the
    same command makes straight after unlocking are not in it (nor half in it)."""
    import time

    from app import vault

    before = sorted(seed(profile_dir, 2))
    real_backup_to = db.backup_to

    def late_backup_to(*args: object, **kwargs: object) -> None:
        time.sleep(0.5)  # a slow disk: the copy starts after the command's first writes
        real_backup_to(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(db, "backup_to", late_backup_to)
    with Profile.open(profile_dir, PASSWORD) as profile:
        work = Casework(profile)
        after = [work.create_case("housing_repair", f"Later {i}", {}) for i in range(5)]
    newest = list_backups(profile_dir)[0]
    conn = db.connect(newest.path, vault.unlock(profile_dir, PASSWORD))
    try:
        held = sorted(ref for (ref,) in conn.execute("SELECT ref FROM cases"))
    finally:
        conn.close()
    assert held == before and not set(after) & set(held)
