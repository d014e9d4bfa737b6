"""The wrapped database key: create, unlock, damage, destroy, the KDF."""

from __future__ import annotations

import json
import os
import stat
import unicodedata
import uuid
from pathlib import Path

import pytest
from vaultkit import (
    NEW_PASSWORD,
    PASSWORD,
    FakeClock,
    key_json,
    rewrite_with_checksum,
)

from app import vault
from app.errors import FieldcaseError
from app.vault import kdf, keys
from app.vault._files import write_atomic
from app.vault.kdf import FLOOR_ITERATIONS, FLOOR_MEMORY_KIB
from tests.support.kdf import TEST_KDF

# --------------------------------------------------------------------------- create / unlock


def test_create_then_unlock_gives_the_same_random_key(tmp_path: Path) -> None:
    a = vault.create_key(tmp_path / "a", PASSWORD, profile_id=uuid.uuid4())
    b = vault.create_key(tmp_path / "b", PASSWORD, profile_id=uuid.uuid4())
    assert len(a) == 32 and a != b
    assert vault.unlock(tmp_path / "a", PASSWORD) == a
    assert vault.unlock(tmp_path / "b", PASSWORD) == b


def test_key_file_records_the_cost_it_was_wrapped_at_and_is_private(
    profile: tuple[Path, bytes],
) -> None:
    folder, _ = profile
    doc = key_json(folder)
    assert doc["format"] == "fieldcase-key" and doc["version"] == 1
    wrap = doc["password_wrap"]
    assert (wrap["kdf"], wrap["memory_kib"], wrap["iterations"], wrap["lanes"]) == (
        "argon2id",
        TEST_KDF.memory_kib,
        TEST_KDF.iterations,
        TEST_KDF.lanes,
    )
    assert "recovery_wrap" not in doc
    if os.name == "posix":
        assert stat.S_IMODE((folder / "key.json").stat().st_mode) == 0o600
    assert not list(folder.glob(".key.json.*"))


def test_create_refuses_to_overwrite_an_existing_key_file(profile: tuple[Path, bytes]) -> None:
    folder, key = profile
    before = (folder / "key.json").read_bytes()
    with pytest.raises(vault.ProfileExists, match="already a Fieldcase profile"):
        vault.create_key(folder, "another password", profile_id=uuid.uuid4())
    assert (folder / "key.json").read_bytes() == before
    assert vault.unlock(folder, PASSWORD) == key


def test_exclusive_write_never_replaces_a_file(tmp_path: Path) -> None:
    target = tmp_path / "key.json"
    target.write_bytes(b"original")
    with pytest.raises(FileExistsError):
        write_atomic(target, b"new", exclusive=True)
    assert target.read_bytes() == b"original"
    assert [p.name for p in tmp_path.iterdir()] == ["key.json"]


@pytest.mark.parametrize("minimum", [10, 14])
def test_short_password_is_refused_with_the_minimum(tmp_path: Path, minimum: int) -> None:
    with pytest.raises(vault.WeakPassword) as caught:
        vault.create_key(
            tmp_path, "x" * (minimum - 1), profile_id=uuid.uuid4(), min_password_length=minimum
        )
    assert f"at least {minimum} characters" in str(caught.value)
    assert isinstance(caught.value, FieldcaseError)
    assert not (tmp_path / "key.json").exists()
    vault.create_key(tmp_path, "x" * minimum, profile_id=uuid.uuid4(), min_password_length=minimum)


def test_wrong_password_has_the_plain_message(profile: tuple[Path, bytes]) -> None:
    folder, _ = profile
    with pytest.raises(vault.WrongPassword) as caught:
        vault.unlock(folder, "not the password")
    assert str(caught.value) == (
        "That password does not unlock this profile. Check Caps Lock and try again."
    )


def test_missing_profile_is_named(tmp_path: Path) -> None:
    with pytest.raises(vault.ProfileMissing) as caught:
        vault.unlock(tmp_path / "nowhere", PASSWORD)
    assert str(caught.value).startswith(f"There is no Fieldcase profile in {tmp_path / 'nowhere'}.")


def test_the_same_password_typed_in_another_unicode_form_unlocks(tmp_path: Path) -> None:
    composed = "caf\u00e9 au lait, s'il vous pla\u00eet"
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    key = vault.create_key(tmp_path, decomposed, profile_id=uuid.uuid4())
    assert vault.unlock(tmp_path, composed) == key


def test_profile_id_is_readable_without_the_password(tmp_path: Path) -> None:
    pid = uuid.uuid4()
    vault.create_key(tmp_path, PASSWORD, profile_id=pid)
    assert vault.read_profile_id(tmp_path) == pid


# --------------------------------------------------------------------------- damage


def _flip_b64_char(value: str, index: int = 3) -> str:
    char = value[index]
    return value[:index] + ("A" if char != "A" else "B") + value[index + 1 :]


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ("password_wrap", "wrapped_key"),
        ("password_wrap", "salt"),
        ("password_wrap", "nonce"),
        ("password_wrap", "memory_kib"),
        ("password_wrap", "iterations"),
        (None, "profile_id"),
    ],
)
def test_one_changed_field_is_reported_as_damage_and_the_file_kept(
    profile: tuple[Path, bytes], clock: FakeClock, section: str | None, field: str
) -> None:
    folder, _ = profile
    text = (folder / "key.json").read_text()
    doc = json.loads(text)
    holder = doc[section] if section else doc
    old = holder[field]
    if isinstance(old, int):
        new_text = text.replace(f'"{field}": {old}', f'"{field}": {old + 1}')
    elif field == "profile_id":
        new_text = text.replace(old, str(uuid.uuid4()))
    else:
        new_text = text.replace(old, _flip_b64_char(old))
    assert new_text != text
    (folder / "key.json").write_text(new_text)
    with pytest.raises(vault.KeyFileDamaged) as caught:
        vault.unlock(folder, PASSWORD, clock=clock)
    message = str(caught.value)
    assert "damaged" in message and "IT team" in message and "recovery" in message
    assert (folder / "key.json").read_text() == new_text
    assert vault.seconds_until_next_attempt(folder, clock=clock) == 0  # damage is no attempt


def test_every_single_byte_flip_is_caught_and_nothing_is_rewritten(
    profile: tuple[Path, bytes],
) -> None:
    folder, _ = profile
    original = (folder / "key.json").read_bytes()
    outcomes = set()
    for position in range(len(original)):
        damaged = bytearray(original)
        damaged[position] ^= 0x01
        (folder / "key.json").write_bytes(bytes(damaged))
        try:
            keys._read_key_file(folder)  # the checks that come before any key derivation
        except vault.KeyFileDamaged:
            outcomes.add("damaged")
        else:
            pytest.fail(f"a flip at byte {position} went unnoticed")
        assert (folder / "key.json").read_bytes() == bytes(damaged)
    assert outcomes == {"damaged"}


@pytest.mark.parametrize("content", [b"", b"{}", b"[1, 2]", b"\xff\xfe", b'{"checksum": 5}'])
def test_malformed_key_files_are_damaged(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "key.json").write_bytes(content)
    with pytest.raises(vault.KeyFileDamaged):
        vault.unlock(tmp_path, PASSWORD)
    assert (tmp_path / "key.json").read_bytes() == content


def test_a_careful_tamper_with_a_fixed_checksum_still_does_not_open(
    profile: tuple[Path, bytes], clock: FakeClock
) -> None:
    folder, _ = profile
    doc = key_json(folder)
    doc["password_wrap"]["iterations"] = 4  # valid, but not what the wrap was sealed with
    rewrite_with_checksum(folder, doc)
    with pytest.raises(vault.WrongPassword):
        vault.unlock(folder, PASSWORD, clock=clock)


def test_parameters_below_the_vaults_minimum_are_refused_before_deriving(
    profile: tuple[Path, bytes],
) -> None:
    folder, _ = profile
    doc = key_json(folder)
    doc["password_wrap"]["memory_kib"] = 1024
    rewrite_with_checksum(folder, doc)
    with pytest.raises(vault.KeyFileDamaged):
        vault.unlock(folder, PASSWORD)


def test_a_wrap_moved_to_another_profile_does_not_open(tmp_path: Path) -> None:
    vault.create_key(tmp_path / "a", PASSWORD, profile_id=uuid.uuid4())
    stolen = key_json(tmp_path / "a")
    stolen["profile_id"] = str(uuid.uuid4())
    (tmp_path / "b").mkdir()
    rewrite_with_checksum(tmp_path / "b", stolen)
    with pytest.raises(vault.WrongPassword):
        vault.unlock(tmp_path / "b", PASSWORD)


def test_key_file_missing_beside_a_database_is_not_called_a_missing_profile(
    profile: tuple[Path, bytes],
) -> None:
    folder, _ = profile
    (folder / "fieldcase.db").write_bytes(os.urandom(4096))
    (folder / "key.json").unlink()
    with pytest.raises(vault.KeyFileDamaged, match="is missing"):
        vault.unlock(folder, PASSWORD)


# --------------------------------------------------------------------------- destroy


def test_destroy_key_overwrites_then_deletes(profile: tuple[Path, bytes]) -> None:
    folder, _ = profile
    original = (folder / "key.json").read_bytes()
    (folder / ".key.json.abc123.tmp").write_bytes(original)  # a leftover from a crash
    (folder / "unlock-attempts.json").write_text('{"failures": 1, "last_failure": 0}')
    with open(folder / "key.json", "rb") as still_open:  # sees the same bytes on disk
        vault.destroy_key(folder)
        still_open.seek(0)
        after = still_open.read()
    assert len(after) == len(original) and after != original
    assert b"wrapped_key" not in after
    assert sorted(p.name for p in folder.iterdir()) == []
    with pytest.raises(vault.ProfileMissing):
        vault.unlock(folder, PASSWORD)
    vault.destroy_key(folder)  # twice is harmless


def test_destroy_key_beside_a_database_leaves_it_unopenable(profile: tuple[Path, bytes]) -> None:
    folder, _ = profile
    (folder / "fieldcase.db").write_bytes(os.urandom(1024))
    vault.destroy_key(folder)
    assert not (folder / "key.json").exists()
    with pytest.raises((vault.ProfileMissing, vault.KeyFileDamaged)):
        vault.unlock(folder, PASSWORD)


# --------------------------------------------------------------------------- kdf


def test_new_params_take_the_named_cost_with_fresh_salts() -> None:
    a, b = kdf.new_params(TEST_KDF), kdf.new_params(TEST_KDF)
    assert a.cost == b.cost == TEST_KDF
    assert a.salt != b.salt and len(a.salt) == 16


@pytest.mark.production_kdf
def test_production_tuning_never_goes_below_the_floor() -> None:
    assert kdf._tuned_cost(0.001) == (FLOOR_MEMORY_KIB, FLOOR_ITERATIONS, kdf.DEFAULT_LANES)
    memory, iterations, _ = kdf._tuned_cost(0.3)
    assert memory >= FLOOR_MEMORY_KIB and iterations >= FLOOR_ITERATIONS
    assert (FLOOR_MEMORY_KIB, FLOOR_ITERATIONS) == (65536, 3)
    assert kdf.production_cost().at_or_above_floor
    params = vault.tuned_kdf_params()
    assert params.memory_kib >= FLOOR_MEMORY_KIB and params.iterations >= FLOOR_ITERATIONS


@pytest.mark.production_kdf
def test_a_key_made_without_naming_a_cost_is_wrapped_at_or_above_the_floor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIELDCASE_TEST_FAST_KDF", "1")  # the old switch changes nothing now
    key = vault.create_key(tmp_path, PASSWORD, profile_id=uuid.uuid4())
    wrap = key_json(tmp_path)["password_wrap"]
    assert wrap["memory_kib"] >= FLOOR_MEMORY_KIB and wrap["iterations"] >= FLOOR_ITERATIONS
    assert vault.unlock(tmp_path, PASSWORD) == key


def test_unlock_and_rewrap_use_the_cost_stored_beside_the_key(tmp_path: Path) -> None:
    cheap = kdf.KdfCost(memory_kib=kdf.MIN_MEMORY_KIB, iterations=2, lanes=2)
    key = vault.create_key(tmp_path, PASSWORD, profile_id=uuid.uuid4(), kdf=cheap)
    assert vault.unlock(tmp_path, PASSWORD) == key
    vault.change_password(tmp_path, PASSWORD, NEW_PASSWORD, kdf=TEST_KDF)
    wrap = key_json(tmp_path)["password_wrap"]
    assert (wrap["memory_kib"], wrap["iterations"], wrap["lanes"]) == (8192, 1, 1)
    assert vault.unlock(tmp_path, NEW_PASSWORD) == key


@pytest.mark.parametrize(
    "cost",
    [
        kdf.KdfCost(memory_kib=kdf.MIN_MEMORY_KIB - 1024, iterations=1, lanes=1),
        kdf.KdfCost(memory_kib=kdf.MIN_MEMORY_KIB, iterations=0, lanes=1),
        kdf.KdfCost(memory_kib=kdf.MIN_MEMORY_KIB, iterations=1, lanes=0),
        kdf.KdfCost(memory_kib=kdf.MAX_MEMORY_KIB * 2, iterations=1, lanes=1),
    ],
)
def test_a_named_cost_outside_what_the_vault_accepts_is_refused(
    tmp_path: Path, cost: kdf.KdfCost
) -> None:
    with pytest.raises(ValueError):
        vault.create_key(tmp_path, PASSWORD, profile_id=uuid.uuid4(), kdf=cost)
    assert not (tmp_path / "key.json").exists()


def test_nothing_in_the_app_reads_the_old_fast_kdf_switch_or_names_a_cheap_cost() -> None:
    """Only tests name a cost: production code takes the vault's default, never weaker."""
    app_dir = Path(vault.__file__).resolve().parents[1]
    for path in app_dir.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "FIELDCASE_TEST_FAST_KDF" not in text, path
        if path.parent.name != "vault":
            assert "KdfCost(" not in text, path


@pytest.mark.parametrize(
    "change", [{"memory_kib": 1024}, {"iterations": 0}, {"lanes": 0}, {"salt": b"short"}]
)
def test_kdf_params_below_the_vaults_minimum_are_rejected(change: dict) -> None:
    import dataclasses

    params = dataclasses.replace(kdf.new_params(TEST_KDF), **change)
    with pytest.raises(ValueError):
        params.check()


@pytest.mark.parametrize(
    ("floor_seconds", "target", "expected"),
    [
        (0.1, 0.5, (256 * 1024, 4)),  # memory grows first (to its cap), then passes
        (0.25, 0.5, (128 * 1024, 3)),
        (0.05, 0.5, (256 * 1024, 8)),
        (0.5, 0.5, (FLOOR_MEMORY_KIB, FLOOR_ITERATIONS)),  # a slow machine keeps the floor
        (2.0, 0.5, (FLOOR_MEMORY_KIB, FLOOR_ITERATIONS)),
        (0.0001, 0.5, (256 * 1024, 64)),  # the passes are capped
    ],
)
def test_tuning_scales_memory_then_passes(
    floor_seconds: float, target: float, expected: tuple[int, int]
) -> None:
    from app.vault import kdf

    assert kdf._scaled_cost(floor_seconds, target) == expected


def test_the_vault_prints_nothing_when_logging_is_not_set_up(tmp_path: Path) -> None:
    import subprocess
    import sys

    (tmp_path / "key.json").write_text("{damaged")
    script = (
        "import sys\n"
        "from app import vault\n"
        "try:\n"
        f"    vault.unlock({str(tmp_path)!r}, 'whatever password')\n"
        "except vault.KeyFileDamaged:\n"
        "    sys.exit(0)\n"
        "sys.exit(1)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        timeout=60,
    )
    assert result.returncode == 0
    assert result.stderr == ""
