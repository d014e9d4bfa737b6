"""Opening a profile for the core's callers: the window's way in (unlock, enrol, recovery)
goes through here and :mod:`app.online`, so the window never imports the store or the vault."""

from __future__ import annotations

from pathlib import Path

from app import vault
from app.store.profile import Profile
from sync.clock import Clock

__all__ = ["Profile", "has_profile", "open_profile"]


def has_profile(profile_dir: Path) -> bool:
    """Is there a profile (its key file) in ``profile_dir``?"""
    return vault.has_key_file(Path(profile_dir))


def open_profile(
    profile_dir: Path, password: str, *, backup: bool = True, clock: Clock | None = None
) -> Profile:
    """Unlock, check, back up (unless told not to) and migrate the profile."""
    return Profile.open(Path(profile_dir), password, backup=backup, clock=clock)
