"""Documents in backups, on a real encrypted profile: each backup keeps the documents' files as
they were (copied once, shared between backups), restoring brings them back, and copies no
kept backup names go with the old backups."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.core import Casework
from app.store import document_backups
from app.store.profile import BACKUPS_DIR, Profile, list_backups
from sync.clock import ManualClock
from tests.support.profile import PASSWORD, make_profile

CONTENT = bytes(range(256)) * 5000  # a little over one encrypted chunk


def _copies(folder: Path) -> list[str]:
    store = folder / BACKUPS_DIR / document_backups.COPIES_DIR
    return sorted(p.name for p in store.iterdir()) if store.is_dir() else []


def _with_document(folder: Path, tmp_path: Path) -> tuple[str, Path]:
    source = tmp_path / "letter.pdf"
    source.write_bytes(CONTENT)
    with make_profile(folder) as profile:
        work = Casework(profile)
        ref = work.create_case("housing_repair", "Pat Morgan", {})
        doc_id = work.add_document(ref, source)
        return ref, work.document_path(doc_id)


def _read_back(folder: Path, ref: str, out: Path) -> bytes:
    with Profile.open(folder, PASSWORD, backup=False) as profile:
        return Casework(profile).read_document(ref, "letter.pdf", out).read_bytes()


def test_a_backup_holds_the_documents_and_restore_brings_them_back(
    profile_dir: Path, tmp_path: Path
) -> None:
    ref, stored = _with_document(profile_dir, tmp_path)
    with Profile.open(profile_dir, PASSWORD, backup=False) as profile:
        profile.backup()
    (newest,) = list_backups(profile_dir)
    assert newest.documents == 1
    (copy,) = _copies(profile_dir)
    assert copy.startswith(stored.stem + ".")
    # encrypted as on disk: the plaintext is nowhere in the copy
    assert CONTENT[:64] not in (profile_dir / BACKUPS_DIR / "documents" / copy).read_bytes()

    stored.write_bytes(b"\0" * 100)  # damaged in place: the copy is a copy, not a link
    restored = Profile.restore(profile_dir, PASSWORD)
    assert restored.documents == 1
    assert _read_back(profile_dir, ref, tmp_path / "out.pdf") == CONTENT
    kept = list(profile_dir.joinpath("documents").glob(f"{stored.name}.before-restore-*"))
    assert [p.read_bytes() for p in kept] == [b"\0" * 100]  # never deleted

    stored.unlink()  # lost altogether
    assert Profile.restore(profile_dir, PASSWORD).documents == 1
    assert _read_back(profile_dir, ref, tmp_path / "again.pdf") == CONTENT
    # nothing to put back when the documents are as the backup has them
    assert Profile.restore(profile_dir, PASSWORD).documents == 0


def test_copies_are_shared_between_backups_and_go_with_the_last_that_names_them(
    profile_dir: Path, tmp_path: Path
) -> None:
    _with_document(profile_dir, tmp_path)
    clock = ManualClock(datetime(2026, 11, 1, 9, 0, tzinfo=UTC))
    for _day in range(3):
        with Profile.open(profile_dir, PASSWORD, backup=False, clock=clock) as profile:
            profile.backup()
        clock.advance(timedelta(days=1).total_seconds())
    assert len(list_backups(profile_dir)) == 3
    assert len(_copies(profile_dir)) == 1  # copied once, named by all three
    # a copy no backup names any more (its document went) is removed with the old backups
    store = profile_dir / BACKUPS_DIR / document_backups.COPIES_DIR
    (store / "0123.1-1.fcd").write_bytes(b"an old copy")
    (store / "4567.1-1.fcd.partial").write_bytes(b"left by a killed backup")
    clock.advance(timedelta(days=120).total_seconds())
    with Profile.open(profile_dir, PASSWORD, backup=False, clock=clock) as profile:
        profile.backup()
    assert len(list_backups(profile_dir)) == 1
    assert len(_copies(profile_dir)) == 1
    assert not list(profile_dir.joinpath(BACKUPS_DIR).glob("*.documents.json.partial"))
    assert len(list(profile_dir.joinpath(BACKUPS_DIR).glob("*.documents.json"))) == 1


def test_a_manifest_naming_files_elsewhere_is_not_followed(
    profile_dir: Path, tmp_path: Path
) -> None:
    _ref, stored = _with_document(profile_dir, tmp_path)
    with Profile.open(profile_dir, PASSWORD, backup=False) as profile:
        profile.backup()
    (newest,) = list_backups(profile_dir)
    outside = tmp_path / "outside.fcd"
    outside.write_bytes(b"not a backup")
    manifest = document_backups.manifest_path(newest.path)
    names = json.loads(manifest.read_text())["documents"]
    manifest.write_text(json.dumps({"documents": [*names, str(outside), "../outside.fcd"]}))
    assert document_backups.named_in(newest.path) == names
    manifest.write_text("not json")
    assert newest.documents == 0  # an unreadable manifest: the data file is still restored
    stored.unlink()
    assert Profile.restore(profile_dir, PASSWORD).documents == 0
    assert outside.read_bytes() == b"not a backup"
