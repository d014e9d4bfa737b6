"""The main window: enrol or unlock first, then My day, Cases, a case, Clashes and
Settings, with the sync line always at the bottom. Locks itself after the idle time."""

from __future__ import annotations

import gc
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from uuid import UUID

from app.ui import prefs as prefs_file
from app.ui import theme
from app.ui.backend import Backend, Gate
from app.ui.case_view import CaseView
from app.ui.cases import CasesScreen
from app.ui.clashes import ClashesScreen
from app.ui.dialogs import DialogService, QtDialogService
from app.ui.models import NavModel
from app.ui.myday import MyDayScreen
from app.ui.new_case import NewCaseDialog
from app.ui.prefs import Prefs
from app.ui.qt import (
    QAbstractItemView,
    QApplication,
    QEvent,
    QFrame,
    QGuiApplication,
    QHBoxLayout,
    QKeySequence,
    QListView,
    QMainWindow,
    QObject,
    QShortcut,
    QStackedWidget,
    Qt,
    QTimer,
    QVBoxLayout,
    QWidget,
    QWindow,
    Signal,
)
from app.ui.session import Drafts, Session
from app.ui.settings_screen import SettingsScreen
from app.ui.start import EnrolScreen, RecoveryScreen, UnlockScreen
from app.ui.sync_line import SyncController, SyncLine
from app.ui.widgets import FocusRing, MessageBar, label
from app.ui.work import Work
from sync.clock import Clock, SystemClock

log = logging.getLogger("fieldcase.ui.window")

PAGE_MY_DAY, PAGE_CASES, PAGE_CLASHES, PAGE_SETTINGS, PAGE_CASE = range(5)
NAV_TO_PAGE = {
    NavModel.MY_DAY: PAGE_MY_DAY,
    NavModel.CASES: PAGE_CASES,
    NavModel.CLASHES: PAGE_CLASHES,
    NavModel.SETTINGS: PAGE_SETTINGS,
}


@dataclass
class Place:
    """Where the person was, so unlocking returns there."""

    page: int = PAGE_MY_DAY
    case_id: UUID | None = None
    tab: str | None = None
    search: str = ""


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


class IdleWatcher(QObject):
    """Notices input anywhere in the application; says when the idle time has passed.

    It watches the application's top-level windows (every input event reaches its window
    before any widget), not the whole application: an application-wide Python filter is
    called for every timer, paint and queued-call event too, and each call has to take
    Python's lock from the busy sync workers, which made the window stall for ~100 ms at a
    time during a large sync.
    """

    idle = Signal()
    INPUT = frozenset(
        {
            QEvent.Type.KeyPress,
            QEvent.Type.MouseButtonPress,
            QEvent.Type.MouseMove,
            QEvent.Type.Wheel,
            QEvent.Type.TouchBegin,
        }
    )

    def __init__(self, clock: Clock, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.clock = clock
        self.minutes = 10
        self.last = clock.monotonic()
        self.armed = False
        self.timer = QTimer(self)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self.check)
        app = QApplication.instance()
        if isinstance(app, QGuiApplication):
            app.focusWindowChanged.connect(self._watch)

    def _watch(self, window: QWindow | None = None) -> None:
        """Filter input on ``window``, or on every top-level window (new dialogs and popups
        are picked up when they take focus, or within a second by :meth:`check`)."""
        windows = QGuiApplication.topLevelWindows() if window is None else [window]
        for each in windows:
            each.installEventFilter(self)  # installing again does not add a second filter

    def arm(self, minutes: int) -> None:
        self.minutes = minutes
        self.last = self.clock.monotonic()
        self.armed = True
        self._watch()
        self.timer.start()

    def disarm(self) -> None:
        self.armed = False
        self.timer.stop()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in self.INPUT:
            self.last = self.clock.monotonic()
        return False

    def check(self) -> None:
        self._watch()
        if self.armed and self.clock.monotonic() - self.last >= self.minutes * 60:
            self.disarm()
            self.idle.emit()


class MainArea(QWidget):
    """Everything shown while the profile is open."""

    def __init__(self, window: FieldcaseWindow, session: Session) -> None:
        super().__init__()
        self.window_ = window
        self.session = session
        backend = session.backend
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        top = QFrame()
        top.setObjectName("TopBar")
        top_row = QHBoxLayout(top)
        top_row.setContentsMargins(16, 8, 16, 8)
        top_row.addWidget(label("Fieldcase", role="h1", wrap=False))
        top_row.addStretch(1)
        who = backend.display_name + (f" ({backend.team})" if backend.team else "")
        self.who = label(who, wrap=False)
        self.who.setAccessibleName(f"Signed in as {who}")
        top_row.addWidget(self.who)
        outer.addWidget(top)
        self.messages = MessageBar()
        outer.addWidget(self.messages)

        body = QHBoxLayout()
        body.setSpacing(0)
        self.nav_model = NavModel(self)
        self.nav = QListView()
        self.nav.setObjectName("Nav")
        self.nav.setModel(self.nav_model)
        self.nav.setAccessibleName("Main sections")
        self.nav.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.fit_nav(window.prefs.text_size)
        self.nav.setCurrentIndex(self.nav_model.index(0, 0))
        body.addWidget(self.nav)
        self.pages = QStackedWidget()
        self.my_day = MyDayScreen(session)
        self.cases = CasesScreen(session, window.new_case)
        self.clashes = ClashesScreen(session)
        shown = window.prefs
        if not shown.server_url:
            shown = replace(shown, server_url=getattr(backend, "server_url", ""))
        self.settings = SettingsScreen(
            shown,
            server_locked=window.policy.server_locked,
            max_auto_lock=window.policy.max_auto_lock_minutes,
            apply=window.apply_prefs,
        )
        self.case_view = CaseView(session, self.back)
        for page in (self.my_day, self.cases, self.clashes, self.settings, self.case_view):
            self.pages.addWidget(page)
        body.addWidget(self.pages, 1)
        outer.addLayout(body, 1)
        self._list_page = PAGE_CASES
        self.nav.selectionModel().currentChanged.connect(self._nav_changed)

    def fit_nav(self, text_size: int) -> None:
        """As wide as its longest label at the current text size, and no wider."""
        from app.ui.qt import QFont, QFontMetrics

        font = QFont(self.nav.font())
        font.setPointSizeF(12 * 1.1 * text_size / 100)
        metrics = QFontMetrics(font)
        widest = max(metrics.horizontalAdvance(f"{t} (99)") for t in NavModel.LABELS)
        self.nav.setFixedWidth(widest + 48)

    # -- navigation
    def _nav_changed(self, current: Any, _previous: Any) -> None:
        if current.isValid():
            self.go(NAV_TO_PAGE[current.row()])

    def go(self, page: int) -> None:
        if page != PAGE_CASE:
            self._list_page = page
            nav_row = next(k for k, v in NAV_TO_PAGE.items() if v == page)
            if self.nav.currentIndex().row() != nav_row:
                self.nav.setCurrentIndex(self.nav_model.index(nav_row, 0))
        self.pages.setCurrentIndex(page)
        self.reload_current()

    def reload_current(self) -> None:
        page = self.pages.currentIndex()
        if page == PAGE_MY_DAY:
            self.my_day.reload()
        elif page == PAGE_CASES:
            self.cases.reload()
        elif page == PAGE_CLASHES:
            self.clashes.reload()
        elif page == PAGE_CASE:
            self.case_view.reload()

    def open_case(self, case_id: UUID, tab: str | None = None) -> None:
        self.pages.setCurrentIndex(PAGE_CASE)
        self.case_view.show_case(case_id, tab)
        self.case_view.tabs.setFocus()

    def back(self) -> None:
        if self.pages.currentIndex() == PAGE_CASE:
            self.go(self._list_page)

    def place(self) -> Place:
        page = self.pages.currentIndex()
        return Place(
            page=page,
            case_id=self.case_view.case_id if page == PAGE_CASE else None,
            tab=self.case_view.current_tab() if page == PAGE_CASE else None,
            search=self.cases.search.text(),
        )

    def restore(self, place: Place) -> None:
        if place.search:
            self.cases.search.blockSignals(True)
            self.cases.search.setText(place.search)
            self.cases.search.blockSignals(False)
        if place.page == PAGE_CASE and place.case_id is not None:
            self.open_case(place.case_id, place.tab)
        else:
            self.go(place.page)


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
        self.sync: SyncController | None = None
        self.place = Place()
        self.drafts = Drafts(self.work, self)

        self.stack = QStackedWidget()
        self.enrol_screen = EnrolScreen(self.prefs.server_url, self.policy.server_locked)
        self.unlock_screen = UnlockScreen(self.clock)
        self.recovery_screen = RecoveryScreen()
        for screen in (self.enrol_screen, self.unlock_screen, self.recovery_screen):
            screen.set_demo_login(demo_login)
            self.stack.addWidget(screen)
        central = QWidget()
        central_box = QVBoxLayout(central)
        central_box.setContentsMargins(0, 0, 0, 0)
        central_box.setSpacing(0)
        central_box.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.sync_holder = QFrame()
        self.sync_holder.setObjectName("SyncLine")
        self.sync_box = holder_box = QHBoxLayout(self.sync_holder)
        holder_box.setContentsMargins(0, 0, 0, 0)
        self.locked_line = label("Locked. Unlock to see your cases and sync.")
        self.locked_line.setContentsMargins(12, 6, 12, 6)
        holder_box.addWidget(self.locked_line)
        self.sync_line: SyncLine | None = None
        central_box.addWidget(self.sync_holder)

        self.idle = IdleWatcher(self.clock, self)
        self.idle.idle.connect(self.lock)
        self.focus_ring = FocusRing(self)

        self.enrol_screen.submitted.connect(self._enrol)
        self.unlock_screen.submitted.connect(self._unlock)
        self.unlock_screen.forgot.connect(lambda: self.stack.setCurrentWidget(self.recovery_screen))
        self.recovery_screen.back.connect(lambda: self.stack.setCurrentWidget(self.unlock_screen))
        self.recovery_screen.submitted.connect(self._recover)
        self._shortcuts()
        self.work.on_error = self.show_error
        if self.gate.has_profile():
            self.stack.setCurrentWidget(self.unlock_screen)
            self.unlock_screen.password.setFocus()
        else:
            self.stack.setCurrentWidget(self.enrol_screen)
            self.locked_line.setText("This laptop is not set up yet. Nothing to sync.")
            first = self.enrol_screen.username if self.prefs.server_url else None
            (first or self.enrol_screen.server).setFocus()
        self.resize(1280, 800)

    # ------------------------------------------------------------------ shortcuts
    def _shortcuts(self) -> None:
        def add(keys: str, slot: Any) -> None:
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(slot)

        add("Ctrl+F", self.find_cases)
        add("Ctrl+N", self.new_case)
        add("F5", self.sync_now)
        add("Esc", self.escape)

    def find_cases(self) -> None:
        if self.main is not None:
            self.main.go(PAGE_CASES)
            self.main.cases.focus_search()

    def sync_now(self) -> None:
        if self.sync is not None:
            self.sync.sync_now()

    def escape(self) -> None:
        if self.main is not None:
            if self.main.messages.isVisible():
                self.main.messages.clear()
            self.main.back()

    @property
    def is_locked(self) -> bool:
        return self.backend is None

    # ------------------------------------------------------------------ opening
    def _unlock(self, password: str) -> None:
        gate = self.gate
        self.work.run_db(
            self, lambda: gate.unlock(password), self._opened, self.unlock_screen.failed
        )

    def _enrol(self, server: str, user: str, password: str, new_password: str) -> None:
        gate = self.gate

        def op(_cancel: Any, report: Any) -> Backend:
            def progress(p: Any) -> None:
                report(p.done, -1 if p.total is None else p.total, p.message)

            return gate.enrol(server, user, password, new_password, progress=progress)

        self.work.run_net(
            self, op, self._enrolled, self.enrol_screen.failed, self.enrol_screen.show_progress
        )

    def _enrolled(self, backend: Backend) -> None:
        self.enrol_screen.set_busy(False)
        self.prefs = prefs_file.load(Path(self.gate.profile_dir)).clamp(
            self.policy.max_auto_lock_minutes
        )
        self._opened(backend)

    def _recover(self, user: str, password: str, new_password: str) -> None:
        gate = self.gate
        self.work.run_net(
            self,
            lambda _c, _p: gate.recover(user, password, new_password),
            self._opened,
            self.recovery_screen.failed,
        )

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
        self.main = MainArea(self, self.session)
        self.session.open_case = self.main.open_case
        self.stack.addWidget(self.main)
        self.stack.setCurrentWidget(self.main)
        self.unlock_screen.reset()
        self.sync = SyncController(
            self.work,
            self.clock,
            lambda cancel, progress: backend.sync(cancel, progress, self.work.call_db),
            backend.counts,
            self.policy.sync_interval_minutes,
            self,
        )
        self.session.changed = self.sync.refresh_counts
        self.sync_line = SyncLine(self.sync)
        self.sync_box.addWidget(self.sync_line)
        self.locked_line.hide()
        self.sync.changed.connect(self._sync_changed)
        self.sync.synced.connect(self._after_sync)
        self.sync.start()
        self.main.restore(self.place)
        self.idle.arm(self.prefs.auto_lock_minutes)
        # Everything loaded so far (libraries, the window) lives as long as the window: take
        # it out of the garbage collector's full sweeps, which otherwise stop every thread,
        # the GUI's included, for a few hundred milliseconds during a large sync.
        gc.freeze()
        self.opened.emit()

    def _sync_changed(self, state: Any) -> None:
        if self.main is not None:
            self.main.nav_model.set_clash_count(state.clashes)

    def _after_sync(self) -> None:
        if self.main is not None:
            self.main.reload_current()

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
        if self.sync is not None:
            self.sync.stop()
            self.sync.deleteLater()
            self.sync = None
        if self.sync_line is not None:
            self.sync_line.deleteLater()
            self.sync_line = None
        self.locked_line.setText("Locked. Unlock to see your cases and sync.")
        self.locked_line.show()
        self.backend = None
        self.drafts.forget()
        self.unlock_screen.set_locked_reason(
            "Fieldcase locked itself to keep your cases safe. Everything you typed is kept. "
            "Enter your password to carry on where you were."
        )
        self.stack.setCurrentWidget(self.unlock_screen)
        self.unlock_screen.reset()
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
        dialog = NewCaseDialog(backend.case_types, self)
        dialog.setObjectName("NewCaseDialog")
        self._new_case_dialog = dialog

        def done(result: int) -> None:
            if result != 1:
                return
            fields = dialog.fields()
            self.work.run_db(
                self,
                lambda: backend.create_case(fields),
                self._case_created,
                self.show_error,
            )

        dialog.finished.connect(done)
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
        self.work.shutdown()
        super().closeEvent(event)
