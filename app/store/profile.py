"""A caseworker's profile: the folder with the wrapped key, the encrypted database, its
backups and the encrypted documents.

    with Profile.open(folder, password) as profile:
        ...  # profile.engine, profile.documents_dir

Opening unlocks the key (app.vault), checks the database (every page's HMAC and the b-tree),
makes an encrypted backup, then brings the schema up to date. A damaged file is never written
to: the person is told, and offered the last backup.

Threads: the engine may be used from another thread than the one that opened the profile
(the window's single database worker), but calls must be serialised: one at a time.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING
from uuid import UUID, uuid4

import sqlcipher3.dbapi2 as sqlcipher
from sqlalchemy import Engine
from sqlmodel import Session

from app import vault
from app.files import fsync_dir
from app.store import db, document_backups, first_sync, migrate, state
from app.store.errors import (
    DataFileExists,
    DataFileMissing,
    DiskError,
    DiskFull,
    NoBackup,
    ProfileClosed,
    ProfileDamaged,
    ProfileReadOnly,
    ProfileTooNew,
    StoreError,
    is_disk_full,
    is_read_only,
)
from sync import words
from sync.clock import Clock, SystemClock

if TYPE_CHECKING:
    from app.site import SiteConfig

log = logging.getLogger("fieldcase.store")

DOCUMENTS_DIR = "documents"
BACKUPS_DIR = "backups"
BACKUP_PREFIX = "fieldcase-"
BACKUP_SUFFIX = ".db"
#: In backups/: the data file's size and time when the newest backup was made (no content).
FINGERPRINT_FILE = ".last-backup.json"
STALE_PARTIAL_SECONDS = 3600
#: Letters and digits that cannot be mistaken for one another when read aloud or written.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
#: 31**4 (about 920,000) codes: two laptops that never went online are very unlikely to share
#: one; once enrolled, the service's unique device code is used instead.
LAPTOP_CODE_LENGTH = 4


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    made_at: datetime
    size: int  # of the data file's copy (the document copies are shared between backups)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def documents(self) -> int:
        """How many document files the backup holds (0 for one made before they were)."""
        return len(document_backups.named_in(self.path) or ())


@dataclass(frozen=True)
class Restored:
    """What :meth:`Profile.restore` did: where the replaced data file went (None: there was
    none) and how many document files it put back."""

    aside: Path | None
    documents: int = 0


@dataclass(frozen=True)
class BackupPolicy:
    """Which backups are kept (site.toml's ``backup_*`` keys): the newest always; besides it
    the first of each of the last ``daily_days`` days (the state that day began with), then
    the first of each of the ``weekly_weeks`` weeks before those (days and weeks where the
    laptop is); and, when ``max_mb`` is not 0, no more than that in all (the oldest go
    first)."""

    daily_days: int = 7
    weekly_weeks: int = 4
    max_mb: int = 0

    @classmethod
    def of_site(cls) -> BackupPolicy:
        """The site's policy; the defaults when its file cannot be read (the program says so
        where it starts: a backup never fails for it)."""
        from app.site import SiteConfigError, load_site_config

        try:
            site = load_site_config()
        except SiteConfigError:
            return cls()
        return cls(site.backup_daily_days, site.backup_weekly_weeks, site.backup_max_mb)


def backups_to_drop(
    backups: list[BackupInfo],
    today: date,
    zone: tzinfo,
    policy: BackupPolicy,
    *,
    shared_bytes: int = 0,
) -> list[BackupInfo]:
    """The backups ``policy`` does not keep (``backups`` newest first, ``today`` where the
    laptop is). ``shared_bytes`` (the documents' copies, which the backups share) count
    towards the policy's size cap."""
    first_of: dict[tuple[str, int], BackupInfo] = {}  # (day or week, its number) -> backup
    for backup in backups:  # newest first: the last one seen in a day or week is its first
        age = (today - backup.made_at.astimezone(zone).date()).days
        if age < policy.daily_days:
            first_of[("day", age)] = backup
        elif age < policy.daily_days + 7 * policy.weekly_weeks:
            first_of[("week", (age - policy.daily_days) // 7)] = backup
    chosen = set(first_of.values())
    kept = [b for number, b in enumerate(backups) if number == 0 or b in chosen]
    if policy.max_mb:
        total = shared_bytes
        for number, backup in enumerate(list(kept)):
            total += backup.size
            if number and total > policy.max_mb * 1024 * 1024:
                kept.remove(backup)
    return [b for b in backups if b not in kept]


def list_backups(profile_dir: Path) -> list[BackupInfo]:
    """The profile's backups, newest first (no password needed: names carry the time)."""
    folder = Path(profile_dir) / BACKUPS_DIR
    found: list[BackupInfo] = []
    if not folder.is_dir():
        return found
    for path in folder.glob(f"{BACKUP_PREFIX}*{BACKUP_SUFFIX}"):
        stamp = path.name[len(BACKUP_PREFIX) : -len(BACKUP_SUFFIX)]
        try:
            made = datetime.strptime(stamp, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)
        except ValueError:
            continue
        found.append(BackupInfo(path=path, made_at=made, size=path.stat().st_size))
    found.sort(key=lambda b: b.made_at, reverse=True)
    return found


def _new_laptop_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(LAPTOP_CODE_LENGTH))


def _db_path(profile_dir: Path) -> Path:
    return Path(profile_dir) / db.DB_FILE


class Profile:
    """An unlocked profile. Make one with :meth:`create` or :meth:`open`; close it when done."""

    def __init__(
        self, profile_dir: Path, key: bytes, engine: Engine, clock: Clock | None = None
    ) -> None:
        self.profile_dir = Path(profile_dir)
        #: The clock everything done on this profile reads (the entry point's one clock).
        self.clock: Clock = clock or SystemClock()
        self._key: bytes | None = key
        self._engine: Engine | None = engine
        meta = self.read_meta()
        self.profile_id = UUID(meta["profile_id"])
        self.user = meta.get("user", "")
        self.team = meta.get("team", "")
        self.laptop_code = meta.get("laptop_code", "")
        #: Set when the automatic backup on unlock could not be made (plain English).
        self.backup_problem: str | None = None
        self._backup_thread: threading.Thread | None = None

    # ------------------------------------------------------------------ making and opening

    @classmethod
    def create(
        cls,
        profile_dir: Path,
        password: str,
        *,
        user: str,
        team: str = "",
        site: SiteConfig | None = None,
        clock: Clock | None = None,
        kdf: vault.KdfCost | None = None,
    ) -> Profile:
        """Make a new local profile in ``profile_dir`` (created if needed) and open it.

        ``kdf`` is the cost of the password wrap (default: the vault's tuned production cost;
        only tests pass a cheaper one)."""
        profile_dir = Path(profile_dir)
        clock = clock or SystemClock()
        user = user.strip()
        if not user:
            from app.errors import UsageError

            raise UsageError("Give your user name, for example: fieldcase init --user ajones")
        if _db_path(profile_dir).exists():
            raise DataFileExists(profile_dir)
        profile_id = uuid4()
        if site is None:
            key = vault.create_key(profile_dir, password, profile_id=profile_id, kdf=kdf)
        else:
            key = vault.create_key(
                profile_dir,
                password,
                profile_id=profile_id,
                min_password_length=site.min_password_length,
                kdf=kdf,
            )
        try:
            for sub in (DOCUMENTS_DIR, BACKUPS_DIR):
                (profile_dir / sub).mkdir(mode=0o700, exist_ok=True)
            engine = db.make_engine(_db_path(profile_dir), key)
            migrate.upgrade(engine)
            with Session(engine) as session, session.begin():
                state.add_meta(
                    session,
                    {
                        "profile_id": str(profile_id),
                        "user": user,
                        "team": team.strip(),
                        state.LAPTOP_CODE: _new_laptop_code(),
                        "created_at": clock.now().isoformat(),
                    },
                )
        except Exception as err:
            # Leave nothing half-made behind: without its key the new file is useless anyway.
            vault.destroy_key(profile_dir)
            for suffix in ("", "-wal", "-shm"):
                Path(f"{_db_path(profile_dir)}{suffix}").unlink(missing_ok=True)
            if is_disk_full(err):
                raise DiskFull(detail=type(err).__name__) from err
            raise
        log.info("created profile %s", profile_id)
        return cls(profile_dir, key, engine, clock)

    @classmethod
    def open(
        cls, profile_dir: Path, password: str, *, backup: bool = True, clock: Clock | None = None
    ) -> Profile:
        """Unlock, check, back up and migrate the profile in ``profile_dir``."""
        profile_dir = Path(profile_dir)
        clock = clock or SystemClock()
        key = vault.unlock(profile_dir, password, clock=clock)
        return cls.open_with_key(profile_dir, key, backup=backup, clock=clock)

    @classmethod
    def open_with_key(
        cls, profile_dir: Path, key: bytes, *, backup: bool = True, clock: Clock | None = None
    ) -> Profile:
        """As :meth:`open`, with the database key already unwrapped (e.g. after recovery)."""
        profile_dir = Path(profile_dir)
        clock = clock or SystemClock()
        path = _db_path(profile_dir)
        if not path.exists():
            raise DataFileMissing(path)
        try:
            db.check_database(path, key)
        except db.DiskUnavailable as err:
            raise _disk_problem_on_open(profile_dir, err) from None
        except db.DamagedDatabase as err:
            latest = list_backups(profile_dir)
            log.error("profile data file failed its checks: %s", err)
            raise ProfileDamaged(
                path,
                latest_backup=words.when(latest[0].made_at) if latest else None,
                detail=str(err),
            ) from None
        engine = db.make_engine(path, key)
        try:
            with engine.connect() as conn:
                current = migrate.current_revision(conn)
            if current is not None and current not in migrate.known_revisions():
                raise ProfileTooNew()
            upgrade_due = current != migrate.head_revision()
            backup_problem = None
            if backup and upgrade_due:  # the copy from before an upgrade, made before it
                backup_problem = _try_backup(profile_dir, key, clock)
            if upgrade_due:  # a migration finds the indexes a stopped first sync paused
                first_sync.finish_pause(engine)
            migrate.upgrade(engine)
            _notice_rollback(profile_dir, engine)
            first_sync.finish_pause(engine)
        except BaseException as err:
            engine.dispose()
            if is_disk_full(err):
                raise DiskFull(detail=type(err).__name__) from err
            raise
        (profile_dir / DOCUMENTS_DIR).mkdir(mode=0o700, exist_ok=True)
        opened = cls(profile_dir, key, engine, clock)
        opened.backup_problem = backup_problem
        if backup and not upgrade_due:
            opened._start_backup()
        return opened

    # ------------------------------------------------------------------------- properties

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise ProfileClosed()
        return self._engine

    @property
    def documents_dir(self) -> Path:
        return self.profile_dir / DOCUMENTS_DIR

    @property
    def backups_dir(self) -> Path:
        return self.profile_dir / BACKUPS_DIR

    @property
    def db_path(self) -> Path:
        return _db_path(self.profile_dir)

    @property
    def is_open(self) -> bool:
        return self._engine is not None

    def session(self) -> Session:
        """A new ORM session on this profile (``with profile.session() as s, s.begin(): ...``)."""
        return Session(self.engine, expire_on_commit=False)

    def read_meta(self) -> dict[str, str]:
        with Session(self.engine) as session:
            return state.read_meta(session)

    # --------------------------------------------------------------------------- actions

    def backup(self) -> Path:
        """Make an encrypted backup now (older ones kept as :class:`BackupPolicy` says);
        return its path."""
        if self._key is None:
            raise ProfileClosed()
        self.wait_for_backup()
        return _make_backup(self.profile_dir, self._key, self.clock)

    def _start_backup(self) -> None:
        """The automatic backup on unlock (:func:`_backup_on_a_thread`); :meth:`close` waits."""
        assert self._key is not None

        def done(problem: str | None) -> None:
            self.backup_problem = problem

        self._backup_thread = _backup_on_a_thread(self.profile_dir, self._key, self.clock, done)

    def wait_for_backup(self) -> str | None:
        """Wait until the automatic backup is done; return its problem, if it had one."""
        thread, self._backup_thread = self._backup_thread, None
        if thread is not None:
            thread.join()
        return self.backup_problem

    def purge_erased_copies(self) -> int:
        """Purge the cases the service erased from every backup and every copy a restore set
        aside (:func:`app.store.erased.purge_copies`), once; returns how many copies held
        any. Waits for the automatic backup first (it may be copying one of them)."""
        from app.store import erased

        if self._key is None:
            raise ProfileClosed()
        self.wait_for_backup()
        with self.engine.connect() as conn:
            due = erased.backups_to_purge(conn)
        if not due:
            return 0
        changed = erased.purge_copies(self.profile_dir, self.backups_dir, self._key, due)
        with self.engine.begin() as conn:
            erased.backups_purged(conn, due)
        return changed

    def change_password(
        self,
        old: str,
        new: str,
        *,
        site: SiteConfig | None = None,
        kdf: vault.KdfCost | None = None,
    ) -> None:
        """Re-wrap the database key under ``new`` (cost ``kdf``, default the production cost);
        the database file is not touched."""
        if site is None:
            vault.change_password(self.profile_dir, old, new, kdf=kdf)
        else:
            vault.change_password(
                self.profile_dir, old, new, min_password_length=site.min_password_length, kdf=kdf
            )

    def close(self) -> None:
        self.wait_for_backup()
        if self._engine is not None:
            self._engine.dispose()
        self._engine = None
        self._key = None

    def __enter__(self) -> Profile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --------------------------------------------------------------------------- restore

    @staticmethod
    def restore(
        profile_dir: Path,
        password: str,
        backup: str | Path | None = None,
        *,
        clock: Clock | None = None,
    ) -> Restored:
        """Put a backup in place of the data file (:func:`restore_backup`)."""
        return restore_backup(profile_dir, password, backup, clock=clock)


def restore_backup(
    profile_dir: Path,
    password: str,
    backup: str | Path | None = None,
    *,
    clock: Clock | None = None,
) -> Restored:
    """Put a backup (the newest if none is named) in place of the data file, and the
    document files it knows of back in ``documents/``.

    The backup is checked first. The current data file (with its -wal/-shm) is moved aside
    as ``fieldcase.db.before-restore-<time>``, never deleted; so is a document file that
    differs from the backup's. Says where the data file went and how many documents came
    back.
    """
    profile_dir = Path(profile_dir)
    key = vault.unlock(profile_dir, password)
    backups = list_backups(profile_dir)
    if backup is None:
        if not backups:
            raise NoBackup()
        chosen = backups[0].path
    else:
        wanted = Path(backup)
        candidates = [b.path for b in backups if b.path.name in (wanted.name, str(backup))]
        if wanted.is_file():
            candidates.append(wanted)
        if not candidates:
            names = ", ".join(b.name for b in backups) or "none"
            raise NoBackup(
                f"There is no backup called {backup}. The backups on this laptop are: "
                f"{names}. Run `fieldcase backups` to see them."
            )
        chosen = candidates[0]
    try:
        db.check_database(chosen, key)
    except db.DamagedDatabase as err:
        raise NoBackup(
            f"The backup {chosen.name} is damaged too, so nothing was changed. Try an older "
            "one (see `fieldcase backups`) or contact your IT team."
        ) from err
    target = _db_path(profile_dir)
    stamp = (clock or SystemClock()).now().strftime("%Y%m%dT%H%M%S%fZ")
    aside: Path | None = None
    if target.exists():
        aside = target.with_name(f"{target.name}.before-restore-{stamp}")
        os.replace(target, aside)
    for suffix in ("-wal", "-shm"):
        extra = Path(f"{target}{suffix}")
        if extra.exists():
            os.replace(extra, Path(f"{aside or target}{suffix}.before-restore-{stamp}"))
    partial = target.with_name(target.name + ".restoring")
    shutil.copyfile(chosen, partial)
    _mark_restored(partial, key)
    with open(partial, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(partial, target)
    fsync_dir(profile_dir)
    documents = document_backups.restore_documents(
        profile_dir / BACKUPS_DIR, chosen, profile_dir / DOCUMENTS_DIR, stamp
    )
    log.info("restored the profile's data file (and %d documents) from a backup", documents)
    return Restored(aside, documents)


def _notice_rollback(profile_dir: Path, engine: Engine) -> None:
    """An older data file put in place of a newer one (see :func:`refs.notice_rollback`).
    Reads only, unless there is a mark file saying the file went back in time."""
    from app.store import refs

    with engine.connect() as conn:
        if not refs.notice_rollback(conn, profile_dir):
            return
        conn.commit()


def _mark_restored(path: Path, key: bytes) -> None:
    """A restored data file is older than what this laptop may have done since: its reserved
    reference blocks may have been used by the newer file, so they are dropped (fresh ones are
    fetched before the next case when online, else at the next sync) and the next fallback
    reference jumps past any number used since (:func:`state.mark_rolled_back`)."""
    engine = db.make_engine(path, key)
    try:
        with engine.begin() as conn:
            state.mark_rolled_back(conn)
    finally:
        engine.dispose()


def _fingerprint(profile_dir: Path) -> dict[str, int] | None:
    """Size and modification time of the closed data file; None while a WAL holds changes."""
    path = _db_path(profile_dir)
    wal = Path(f"{path}-wal")
    if wal.exists() and wal.stat().st_size > 0:
        return None
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _unchanged_since_last_backup(profile_dir: Path, fingerprint: dict[str, int] | None) -> bool:
    if fingerprint is None:
        return False
    try:
        last = json.loads((Path(profile_dir) / BACKUPS_DIR / FINGERPRINT_FILE).read_text())
    except (OSError, ValueError):
        return False
    newest = list_backups(profile_dir)
    return (
        isinstance(last, dict)
        and last.get("data_file") == fingerprint
        and bool(newest)
        and newest[0].name == last.get("backup")
    )


#: Below this much free space, a disk failure while opening is taken for a full disk.
_NEARLY_FULL_BYTES = 1 << 20


def _disk_problem_on_open(profile_dir: Path, err: BaseException) -> StoreError:
    """What to say when the data file could not be opened for a reason of the disk, not of
    its content (never "damaged": restoring a backup would not help)."""
    log.error("the profile's data file could not be opened: %s", err)
    detail = str(err)
    if is_read_only(err):
        return ProfileReadOnly(profile_dir, detail=detail)
    try:
        nearly_full = shutil.disk_usage(profile_dir).free < _NEARLY_FULL_BYTES
    except OSError:
        nearly_full = False
    if nearly_full:
        return DiskFull(detail=detail, message=DiskFull.ON_OPEN)
    return DiskError(detail=detail, message=DiskError.ON_OPEN)


def _try_backup(profile_dir: Path, key: bytes, clock: Clock) -> str | None:
    """The automatic backup, made now. Failing to make it must not keep a caseworker from
    their cases: the problem is logged and returned as a message to show. When the data file
    has not changed since the newest backup, that backup is already this state: no copy."""
    try:
        snapshot = _snapshot_if_changed(profile_dir, key)
    except (OSError, sqlcipher.Error) as err:
        return _backup_problem(err)
    if snapshot is None:
        return None
    return _copy_snapshot(profile_dir, key, clock, *snapshot)


#: A read snapshot of the data file, its fingerprint, and the documents' files at that moment.
_Snapshot = tuple[sqlcipher.Connection, dict[str, int] | None, list[Path]]


def _backup_on_a_thread(
    profile_dir: Path, key: bytes, clock: Clock, done: Callable[[str | None], None]
) -> threading.Thread | None:
    """The automatic backup on unlock. Its read snapshot is taken now, before the profile is
    handed over, so the backup is the profile as it was when unlocked, never part of what the
    same command then writes; the copy runs on a thread (returned) so a large profile opens at
    once. ``done`` gets the problem in plain words, or None."""
    try:
        snapshot = _snapshot_if_changed(profile_dir, key)
    except (OSError, sqlcipher.Error) as err:
        done(_backup_problem(err))
        return None
    if snapshot is None:
        return None
    thread = threading.Thread(
        target=lambda: done(_copy_snapshot(profile_dir, key, clock, *snapshot)),
        name="fieldcase-backup",
    )
    thread.start()
    return thread


def _snapshot_if_changed(profile_dir: Path, key: bytes) -> _Snapshot | None:
    """A read snapshot of the data file and its fingerprint, or None when the newest backup
    already holds this state."""
    fingerprint = _fingerprint(profile_dir)
    if _unchanged_since_last_backup(profile_dir, fingerprint):
        log.info("the profile is unchanged since its last backup")
        return None
    files = document_backups.document_files(Path(profile_dir) / DOCUMENTS_DIR)
    return db.read_snapshot(_db_path(profile_dir), key), fingerprint, files


def _copy_snapshot(
    profile_dir: Path,
    key: bytes,
    clock: Clock,
    snapshot: sqlcipher.Connection,
    fingerprint: dict[str, int] | None,
    files: list[Path],
) -> str | None:
    """Write the backup from ``snapshot`` (closed afterwards); the problem in plain words."""
    try:
        made = _make_backup(profile_dir, key, clock, source=snapshot, files=files)
        if fingerprint is not None:
            (Path(profile_dir) / BACKUPS_DIR / FINGERPRINT_FILE).write_text(
                json.dumps({"data_file": fingerprint, "backup": made.name})
            )
    except (OSError, sqlcipher.Error) as err:
        return _backup_problem(err)
    finally:
        snapshot.close()
    return None


def _backup_problem(err: BaseException) -> str:
    log.warning("the automatic backup failed: %s", type(err).__name__)
    if is_disk_full(err):
        return (
            "The automatic backup could not be made because the disk is full. Your work "
            "is safe; free some space so that the next backup can be made."
        )
    return (
        "The automatic backup could not be made. Your work is safe; if this happens "
        "again, contact your IT team."
    )


def _make_backup(
    profile_dir: Path,
    key: bytes,
    clock: Clock,
    *,
    source: sqlcipher.Connection | None = None,
    files: list[Path] | None = None,
) -> Path:
    """A backup of the data file (from ``source``, a snapshot, or the file as it is now) with
    the documents' files (``files``, as they were at the snapshot; else as they are now);
    then the backups the site's policy does not keep go, with the document copies only they
    named."""
    folder = Path(profile_dir) / BACKUPS_DIR
    folder.mkdir(mode=0o700, exist_ok=True)
    now = clock.now()
    stamp = now.strftime("%Y%m%dT%H%M%S%fZ")
    target = folder / f"{BACKUP_PREFIX}{stamp}{BACKUP_SUFFIX}"
    stale = now.timestamp() - STALE_PARTIAL_SECONDS
    for partial in folder.glob(f"{BACKUP_PREFIX}*.partial*"):  # left by a killed process
        with contextlib.suppress(OSError):
            if partial.stat().st_mtime < stale:
                partial.unlink()
    db.backup_to(_db_path(profile_dir) if source is None else source, key, target)
    if files is None:
        files = document_backups.document_files(Path(profile_dir) / DOCUMENTS_DIR)
    document_backups.copy_documents(folder, target, files)
    policy = BackupPolicy.of_site()
    today = now.astimezone(clock.local_zone()).date()
    backups = list_backups(profile_dir)
    shared = document_backups.copies_size(folder)
    dropped = backups_to_drop(backups, today, clock.local_zone(), policy, shared_bytes=shared)
    for old in dropped:
        old.path.unlink(missing_ok=True)
        document_backups.forget(old.path)
    if dropped:
        document_backups.prune(folder, [b.path for b in backups if b not in dropped])
    log.info("backed up the profile (%d bytes)", target.stat().st_size)
    return target
