"""Small file-system helpers shared by the vault and the store (no crypto, no SQL here)."""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

log = logging.getLogger("fieldcase.files")

#: Everything Fieldcase keeps is for its owner only: files 0600, folders 0700 (POSIX).
PRIVATE_UMASK = 0o077


def fsync_dir(folder: Path) -> None:
    """Make a rename or unlink in ``folder`` durable (a no-op where folders cannot be opened)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def keep_private(folder: Path) -> None:
    """Make ``folder`` and everything in it readable by its owner only, now and from now on.

    POSIX: this process makes owner-only files from here on (umask 077: the database's -wal
    and -shm, backups, before-restore copies, device.json, rotated logs), and what an older
    version left readable by others is tightened: files to 0600, folders to 0700 (symbolic
    links are not followed). Windows: the folder gets an owner-only access list that its
    files inherit, set with ``icacls`` (not tested on this project's Linux CI).

    Never fails: a folder that cannot be changed (read-only, someone else's) is logged and
    left as it is; the caller's own error handling decides whether the profile is usable.
    """
    folder = Path(folder)
    if os.name == "posix":
        os.umask(PRIVATE_UMASK)
        _tighten_tree(folder)
    elif sys.platform == "win32":
        _owner_only_acl(folder)


def _tighten(path: Path, *, folder: bool) -> bool:
    """Owner-only ``path``; False when it needed it but could not be changed."""
    try:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if mode & 0o077:
            os.chmod(path, (mode & 0o700) | (0o700 if folder else 0o600))
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True


def _tighten_tree(folder: Path) -> None:
    if not folder.is_dir() or folder.is_symlink():
        return
    failed = 0 if _tighten(folder, folder=True) else 1
    for root, dirs, files in os.walk(folder):
        here = Path(root)
        for name in dirs:
            if not (here / name).is_symlink():
                failed += not _tighten(here / name, folder=True)
        for name in files:
            if not (here / name).is_symlink():
                failed += not _tighten(here / name, folder=False)
    if failed:
        log.warning("could not make %d files or folders owner-only (read-only?)", failed)


_ACL_DONE: set[str] = set()


def _owner_only_acl(folder: Path) -> None:  # pragma: no cover - Windows only, untested here
    """Replace the folder's inherited access list with full control for this user only,
    inherited by everything inside (``icacls /inheritance:r /grant:r``). Once per process."""
    key = str(folder)
    if key in _ACL_DONE or not folder.is_dir():
        return
    import getpass

    user = getpass.getuser()
    domain = os.environ.get("USERDOMAIN", "")
    who = f"{domain}\\{user}" if domain else user
    command = ["icacls", key, "/inheritance:r", "/grant:r", f"{who}:(OI)(CI)F", "/T", "/Q"]
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run(command, capture_output=True, timeout=60, check=False)
        if done.returncode == 0:
            _ACL_DONE.add(key)
            return
    log.warning("could not make the folder private (icacls failed)")
