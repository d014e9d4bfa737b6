"""Small file helpers shared by the vault: atomic replace and durable writes."""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from app.files import fsync_dir
from sync.clock import Clock, SystemClock


@contextlib.contextmanager
def atomic_writer(dst: Path, *, mode: int = 0o600, exclusive: bool = False) -> Iterator[BinaryIO]:
    """Yield a binary file that replaces ``dst`` only when the block ends without error.

    The bytes go to a temporary file beside ``dst``; it is flushed, fsynced and moved over
    ``dst`` with :func:`os.replace`, then the folder is fsynced. On error the temporary file is
    removed and ``dst`` is untouched. With ``exclusive`` an existing ``dst`` is never replaced:
    :class:`FileExistsError` is raised instead (the file is published with a hard link, which
    fails atomically when the name is taken).
    """
    tmp = dst.with_name(f".{dst.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            _publish_exclusive(tmp, dst)
        else:
            _replace(tmp, dst)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    fsync_dir(dst.parent)


def _replace(tmp: Path, dst: Path) -> None:
    """os.replace, retried briefly on Windows, where a reader holding ``dst`` open for a moment
    (another Fieldcase process, an antivirus scan) makes the rename fail with access denied."""
    attempts = 20 if sys.platform == "win32" else 1
    for attempt in range(attempts):
        try:
            os.replace(tmp, dst)
            return
        except PermissionError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.05)


def _publish_exclusive(tmp: Path, dst: Path) -> None:
    try:
        os.link(tmp, dst)
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links: check, then move
        if dst.exists():
            raise FileExistsError(str(dst)) from None
        os.replace(tmp, dst)
        return
    tmp.unlink()


def write_atomic(dst: Path, data: bytes, *, mode: int = 0o600, exclusive: bool = False) -> None:
    with atomic_writer(dst, mode=mode, exclusive=exclusive) as handle:
        handle.write(data)


@contextlib.contextmanager
def file_lock(path: Path, *, timeout: float = 60.0, clock: Clock | None = None) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if needed) across threads and processes.

    POSIX: ``flock`` on a fresh descriptor, so two threads of one process exclude each other
    too. Windows: ``msvcrt.locking`` on the first byte, retried until ``timeout``.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o600)
    try:
        if sys.platform == "win32":
            import msvcrt

            waits = clock or SystemClock()
            deadline = waits.monotonic() + timeout
            while True:
                try:
                    msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
                    break
                except OSError:
                    if waits.monotonic() > deadline:
                        raise
                    waits.sleep(0.05)
            try:
                yield
            finally:
                os.lseek(fd, 0, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
