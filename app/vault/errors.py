"""Errors the vault raises. Each message is plain English for the person at the keyboard:
what happened and what to do next. Technical detail goes in ``detail`` (for the log) and never
holds a password, a key or personal data."""

from __future__ import annotations

import math
from pathlib import Path

from app.errors import FieldcaseError


class VaultError(FieldcaseError):
    """Base of every error raised by :mod:`app.vault`."""


class WeakPassword(VaultError):
    """The new password is shorter than the policy allows."""

    exit_code = 2

    def __init__(self, minimum: int) -> None:
        super().__init__(
            f"That password is too short. Choose one with at least {minimum} characters; "
            "a few unrelated words make a strong password that is easy to remember."
        )
        self.minimum = minimum


class ProfileMissing(VaultError):
    """There is no key file (and no database) in the profile folder."""

    def __init__(self, profile_dir: Path) -> None:
        super().__init__(
            f"There is no Fieldcase profile in {profile_dir}. Create one with "
            "`fieldcase init`, or choose the right folder with --profile."
        )
        self.profile_dir = profile_dir


class ProfileExists(VaultError):
    """``create_key`` found a key file already there; it never overwrites one."""

    def __init__(self, profile_dir: Path) -> None:
        super().__init__(
            f"There is already a Fieldcase profile in {profile_dir}. It has been left as it "
            "is. Unlock it with its password, or choose another folder with --profile."
        )
        self.profile_dir = profile_dir


class WrongPassword(VaultError):
    """The password did not unwrap the database key."""

    MESSAGE = "That password does not unlock this profile. Check Caps Lock and try again."

    def __init__(self, *, failures: int = 0, wait_seconds: float = 0.0) -> None:
        super().__init__(self.MESSAGE)
        self.failures = failures
        self.wait_seconds = wait_seconds


class TooManyAttempts(VaultError):
    """Refused without trying: the wait after repeated wrong passwords is not over."""

    def __init__(self, wait_seconds: float) -> None:
        seconds = max(1, math.ceil(wait_seconds))
        unit = "second" if seconds == 1 else "seconds"
        super().__init__(
            "Too many wrong passwords in a row, so this profile is resting. "
            f"Wait {seconds} {unit}, then try again."
        )
        self.wait_seconds = float(seconds)


class KeyFileDamaged(VaultError):
    """key.json is malformed, damaged or changed. It is never overwritten."""

    def __init__(self, key_file: Path, *, missing: bool = False, detail: str = "") -> None:
        if missing:
            text = (
                f"The key file of this profile ({key_file}) is missing, so the profile cannot "
                "be unlocked. Nothing has been deleted or overwritten. Contact your IT team: "
                "they can put back a copy of the file, or set the laptop up again so that "
                "your synced work comes back from the central service."
            )
        else:
            text = (
                f"The key file of this profile ({key_file}) is damaged or has been changed, so "
                "the profile cannot be unlocked. The file has been left exactly as it is. "
                "Contact your IT team: they can restore access with the recovery service, or "
                "from a copy of the file."
            )
        super().__init__(text, detail=detail)
        self.key_file = key_file


class KeyFileNotSaved(VaultError):
    """key.json could not be written (full disk, no permission). The old file is unchanged."""

    def __init__(self, key_file: Path, *, disk_full: bool = False, detail: str = "") -> None:
        reason = "the disk is full" if disk_full else "the folder could not be written to"
        super().__init__(
            f"Fieldcase could not save the key file {key_file} because {reason}. Nothing was "
            "changed: the profile still opens as before. Free some space (or ask your IT team "
            "about the folder's permissions), then try again.",
            detail=detail,
        )
        self.key_file = key_file
        self.disk_full = disk_full


class RecoveryUnavailable(VaultError):
    """The profile has no recovery wrap, so it cannot be recovered online."""

    def __init__(self, profile_dir: Path) -> None:
        super().__init__(
            f"The profile in {profile_dir} was never linked to the central service, so it "
            "cannot be recovered without its password. Contact your IT team."
        )
        self.profile_dir = profile_dir


class RecoveryFailed(VaultError):
    """The recovery secret did not unwrap the database key."""

    def __init__(self) -> None:
        super().__init__(
            "The recovery code from the central service does not match this profile, so the "
            "password was not changed. Sign in again, or contact your IT team."
        )


class DocumentDamaged(VaultError):
    """An encrypted document failed its checks: altered, truncated, reordered or not this file."""

    def __init__(self, path: Path | None = None, *, detail: str = "") -> None:
        where = f" ({path.name})" if path is not None else ""
        super().__init__(
            f"This document's encrypted file{where} is damaged or has been changed, so it "
            "cannot be opened. Nothing was changed. Sync again to fetch a fresh copy from the "
            "central service, or contact your IT team.",
            detail=detail,
        )
        self.path = path


class DocumentMissing(VaultError):
    """The encrypted file of a document is not there."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"This document's encrypted file ({path.name}) is missing from this laptop. Sync "
            "again to fetch it from the central service, or contact your IT team."
        )
        self.path = path
