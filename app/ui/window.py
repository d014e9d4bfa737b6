"""The main window: enrol or unlock first (:mod:`app.ui.door`), then the open profile's main
area (:mod:`app.ui.main_area`: My day, Cases, a case, Clashes and Settings) with the sync line
always at the bottom (:mod:`app.ui.bottom_line`). Locks itself after the idle time
(:mod:`app.ui.idle`); the keys are in :mod:`app.ui.shortcuts`."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from app.errors import UsageError
from app.ui import prefs as prefs_file
from app.ui import theme
from app.ui.backend import Backend, Gate
from app.ui.bottom_line import NOT_SET_UP, BottomLine
from app.ui.clashes import decided_message
from app.ui.dialogs import DialogService, QtDialogService
from app.ui.door import Door
from app.ui.idle import IdleWatcher
from app.ui.main_area import (
    NAV_TO_PAGE,
    PAGE_CASE,
    PAGE_CASES,
    PAGE_CLASHES,
    PAGE_MY_DAY,
    PAGE_SETTINGS,
    MainArea,
    Place,
)
from app.ui.new_case import NewCaseDialog
from app.ui.prefs import Prefs
from app.ui.qt import (
    QApplication,
    QGuiApplication,
    QMainWindow,
    QVBoxLayout,
    QWidget,
    Signal,
)
from app.ui.session import Drafts, Session
from app.ui.shortcuts import add_shortcuts
from app.ui.sleep import SleepWatcher
from app.ui.sync_line import SyncController, SyncLine
from app.ui.widgets import CurrentStack, FocusRing
from app.ui.work import Work
from sync.clock import Clock, SystemClock

__all__ = [
    "NAV_TO_PAGE",
    "PAGE_CASE",
    "PAGE_CASES",
    "PAGE_CLASHES",
    "PAGE_MY_DAY",
    "PAGE_SETTINGS",
    "FieldcaseWindow",
    "IdleWatcher",
    "MainArea",
    "Place",
    "Policy",
]

log = logging.getLogger("fieldcase.ui.window")


@dataclass(frozen=True)
class Policy:
    """The parts of site policy the window needs."""

    server_url: str = ""
    server_locked: bool = False
    max_auto_lock_minutes: int = 15
    sync_interval_minutes: int = 15

    @classmethod
    def from_site(cls, site: Any) -> Policy:
        if site is None:
            return cls()
        return cls(
            server_url=site.server_url or "",
            server_locked=bool(site.server_url),
            max_auto_lock_minutes=int(site.max_auto_lock_minutes),
            sync_interval_minutes=int(site.sync_interval_minutes),
        )


class FieldcaseWindow(QMainWindow):
    """The window. ``gate`` opens the profile; ``work``, ``clock`` and ``dialogs`` are
    injected so tests can drive everything without touching globals."""

    opened = Signal()
    locked = Signal()

    def __init__(
        self,
        gate: Gate,
        *,
        site: Any = None,
        work: Work | None = None,
        clock: Clock | None = None,
        dialogs: DialogService | None = None,
        demo_login: str = "",
    ) -> None:
        super().__init__()
        self.setWindowTitle("Fieldcase")
        self.setAccessibleName("Fieldcase")
        self.gate = gate
        self.policy = Policy.from_site(site)
        self.work = work or Work(self)
        self.clock = clock or SystemClock()
        self.dialogs = dialogs or QtDialogService()
        self.prefs = prefs_file.load(Path(gate.profile_dir)).clamp(
            self.policy.max_auto_lock_minutes
        )
        if self.policy.server_locked or not self.prefs.server_url:
            self.prefs.server_url = self.policy.server_url or self.prefs.server_url
        self.backend: Backend | None = None
        self.session: Session | None = None
        self.main: MainArea | None = None
        self.place = Place()
        self._said = ""  # the last sync problem said in the message bar
        self.drafts = Drafts(self.work, self)

        self.stack = CurrentStack()
        self.door = Door(
            gate,
            self.work,
            self.clock,
            self.stack,
            server_url=self.prefs.server_url,
            server_locked=self.policy.server_locked,
            demo_login=demo_login,
            parent=self,
        )
        self.enrol_screen = self.door.enrol_screen
        self.unlock_screen = self.door.unlock_screen
        self.recovery_screen = self.door.recovery_screen
        central = QWidget()
        central_box = QVBoxLayout(central)
        central_box.setContentsMargins(0, 0, 0, 0)
        central_box.setSpacing(0)
        central_box.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.bottom = BottomLine()
        central_box.addWidget(self.bottom)

        self.idle = IdleWatcher(self.clock, self)
        self.idle.idle.connect(self.lock)
        self.sleep = SleepWatcher(parent=self)
        self.sleep.going_to_sleep.connect(self.lock)
        self.focus_ring = FocusRing(self)

        self.door.opened.connect(self._opened)
        self.door.enrolled.connect(self._enrolled)
        add_shortcuts(
            self,
            {
                "Ctrl+F": self.find_cases,
                "Ctrl+K": self.find_cases,
                "Ctrl+L": self.lock,
                "Ctrl+N": self.new_case,
                "F5": self.sync_now,
                "Esc": self.escape,
            },
        )
        self.work.on_error = self.show_error
        if not self.door.show_first(server_known=bool(self.prefs.server_url)):
            self.bottom.locked_line.setText(NOT_SET_UP)
        self.fit_to_screen()

    def fit_to_screen(self) -> None:
        """1280 by 800, or the screen's free area when that is smaller (a 1366x768 laptop, or
        a larger screen at 150% scaling), placed at its top left."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            self.resize(1280, 800)
            return
        free = screen.availableGeometry()
        self.winId()  # the native window: its frame's size is known from here on
        frame_w = max(0, self.frameGeometry().width() - self.width())
        frame_h = max(0, self.frameGeometry().height() - self.height())
        self.resize(min(1280, free.width() - frame_w), min(800, free.height() - frame_h))
        if free.width() < 1280 or free.height() < 800:
            self.move(free.topLeft())

    @property
    def sync(self) -> SyncController | None:
        """Syncing while the profile is open (None while locked)."""
        return self.bottom.sync

    @property
    def sync_line(self) -> SyncLine | None:
        return self.bottom.sync_line

    @property
    def is_locked(self) -> bool:
        return self.backend is None

    # ------------------------------------------------------------------ keys
    def find_cases(self) -> None:
        """Ctrl+F or Ctrl+K: to the header's search, for a person or a reference."""
        if self.main is not None:
            self.main.cases.focus_search()

    def sync_now(self) -> None:
        if self.sync is not None:
            self.sync.sync_now()

    def escape(self) -> None:
        if self.main is not None:
            if self.main.messages.isVisible():
                self.main.messages.clear()
            self.main.back()

    # ------------------------------------------------------------------ opening
    def _enrolled(self, backend: Backend) -> None:
        self.prefs = prefs_file.load(Path(self.gate.profile_dir)).clamp(
            self.policy.max_auto_lock_minutes
        )
        self._opened(backend)

    def _opened(self, backend: Backend) -> None:
        self.backend = backend
        self.work.run_db(self, backend.drafts, lambda d: self._build(backend, d), self.show_error)

    def _build(self, backend: Backend, drafts: dict[str, str]) -> None:
        if self.backend is not backend:
            return
        self.drafts.load(backend, drafts)
        self.session = Session(
            backend=backend,
            work=self.work,
            clock=self.clock,
            dialogs=self.dialogs,
            drafts=self.drafts,
            show_error=self.show_error,
            show_message=self.show_message,
        )
        self.main = MainArea(
            self.session,
            self.prefs,
            server_locked=self.policy.server_locked,
            max_auto_lock=self.policy.max_auto_lock_minutes,
            new_case=self.new_case,
            apply_prefs=self.apply_prefs,
            lock=self.lock,
        )
        self.session.open_case = self.main.open_case
        self.stack.addWidget(self.main)
        self.stack.setCurrentWidget(self.main)
        self.unlock_screen.reset()
        sync = self.bottom.start(
            backend, self.work, self.clock, self.policy.sync_interval_minutes, self
        )
        self.session.changed = sync.refresh_counts
        sync.changed.connect(self._sync_changed)
        sync.synced.connect(self._after_sync)
        sync.finished.connect(self._sync_finished)
        sync.said.connect(self._sync_said)
        sync.start()
        self.main.restore(self.place)
        self._after_sync()  # what the last sync said of the user's role
        self.idle.arm(self.prefs.auto_lock_minutes)
        # Everything loaded so far (libraries, the window) lives as long as the window: take
        # it out of the garbage collector's full sweeps, which otherwise stop every thread,
        # the GUI's included, for a few hundred milliseconds during a large sync.
        gc.freeze()
        self.opened.emit()

    def _sync_changed(self, state: Any) -> None:
        if self.main is not None:
            self.main.nav_model.set_clash_count(state.clashes)
        if not (state.running or state.detail):
            self._said = ""  # all well again: the next problem is said again

    def _sync_said(self, text: str) -> None:
        """A sync's problem or notice, whole, in the message bar: once, not at every sync."""
        if self.main is not None and text != self._said:
            self._said = text
            self.main.messages.show_message(text, level="error")

    def _sync_finished(self, result: object) -> None:
        if self.main is not None and not isinstance(result, BaseException):
            self.main.messages.synced()
            decided = getattr(result, "decided", None)
            if decided:  # someone else's decision went against this user's version
                self.main.messages.show_message(decided_message(decided), stay=True)

    def _after_sync(self) -> None:
        if self.main is not None and self.backend is not None:
            self.main.reload_current()
            self.work.run_db(self, self.backend.role, self.main.set_role, lambda _err: None)

    # ------------------------------------------------------------------ locking
    def lock(self) -> None:
        """Hide everything, save drafts, close the profile (the keys go with it)."""
        backend = self.backend
        if backend is None:
            return
        if self.main is not None:
            self.place = self.main.place()
        self.drafts.flush()
        self.idle.disarm()
        self.bottom.stop()
        self.backend = None
        self.drafts.forget()
        self.door.show_locked()
        if self.main is not None:
            self.stack.removeWidget(self.main)
            self.main.deleteLater()
            self.main = None
        self.session = None
        self.work.run_db(self, backend.close, None, lambda err: log.warning("close: %r", err))
        self.locked.emit()

    # ------------------------------------------------------------------ dialogs and prefs
    def new_case(self) -> None:
        if self.session is None or self.main is None:
            return
        backend = self.session.backend

        def create(fields: dict[str, Any], refused: Callable[[BaseException], None]) -> None:
            def made(case_id: UUID) -> None:
                if dialog.isVisible():
                    dialog.accept()
                self._case_created(case_id)

            def failed(err: BaseException) -> None:
                if isinstance(err, UsageError) and dialog.isVisible():
                    refused(err)  # the core's words, by the field, in the dialog
                    return
                if dialog.isVisible():
                    dialog.reject()
                self.show_error(err)

            self.work.run_db(self, lambda: backend.create_case(fields), made, failed)

        dialog = NewCaseDialog(backend.case_types, self, create)
        dialog.setObjectName("NewCaseDialog")
        self._new_case_dialog = dialog
        dialog.open()

    def _case_created(self, case_id: UUID) -> None:
        self.show_message("Case created. It will be sent at the next sync.")
        if self.sync is not None:
            self.sync.refresh_counts()
        if self.main is not None:
            self.main.open_case(case_id, "summary")

    def apply_prefs(self, prefs: Prefs) -> None:
        if self.policy.server_locked:
            prefs.server_url = self.policy.server_url
        prefs.clamp(self.policy.max_auto_lock_minutes)
        self.prefs = prefs
        prefs_file.save(Path(self.gate.profile_dir), prefs)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            theme.apply(app, prefs.text_size, prefs.high_contrast)
        if self.backend is not None:
            setter = getattr(self.backend, "set_server_url", None)
            if setter is not None and prefs.server_url:
                setter(prefs.server_url)
            self.idle.arm(prefs.auto_lock_minutes)
        if self.main is not None:
            self.main.fit_nav(prefs.text_size)
            self.main.settings.show_prefs(prefs)
        self.show_message("Settings saved.")

    def show_error(self, err: BaseException) -> None:
        if self.main is not None:
            self.main.messages.show_error(err)
        else:
            log.warning("failure while locked: %s", type(err).__name__)

    def show_message(self, text: str) -> None:
        if self.main is not None:
            self.main.messages.show_message(text, level="info")

    # ------------------------------------------------------------------ closing
    def closeEvent(self, event: Any) -> None:
        if self.backend is not None:
            self.lock()
        self.idle.disarm()
        self.door.stop()  # a sign-in waiting for the browser would hold the close up
        self.work.shutdown()
        super().closeEvent(event)
