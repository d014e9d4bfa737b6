"""Service settings: one typed object, read from the environment once and passed in.

Every setting has an environment variable, ``FIELDCASE_`` and its name in capitals (read by
pydantic-settings); a secret may instead be kept in a file named by ``FIELDCASE_<NAME>_FILE``
(:data:`FROM_FILE`: a container's or systemd's secrets, out of the environment and the
process list). Nothing is read from a global later, so tests build their own
:class:`Settings` without touching the process environment.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Literal

from platformdirs import user_data_dir
from pydantic import Field, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from sync.errors import FieldcaseError
from sync.source_tree import running_from_source_tree

APP_NAME = "Fieldcase Server"
ENV_PREFIX = "FIELDCASE_"
#: The settings that may be read from a file named by ``FIELDCASE_<NAME>_FILE``. (The audit
#: key's file is a setting of its own, ``audit_key_file``, read by :mod:`server.audit_key`.)
FROM_FILE: tuple[str, ...] = ("db_url", "metrics_token", "oidc_client_secret", "scim_token")
#: The exit code of a setting that cannot be used (docs/server-deployment.md).
EXIT_CONFIG = 78

log = logging.getLogger("fieldcase.server.config")

#: The cheapest Argon2id cost an installed service accepts from its environment (OWASP's
#: minimum for password storage: 19 MiB and 2 passes). Cheaper hashes, for tests, only when
#: the service runs from its source tree (:mod:`sync.source_tree`).
ARGON2_FLOOR = {"argon2_memory_kib": 19456, "argon2_time_cost": 2}


class SettingFileError(FieldcaseError):
    """A ``FIELDCASE_*_FILE`` setting that cannot be used: one plain line."""

    exit_code = EXIT_CONFIG


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


class _FileVariants(PydanticBaseSettingsSource):
    """``FIELDCASE_<NAME>_FILE``: the setting read from that file (its text, without the line
    end). Naming both the variable and its file is refused, as is a file that cannot be read."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # all of them are read in __call__

    def __call__(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for name in FROM_FILE:
            var = f"{ENV_PREFIX}{name.upper()}"
            path = os.environ.get(f"{var}_FILE")
            if not path:
                continue
            if os.environ.get(var):
                raise SettingFileError(
                    f"Both {var} and {var}_FILE are set: keep one (the file keeps the secret "
                    "out of the environment)."
                )
            try:
                found[name] = Path(path).read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as err:
                why = getattr(err, "strerror", None) or "not text"
                raise SettingFileError(
                    f"{var}_FILE names {path}, which cannot be read ({why}). Check the path "
                    "and that the service's user may read it."
                ) from None
        return found


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_ignore_empty=True, extra="ignore", validate_default=True
    )

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

    #: Database connections each service process keeps open (``FIELDCASE_DB_POOL_SIZE``) and
    #: may open beyond them at a busy moment (``FIELDCASE_DB_MAX_OVERFLOW``). A PostgreSQL
    #: server must allow workers x (both) connections, and some for the admin commands.
    db_pool_size: int = Field(default=5, ge=1, le=1000)
    db_max_overflow: int = Field(default=5, ge=0, le=1000)
    #: The token that ``/metrics`` asks for as ``Authorization: Bearer`` on the service's own
    #: port (``FIELDCASE_METRICS_TOKEN``, or its ``_FILE``). None: ``/metrics`` is only on
    #: ``serve --metrics-port``.
    metrics_token: SecretStr | None = None

    # Single sign-on with the council's OpenID Connect provider (docs/sso.md).
    #: How people sign in: ``sso`` (the provider only, except the break-glass accounts),
    #: ``password`` (this service's passwords only) or ``both``. ``FIELDCASE_SIGN_IN``; not
    #: set: ``both`` where a provider is set, else ``password`` (:meth:`sign_in_mode`).
    sign_in: Literal["sso", "password", "both"] | None = None
    #: The provider's issuer, exactly as it publishes it (``FIELDCASE_OIDC_ISSUER``), e.g.
    #: ``https://login.microsoftonline.com/<tenant id>/v2.0``.
    oidc_issuer: str = ""
    #: Fieldcase's client (application) id at the provider: ``FIELDCASE_OIDC_CLIENT_ID``.
    oidc_client_id: str = ""
    #: For a confidential client only: ``FIELDCASE_OIDC_CLIENT_SECRET`` (or its ``_FILE``).
    oidc_client_secret: SecretStr | None = None
    #: Refuse a sign-in that did not use multi-factor authentication: ``FIELDCASE_OIDC_
    #: REQUIRE_MFA``; what counts: ``amr`` methods and ``acr`` levels (JSON lists).
    oidc_require_mfa: bool = False
    oidc_mfa_methods: list[str] = Field(default_factory=lambda: ["mfa"])
    oidc_mfa_levels: list[str] = Field(default_factory=list)
    #: The claim that lists a person's app roles (Entra ID: ``roles``).
    oidc_role_claim: str = "roles"
    #: Each app role's team and role, as JSON: ``{"Fieldcase.North.Caseworker": "caseworker
    #: in North", ...}`` (``FIELDCASE_OIDC_ROLES``). A person with none of them is refused.
    oidc_roles: dict[str, str] = Field(default_factory=dict)
    #: Link an existing local account on its first single sign-on by a verified email that
    #: is its user name: ``FIELDCASE_OIDC_LINK_BY_EMAIL``. Off: ``admin link-sso`` links.
    oidc_link_by_email: bool = False
    #: Local accounts that may still sign in with a password when ``sign_in`` is ``sso``
    #: (break-glass accounts), as a JSON list: ``FIELDCASE_BREAK_GLASS``.
    break_glass: list[str] = Field(default_factory=list)
    #: Hours a user's laptops keep working after the provider first refuses them (a leaver, or
    #: someone taken out of Fieldcase's app roles), before they are revoked and wiped.
    sso_grace_hours: int = Field(default=72, ge=0, le=24 * 90)
    #: For a provider without SCIM: ``admin sync-directory`` disables an account the provider
    #: has not vouched for (no sign-in, no renewal) in this many days.
    sso_inactive_days: int = Field(default=30, ge=1, le=3650)
    #: A single sign-on user's laptops renew every 8 hours; when the provider has not vouched
    #: for them in this many hours (it refused the renewals), their grace period starts.
    sso_renew_hours: int = Field(default=24, ge=9, le=24 * 30)
    #: The token the provider's SCIM provisioning sends (``FIELDCASE_SCIM_TOKEN`` or its
    #: ``_FILE``); None: no SCIM routes (404).
    scim_token: SecretStr | None = None

    def sign_in_mode(self) -> str:
        """``sign_in`` as set, else what the provider's settings imply."""
        if self.sign_in is not None:
            return self.sign_in
        return "both" if self.oidc_issuer else "password"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, _FileVariants(settings_cls), env_settings)

    @classmethod
    def from_env(cls, *, source_tree: bool | None = None, **overrides: object) -> Settings:
        """Settings from the environment (and ``FIELDCASE_*_FILE``), then ``overrides`` (None
        values are skipped).

        Argon2 costs from the environment below :data:`ARGON2_FLOOR` are raised to it (with a
        warning) unless ``source_tree`` (default: whether the service runs from its source
        tree): an installed service never hashes passwords cheaply because of a variable.
        """
        given: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
        settings = cls(**given)
        _raise_hash_costs_to_the_floor(settings, set(given), source_tree)
        settings.db_url = normalise_db_url(settings.db_url)
        return settings


def _raise_hash_costs_to_the_floor(
    settings: Settings, given: set[str], source_tree: bool | None
) -> None:
    """Raise the hash costs the environment set below the floor (not those a caller gave)."""
    if source_tree is None:
        source_tree = running_from_source_tree()
    if source_tree:
        return
    for name, floor in ARGON2_FLOOR.items():
        value = getattr(settings, name)
        if name in given or value >= floor:
            continue
        log.warning(
            "%s%s=%s is below the safe floor of %d, so %d is used: an installed service "
            "hashes passwords at least that strongly (cheaper costs are only for tests "
            "run from the source tree).",
            ENV_PREFIX,
            name.upper(),
            value,
            floor,
            floor,
        )
        setattr(settings, name, floor)
