"""The one way a file holding personal data is written for a person to take away (a printed
record's PDF, a subject access export): owner-only (0600) from its first byte, whole or not at
all. It is written as ``NAME.partial`` beside the target (any old one removed first, never
followed if it is a link) and renamed over the target once complete."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import IO


def write_private(path: Path, write: Callable[[IO[bytes]], None]) -> Path:
    """Call ``write`` with a binary file that becomes ``path`` when it returns. OSError (no
    such folder, no permission, a full disk) reaches the caller, and no partial file stays."""
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(partial, flags | getattr(os, "O_BINARY", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return path
