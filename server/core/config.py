"""Service settings: one typed object, read from the environment once and passed in.

Every setting has an environment variable (``FIELDCASE_*``); nothing is read from a global
later, so tests build their own :class:`Settings` without touching the process environment.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from platformdirs import user_data_dir
from pydantic import BaseModel, Field, SecretStr

from sync.source_tree import running_from_source_tree

APP_NAME = "Fieldcase Server"

log = logging.getLogger("fieldcase.server.config")

#: The cheapest Argon2id cost an installed service accepts from its environment (OWASP's
#: minimum for password storage: 19 MiB and 2 passes). Cheaper hashes, for tests, only when
#: the service runs from its source tree (:mod:`sync.source_tree`).
ARGON2_FLOOR = {"argon2_memory_kib": 19456, "argon2_time_cost": 2}


def default_db_url() -> str:
    """An SQLite file in the user data folder of "Fieldcase Server"."""
    folder = Path(user_data_dir(APP_NAME, appauthor=False))
    return f"sqlite:///{folder / 'fieldcase-server.db'}"


def normalise_db_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use the psycopg 3 driver for them."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Settings(BaseModel):
    db_url: str = Field(default_factory=default_db_url)
    service_name: str = "Fieldcase central service"
    #: The council's name, at the head of every subject access record:
    #: ``FIELDCASE_COUNCIL_NAME``. Empty: the service's name.
    council_name: str = Field(default="", max_length=200)
    #: Lifetime of an access token. ``FIELDCASE_TOKEN_TTL_SECONDS``.
    token_ttl_seconds: int = Field(default=3600, ge=0)
    #: A password sign-in this recent may release a device's recovery secret.
    recovery_fresh_seconds: int = Field(default=600, ge=0)
    #: Failed sign-ins counted over this window ...
    login_window_seconds: int = Field(default=900, ge=1)
    #: ... and refused (429) once an account or an address reaches these many failures.
    login_max_failures_account: int = Field(default=5, ge=1)
    login_max_failures_address: int = Field(default=30, ge=1)
    #: Largest request body accepted after decompression.
    max_body_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    #: Document content one device may hold staged (uploaded before its record was pushed),
    #: in bytes; more is refused with ``quota_exceeded`` (413). ``FIELDCASE_MAX_STAGED_BYTES``.
    max_staged_bytes: int = Field(default=2 * 1024**3, ge=0)
    #: Argon2id cost of password hashes: memory in KiB (``FIELDCASE_ARGON2_MEMORY_KIB``) and
    #: passes (``FIELDCASE_ARGON2_TIME_COST``). Hashes made with other costs are redone at the
    #: next successful sign-in.
    argon2_memory_kib: int = Field(default=65536, ge=8)
    argon2_time_cost: int = Field(default=3, ge=1)
    #: The audit trail's key, held outside the database (see docs/server-deployment.md): a
    #: file holding it (``FIELDCASE_AUDIT_KEY_FILE``) or the key itself in hex or base64
    #: (``FIELDCASE_AUDIT_KEY``). Neither on SQLite: a key file is made beside the database;
    #: neither on PostgreSQL: ``serve`` refuses to start.
    audit_key_file: Path | None = None
    audit_key: SecretStr | None = None
    #: The retention schedule (TOML, see :mod:`server.records.retention`):
    #: ``FIELDCASE_RETENTION_FILE``. None: no schedule, and ``admin retention run`` says so.
    retention_file: Path | None = None

    @classmethod
    def from_env(cls, *, source_tree: bool | None = None, **overrides: object) -> Settings:
        """Settings from the environment, then ``overrides`` (None values are skipped).

        Argon2 costs from the environment below :data:`ARGON2_FLOOR` are raised to it (with a
        warning) unless ``source_tree`` (default: whether the service runs from its source
        tree): an installed service never hashes passwords cheaply because of a variable.
        """
        env = os.environ
        values: dict[str, object] = {}
        mapping = {
            "FIELDCASE_DB_URL": "db_url",
            "FIELDCASE_SERVICE_NAME": "service_name",
            "FIELDCASE_COUNCIL_NAME": "council_name",
            "FIELDCASE_TOKEN_TTL_SECONDS": "token_ttl_seconds",
            "FIELDCASE_RECOVERY_FRESH_SECONDS": "recovery_fresh_seconds",
            "FIELDCASE_LOGIN_WINDOW_SECONDS": "login_window_seconds",
            "FIELDCASE_LOGIN_MAX_FAILURES_ACCOUNT": "login_max_failures_account",
            "FIELDCASE_LOGIN_MAX_FAILURES_ADDRESS": "login_max_failures_address",
            "FIELDCASE_MAX_BODY_BYTES": "max_body_bytes",
            "FIELDCASE_MAX_STAGED_BYTES": "max_staged_bytes",
            "FIELDCASE_ARGON2_MEMORY_KIB": "argon2_memory_kib",
            "FIELDCASE_ARGON2_TIME_COST": "argon2_time_cost",
            "FIELDCASE_AUDIT_KEY_FILE": "audit_key_file",
            "FIELDCASE_AUDIT_KEY": "audit_key",
            "FIELDCASE_RETENTION_FILE": "retention_file",
        }
        for var, name in mapping.items():
            if env.get(var):
                values[name] = env[var]
        _raise_hash_costs_to_the_floor(values, mapping, source_tree)
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls.model_validate(values)
        settings.db_url = normalise_db_url(settings.db_url)
        return settings


def _raise_hash_costs_to_the_floor(
    values: dict[str, object], mapping: dict[str, str], source_tree: bool | None
) -> None:
    if source_tree is None:
        source_tree = running_from_source_tree()
    if source_tree:
        return
    names = {name: var for var, name in mapping.items()}
    for name, floor in ARGON2_FLOOR.items():
        raw = values.get(name)
        try:
            below = raw is not None and int(str(raw)) < floor
        except ValueError:
            continue  # not a number: validation says so
        if below:
            log.warning(
                "%s=%s is below the safe floor of %d, so %d is used: an installed service "
                "hashes passwords at least that strongly (cheaper costs are only for tests "
                "run from the source tree).",
                names[name],
                raw,
                floor,
                floor,
            )
            values[name] = floor
