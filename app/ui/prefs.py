"""The window's own preferences, declared once (like Picard's options) and kept in
``window.json`` in the profile folder.

They hold no personal data (text size, theme, auto-lock minutes, service address), and the
unlock screen needs them before the encrypted profile is open, so they live beside it, saved
atomically with ``QSaveFile``. The file carries a version so later releases can upgrade it.
Site policy (``app.site``) always wins: a preset address is read-only, and auto-lock never
exceeds the policy's maximum.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from app.ui.qt import QSaveFile

log = logging.getLogger("fieldcase.ui.prefs")

FILE_NAME = "window.json"
VERSION = 1


@dataclass
class Prefs:
    text_size: int = 100  # percent, 100..200
    high_contrast: bool = False
    auto_lock_minutes: int = 10
    server_url: str = ""

    def clamp(self, max_auto_lock: int | None) -> Prefs:
        self.text_size = max(100, min(200, int(self.text_size)))
        ceiling = max_auto_lock if max_auto_lock and max_auto_lock > 0 else 60
        self.auto_lock_minutes = max(1, min(ceiling, int(self.auto_lock_minutes)))
        return self


def load(profile_dir: Path) -> Prefs:
    path = profile_dir / FILE_NAME
    try:
        raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Prefs()
    except (OSError, ValueError):
        log.warning("window preferences unreadable; using defaults")
        return Prefs()
    known = {f.name for f in fields(Prefs)}
    return Prefs(**{k: v for k, v in raw.get("prefs", {}).items() if k in known})


def save(profile_dir: Path, prefs: Prefs) -> None:
    profile_dir.mkdir(parents=True, exist_ok=True)
    out = QSaveFile(str(profile_dir / FILE_NAME))
    if not out.open(QSaveFile.OpenModeFlag.WriteOnly):
        log.warning("could not save window preferences")
        return
    out.write(json.dumps({"version": VERSION, "prefs": asdict(prefs)}, indent=2).encode())
    out.commit()
