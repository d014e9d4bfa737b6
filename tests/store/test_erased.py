"""A case the service erased, on a real encrypted profile (app/store/erased.py): it goes from
the tables, the search index, the outbox, the drafts, the document files, every backup and
every copy a restore set aside; and none of its words is left in any page of any of those
files, decrypted (so not in freed pages either: ``secure_delete``)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from sqlalchemy import text

from app import vault
from app.core import Casework
from app.store import db, state
from app.store.profile import Profile, list_backups
from app.store.sync_adapter import SyncAdapter
from sync.protocol import PullResponse
from tests.support.profile import PASSWORD, make_profile

PAGE = 4096
RESERVE = 80  # SQLCipher 4: a 16-byte IV and a 64-byte HMAC-SHA512 at each page's end
WAL_HEADER, FRAME_HEADER = 32, 24


def _decrypt(page: bytes, key: bytes, first: bool) -> bytes:
    start = 16 if first else 0  # page 1 begins with the file's salt
    iv = page[PAGE - RESERVE : PAGE - RESERVE + 16]
    body = page[start : PAGE - RESERVE]
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return decryptor.update(body) + decryptor.finalize()


def plaintext(path: Path, key: bytes) -> bytes:
    """Every page of an SQLCipher file (or its -wal), decrypted: what the file holds, live
    rows and freed pages alike."""
    data = path.read_bytes()
    pages: Iterator[tuple[int, bytes]]
    if path.name.endswith("-wal") or "-wal." in path.name:
        frames = data[WAL_HEADER:]
        step = FRAME_HEADER + PAGE
        pages = (
            (
                int.from_bytes(frames[at : at + 4], "big"),
                frames[at + FRAME_HEADER : at + step],
            )
            for at in range(0, len(frames) - step + 1, step)
        )
    else:
        pages = ((n + 1, data[n * PAGE : (n + 1) * PAGE]) for n in range(len(data) // PAGE))
    return b"".join(_decrypt(page, key, number == 1) for number, page in pages)


def _canary(label: str) -> str:
    return f"zqcanary{label}{secrets.token_hex(5)}"


def _files(profile_dir: Path) -> list[Path]:
    return sorted(p for p in profile_dir.rglob("*") if p.is_file())


def _data_files(profile_dir: Path) -> list[Path]:
    return [
        p
        for p in _files(profile_dir)
        if p.name.startswith("fieldcase") and ".fcd" not in p.name and not p.name.endswith(".json")
    ]


def _holds(profile_dir: Path, key: bytes, words: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in _data_files(profile_dir):
        content = plaintext(path, key).lower()
        for word in words:
            if word.encode() in content or word.encode("utf-16-le") in content:
                found.setdefault(word, []).append(path.name)
    return found


def _open(profile_dir: Path) -> Profile:
    return Profile.open(profile_dir, PASSWORD)


def test_an_erased_case_leaves_no_trace_in_the_profile_or_its_copies(tmp_path: Path) -> None:
    folder = tmp_path / "profile"
    words: list[str] = []

    def new(label: str) -> str:
        words.append(_canary(label))
        return words[-1]

    with make_profile(folder, user="ajones") as profile:
        work = Casework(profile)
        ref = work.create_case("adult_social_care", f"Pat {new('name')}", {"summary": new("sum")})
        kept = work.create_case("adult_social_care", "Kim Ode", {"summary": "Stays"})
        work.add_note(ref, f"Visited. {new('note')} was there.")
        work.add_warning(ref, new("warning"))
        work.add_visit(ref, "2026-12-01T10:30", new("place"))
        source = tmp_path / "letter.txt"
        in_document = new("doc")
        source.write_text(f"Letter about {in_document}\n" * 100)
        document_id = work.add_document(ref, source)
        case_id = work.get_case(ref).id
        with profile.session() as s, s.begin():
            state.save_draft(s, f"note:{case_id}", f"half typed {new('draft')}")
            state.save_draft(s, "note:elsewhere", "another case's draft")
        profile.backup()
        work.add_note(ref, f"Later. {new('later')}")
    # a restore sets the newer data file aside (a copy that holds every word)
    Profile.restore(folder, PASSWORD)
    key = vault.unlock(folder, PASSWORD)
    # the control: the scan finds every word the data file holds (the document's words are in
    # its own encrypted file, which goes whole)
    assert set(_holds(folder, key, words)) == set(words) - {in_document}

    with _open(folder) as profile:
        profile.backup()
        adapter = SyncAdapter(profile)
        adapter.apply_page(
            PullResponse(
                records=[],
                erased_cases=[case_id],
                next_cursor="c1.9",
                more=False,
                server_time=datetime.now(UTC),
            )
        )
        assert adapter.erased == 1
        work = Casework(profile)
        assert [c.ref for c in work.list_cases()] == [kept]
        assert work.list_cases("Pat") == [] and work.list_cases(words[0][:12]) == []
        with profile.session() as s:
            drafts = state.drafts(s)
            assert list(drafts) == ["note:elsewhere"]
            conn = s.connection()
            waiting = text("SELECT count(*) FROM outbox WHERE case_id = :c")
            assert conn.execute(waiting, {"c": case_id.hex}).scalar_one() == 0
            row = conn.execute(text("SELECT backups_done FROM erased_case")).one()
            assert row[0] == 1
        assert not any(str(document_id) in p.name for p in _files(folder))

    assert _holds(folder, key, words) == {}
    assert len(list_backups(folder)) >= 2
    # every backup, restored in turn, lacks it
    for backup in list_backups(folder):
        Profile.restore(folder, PASSWORD, backup.path)
        with _open(folder) as profile:
            refs = [c.ref for c in Casework(profile).list_cases()]
            assert ref not in refs and kept in refs
    assert _holds(folder, key, words) == {}


@pytest.mark.parametrize("secure", [False, True])
def test_the_scan_reads_freed_pages_and_secure_delete_clears_them(
    tmp_path: Path, secure: bool
) -> None:
    """A deleted draft's words stay in a freed page unless ``secure_delete`` is on: the scan
    finds them there (so its silence after an erasure means something), and Fieldcase's own
    connections leave nothing."""
    folder = tmp_path / "profile"
    word = _canary("freed")
    with make_profile(folder) as profile, profile.session() as s, s.begin():
        state.save_draft(s, "note:x", f"{word} " * 500)
    key = vault.unlock(folder, PASSWORD)
    if secure:
        opened = Profile.open(folder, PASSWORD, backup=False)
        with opened as profile, profile.session() as s, s.begin():
            state.drop_draft(s, "note:x")
    else:
        conn = db.connect(folder / db.DB_FILE, key)
        conn.execute("PRAGMA secure_delete = OFF")
        conn.execute("DELETE FROM meta WHERE key LIKE 'ui_draft:%'")
        conn.close()
    assert _holds(folder, key, [word]) == ({} if secure else {word: ["fieldcase.db"]})
