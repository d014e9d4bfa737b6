"""The database key and its wraps, kept in ``<profile>/key.json``.

A random 256-bit database key (handed to SQLCipher as a raw key) is stored only wrapped:

* under a key derived from the user's password with Argon2id (AES-256-GCM; the associated data
  binds the wrap to the format version, the profile id and the KDF parameters), and optionally
* under a key derived with HKDF-SHA256 from a high-entropy recovery secret that only the central
  service holds (for a forgotten password).

A SHA-256 checksum over the file's fields tells accidental damage (a flipped byte) apart from a
wrong password. The file is written atomically and never overwritten by ``create_key``; a
damaged file is never rewritten. Repeated wrong passwords meet a growing delay, kept in
``<profile>/unlock-attempts.json``. See docs/encryption.md.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import hashlib
import hmac
import json
import logging
import math
import os
import secrets
import struct
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.files import keep_private
from app.vault._files import file_lock, fsync_dir, write_atomic
from app.vault.errors import (
    KeyFileDamaged,
    KeyFileNotSaved,
    ProfileExists,
    ProfileMissing,
    RecoveryFailed,
    RecoveryUnavailable,
    TooManyAttempts,
    VaultError,
    WeakPassword,
    WrongPassword,
)
from app.vault.kdf import SALT_BYTES, KdfCost, KdfParams, derive_key, new_params
from sync.clock import Clock, SystemClock

log = logging.getLogger("fieldcase.vault")


KEY_FILE = "key.json"
ATTEMPTS_FILE = "unlock-attempts.json"
LOCK_FILE = "key.lock"
DATABASE_FILE = "fieldcase.db"  # owned by app/store; only looked at to word ProfileMissing
FORMAT_NAME = "fieldcase-key"
FORMAT_VERSION = 1
DB_KEY_BYTES = 32
NONCE_BYTES = 12
KEY_CHECK_BYTES = 16
MIN_RECOVERY_SECRET_CHARS = 22  # e.g. secrets.token_urlsafe(32) gives 43
FREE_ATTEMPTS = 3
MAX_DELAY_SECONDS = 300.0
DEFAULT_MIN_PASSWORD_LENGTH = 10

_AD_PREFIX = b"fieldcase-key\x00v1\x00"
_DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


# --------------------------------------------------------------------------- the key file


@dataclass(frozen=True)
class _PasswordWrap:
    params: KdfParams
    nonce: bytes
    wrapped: bytes


@dataclass(frozen=True)
class _RecoveryWrap:
    salt: bytes
    nonce: bytes
    wrapped: bytes


@dataclass(frozen=True)
class _KeyFile:
    profile_id: UUID
    key_check: bytes
    password: _PasswordWrap
    recovery: _RecoveryWrap | None


def key_file_path(profile_dir: Path) -> Path:
    return Path(profile_dir) / KEY_FILE


def has_key_file(profile_dir: Path) -> bool:
    """True when the profile folder holds a key file (whether or not it is sound)."""
    return key_file_path(profile_dir).is_file()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: object, length: int | None = None) -> bytes:
    if not isinstance(value, str):
        raise ValueError("expected base64 text")
    data = base64.b64decode(value.encode("ascii"), validate=True)
    if length is not None and len(data) != length:
        raise ValueError(f"expected {length} bytes, found {len(data)}")
    return data


def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _checksum(body: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical(body)).hexdigest()


def _key_check(db_key: bytes) -> bytes:
    """A one-way tag of the database key, to confirm a key handed to add_recovery_wrap."""
    return hmac.digest(db_key, b"fieldcase key check v1", "sha256")[:KEY_CHECK_BYTES]


def _password_ad(profile_id: UUID, params: KdfParams) -> bytes:
    return (
        _AD_PREFIX
        + b"password\x00"
        + profile_id.bytes
        + params.salt
        + struct.pack(">III", params.memory_kib, params.iterations, params.lanes)
    )


def _recovery_ad(profile_id: UUID, salt: bytes) -> bytes:
    return _AD_PREFIX + b"recovery\x00" + profile_id.bytes + salt


def _serialise(key_file: _KeyFile) -> bytes:
    pw = key_file.password
    body: dict[str, Any] = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "profile_id": str(key_file.profile_id),
        "key_check": _b64(key_file.key_check),
        "password_wrap": {
            "kdf": "argon2id",
            "salt": _b64(pw.params.salt),
            "memory_kib": pw.params.memory_kib,
            "iterations": pw.params.iterations,
            "lanes": pw.params.lanes,
            "cipher": "aes-256-gcm",
            "nonce": _b64(pw.nonce),
            "wrapped_key": _b64(pw.wrapped),
        },
    }
    if key_file.recovery is not None:
        rec = key_file.recovery
        body["recovery_wrap"] = {
            "kdf": "hkdf-sha256",
            "salt": _b64(rec.salt),
            "cipher": "aes-256-gcm",
            "nonce": _b64(rec.nonce),
            "wrapped_key": _b64(rec.wrapped),
        }
    body["checksum"] = _checksum(body)
    return (json.dumps(body, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _expect_keys(obj: object, keys: set[str], where: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise ValueError(f"{where} is not an object")
    if set(obj) != keys:
        raise ValueError(f"{where} has fields {sorted(obj)}, expected {sorted(keys)}")
    return obj


def _parse(raw: bytes) -> _KeyFile:
    """Parse and check key.json; ValueError (with a technical reason) when it is not sound."""
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"not JSON: {err}") from None
    if not isinstance(doc, dict) or "checksum" not in doc:
        raise ValueError("no checksum")
    body = {k: v for k, v in doc.items() if k != "checksum"}
    if not isinstance(doc["checksum"], str) or not hmac.compare_digest(
        doc["checksum"], _checksum(body)
    ):
        raise ValueError("checksum does not match the contents")
    top = {"format", "version", "profile_id", "key_check", "password_wrap"}
    if "recovery_wrap" in body:
        top.add("recovery_wrap")
    _expect_keys(body, top, "key file")
    if body["format"] != FORMAT_NAME or body["version"] != FORMAT_VERSION:
        raise ValueError(f"unknown format {body['format']!r} version {body['version']!r}")
    profile_id = UUID(str(body["profile_id"]))
    pw = _expect_keys(
        body["password_wrap"],
        {"kdf", "salt", "memory_kib", "iterations", "lanes", "cipher", "nonce", "wrapped_key"},
        "password_wrap",
    )
    if pw["kdf"] != "argon2id" or pw["cipher"] != "aes-256-gcm":
        raise ValueError("unknown kdf or cipher in password_wrap")
    params = KdfParams(
        salt=_unb64(pw["salt"], SALT_BYTES),
        memory_kib=pw["memory_kib"],
        iterations=pw["iterations"],
        lanes=pw["lanes"],
    )
    params.check()
    password = _PasswordWrap(
        params=params,
        nonce=_unb64(pw["nonce"], NONCE_BYTES),
        wrapped=_unb64(pw["wrapped_key"], DB_KEY_BYTES + 16),
    )
    recovery = None
    if "recovery_wrap" in body:
        rec = _expect_keys(
            body["recovery_wrap"], {"kdf", "salt", "cipher", "nonce", "wrapped_key"}, "recovery"
        )
        if rec["kdf"] != "hkdf-sha256" or rec["cipher"] != "aes-256-gcm":
            raise ValueError("unknown kdf or cipher in recovery_wrap")
        recovery = _RecoveryWrap(
            salt=_unb64(rec["salt"], SALT_BYTES),
            nonce=_unb64(rec["nonce"], NONCE_BYTES),
            wrapped=_unb64(rec["wrapped_key"], DB_KEY_BYTES + 16),
        )
    return _KeyFile(
        profile_id=profile_id,
        key_check=_unb64(body["key_check"], KEY_CHECK_BYTES),
        password=password,
        recovery=recovery,
    )


def _read_key_file(profile_dir: Path) -> _KeyFile:
    profile_dir = Path(profile_dir)
    path = key_file_path(profile_dir)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if (profile_dir / DATABASE_FILE).exists():
            raise KeyFileDamaged(path, missing=True, detail="key.json missing") from None
        raise ProfileMissing(profile_dir) from None
    except OSError as err:
        raise VaultError(
            f"Fieldcase could not read the key file {path} ({err.strerror}). Check that the "
            "folder is yours and the disk is connected, then try again.",
            detail=f"read key.json: {type(err).__name__} errno {err.errno}",
        ) from None
    try:
        return _parse(raw)
    except (ValueError, TypeError, KeyError) as err:
        log.warning("key file failed its checks: %s", err)
        raise KeyFileDamaged(path, detail=f"key.json: {err}") from None


def _write_key_file(profile_dir: Path, key_file: _KeyFile, *, exclusive: bool = False) -> None:
    """Replace (or, with ``exclusive``, create) key.json atomically: all or nothing."""
    path = key_file_path(profile_dir)
    try:
        write_atomic(path, _serialise(key_file), exclusive=exclusive)
    except FileExistsError:
        raise
    except OSError as err:
        raise KeyFileNotSaved(
            path,
            disk_full=err.errno in _DISK_FULL,
            detail=f"write key.json: {type(err).__name__} errno {err.errno}",
        ) from err


def _wrap_with_password(
    profile_id: UUID, db_key: bytes, password: str, cost: KdfCost | None
) -> _PasswordWrap:
    params = new_params(cost)
    nonce = secrets.token_bytes(NONCE_BYTES)
    kek = derive_key(password, params)
    wrapped = AESGCM(kek).encrypt(nonce, db_key, _password_ad(profile_id, params))
    return _PasswordWrap(params=params, nonce=nonce, wrapped=wrapped)


def _unwrap_with_password(key_file: _KeyFile, password: str) -> bytes | None:
    """The database key, or None when the password (or an altered wrap) does not open it."""
    pw = key_file.password
    kek = derive_key(password, pw.params)
    try:
        return AESGCM(kek).decrypt(
            pw.nonce, pw.wrapped, _password_ad(key_file.profile_id, pw.params)
        )
    except InvalidTag:
        return None


def _recovery_kek(profile_id: UUID, secret: str, salt: bytes) -> bytes:
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=salt,
        info=b"fieldcase recovery wrap v1\x00" + profile_id.bytes,
    )
    return hkdf.derive(secret.encode("utf-8"))


def _check_password(password: str, minimum: int) -> None:
    if len(unicodedata.normalize("NFC", password)) < minimum:
        raise WeakPassword(minimum)


def _check_recovery_secret(secret: str) -> None:
    if len(secret) < MIN_RECOVERY_SECRET_CHARS:
        raise ValueError(
            f"a recovery secret needs at least {MIN_RECOVERY_SECRET_CHARS} characters of "
            "high-entropy text, e.g. secrets.token_urlsafe(32)"
        )


# --------------------------------------------------------------------------- attempts


def _attempts_path(profile_dir: Path) -> Path:
    return Path(profile_dir) / ATTEMPTS_FILE


def _delay_after(failures: int) -> float:
    """Seconds to wait after ``failures`` wrong passwords in a row: 2, 4, 8 ... up to 5 min."""
    if failures < FREE_ATTEMPTS:
        return 0.0
    exponent = min(failures - FREE_ATTEMPTS + 1, 30)  # 2**30 s is far past the cap already
    return min(MAX_DELAY_SECONDS, 2.0**exponent)


def _read_attempts(profile_dir: Path) -> tuple[int, float]:
    path = _attempts_path(profile_dir)
    try:
        raw = path.read_bytes()
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return 0, 0.0
    except OSError as err:
        log.warning("could not read the unlock attempt counter: %s", err.strerror)
        return 0, 0.0
    try:
        doc = json.loads(raw)
        failures, last = doc["failures"], doc["last_failure"]
        if type(failures) is not int or failures < 0 or not isinstance(last, int | float):
            raise ValueError("bad values")
        if not math.isfinite(last):
            raise ValueError("bad time")
        return failures, float(last)
    except (ValueError, TypeError, KeyError):
        # A damaged counter is treated as just past the free attempts, never as a clean slate.
        log.warning("unlock attempt counter was unreadable; treating it as %d", FREE_ATTEMPTS)
        return FREE_ATTEMPTS, mtime


def _write_attempts(profile_dir: Path, failures: int, last_failure: float) -> None:
    data = json.dumps({"failures": failures, "last_failure": last_failure}).encode("utf-8")
    try:
        write_atomic(_attempts_path(profile_dir), data)
    except OSError as err:  # a full disk must not turn a wrong password into a crash
        log.warning("could not record an unlock attempt: %s", err.strerror)


def _reset_attempts(profile_dir: Path) -> None:
    try:
        _attempts_path(profile_dir).unlink()
    except FileNotFoundError:
        pass
    except OSError as err:
        log.warning("could not reset the unlock attempt counter: %s", err.strerror)


def _seconds(clock: Clock) -> float:
    """The clock's wall time as seconds since the epoch (as stored in the attempts file)."""
    return clock.now().timestamp()


def seconds_until_next_attempt(profile_dir: Path, *, clock: Clock | None = None) -> float:
    """How long the next unlock attempt must wait (0.0 when it may go ahead now)."""
    now = _seconds(clock or SystemClock())
    failures, last = _read_attempts(Path(profile_dir))
    delay = _delay_after(failures)
    if delay <= 0:
        return 0.0
    # A clock set backwards never makes the wait longer than the delay itself.
    return max(0.0, min(delay, last + delay - now))


def _refuse_if_resting(profile_dir: Path, clock: Clock) -> None:
    wait = seconds_until_next_attempt(profile_dir, clock=clock)
    if wait > 0:
        failures, last = _read_attempts(profile_dir)
        now = _seconds(clock)
        if last > now:  # the clock went backwards: restart the wait from now
            _write_attempts(profile_dir, failures, now)
        raise TooManyAttempts(wait)


def _record_failure(profile_dir: Path, clock: Clock) -> WrongPassword:
    failures, _ = _read_attempts(profile_dir)
    failures += 1
    _write_attempts(profile_dir, failures, _seconds(clock))
    log.info("wrong password for a profile (%d in a row)", failures)
    return WrongPassword(failures=failures, wait_seconds=_delay_after(failures))


# --------------------------------------------------------------------------- locking


@contextlib.contextmanager
def _key_lock(profile_dir: Path) -> Iterator[None]:
    """Serialise every read-modify-write of key.json and the attempt counter.

    Without it, a password change racing a recovery wrap (say the window and the sync engine
    at once) could write back the old password wrap. Only taken in a folder that already holds
    a key file (or one create_key has just made), so no lock file is left in a stray folder.
    """
    with file_lock(Path(profile_dir) / LOCK_FILE):
        yield


# --------------------------------------------------------------------------- public API


def create_key(
    profile_dir: Path,
    password: str,
    *,
    profile_id: UUID,
    min_password_length: int = DEFAULT_MIN_PASSWORD_LENGTH,
    kdf: KdfCost | None = None,
) -> bytes:
    """Make and store a new random database key wrapped under ``password``; return the key.

    Refuses (ProfileExists) when ``key.json`` is already there; WeakPassword when the password
    is shorter than ``min_password_length``. ``kdf`` is the Argon2id cost of the wrap (default:
    the tuned production cost, never below the floor).
    """
    _check_password(password, min_password_length)
    profile_dir = Path(profile_dir)
    if has_key_file(profile_dir):
        raise ProfileExists(profile_dir)
    profile_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    keep_private(profile_dir)
    db_key = secrets.token_bytes(DB_KEY_BYTES)
    key_file = _KeyFile(
        profile_id=profile_id,
        key_check=_key_check(db_key),
        password=_wrap_with_password(profile_id, db_key, password, kdf),
        recovery=None,
    )
    with _key_lock(profile_dir):
        try:
            _write_key_file(profile_dir, key_file, exclusive=True)
        except FileExistsError:
            raise ProfileExists(profile_dir) from None
        _reset_attempts(profile_dir)
    log.info("created the key file for profile %s", profile_id)
    return db_key


def read_profile_id(profile_dir: Path) -> UUID:
    """The profile id bound into the key file (no password needed)."""
    return _read_key_file(Path(profile_dir)).profile_id


def _unlock_locked(profile_dir: Path, password: str, clock: Clock) -> tuple[_KeyFile, bytes]:
    key_file = _read_key_file(profile_dir)
    _refuse_if_resting(profile_dir, clock)
    db_key = _unwrap_with_password(key_file, password)
    if db_key is None:
        raise _record_failure(profile_dir, clock)
    if len(db_key) != DB_KEY_BYTES or not hmac.compare_digest(
        _key_check(db_key), key_file.key_check
    ):
        raise KeyFileDamaged(key_file_path(profile_dir), detail="key check does not match")
    _reset_attempts(profile_dir)
    return key_file, db_key


def unlock(profile_dir: Path, password: str, *, clock: Clock | None = None) -> bytes:
    """Return the database key for ``password``.

    Raises ProfileMissing, KeyFileDamaged, TooManyAttempts (without trying) or WrongPassword.
    ``clock`` (default the system's) decides how long a wrong password's delay lasts.
    """
    profile_dir = Path(profile_dir)
    _read_key_file(profile_dir)  # ProfileMissing / KeyFileDamaged before any lock file
    keep_private(profile_dir)  # owner-only from here on, and an older profile's files too
    with _key_lock(profile_dir):
        return _unlock_locked(profile_dir, password, clock or SystemClock())[1]


def change_password(
    profile_dir: Path,
    old_password: str,
    new_password: str,
    *,
    min_password_length: int = DEFAULT_MIN_PASSWORD_LENGTH,
    clock: Clock | None = None,
    kdf: KdfCost | None = None,
) -> None:
    """Re-wrap the database key under ``new_password`` (fresh salt, cost ``kdf``, default the
    production cost). The database is untouched.

    The old password counts as an unlock attempt (wrong ones meet the same delay).
    """
    _check_password(new_password, min_password_length)
    profile_dir = Path(profile_dir)
    _read_key_file(profile_dir)
    with _key_lock(profile_dir):
        key_file, db_key = _unlock_locked(profile_dir, old_password, clock or SystemClock())
        updated = _KeyFile(
            profile_id=key_file.profile_id,
            key_check=key_file.key_check,
            password=_wrap_with_password(key_file.profile_id, db_key, new_password, kdf),
            recovery=key_file.recovery,
        )
        _write_key_file(profile_dir, updated)
    log.info("changed the password of profile %s", key_file.profile_id)


def add_recovery_wrap(profile_dir: Path, db_key: bytes, recovery_secret: str) -> None:
    """Also wrap ``db_key`` under a key derived from ``recovery_secret`` (replacing any older one).

    ``recovery_secret`` is high-entropy text that only the central service holds (at least
    22 characters, e.g. ``secrets.token_urlsafe(32)``). ValueError when ``db_key`` is not this
    profile's key.
    """
    _check_recovery_secret(recovery_secret)
    profile_dir = Path(profile_dir)
    _read_key_file(profile_dir)
    with _key_lock(profile_dir):
        key_file = _read_key_file(profile_dir)
        if len(db_key) != DB_KEY_BYTES or not hmac.compare_digest(
            _key_check(db_key), key_file.key_check
        ):
            raise ValueError("db_key is not this profile's database key")
        salt = secrets.token_bytes(SALT_BYTES)
        nonce = secrets.token_bytes(NONCE_BYTES)
        kek = _recovery_kek(key_file.profile_id, recovery_secret, salt)
        wrapped = AESGCM(kek).encrypt(nonce, db_key, _recovery_ad(key_file.profile_id, salt))
        updated = _KeyFile(
            profile_id=key_file.profile_id,
            key_check=key_file.key_check,
            password=key_file.password,
            recovery=_RecoveryWrap(salt=salt, nonce=nonce, wrapped=wrapped),
        )
        _write_key_file(profile_dir, updated)
    log.info("added a recovery wrap to profile %s", key_file.profile_id)


def has_recovery_wrap(profile_dir: Path) -> bool:
    """True when the key file also holds a recovery wrap (ProfileMissing/KeyFileDamaged else)."""
    return _read_key_file(Path(profile_dir)).recovery is not None


def recover(
    profile_dir: Path,
    recovery_secret: str,
    new_password: str,
    *,
    min_password_length: int = DEFAULT_MIN_PASSWORD_LENGTH,
    kdf: KdfCost | None = None,
) -> bytes:
    """Open the key with the recovery secret, set ``new_password`` (wrapped at cost ``kdf``,
    default the production cost), reset the attempt counter.

    Returns the database key. RecoveryUnavailable when there is no recovery wrap,
    RecoveryFailed when the secret does not open it, WeakPassword for a short new password.
    """
    _check_password(new_password, min_password_length)
    profile_dir = Path(profile_dir)
    _read_key_file(profile_dir)
    keep_private(profile_dir)
    with _key_lock(profile_dir):
        key_file = _read_key_file(profile_dir)
        rec = key_file.recovery
        if rec is None:
            raise RecoveryUnavailable(profile_dir)
        kek = _recovery_kek(key_file.profile_id, recovery_secret, rec.salt)
        try:
            db_key = AESGCM(kek).decrypt(
                rec.nonce, rec.wrapped, _recovery_ad(key_file.profile_id, rec.salt)
            )
        except InvalidTag:
            log.info("a recovery secret did not open profile %s", key_file.profile_id)
            raise RecoveryFailed() from None
        if not hmac.compare_digest(_key_check(db_key), key_file.key_check):
            raise KeyFileDamaged(key_file_path(profile_dir), detail="key check does not match")
        updated = _KeyFile(
            profile_id=key_file.profile_id,
            key_check=key_file.key_check,
            password=_wrap_with_password(key_file.profile_id, db_key, new_password, kdf),
            recovery=rec,
        )
        _write_key_file(profile_dir, updated)
        _reset_attempts(profile_dir)
    log.info("recovered profile %s with its recovery wrap", key_file.profile_id)
    return db_key


def _shred(target: Path) -> None:
    try:
        size = target.stat().st_size
    except FileNotFoundError:
        return
    with open(target, "r+b") as handle:
        handle.write(secrets.token_bytes(max(size, 1)))
        handle.flush()
        os.fsync(handle.fileno())
    target.unlink()


def destroy_key(profile_dir: Path) -> None:
    """Overwrite key.json with random bytes, fsync and delete it (device revoke).

    Without the key file the database and documents cannot be opened. Leftover temporary key
    files, the attempt counter and the lock file go too. Missing files are not an error.
    """
    profile_dir = Path(profile_dir)
    if not profile_dir.is_dir():
        return
    with _key_lock(profile_dir):
        for target in [key_file_path(profile_dir), *profile_dir.glob(f".{KEY_FILE}.*.tmp")]:
            _shred(target)
        _reset_attempts(profile_dir)
        fsync_dir(profile_dir)
    with contextlib.suppress(OSError):
        (profile_dir / LOCK_FILE).unlink()
    log.info("destroyed the key file in a profile folder")
