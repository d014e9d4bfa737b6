"""The line at the bottom of the window: while the profile is open, the sync line (always
true: what is waiting, clashes, the last sync, "Sync now"); while locked or not set up, one
sentence saying why there is nothing to sync."""

from __future__ import annotations

import shiboken6

from app.ui.backend import Backend
from app.ui.qt import QFrame, QHBoxLayout, QObject
from app.ui.sign_in_again import SignInAgainDialog, sign_in_again
from app.ui.sync_line import SyncController, SyncLine
from app.ui.widgets import label, plain_message
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
        #: signing in again with the council's account, while it is open
        self.dialog: SignInAgainDialog | None = None

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
        self.sync_line.sign_in_button.clicked.connect(
            lambda: self.sign_in_again(backend, work, owner)
        )
        return self.sync

    def sign_in_again(self, backend: Backend, work: Work, owner: QObject) -> None:
        """The sync said the council sign-in ran out: sign in again in the browser, then
        sync; why it did not work is said on the sync line."""
        sync = self.sync
        if sync is None:
            return
        self.dialog = sign_in_again(
            self.window(),
            sync,
            work,
            backend,
            sync.sync_now,
            lambda err: sync.say_notice(
                "Not signed in again", plain_message(err)[0], sign_in_needed=True
            ),
        )

    def stop(self, why: str = LOCKED) -> None:
        """The profile closed: stop syncing and say ``why`` instead."""
        dialog, self.dialog = self.dialog, None
        if dialog is not None and shiboken6.isValid(dialog):
            dialog.reject()  # a sign-in waiting for the browser stops too
            dialog.deleteLater()
        if self.sync is not None:
            self.sync.stop()
            self.sync.deleteLater()
            self.sync = None
        if self.sync_line is not None:
            self.sync_line.deleteLater()
            self.sync_line = None
        self.locked_line.setText(why)
        self.locked_line.show()
