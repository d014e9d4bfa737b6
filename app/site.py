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

On Windows the same keys may also be set in the registry (:mod:`app.site_registry`), each
value named after its key: Group Policy's ``HKLM\\SOFTWARE\\Policies\\Fieldcase`` (the ADMX
template in ``installer/windows/``) beats the MSI's ``HKLM\\SOFTWARE\\Fieldcase``, which beats
the file. ``SiteConfig.origin_of(key)`` says which source set a value.

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
from dataclasses import dataclass, field, fields
from pathlib import Path, PureWindowsPath
from typing import Any

from app.errors import FieldcaseError
from app.site_registry import (
    INSTALLER_KEY,
    POLICY_KEY,
    OtherType,
    RegistryReader,
    RegValue,
    WindowsRegistry,
    shown_key,
)
from sync.address import service_address_problem
from sync.proxy import NO_PROXY, proxy_setting_problem
from sync.source_tree import running_from_source_tree

SITE_CONFIG_ENV = "FIELDCASE_SITE_CONFIG"
LINUX_SITE_CONFIG = Path("/etc/fieldcase/site.toml")


class SiteConfigError(FieldcaseError):
    """The site policy is missing (when named), unreadable or malformed: the file, or a value
    in the registry (``where`` names either; ``path`` is the file, None for the registry)."""

    exit_code = 78  # EX_CONFIG

    def __init__(
        self,
        path: Path | None,
        problem: str,
        *,
        line: int | None = None,
        where: str | None = None,
        advice: str = "Fieldcase will not start until it is fixed; ask your IT team.",
    ) -> None:
        if where is None:
            where = f"The site configuration {path}" + (f", line {line}" if line else "")
        super().__init__(
            f"{where} has a problem: {problem}. {advice}",
            detail=f"site policy {where} line {line}: {problem}",
        )
        self.path = path
        self.where = where
        self.line = line
        self.problem = problem

    def for_it(self) -> SiteConfigError:
        """The same problem, said to IT checking a policy before deploying it."""
        return SiteConfigError(
            self.path,
            self.problem,
            line=self.line,
            where=self.where,
            advice="Laptops given this policy would refuse to start Fieldcase: correct it first.",
        )


# Where a setting in force came from, strongest first (doctor shows it; facts carry the word).
ORIGIN_POLICY = "policy"  # Group Policy / Intune: HKLM\SOFTWARE\Policies\Fieldcase
ORIGIN_INSTALLER = "installer"  # the MSI's properties: HKLM\SOFTWARE\Fieldcase
ORIGIN_FILE = "file"  # site.toml
ORIGIN_DEFAULT = "default"  # Fieldcase's own
ORIGIN_SHOWN = {
    ORIGIN_POLICY: "Group Policy",
    ORIGIN_INSTALLER: "installer",
    ORIGIN_FILE: "site file",
    ORIGIN_DEFAULT: "default",
}


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
    # key -> ORIGIN_POLICY / ORIGIN_INSTALLER / ORIGIN_FILE for each key a source set
    origin: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)
    # registry value names that are no setting of this version (a newer ADMX): not applied
    ignored: tuple[str, ...] = field(default=(), compare=False, hash=False)

    def origin_of(self, key: str) -> str:
        """Where ``key``'s value came from: one of the ORIGIN_* words."""
        return self.origin.get(key, ORIGIN_DEFAULT)


# key -> (lowest, highest, what the number counts)
_RANGES: dict[str, tuple[int, int, str]] = {
    "max_auto_lock_minutes": (1, 240, "minutes"),
    "min_password_length": (10, 128, "characters"),
    "sync_interval_minutes": (1, 1440, "minutes"),
    "backup_daily_days": (0, 90, "days"),
    "backup_weekly_weeks": (0, 104, "weeks"),
    "backup_max_mb": (0, 1_000_000, "MB"),
}
KEYS: tuple[str, ...] = tuple(
    f.name for f in fields(SiteConfig) if f.name not in ("source", "origin", "ignored")
)


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


def _check_ca_bundle(value: object, folder: Path | None, *, on_this_computer: bool = True) -> Path:
    """The PEM file ``value`` names: relative to ``folder`` (None: it must be a full path)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError('ca_bundle must be the path of a PEM file in quotes, such as "ca.pem"')
    path = Path(value).expanduser()
    if not (path.is_absolute() or PureWindowsPath(value).is_absolute()):
        if folder is None:
            raise ValueError("ca_bundle must be the full path of a PEM file")
        path = folder / path
    if on_this_computer and not path.is_file():
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


def _checked(key: str, value: object, folder: Path | None, *, here: bool = True) -> Any:
    """``value`` for ``key`` once checked; ValueError says what is wrong with it. ``here``:
    the policy is for this computer, so a file it names must exist on it."""
    if key == "server_url":
        return _check_server_url(value)
    if key == "ca_bundle":
        return _check_ca_bundle(value, folder, on_this_computer=here)
    if key == "council_name":
        return _check_council_name(value)
    if key == "proxy":
        wrong = proxy_setting_problem(value)
        if wrong is not None:
            raise ValueError(wrong)
        return str(value).strip()
    if key in _RANGES:
        return _check_whole_number(key, value)
    raise ValueError(
        f'"{key}" is not a setting Fieldcase knows; the settings are ' + ", ".join(KEYS)
    )


def _parse(text: str, path: Path, *, here: bool = True) -> dict[str, Any]:
    """The checked settings of a site.toml's ``text``; SiteConfigError names the line."""
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
        try:
            values[key] = _checked(key, value, path.parent, here=here)
        except ValueError as err:
            raise SiteConfigError(path, str(err), line=_line_of(text, key)) from None
    return values


def _read_file(path: Path, *, here: bool = True) -> dict[str, Any]:
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
    return _parse(text, path, here=here)


def _from_registry(key: str, raw: RegValue) -> object:
    """A registry value as the setting's own type: numbers from REG_DWORD or REG_SZ digits."""
    if isinstance(raw, OtherType):
        raise ValueError(
            f"it is a {raw.type_name} value; write it as "
            + ("a REG_DWORD number" if key in _RANGES else "REG_SZ text")
        )
    if key in _RANGES and isinstance(raw, str):
        return int(raw.strip()) if raw.strip().isdecimal() else raw
    if key not in _RANGES and isinstance(raw, int):
        raise ValueError("it is a REG_DWORD number; write it as REG_SZ text")
    return raw


REGISTRY_SOURCES = (
    (ORIGIN_INSTALLER, INSTALLER_KEY, "The installer's setting"),
    (ORIGIN_POLICY, POLICY_KEY, "The Group Policy setting"),
)  # weaker first: a later source's value wins


def registry_settings(
    reader: RegistryReader, key: str, label: str, folder: Path | None, *, here: bool = True
) -> tuple[dict[str, Any], list[str]]:
    r"""The checked settings under ``HKLM\<key>`` and the value names that are no setting."""
    found = reader.values(key) or {}
    values: dict[str, Any] = {}
    ignored: list[str] = []
    for name, raw in found.items():
        if name not in KEYS:
            ignored.append(f"{shown_key(key)}\\{name}")
            continue
        try:
            values[name] = _checked(name, _from_registry(name, raw), folder, here=here)
        except ValueError as err:
            where = f"{label} {shown_key(key)}\\{name}"
            raise SiteConfigError(None, str(err), where=where) from None
    return values, ignored


def load_site_config(
    env: Mapping[str, str] = os.environ,
    *,
    platform: str = sys.platform,
    source_tree: bool | None = None,
    registry: RegistryReader | None = None,
) -> SiteConfig:
    """The site policy in force (defaults where nothing sets a key). SiteConfigError if any
    source is malformed.

    Sources, strongest first: Group Policy's registry key, the MSI's registry key (both read
    on Windows, or from ``registry`` when given), the site.toml file, the defaults.
    ``source_tree`` (default: :func:`sync.source_tree.running_from_source_tree`) decides
    whether env FIELDCASE_SITE_CONFIG may name another file.
    """
    path = site_config_path(env, platform=platform, source_tree=source_tree)
    if registry is None and platform.startswith("win"):
        registry = WindowsRegistry()
    system = system_site_config_path(platform)
    return combined(path, registry, system.parent if system is not None else None)


def combined(
    path: Path | None,
    registry: RegistryReader | None,
    folder: Path | None,
    *,
    here: bool = True,
) -> SiteConfig:
    """The policy the file at ``path`` and the ``registry`` make together (the registry's
    relative paths are in ``folder``). ``here=False`` checks a policy meant for other
    computers (``fieldcase policy check``): the files it names need not exist on this one."""
    values = _read_file(path, here=here) if path is not None else {}
    origin = dict.fromkeys(values, ORIGIN_FILE)
    ignored: list[str] = []
    if registry is not None:
        for word, key, label in REGISTRY_SOURCES:
            found, unknown = registry_settings(registry, key, label, folder, here=here)
            values.update(found)
            origin.update(dict.fromkeys(found, word))
            ignored.extend(unknown)
    return SiteConfig(source=path, origin=origin, ignored=tuple(ignored), **values)


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
