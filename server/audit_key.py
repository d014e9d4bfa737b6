"""The audit trail's key: a secret held outside the database, so that someone who can write
the database cannot rewrite the trail and recompute its hashes.

The key comes from :class:`server.core.config.Settings`: ``audit_key`` (hex or base64, from
``FIELDCASE_AUDIT_KEY``) or ``audit_key_file`` (a file holding it). With neither, the embedded
SQLite service makes a random key file beside its database (owner-only) and says where; a
PostgreSQL service has no default and refuses to start. A key is known in the trail by its id:
the first 8 hex digits of its SHA-256 (never the key itself).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from server.core.config import APP_NAME, Settings
from sync.errors import FieldcaseError

log = logging.getLogger("fieldcase.server.audit")

#: The rule of rows written before the trail was keyed: plain SHA-256, no key.
OLD_RULE = "sha256"
KEY_BYTES = 32
MIN_KEY_BYTES = 16
KEY_FILE_SUFFIX = ".audit-key"

MISSING_MESSAGE = (
    "No audit key is set. The service signs its audit trail with a secret key kept outside "
    "the database. Make one with `fieldcase-server admin make-audit-key --out FILE`, keep a "
    "copy somewhere safe, and set FIELDCASE_AUDIT_KEY_FILE=FILE (see docs/server-deployment.md)."
)


class AuditKeyError(FieldcaseError):
    """The audit key is missing, unreadable or not the one the trail is kept with."""

    exit_code = 4


@dataclass(frozen=True)
class AuditKey:
    secret: bytes = field(repr=False)
    source: str = ""  # where it came from, for messages (a path or "FIELDCASE_AUDIT_KEY")

    @property
    def key_id(self) -> str:
        return key_id_of(self.secret)


def key_id_of(secret: bytes) -> str:
    return hashlib.sha256(secret).hexdigest()[:8]


def parse_key(text: str, source: str) -> AuditKey:
    """A key written in hex or base64 (at least 16 bytes)."""
    value = text.strip()
    secret: bytes | None = None
    try:
        secret = bytes.fromhex(value)
    except ValueError:
        try:
            secret = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
        except (binascii.Error, ValueError):
            try:
                secret = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            except (binascii.Error, ValueError):
                secret = None
    if not secret or len(secret) < MIN_KEY_BYTES:
        raise AuditKeyError(
            f"The audit key in {source} is not usable: it must be at least {MIN_KEY_BYTES} "
            "bytes written in hex or base64. Make a new one with "
            "`fieldcase-server admin make-audit-key --out FILE`."
        )
    return AuditKey(secret, source)


def read_key_file(path: Path) -> AuditKey:
    try:
        text = path.expanduser().read_text(encoding="ascii")
    except FileNotFoundError as err:
        raise AuditKeyError(
            f"The audit key file {path} does not exist. Check FIELDCASE_AUDIT_KEY_FILE, or "
            "make a key with `fieldcase-server admin make-audit-key --out FILE`."
        ) from err
    except (OSError, UnicodeDecodeError) as err:
        raise AuditKeyError(
            f"The audit key file {path} could not be read ({type(err).__name__}). Check that "
            "the service's account may read it."
        ) from err
    return parse_key(text, str(path))


def new_key_text() -> str:
    return secrets.token_hex(KEY_BYTES)


def write_private(path: Path, text: str) -> None:
    """Write a new owner-only (0600) file; refuses to replace an existing one."""
    path = path.expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as err:
        raise AuditKeyError(f"{path} already exists. Choose a new file name.") from err
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())


def default_key_path(settings: Settings) -> Path | None:
    """Where the embedded SQLite service keeps its own key: beside its database file (the
    user data folder for the default database). None for PostgreSQL."""
    url = make_url(settings.db_url)
    if url.get_backend_name() != "sqlite":
        return None
    if url.database and url.database != ":memory:":
        db = Path(url.database).expanduser()
        return db.with_name(db.stem + KEY_FILE_SUFFIX)
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False)) / f"fieldcase-server{KEY_FILE_SUFFIX}"


def load_key(settings: Settings, *, create: bool = True) -> AuditKey | None:
    """The configured key; on SQLite without one, the key file beside the database (made
    when missing and ``create``); None when there is none (PostgreSQL without a key)."""
    if settings.audit_key is not None:
        return parse_key(settings.audit_key.get_secret_value(), "FIELDCASE_AUDIT_KEY")
    if settings.audit_key_file is not None:
        return read_key_file(settings.audit_key_file)
    path = default_key_path(settings)
    if path is None:
        return None
    if path.exists():
        return read_key_file(path)
    if not create:
        return None
    try:
        write_private(path, new_key_text() + "\n")
    except AuditKeyError:  # another process made it first
        return read_key_file(path)
    log.warning(
        "made a new audit key at %s (keep a copy elsewhere; see docs/server-deployment.md)", path
    )
    return read_key_file(path)
