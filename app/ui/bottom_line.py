"""The line at the bottom of the window: while the profile is open, the sync line (always
true: what is waiting, clashes, the last sync, "Sync now"); while locked or not set up, one
sentence saying why there is nothing to sync."""

from __future__ import annotations

from app.ui.backend import Backend
from app.ui.qt import QFrame, QHBoxLayout, QObject
from app.ui.sync_line import SyncController, SyncLine
from app.ui.widgets import label
from app.ui.work import Work
from sync.clock import Clock

LOCKED = "Locked. Unlock to see your cases and sync."
NOT_SET_UP = "This laptop is not set up yet. Nothing to sync."


class BottomLine(QFrame):
    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("SyncLine")
        self.box = QHBoxLayout(self)
        self.box.setContentsMargins(0, 0, 0, 0)
        self.locked_line = label(LOCKED)
        self.locked_line.setContentsMargins(12, 6, 12, 6)
        self.box.addWidget(self.locked_line)
        self.sync: SyncController | None = None
        self.sync_line: SyncLine | None = None

    def start(
        self, backend: Backend, work: Work, clock: Clock, interval_minutes: int, owner: QObject
    ) -> SyncController:
        """The profile opened: show the sync line over a new controller (owned by ``owner``)."""
        self.sync = SyncController(
            work,
            clock,
            lambda cancel, progress: backend.sync(cancel, progress, work.call_db),
            backend.counts,
            interval_minutes,
            owner,
        )
        self.sync_line = SyncLine(self.sync)
        self.box.addWidget(self.sync_line)
        self.locked_line.hide()
        return self.sync

    def stop(self, why: str = LOCKED) -> None:
        """The profile closed: stop syncing and say ``why`` instead."""
        if self.sync is not None:
            self.sync.stop()
            self.sync.deleteLater()
            self.sync = None
        if self.sync_line is not None:
            self.sync_line.deleteLater()
            self.sync_line = None
        self.locked_line.setText(why)
        self.locked_line.show()
