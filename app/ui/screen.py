"""Whether the window has a screen to open on, asked before Qt is loaded (Qt stops the whole
process with a technical message when it finds none). Imports nothing from Qt."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

NO_SCREEN = (
    "There is no screen here to show the Fieldcase window on. "
    "Run `fieldcase --help` to see the commands you can use instead."
)

#: Qt platforms that draw through a display server, and the variable that names it
NEEDS_SERVER = {"xcb": "DISPLAY", "wayland": "WAYLAND_DISPLAY"}


def has_screen(env: Mapping[str, str] = os.environ, platform: str = sys.platform) -> bool:
    """True on Windows and macOS; on Linux and other Unix when ``QT_QPA_PLATFORM`` chooses a
    platform that needs no display server (``offscreen``, ``vnc``, ``eglfs``...), or when
    the X11 (``DISPLAY``) or Wayland (``WAYLAND_DISPLAY``) display the window would use is
    set."""
    if platform.startswith(("win", "darwin")):
        return True
    shown = {name: bool(env.get(var)) for name, var in NEEDS_SERVER.items()}
    # "wayland;xcb" is a list to try in order; "offscreen:size=800x600" carries options
    chosen = [p.split(":")[0].strip() for p in env.get("QT_QPA_PLATFORM", "").split(";")]
    chosen = [p for p in chosen if p]
    if not chosen:
        return any(shown.values())
    for name in chosen:
        server = "wayland" if name.startswith("wayland") else name
        if server not in NEEDS_SERVER or shown[server]:
            return True
    return False
