"""Erase a profile: what a revoked laptop does to itself at its next contact with the service.

Everything that holds case data or could open it goes: the wrapped key first (without it
nothing else can be read), then the database with its -wal/-shm, the documents, the
backups, the copies a restore set aside, the device file, the push-mark file and its copy
outside the profile (app/store/refs.py) and Fieldcase's log files (they name cases by
reference). Drafts and set-aside records live in the database and go with it. The profile
folder itself stays, empty; files Fieldcase did not make are left alone.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from app import vault
from app.paths import log_dir
from app.store.profile import BACKUPS_DIR, DOCUMENTS_DIR
from app.store.refs import MARK_FILE, forget_outside_mark

log = logging.getLogger("fieldcase.store.erase")

#: What Fieldcase keeps in a profile folder besides the key file (which the vault destroys).
#: ``fieldcase.db*`` covers the database, its -wal/-shm, a restore's ``.restoring`` copy and
#: the ``before-restore`` copies; ``device.json`` is enrolment's (app/device_file.py DEVICE_FILE).
PROFILE_FILES = (
    "fieldcase.db*",
    ".fieldcase.db*",
    "device.json",
    ".device.json*",
    MARK_FILE,
    f".{MARK_FILE}*",
)
PROFILE_FOLDERS = (DOCUMENTS_DIR, BACKUPS_DIR)
#: Fieldcase's rotating log (app/logs.py LOG_FILE) and its older parts.
LOG_FILES = "fieldcase.log*"


def erase_profile(profile_dir: Path, *, logs: Path | None = None) -> None:
    """Erase the profile in ``profile_dir`` (closed first by the caller) and the log files in
    ``logs`` (default: Fieldcase's log folder)."""
    profile_dir = Path(profile_dir)
    vault.destroy_key(profile_dir)
    forget_outside_mark(profile_dir)
    for pattern in PROFILE_FILES:
        for path in profile_dir.glob(pattern):
            _remove(path)
    for name in PROFILE_FOLDERS:
        _remove(profile_dir / name)
    erase_logs(log_dir() if logs is None else logs)
    log.warning("erased the profile: the service revoked this device")


def erase_logs(folder: Path) -> None:
    """Remove Fieldcase's log files; a log handler of this process writing there starts a
    fresh file at its next record (not an unlinked one nobody can read)."""
    folder = Path(folder).resolve()
    for handler in logging.getLogger().handlers:
        name = getattr(handler, "baseFilename", None)
        if isinstance(name, str) and Path(name).resolve().parent == folder:
            handler.acquire()
            try:
                handler.close()
            finally:
                handler.release()
    for path in folder.glob(LOG_FILES):
        _remove(path)


def _remove(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    except FileNotFoundError:
        pass
    except OSError as err:  # the key is gone already: what is left cannot be opened
        log.warning("could not erase %s: %s", path.name, type(err).__name__)
