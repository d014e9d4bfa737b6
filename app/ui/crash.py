"""What the window does with an error nobody expected (a bug): it is written to the log under
an incident id (its traceback with every message left out: no case content), and the person
sees one plain message with that id, instead of nothing at all (the Windows program has no
console to print a traceback to). The window carries on; what was saved stays saved.

Errors in the window's own code reach :data:`sys.excepthook` (Qt calls it for an error in a
slot); errors in a worker thread reach :data:`threading.excepthook`. A hard crash of the
process itself (a fault in native code) is written by :mod:`faulthandler` to ``crash.log``
beside the log: the names of the functions it was in, never values.
"""

from __future__ import annotations

import faulthandler
import logging
import sys
import threading
from pathlib import Path
from types import TracebackType
from typing import IO

from app.logs import log_incident, new_incident_id
from app.ui.qt import QMessageBox, QObject, QWidget, Signal

log = logging.getLogger("fieldcase.ui.crash")

CRASH_FILE = "crash.log"


def message(incident: str, log_file: Path) -> str:
    home = Path.home()
    shown = f"~/{log_file.relative_to(home)}" if log_file.is_relative_to(home) else str(log_file)
    return (
        "Something went wrong that Fieldcase did not expect. What you saved is safe, and you "
        "can carry on.\n\nIf it happens again, tell your IT team the incident number "
        f"{incident}. The details are in Fieldcase's log:\n{shown}"
    )


class CrashReporter(QObject):
    """Installs the hooks (:meth:`install`) and shows each incident over ``window``."""

    #: an incident id, from whichever thread met the error (delivered on the window's)
    happened = Signal(str)

    def __init__(self, log_file: Path, window: QWidget | None = None) -> None:
        super().__init__()
        self.log_file = log_file
        self.window = window
        self.shown: QMessageBox | None = None
        self._crash_file: IO[str] | None = None
        self.happened.connect(self._show)

    def install(self) -> None:
        sys.excepthook = self._hook
        threading.excepthook = self._thread_hook
        try:
            self._crash_file = (self.log_file.parent / CRASH_FILE).open("a", encoding="utf-8")
            faulthandler.enable(self._crash_file)
        except OSError as err:
            log.warning("no crash file: %s", type(err).__name__)

    def _hook(
        self, kind: type[BaseException], err: BaseException, trace: TracebackType | None
    ) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, err, trace)
            return
        self._report(err)

    def _thread_hook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None:
            self._report(args.exc_value)

    def _report(self, err: BaseException) -> None:
        incident = new_incident_id()
        log_incident(log, err, incident)
        self.happened.emit(incident)

    def _show(self, incident: str) -> None:
        box = QMessageBox(self.window)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Fieldcase met a problem")
        box.setText(message(incident, self.log_file))
        box.setAccessibleName("Fieldcase met a problem")
        box.setStandardButtons(QMessageBox.StandardButton.Ok)
        box.open()  # not modal to the whole program: the window carries on behind it
        self.shown = box
