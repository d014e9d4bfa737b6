"""Fieldcase's log: a rotating file in :func:`app.paths.log_dir`.

The rule for every log line in Fieldcase: **never personal data**. Log ids (case, note,
document, profile and device UUIDs, case references), counts, durations and error classes;
never names, addresses, dates of birth, note or summary text, file names of documents, search
terms, passwords, keys or recovery secrets. Messages that a person sees may say more; the log
may not. Third-party libraries are only let through at WARNING and above, so that a library's
debug output (for example SQL parameters) never reaches the file.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import secrets
import sys
from datetime import UTC, datetime
from pathlib import Path

from app.files import keep_private
from app.paths import log_dir
from sync.errors import traceback_without_content

LOG_FILE = "fieldcase.log"
MAX_BYTES = 1024 * 1024
BACKUP_COUNT = 5
OUR_LOGGERS = ("fieldcase", "app", "sync", "server")
FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"


class _OnlyOurDetail(logging.Filter):
    """Pass our own loggers at the configured level, others only at WARNING and above."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.split(".")[0] in OUR_LOGGERS:
            return True
        return record.levelno >= logging.WARNING


class _QuietRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating file whose write or rollover failures (a full disk, another Fieldcase process
    holding the file on Windows) drop the record instead of printing it with a traceback."""

    dropped = 0

    def handleError(self, record: logging.LogRecord) -> None:
        self.dropped += 1


class _UtcFormatter(logging.Formatter):
    """ISO 8601 timestamps in UTC."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        moment = datetime.fromtimestamp(record.created, tz=UTC)
        return moment.isoformat(timespec="milliseconds")


def setup_logging(level: int = logging.INFO) -> Path:
    """Send log records to a rotating file in the log folder; return the file's path.

    Safe to call more than once: there is one Fieldcase log handler at a time, and a handler
    left from an earlier call for another folder is closed and removed.
    """
    folder = log_dir()
    path = folder / LOG_FILE
    root = logging.getLogger()
    for handler in list(root.handlers):
        logged_to = getattr(handler, "_fieldcase_log", None)
        if logged_to is not None and logged_to != str(path):
            root.removeHandler(handler)
            handler.close()
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as err:
        # A log that cannot be written must not stop casework; say so once and carry on.
        sys.stderr.write(
            f"Fieldcase could not make its log folder {folder} ({err.strerror}); "
            "carrying on without a log file.\n"
        )
        return path
    keep_private(folder)  # owner-only log files, rotated ones too
    for handler in root.handlers:
        if getattr(handler, "_fieldcase_log", None) == str(path):
            handler.setLevel(level)
            return path
    handler = _QuietRotatingFileHandler(
        path, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8", delay=True
    )
    handler._fieldcase_log = str(path)  # type: ignore[attr-defined]
    handler.setLevel(level)
    handler.setFormatter(_UtcFormatter(FORMAT))
    handler.addFilter(_OnlyOurDetail())
    root.addHandler(handler)
    # Only our own loggers get the chosen level; the root keeps its own (WARNING by default),
    # so libraries that decide what to log from their effective level stay quiet.
    for name in OUR_LOGGERS:
        logging.getLogger(name).setLevel(level)
    if os.name == "posix" and not path.exists():
        path.touch(mode=0o600)
    return path


def new_incident_id() -> str:
    """A short id that names one failure in the log and in the line a person reads out."""
    return secrets.token_hex(4)


def log_incident(logger: logging.Logger, err: BaseException, incident: str) -> None:
    """Write an unexpected error to the log under ``incident``: its traceback with every
    message left out (:func:`sync.errors.traceback_without_content`), so no case content
    (SQL parameters, note text, names) ever reaches the file."""
    logger.error(
        "incident %s: unexpected %s\n%s",
        incident,
        type(err).__name__,
        traceback_without_content(err),
    )
    for handler in logging.getLogger().handlers:
        handler.flush()
