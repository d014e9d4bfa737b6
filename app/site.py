"""Site configuration: the policy IT presets for every laptop of a council.

A TOML file, found in this order:

1. the file named by env ``FIELDCASE_SITE_CONFIG`` (it must exist), but only when Fieldcase
   runs from its source tree (developers and tests: :mod:`sync.source_tree`). An installed
   copy (the bundle, the .deb, a wheel) ignores it, and ``doctor`` says so: a user must not be
   able to replace the policy IT set;
2. ``/etc/fieldcase/site.toml`` on Linux (and other Unix), or
   ``<ProgramData>\\Fieldcase\\site.toml`` on Windows, if it exists. ProgramData is asked of
   Windows itself (the known folder API), never taken from the user-settable ``PROGRAMDATA``;
3. otherwise no file: the built-in defaults below.

Keys (all optional)::

    server_url = "https://fieldcase.example.gov.uk"   # the central service (https; http only
                                                       # to this computer itself)
    ca_bundle = "council-ca.pem"                       # PEM file of CAs to trust; relative to
                                                       # the folder of site.toml
    max_auto_lock_minutes = 15                         # 1..240; users may only choose less
    min_password_length = 10                           # 10..128; users may only choose more
    sync_interval_minutes = 15                         # 1..1440; users may only choose less
    backup_daily_days = 7                              # 0..90: one backup a day for this long
    backup_weekly_weeks = 4                            # 0..104: then one a week for this long
    backup_max_mb = 0                                  # 0..1000000: the backups' total size
                                                       # at most (the oldest go first); 0: no cap
    council_name = "Northshire Council"                # heads every printed record (without
                                                       # it: the user's team)
    proxy = "none"                                     # "none", "system" (the computer's own
                                                       # proxy settings) or a proxy's address,
                                                       # "http://user:password@proxy:3128"

A malformed file raises :class:`SiteConfigError` naming the file, the line and the problem;
callers refuse to start rather than run with weakened security. Site policy beats user
settings: see :func:`effective_setting`.
"""

from __future__ import annotations

import os
import re
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from app.errors import FieldcaseError
from sync.address import service_address_problem
from sync.proxy import NO_PROXY, proxy_setting_problem
from sync.source_tree import running_from_source_tree

SITE_CONFIG_ENV = "FIELDCASE_SITE_CONFIG"
LINUX_SITE_CONFIG = Path("/etc/fieldcase/site.toml")


class SiteConfigError(FieldcaseError):
    """The site configuration file is missing (when named), unreadable or malformed."""

    exit_code = 78  # EX_CONFIG

    def __init__(self, path: Path, problem: str, *, line: int | None = None) -> None:
        where = f"{path}, line {line}" if line is not None else str(path)
        super().__init__(
            f"The site configuration {where} has a problem: {problem}. Fieldcase will not start "
            "until it is fixed; ask your IT team.",
            detail=f"site config {path} line {line}: {problem}",
        )
        self.path = path
        self.line = line
        self.problem = problem


@dataclass(frozen=True)
class SiteConfig:
    """The site policy in force (defaults when there is no file; ``source`` is the file)."""

    server_url: str | None = None
    ca_bundle: Path | None = None
    max_auto_lock_minutes: int = 15
    min_password_length: int = 10
    sync_interval_minutes: int = 15
    backup_daily_days: int = 7
    backup_weekly_weeks: int = 4
    backup_max_mb: int = 0
    council_name: str | None = None
    proxy: str = NO_PROXY
    source: Path | None = None


# key -> (lowest, highest, what the number counts)
_RANGES: dict[str, tuple[int, int, str]] = {
    "max_auto_lock_minutes": (1, 240, "minutes"),
    "min_password_length": (10, 128, "characters"),
    "sync_interval_minutes": (1, 1440, "minutes"),
    "backup_daily_days": (0, 90, "days"),
    "backup_weekly_weeks": (0, 104, "weeks"),
    "backup_max_mb": (0, 1_000_000, "MB"),
}
KEYS: tuple[str, ...] = tuple(f.name for f in fields(SiteConfig) if f.name != "source")


def windows_program_data() -> Path | None:
    """Windows' ProgramData folder, from the known folder API (FOLDERID_ProgramData), or None
    when Windows cannot say. Not ``%PROGRAMDATA%``: any user can set that variable.

    platformdirs' own site folder is not used: it honours an environment override too.
    """
    from platformdirs import windows

    try:
        found = windows.get_win_folder_via_ctypes("CSIDL_COMMON_APPDATA")
    except (OSError, ValueError, AttributeError):
        return None
    return Path(found) if found else None


def system_site_config_path(platform: str = sys.platform) -> Path | None:
    """Where IT puts the policy on this platform (whether or not the file exists)."""
    if platform.startswith("win"):
        folder = windows_program_data()
        return None if folder is None else folder / "Fieldcase" / "site.toml"
    return LINUX_SITE_CONFIG


def site_config_path(
    env: Mapping[str, str] = os.environ,
    *,
    platform: str = sys.platform,
    source_tree: bool | None = None,
) -> Path | None:
    """The site configuration file in force, or None when there is none.

    From the source tree, env FIELDCASE_SITE_CONFIG wins (returned even if missing, so that
    loading it can say so); else the platform's system-wide file, only if it exists.
    """
    if source_tree is None:
        source_tree = running_from_source_tree()
    named = env.get(SITE_CONFIG_ENV, "")
    if named and source_tree:
        return Path(named).expanduser()
    candidate = system_site_config_path(platform)
    return candidate if candidate is not None and candidate.is_file() else None


def ignored_override(
    env: Mapping[str, str] = os.environ,
    *,
    platform: str = sys.platform,
    source_tree: bool | None = None,
) -> str | None:
    """A plain sentence when FIELDCASE_SITE_CONFIG is set but this copy ignores it, else None."""
    if source_tree is None:
        source_tree = running_from_source_tree()
    if source_tree or not env.get(SITE_CONFIG_ENV, ""):
        return None
    where = system_site_config_path(platform)
    policy = f"the policy IT set in {where}" if where is not None else "the policy IT set"
    return f"{SITE_CONFIG_ENV} is set but ignored: this installed copy follows only {policy}."


def _line_of(text: str, key: str) -> int | None:
    """The line where top-level ``key`` is set (``key = ...`` or a ``[key]`` table)."""
    name = rf"(?:{re.escape(key)}|\"{re.escape(key)}\"|'{re.escape(key)}')"
    pattern = re.compile(rf"^\s*(?:{name}\s*[=.]|\[\[?\s*{name}\s*[\].])")
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return number
    return None


def _check_server_url(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(
            'server_url must be a web address in quotes, such as "https://fieldcase.example.gov.uk"'
        )
    problem = service_address_problem(value, subject="server_url")
    if problem is not None:
        raise ValueError(problem)
    return value.strip().rstrip("/")


def _check_ca_bundle(value: object, folder: Path) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise ValueError('ca_bundle must be the path of a PEM file in quotes, such as "ca.pem"')
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = folder / path
    if not path.is_file():
        raise ValueError(f"ca_bundle names {path}, but there is no such file")
    return path


def _check_council_name(value: object) -> str:
    name = " ".join(value.split()) if isinstance(value, str) else ""
    if not name or len(name) > 200 or not name.isprintable():
        raise ValueError(
            "council_name must be the council's name in quotes, at most 200 characters, such "
            'as "Northshire Council"'
        )
    return name


def _check_whole_number(key: str, value: object) -> int:
    low, high, unit = _RANGES[key]
    if type(value) is not int or not low <= value <= high:
        raise ValueError(f"{key} must be a whole number of {unit} between {low} and {high}")
    return value


def _parse(text: str, path: Path) -> SiteConfig:
    try:
        doc: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        message = str(err)
        found = re.search(r"\(at line (\d+), column (\d+)\)", message)
        problem = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", message)
        if found:
            problem = f"column {found.group(2)}: {problem}"
        line = int(found.group(1)) if found else None
        raise SiteConfigError(path, f"it is not valid TOML ({problem})", line=line) from None
    values: dict[str, Any] = {}
    for key, value in doc.items():
        line = _line_of(text, key)
        try:
            if key == "server_url":
                values[key] = _check_server_url(value)
            elif key == "ca_bundle":
                values[key] = _check_ca_bundle(value, path.parent)
            elif key == "council_name":
                values[key] = _check_council_name(value)
            elif key == "proxy":
                wrong = proxy_setting_problem(value)
                if wrong is not None:
                    raise ValueError(wrong)
                values[key] = str(value).strip()
            elif key in _RANGES:
                values[key] = _check_whole_number(key, value)
            else:
                raise ValueError(
                    f'"{key}" is not a setting Fieldcase knows; the settings are ' + ", ".join(KEYS)
                )
        except ValueError as err:
            raise SiteConfigError(path, str(err), line=line) from None
    return SiteConfig(source=path, **values)


def load_site_config(
    env: Mapping[str, str] = os.environ,
    *,
    platform: str = sys.platform,
    source_tree: bool | None = None,
) -> SiteConfig:
    """The site policy in force (defaults when there is no file). SiteConfigError if malformed.

    ``source_tree`` (default: :func:`sync.source_tree.running_from_source_tree`) decides
    whether env FIELDCASE_SITE_CONFIG may name another file.
    """
    path = site_config_path(env, platform=platform, source_tree=source_tree)
    if path is None:
        return SiteConfig()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SiteConfigError(
            path, f"{SITE_CONFIG_ENV} names this file, but there is no such file"
        ) from None
    except OSError as err:
        raise SiteConfigError(path, f"it cannot be read ({err.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SiteConfigError(path, "it is not UTF-8 text") from None
    return _parse(text, path)


# --------------------------------------------------------------------------- precedence


def effective_setting(user_value: Any, site: SiteConfig, key: str) -> Any:
    """The value in force for ``key`` when a user chose ``user_value`` (None: no choice).

    Site policy beats user settings:

    * ``max_auto_lock_minutes``, ``sync_interval_minutes``: the smaller of the user's and the
      site's (a user may lock sooner or sync more often, never later or less often);
    * ``min_password_length``: the larger of the two;
    * ``server_url``, ``ca_bundle``: the site's when it sets one, else the user's;
    * ``proxy``: the site's (a user has no say in where case data goes).
    """
    if key not in KEYS:
        raise KeyError(f"unknown site setting {key!r}; the settings are {', '.join(KEYS)}")
    site_value = getattr(site, key)
    if key in {"max_auto_lock_minutes", "sync_interval_minutes"}:
        if user_value is None or type(user_value) is not int or user_value < 1:
            return site_value
        return min(user_value, site_value)
    if key == "min_password_length":
        if user_value is None or type(user_value) is not int:
            return site_value
        return max(user_value, site_value)
    return site_value if site_value is not None else user_value


def auto_lock_minutes(user_minutes: int | None, site: SiteConfig) -> int:
    """Minutes of idle time before the window locks: min(user's choice, site maximum)."""
    return int(effective_setting(user_minutes, site, "max_auto_lock_minutes"))


def sync_interval_minutes(user_minutes: int | None, site: SiteConfig) -> int:
    """Minutes between automatic syncs: min(user's choice, site's interval)."""
    return int(effective_setting(user_minutes, site, "sync_interval_minutes"))


def server_url(user_value: str | None, site: SiteConfig) -> str | None:
    """The central service's address: the site's when set, else the user's."""
    value = effective_setting(user_value, site, "server_url")
    return None if value is None else str(value)
