"""Unlock delays, password change, recovery, the canary and concurrent re-wraps."""

from __future__ import annotations

import base64
import itertools
import json
import os
import threading
import uuid
from pathlib import Path

import pytest
from vaultkit import (
    NEW_PASSWORD,
    PASSWORD,
    RECOVERY,
    FakeClock,
    key_json,
    rewrite_with_checksum,
)

from app import vault
from app.vault import keys

# --------------------------------------------------------------------------- growing delay


def test_wrong_passwords_meet_a_growing_delay(
    profile: tuple[Path, bytes], clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, key = profile
    derivations = []
    real_derive = keys.derive_key
    monkeypatch.setattr(
        keys, "derive_key", lambda pw, params: derivations.append(1) or real_derive(pw, params)
    )
    for n in range(1, 4):  # three free tries
        assert vault.seconds_until_next_attempt(folder, clock=clock) == 0
        with pytest.raises(vault.WrongPassword) as caught:
            vault.unlock(folder, "wrong guess", clock=clock)
        assert caught.value.failures == n
    assert caught.value.wait_seconds == 2
    assert vault.seconds_until_next_attempt(folder, clock=clock) == 2

    tried = len(derivations)
    with pytest.raises(vault.TooManyAttempts) as resting:
        vault.unlock(folder, PASSWORD, clock=clock)  # even the right one is refused untried
    assert "Wait 2 seconds" in str(resting.value)
    assert len(derivations) == tried

    expected_waits = [4, 8, 16, 32]
    for wait in expected_waits:
        clock.advance(vault.seconds_until_next_attempt(folder, clock=clock))
        with pytest.raises(vault.WrongPassword):
            vault.unlock(folder, "wrong again", clock=clock)
        assert vault.seconds_until_next_attempt(folder, clock=clock) == wait
        clock.advance(wait - 1)
        with pytest.raises(vault.TooManyAttempts, match="Wait 1 second,"):
            vault.unlock(folder, PASSWORD, clock=clock)

    clock.advance(1)
    assert vault.unlock(folder, PASSWORD, clock=clock) == key
    assert vault.seconds_until_next_attempt(folder, clock=clock) == 0
    assert not (folder / "unlock-attempts.json").exists()
    with pytest.raises(vault.WrongPassword) as caught:  # the count starts again
        vault.unlock(folder, "wrong guess", clock=clock)
    assert caught.value.failures == 1


def test_the_delay_is_capped_at_five_minutes(profile: tuple[Path, bytes], clock: FakeClock) -> None:
    folder, _ = profile
    # Ten failures in a row already on record (the counter's own format), the last just now.
    (folder / "unlock-attempts.json").write_text(
        json.dumps({"failures": 10, "last_failure": clock.seconds})
    )
    assert vault.seconds_until_next_attempt(folder, clock=clock) == 256
    clock.advance(256)
    with pytest.raises(vault.WrongPassword) as caught:
        vault.unlock(folder, "wrong guess", clock=clock)
    assert (caught.value.failures, caught.value.wait_seconds) == (11, 300)
    assert vault.seconds_until_next_attempt(folder, clock=clock) == 300
    with pytest.raises(vault.TooManyAttempts, match="Wait 300 seconds"):
        vault.unlock(folder, PASSWORD, clock=clock)
    assert keys._delay_after(10**6) == 300


def test_a_clock_set_back_never_locks_for_longer_than_the_delay(
    profile: tuple[Path, bytes], clock: FakeClock
) -> None:
    folder, key = profile
    for _ in range(3):
        with pytest.raises(vault.WrongPassword):
            vault.unlock(folder, "wrong guess", clock=clock)
    clock.advance(-86_400)  # someone set the clock back a day
    assert vault.seconds_until_next_attempt(folder, clock=clock) == 2
    with pytest.raises(vault.TooManyAttempts):
        vault.unlock(folder, PASSWORD, clock=clock)
    clock.advance(2)
    assert vault.unlock(folder, PASSWORD, clock=clock) == key


def test_a_damaged_attempt_counter_is_not_a_clean_slate(
    profile: tuple[Path, bytes], clock: FakeClock
) -> None:
    folder, _ = profile
    (folder / "unlock-attempts.json").write_text("{not json")
    os.utime(folder / "unlock-attempts.json", (clock.seconds, clock.seconds))
    assert vault.seconds_until_next_attempt(folder, clock=clock) == 2


def test_wrong_password_leaves_the_key_file_alone(profile: tuple[Path, bytes]) -> None:
    folder, _ = profile
    before = (folder / "key.json").read_bytes()
    with pytest.raises(vault.WrongPassword):
        vault.unlock(folder, "wrong guess")
    assert (folder / "key.json").read_bytes() == before


# --------------------------------------------------------------------------- password change


def test_password_change_rewraps_only(profile: tuple[Path, bytes]) -> None:
    folder, key = profile
    db = folder / "fieldcase.db"
    db.write_bytes(os.urandom(8192))
    db_before = db.read_bytes()
    salt_before = key_json(folder)["password_wrap"]["salt"]
    vault.change_password(folder, PASSWORD, NEW_PASSWORD)
    with pytest.raises(vault.WrongPassword):
        vault.unlock(folder, PASSWORD)
    assert vault.unlock(folder, NEW_PASSWORD) == key
    assert key_json(folder)["password_wrap"]["salt"] != salt_before
    assert db.read_bytes() == db_before


def test_password_change_with_a_wrong_old_password_changes_nothing(
    profile: tuple[Path, bytes],
) -> None:
    folder, key = profile
    before = (folder / "key.json").read_bytes()
    with pytest.raises(vault.WrongPassword):
        vault.change_password(folder, "not the password", NEW_PASSWORD)
    assert (folder / "key.json").read_bytes() == before
    assert vault.unlock(folder, PASSWORD) == key


def test_password_change_to_a_short_one_is_refused_untried(
    profile: tuple[Path, bytes], clock: FakeClock
) -> None:
    folder, _ = profile
    before = (folder / "key.json").read_bytes()
    with pytest.raises(vault.WeakPassword, match="at least 12"):
        vault.change_password(folder, "wrong", "short", min_password_length=12, clock=clock)
    assert (folder / "key.json").read_bytes() == before
    assert not (folder / "unlock-attempts.json").exists()


def test_password_change_respects_the_delay(profile: tuple[Path, bytes], clock: FakeClock) -> None:
    folder, _ = profile
    for _ in range(3):
        with pytest.raises(vault.WrongPassword):
            vault.change_password(folder, "wrong guess", NEW_PASSWORD, clock=clock)
    with pytest.raises(vault.TooManyAttempts):
        vault.change_password(folder, PASSWORD, NEW_PASSWORD, clock=clock)


# --------------------------------------------------------------------------- recovery


def test_recovery_sets_a_new_password_and_keeps_the_key(
    profile: tuple[Path, bytes], clock: FakeClock
) -> None:
    folder, key = profile
    assert not vault.has_recovery_wrap(folder)
    vault.add_recovery_wrap(folder, key, RECOVERY)
    assert vault.has_recovery_wrap(folder)
    for _ in range(5):  # the user forgot the password and is now resting
        clock.advance(vault.seconds_until_next_attempt(folder, clock=clock))
        with pytest.raises(vault.WrongPassword):
            vault.unlock(folder, "what was it", clock=clock)
    assert vault.recover(folder, RECOVERY, NEW_PASSWORD) == key
    assert vault.seconds_until_next_attempt(folder, clock=clock) == 0
    assert vault.unlock(folder, NEW_PASSWORD, clock=clock) == key
    with pytest.raises(vault.WrongPassword):
        vault.unlock(folder, PASSWORD, clock=clock)
    assert vault.has_recovery_wrap(folder)  # still there for next time


def test_recovery_wrap_survives_a_password_change(profile: tuple[Path, bytes]) -> None:
    folder, key = profile
    vault.add_recovery_wrap(folder, key, RECOVERY)
    vault.change_password(folder, PASSWORD, NEW_PASSWORD)
    assert vault.recover(folder, RECOVERY, "third password here") == key


def test_a_wrong_recovery_secret_changes_nothing(profile: tuple[Path, bytes]) -> None:
    folder, key = profile
    vault.add_recovery_wrap(folder, key, RECOVERY)
    before = (folder / "key.json").read_bytes()
    with pytest.raises(vault.RecoveryFailed, match="does not match this profile"):
        vault.recover(folder, RECOVERY[::-1], NEW_PASSWORD)
    assert (folder / "key.json").read_bytes() == before
    assert vault.unlock(folder, PASSWORD) == key


def test_recovery_without_a_wrap_says_so(profile: tuple[Path, bytes]) -> None:
    folder, _ = profile
    with pytest.raises(vault.RecoveryUnavailable, match="IT team"):
        vault.recover(folder, RECOVERY, NEW_PASSWORD)


def test_recovery_wrap_refuses_a_wrong_key_or_a_weak_secret(profile: tuple[Path, bytes]) -> None:
    folder, key = profile
    with pytest.raises(ValueError, match="not this profile's"):
        vault.add_recovery_wrap(folder, os.urandom(32), RECOVERY)
    with pytest.raises(ValueError, match="high-entropy"):
        vault.add_recovery_wrap(folder, key, "short secret")
    assert not vault.has_recovery_wrap(folder)


def test_recovery_wrap_is_bound_to_the_profile(tmp_path: Path) -> None:
    key = vault.create_key(tmp_path, PASSWORD, profile_id=uuid.uuid4())
    vault.add_recovery_wrap(tmp_path, key, RECOVERY)
    doc = key_json(tmp_path)
    rec = doc["recovery_wrap"]
    rec["salt"] = base64.b64encode(os.urandom(16)).decode()
    rewrite_with_checksum(tmp_path, doc)
    with pytest.raises(vault.RecoveryFailed):
        vault.recover(tmp_path, RECOVERY, NEW_PASSWORD)


# --------------------------------------------------------------------------- canary


def test_password_and_recovery_secret_are_nowhere_on_disk_or_in_the_log(tmp_path: Path) -> None:
    import logging

    from app.logs import setup_logging

    log_file = setup_logging(logging.DEBUG)
    canary = "Canary" + uuid.uuid4().hex
    secret = "Recovery" + uuid.uuid4().hex
    password = f"pw {canary} pw"
    folder = tmp_path / "profile"
    key = vault.create_key(folder, password, profile_id=uuid.uuid4())
    vault.add_recovery_wrap(folder, key, secret)
    with pytest.raises(vault.WrongPassword):
        vault.unlock(folder, f"{canary} typo")
    vault.change_password(folder, password, f"new {canary} one")
    vault.recover(folder, secret, f"third {canary} one")
    for handler in logging.getLogger().handlers:
        handler.flush()
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert folder / "key.json" in files and log_file in files
    assert log_file.stat().st_size > 0
    needles = [
        n
        for word in (canary, secret)
        for n in (word.encode(), word.encode("utf-16-le"), word.lower().encode())
    ] + [key, key.hex().encode(), base64.b64encode(key)]
    for path in files:
        data = path.read_bytes()
        for needle in needles:
            assert needle not in data, f"found a secret in {path.name}"


# --------------------------------------------------------------------------- concurrency


def test_a_password_change_racing_a_recovery_wrap_loses_neither(
    profile: tuple[Path, bytes],
) -> None:
    folder, key = profile
    passwords = [PASSWORD] + [f"password number {n}" for n in range(1, 4)]
    done = threading.Event()
    errors: list[BaseException] = []

    def keep_adding_recovery_wraps() -> None:
        try:
            while not done.is_set():
                vault.add_recovery_wrap(folder, key, RECOVERY)
        except BaseException as err:
            errors.append(err)

    worker = threading.Thread(target=keep_adding_recovery_wraps)
    worker.start()
    try:
        for old, new in itertools.pairwise(passwords):
            vault.change_password(folder, old, new)
    finally:
        done.set()
        worker.join(timeout=60)
    assert not errors
    assert vault.unlock(folder, passwords[-1]) == key
    assert vault.recover(folder, RECOVERY, "after the race") == key
