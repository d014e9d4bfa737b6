"""The window's keys: Ctrl+F or Ctrl+K search, Ctrl+N new case, Ctrl+L lock, F5 sync, Esc
back or close (docs/window.md). They work wherever the focus is inside the window."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from app.ui.qt import QKeySequence, QShortcut, Qt, QWidget


def add_shortcuts(window: QWidget, keys: Mapping[str, Callable[[], None]]) -> list[QShortcut]:
    """Bind each key sequence in ``keys`` to its action, for the whole ``window``."""
    made = []
    for sequence, action in keys.items():
        shortcut = QShortcut(QKeySequence(sequence), window)
        shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
        shortcut.activated.connect(action)
        made.append(shortcut)
    return made
