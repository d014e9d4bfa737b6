"""Site policy in the Windows registry: the one owner of reading it.

Two keys under ``HKEY_LOCAL_MACHINE`` (only administrators can write either):

* ``SOFTWARE\\Policies\\Fieldcase``: Group Policy or Intune, from the ADMX template in
  ``installer/windows/``;
* ``SOFTWARE\\Fieldcase``: what the MSI's public properties wrote (``SERVER=...``).

Each value is named after the site.toml key it sets (``max_auto_lock_minutes``), numbers as
REG_DWORD (or REG_SZ digits), text as REG_SZ. :mod:`app.site` decides what they mean and which
source wins; this module only reads them, from the live registry on Windows
(:class:`WindowsRegistry`) or from a ``regedit`` export (:class:`RegExport`), which is how IT
checks a policy before deploying it (``fieldcase policy check FILE.reg``) and how the tests
feed policy on Linux.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

POLICY_KEY = r"SOFTWARE\Policies\Fieldcase"
INSTALLER_KEY = r"SOFTWARE\Fieldcase"
HKLM = "HKEY_LOCAL_MACHINE"


@dataclass(frozen=True)
class OtherType:
    """A value of a registry type Fieldcase does not read (REG_BINARY, REG_MULTI_SZ, ...)."""

    type_name: str


RegValue = str | int | OtherType


class RegistryReader(Protocol):
    """Where registry values come from: the live registry or an export."""

    def values(self, key: str) -> Mapping[str, RegValue] | None:
        """The values of ``HKLM\\<key>`` by name (lower case), or None when there is no key."""
        ...


def shown_key(key: str) -> str:
    """A key as IT writes it: ``HKLM\\SOFTWARE\\Policies\\Fieldcase``."""
    return f"HKLM\\{key}"


# ------------------------------------------------------------------------ live (Windows)

_TYPE_NAMES = {
    0: "REG_NONE",
    3: "REG_BINARY",
    5: "REG_DWORD_BIG_ENDIAN",
    6: "REG_LINK",
    7: "REG_MULTI_SZ",
    11: "REG_QWORD",
}


class WindowsRegistry:
    """The live registry, through ``winreg`` (Windows only), in its 64-bit view."""

    def values(self, key: str) -> Mapping[str, RegValue] | None:
        if sys.platform != "win32":
            return None
        import winreg

        access = winreg.KEY_READ | winreg.KEY_WOW64_64KEY
        try:
            handle = winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, key, 0, access)
        except FileNotFoundError:
            return None
        found: dict[str, RegValue] = {}
        with handle:
            index = 0
            while True:
                try:
                    name, data, kind = winreg.EnumValue(handle, index)
                except OSError:  # no more values
                    break
                index += 1
                if kind in (winreg.REG_SZ, winreg.REG_EXPAND_SZ):
                    text = str(data)
                    if kind == winreg.REG_EXPAND_SZ:
                        text = winreg.ExpandEnvironmentStrings(text)
                    found[str(name).lower()] = text
                elif kind == winreg.REG_DWORD:
                    found[str(name).lower()] = int(data)
                else:
                    found[str(name).lower()] = OtherType(_TYPE_NAMES.get(kind, f"type {kind}"))
        return found


# ------------------------------------------------------------------------ regedit export


class RegExportError(ValueError):
    """A registry export that cannot be read; ``line`` is where (1-based), when known."""

    def __init__(self, problem: str, line: int | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.line = line


_HEADERS = ("Windows Registry Editor Version 5.00", "REGEDIT4")
_ROOTS = {"HKEY_LOCAL_MACHINE": HKLM, "HKLM": HKLM}
_VALUE = re.compile(r'^(?:"((?:[^"\\]|\\.)*)"|(@))\s*=\s*(.*)$')
_HEX_TYPES = {
    "": "REG_BINARY",
    "0": "REG_NONE",
    "1": "REG_SZ",
    "2": "REG_EXPAND_SZ",
    "3": "REG_BINARY",
    "4": "REG_DWORD",
    "7": "REG_MULTI_SZ",
    "b": "REG_QWORD",
}


def _unquote(text: str, line: int) -> str:
    out: list[str] = []
    chars = iter(text)
    for char in chars:
        if char == "\\":
            nxt = next(chars, "")
            if nxt not in ('"', "\\"):
                raise RegExportError(f'a backslash in "{text}" must be written twice', line)
            out.append(nxt)
        else:
            out.append(char)
    return "".join(out)


def _hex_bytes(text: str, line: int) -> bytes:
    cleaned = text.replace(" ", "").replace("\t", "").rstrip(",")
    if not cleaned:
        return b""
    try:
        return bytes(int(part, 16) for part in cleaned.split(","))
    except ValueError:
        raise RegExportError(
            "a hex value is not a list of bytes such as 41,00,42,00", line
        ) from None


def _data(raw: str, line: int) -> RegValue | None:
    """One value's data as written after ``=``; None for ``-`` (a deletion)."""
    raw = raw.strip()
    if raw == "-":
        return None
    if raw.startswith('"'):
        if len(raw) < 2 or not raw.endswith('"'):
            raise RegExportError("a text value must end with a double quote", line)
        return _unquote(raw[1:-1], line)
    lowered = raw.lower()
    if lowered.startswith("dword:"):
        digits = raw[len("dword:") :].strip()
        if not re.fullmatch(r"[0-9a-fA-F]{1,8}", digits):
            raise RegExportError(
                "a dword value must be up to 8 hex digits, as dword:0000000a", line
            )
        return int(digits, 16)
    found = re.match(r"^hex(?:\(([0-9a-fA-F]+)\))?:(.*)$", raw, re.DOTALL)
    if found is None:
        raise RegExportError(
            'a value must be "text", dword:00000000 or hex:.. after the equals sign', line
        )
    kind = (found.group(1) or "").lower().lstrip("0") or ("0" if found.group(1) else "")
    data = _hex_bytes(found.group(2), line)
    type_name = _HEX_TYPES.get(kind, f"type {kind}")
    if type_name in ("REG_SZ", "REG_EXPAND_SZ"):
        try:
            return data.decode("utf-16-le").split("\x00", 1)[0]
        except UnicodeDecodeError:
            raise RegExportError("a text value in hex is not UTF-16 text", line) from None
    if type_name == "REG_DWORD" and len(data) == 4:
        return int.from_bytes(data, "little")
    return OtherType(type_name)


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Lines with ``\\`` continuations joined, each with the number of its first line."""
    joined: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if pending is not None:
            start, sofar = pending
            stripped = sofar + stripped
            number = start
            pending = None
        if stripped.endswith("\\"):  # only hex data is split (text ends with its quote)
            pending = (number, stripped[:-1])
            continue
        joined.append((number, stripped))
    if pending is not None:
        joined.append(pending)
    return joined


class RegExport:
    """The HKLM keys of a ``regedit`` export (``.reg``, UTF-16 with a BOM or UTF-8)."""

    def __init__(self, keys: Mapping[str, Mapping[str, RegValue]]) -> None:
        self._keys = {name.lower(): dict(values) for name, values in keys.items()}

    def values(self, key: str) -> Mapping[str, RegValue] | None:
        return self._keys.get(key.lower())

    @classmethod
    def read(cls, path: Path) -> RegExport:
        """Parse the export at ``path``; RegExportError (or OSError) when it cannot be read."""
        raw = path.read_bytes()
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            text = raw.decode("utf-16")
        else:
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise RegExportError("it is neither UTF-16 (as regedit saves) nor UTF-8") from None
        return cls.parse(text)

    @classmethod
    def parse(cls, text: str) -> RegExport:
        lines = _logical_lines(text)
        first = next(((n, line) for n, line in lines if line), None)
        if first is None or first[1] not in _HEADERS:
            raise RegExportError(
                'it is not a registry export: the first line must be "Windows Registry Editor '
                'Version 5.00"',
                first[0] if first else None,
            )
        keys: dict[str, dict[str, RegValue]] = {}
        current: dict[str, RegValue] | None = None
        for number, line in lines:
            if not line or line.startswith(";") or line in _HEADERS:
                continue
            if line.startswith("[") and line.endswith("]"):
                name = line[1:-1].strip()
                deleting = name.startswith("-")
                root, _, rest = name.lstrip("-").partition("\\")
                if root.upper() not in _ROOTS:
                    current = None  # another hive (a user's): not policy, not read
                    continue
                if deleting:
                    keys.pop(rest.lower(), None)
                    current = None
                    continue
                current = keys.setdefault(rest.lower(), {})
                continue
            found = _VALUE.match(line)
            if found is None:
                raise RegExportError(
                    'a line must be a [key] or a "name"=value; this one is neither', number
                )
            if current is None:
                continue
            name = "" if found.group(2) else _unquote(found.group(1), number)
            data = _data(found.group(3), number)
            if data is None:
                current.pop(name.lower(), None)
            else:
                current[name.lower()] = data
        return cls(keys)
