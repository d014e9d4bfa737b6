"""The encrypted local store: SQLCipher through SQLModel, migrations, backups, the outbox
(:mod:`app.store.outbox`), the sync state (:mod:`app.store.state`) and document files.

Open a profile with :class:`Profile`; do things to cases with :class:`app.core.Casework`.
"""

from __future__ import annotations

from app.store.errors import (
    DataFileMissing,
    DiskFull,
    NoBackup,
    ProfileDamaged,
    ProfileTooNew,
    StoreError,
)
from app.store.profile import BackupInfo, Profile, list_backups

__all__ = [
    "BackupInfo",
    "DataFileMissing",
    "DiskFull",
    "NoBackup",
    "Profile",
    "ProfileDamaged",
    "ProfileTooNew",
    "StoreError",
    "list_backups",
]
