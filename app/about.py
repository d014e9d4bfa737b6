"""What the About box says: the version, the licence, and the third-party components with
their licence texts, read from the installed bundle's SBOM (``sbom.cdx.json`` and
``licences/``, written by installer/sbom.py). A copy running from its source tree has no
bundle, and says where the list is instead. No Qt here: the window only shows this."""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

from sync.version import VERSION

__all__ = ["LICENCE", "VERSION", "About", "Component", "bundle_root", "load", "read_texts"]

log = logging.getLogger("fieldcase.about")

SBOM_NAME = "sbom.cdx.json"
LGPL_NOTE = Path("licences") / "LGPL-NOTICE.txt"
LICENCE = "Apache License 2.0"
TEXT_LIMIT = 2_000_000  # characters of one licence shown (the longest, the GPL, is 35,000)


@dataclass(frozen=True)
class Component:
    name: str
    version: str
    licence: str
    texts: tuple[Path, ...]
    note: str = ""  # "inside pyside6-essentials 6.12.0"


@dataclass(frozen=True)
class About:
    version: str
    licence: str
    components: tuple[Component, ...]
    lgpl_note: Path | None
    bundle: Path | None  # None: running from source, no list of components

    def summary(self) -> str:
        """One plain paragraph for the top of the box."""
        if self.bundle is None:
            listed = (
                "This copy runs from its source code, so its third-party components are not "
                "listed here; an installed copy lists each with its licence."
            )
        else:
            listed = (
                f"It includes {len(self.components)} third-party components, each under its "
                "own licence: choose one to read it."
            )
        return f"Fieldcase {self.version} is free software under the {self.licence}. {listed}"


def bundle_root() -> Path | None:
    """The installed bundle's folder (where the executable is), or None from source."""
    if not getattr(sys, "frozen", False):
        return None
    return Path(sys.executable).resolve().parent


def _licence_of(entry: dict[str, object]) -> str:
    names = []
    found_licences = entry.get("licenses")
    for item in found_licences if isinstance(found_licences, list) else []:
        if not isinstance(item, dict):
            continue
        if "expression" in item:
            names.append(str(item["expression"]))
        elif isinstance(item.get("license"), dict):
            found = item["license"]
            names.append(str(found.get("id") or found.get("name") or ""))
    return " AND ".join(n for n in names if n) or "see its licence text"


def load(bundle: Path | None = None) -> About:
    """What the About box shows for the bundle at ``bundle`` (default: this program's)."""
    root = bundle if bundle is not None else bundle_root()
    if root is None or not (root / SBOM_NAME).is_file():
        if root is not None:
            log.warning("no %s in %s: the About box cannot list components", SBOM_NAME, root)
        return About(VERSION, LICENCE, (), None, None)
    try:
        document = json.loads((root / SBOM_NAME).read_text(encoding="utf-8"))
        entries = list(document.get("components", []))
    except (OSError, ValueError, AttributeError) as err:
        log.warning("the SBOM %s cannot be read: %s", root / SBOM_NAME, err)
        return About(VERSION, LICENCE, (), None, None)
    components = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        texts = tuple(
            root / str(p.get("value"))
            for p in entry.get("properties", [])
            if isinstance(p, dict) and p.get("name") == "fieldcase:licence-file"
        )
        components.append(
            Component(
                name=str(entry.get("name", "")),
                version=str(entry.get("version", "")),
                licence=_licence_of(entry),
                texts=texts,
                note=str(entry.get("description", "")),
            )
        )
    components.sort(key=lambda c: c.name.lower())
    note = root / LGPL_NOTE
    return About(VERSION, LICENCE, tuple(components), note if note.is_file() else None, root)


def read_texts(paths: tuple[Path, ...]) -> str:
    """The licence files' texts, one after another, each headed by its file name."""
    parts = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")[:TEXT_LIMIT]
        except OSError as err:
            log.warning("licence text %s cannot be read: %s", path, err)
            text = f"(This file cannot be read: {err.strerror}.)"
        parts.append(f"{path.name}\n{'=' * len(path.name)}\n\n{text.strip()}\n")
    return "\n\n".join(parts) or "(No licence text was found for this component.)"
