"""Errors the store raises, each with a plain-English message for the person at the keyboard."""

from __future__ import annotations

import errno
from pathlib import Path

from sqlalchemy.exc import OperationalError

from app.errors import FieldcaseError


class StoreError(FieldcaseError):
    """Base of the store's errors."""


class ProfileDamaged(StoreError):
    """The encrypted database failed its checks. It is left exactly as it is."""

    exit_code = 3

    def __init__(
        self, db_path: Path, *, latest_backup: str | None = None, detail: str = ""
    ) -> None:
        if latest_backup:
            offer = (
                f" The last backup was made {latest_backup}: restore it with `fieldcase restore`"
                " (the damaged file is kept aside, not deleted)."
            )
        else:
            offer = " There is no backup on this laptop; contact your IT team."
        super().__init__(
            "This profile's data file is damaged. Nothing has been changed." + offer,
            detail=detail,
        )
        self.db_path = db_path


class DataFileMissing(StoreError):
    """The key file is there but the database is not."""

    exit_code = 3

    def __init__(self, db_path: Path) -> None:
        super().__init__(
            f"This profile's data file ({db_path.name}) is missing. Restore the last backup "
            "with `fieldcase restore`, or contact your IT team."
        )


class ProfileTooNew(StoreError):
    def __init__(self) -> None:
        super().__init__(
            "This profile was saved by a newer version of Fieldcase. Nothing has been changed. "
            "Update Fieldcase on this laptop, then open it again."
        )


class DataFileExists(StoreError):
    def __init__(self, profile_dir: Path) -> None:
        super().__init__(
            f"There is already a Fieldcase data file in {profile_dir}. It has been left as it "
            "is. Choose another folder with --profile."
        )


class DiskFull(StoreError):
    MESSAGE = (
        "The disk is full, so your last change could not be saved. Nothing was saved; "
        "free some space and try again."
    )
    #: When the profile cannot even be opened (SQLite needs room for its working files).
    ON_OPEN = (
        "The disk is full, so Fieldcase cannot open this profile. Your cases are safe; free "
        "some space and try again."
    )

    def __init__(self, *, detail: str = "", message: str = "") -> None:
        super().__init__(message or self.MESSAGE, detail=detail)


class DiskError(StoreError):
    """The disk refused a write for another reason than space (failing disk, file too large,
    a folder that went away)."""

    MESSAGE = (
        "Fieldcase could not write to this laptop's disk, so your last change was not saved. "
        "Nothing was saved; try again, and if it happens again contact your IT team."
    )
    #: When the profile could not be read at all for a reason of the disk.
    ON_OPEN = (
        "Fieldcase could not read this profile from the laptop's disk. Nothing was changed; "
        "try again, and if it happens again contact your IT team."
    )

    def __init__(self, *, detail: str = "", message: str = "") -> None:
        super().__init__(message or self.MESSAGE, detail=detail)


class NoBackup(StoreError):
    def __init__(self, what: str = "") -> None:
        super().__init__(
            what
            or "There is no backup of this profile on this laptop. Backups are made each time "
            "the profile is unlocked."
        )


class ProfileClosed(StoreError):
    def __init__(self) -> None:
        super().__init__("This profile is locked. Unlock it with your password and try again.")


def error_chain(err: BaseException) -> list[BaseException]:
    """``err`` and what lies under it (the driver's error of an SQLAlchemy one, causes and
    contexts), each once, outermost first."""
    chain: list[BaseException] = []
    current: BaseException | None = err
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return chain


def is_disk_full(err: BaseException) -> bool:
    """True for SQLite's "database or disk is full" and for OSError ENOSPC/EDQUOT."""
    return any(
        (isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT))
        or "database or disk is full" in str(e)
        for e in error_chain(err)
    )


class ProfileReadOnly(StoreError):
    """The profile's folder or its files cannot be written (read-only folder, file or disk)."""

    def __init__(self, profile_dir: Path | None = None, *, detail: str = "") -> None:
        where = f"the profile folder {profile_dir}" if profile_dir else "the profile folder"
        super().__init__(
            f"Fieldcase cannot write to {where}: it is read-only for this user. Nothing was "
            "changed. Make the folder and its files writable (or ask your IT team), then try "
            "again.",
            detail=detail,
        )


#: OSError numbers that mean "you may not write here": no permission, or a read-only disk.
_READ_ONLY_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})


def is_read_only(err: BaseException) -> bool:
    """True for SQLite's "attempt to write a readonly database" (or any "read-only" refusal)
    and for an OSError saying the file or folder may not be written (EACCES, EPERM, EROFS),
    anywhere in the error's chain."""
    for e in error_chain(err):
        if isinstance(e, OSError) and e.errno in _READ_ONLY_ERRNOS:
            return True
        text = str(e).lower()
        if "readonly" in text or "read-only" in text:
            return True
    return False


def stop_cause(err: BaseException) -> str | None:
    """Why the data file or the disk (not one record) refused: ``disk_full``, ``read_only``,
    ``busy`` (locked), ``disk`` (I/O), ``other`` (another operational failure), or None when
    the error is about the record itself."""
    if is_disk_full(err):
        return "disk_full"
    if is_read_only(err):
        return "read_only"
    chain = error_chain(err)
    text = " ".join(str(e) for e in chain).lower()
    if "database is locked" in text or "database table is locked" in text:
        return "busy"
    if "disk i/o error" in text or "unable to open database file" in text:
        return "disk"
    if any(isinstance(e, (OperationalError, OSError, MemoryError)) for e in chain):
        return "other"
    return None
