"""The sync line at the bottom of the window: always visible, always true, in plain words.

:class:`SyncState` holds the facts and turns them into words (tested without a widget);
:class:`SyncController` runs syncs on the network worker (Sync now, F5, on the policy's
interval, and when a connection appears) and keeps the facts fresh; :class:`SyncLine` shows
them with a progress bar and a Cancel button.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from app.errors import SyncError, SyncKind
from app.ui import words
from app.ui.qt import (
    QFrame,
    QHBoxLayout,
    QObject,
    QProgressBar,
    QTimer,
    QWidget,
    Signal,
)
from app.ui.widgets import button, label, plain_message, restyle
from app.ui.work import Work
from sync.clock import Clock

log = logging.getLogger("fieldcase.ui.sync")


@dataclass(frozen=True)
class SyncState:
    pending: int = 0  # changes waiting to send
    clashes: int = 0
    running: bool = False
    progress_text: str = ""
    progress_done: int = 0
    progress_total: int | None = None
    last_ok_at: datetime | None = None
    offline: bool = False  # the last attempt could not reach the service
    problem: str = ""  # the last attempt failed for another reason (plain words)
    #: the last sync finished, but something needs the person's attention: a few words for
    #: the line (a sign-in the council's provider no longer vouches for)
    notice: str = ""
    #: the whole of what the problem or the notice says (the line's tooltip; the window's
    #: message bar shows it once)
    detail: str = ""
    #: the notice asks the person to sign in again with the council's account
    sign_in_needed: bool = False
    ever_synced: bool = False

    def words(self) -> str:
        waiting = words.plural(self.pending, "change") + " waiting to send"
        if self.running:
            return self.progress_text or "Syncing..."
        parts: list[str] = []
        if self.clashes:
            parts.append(
                f"{words.plural(self.clashes, 'clash', 'clashes')} "
                f"{'needs' if self.clashes == 1 else 'need'} your decision"
            )
        if self.offline:
            parts.append(f"Offline: {waiting}" if self.pending else "Offline")
        elif self.problem:
            parts.append("Sync did not finish" + (f": {waiting}" if self.pending else ""))
        elif self.pending:
            parts.append(waiting)
        elif self.last_ok_at is not None:
            parts.append(f"Up to date at {words.clock_time(self.last_ok_at)}")
        elif not parts:
            parts.append("Not synced yet")
        if self.notice and not (self.offline or self.problem):
            parts.append(self.notice.rstrip("."))
        return ". ".join(parts)

    def level(self) -> str:
        if self.running:
            return "running"
        if self.clashes:
            return "clash"
        if self.problem or self.notice:
            return "error"
        if self.offline or self.pending:
            return "waiting"
        return "ok" if self.last_ok_at else "waiting"

    def last_synced(self) -> str:
        if self.last_ok_at is None:
            return "Never synced"
        return f"Last synced {words.when(self.last_ok_at)}"

    def _up_to_date(self) -> bool:
        return not (self.running or self.offline or self.problem or self.pending)

    def last_synced_adds(self, now: datetime) -> bool:
        """Whether "Last synced ..." says more than the words: not beside "Up to date at
        10:40" of the same day (at 200% text the line then keeps to one or two lines)."""
        if self.last_ok_at is None or not self._up_to_date():
            return True
        return words.day(self.last_ok_at) != words.day(now)  # local days, as words says them


SyncOp = Callable[[threading.Event, Callable[[Any], None]], Any]


class SyncController(QObject):
    """Runs syncs and keeps :class:`SyncState` true.

    ``sync_op(cancel, progress)`` runs on the network worker and returns a report with
    ``summary()``; ``counts_op()`` runs on the DB worker and returns (pending, clashes) or
    (pending, clashes, last successful sync).
    """

    OFFLINE_RETRY_MS = 60_000
    changed = Signal(object)  # SyncState
    finished = Signal(object)  # the report, or the error
    synced = Signal()  # a sync completed: screens reload what they show
    said = Signal(str)  # the whole of a problem or notice, for the window's message bar

    def __init__(
        self,
        work: Work,
        clock: Clock,
        sync_op: SyncOp | None,
        counts_op: Callable[[], tuple[Any, ...]] | None,
        interval_minutes: float = 15,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.work = work
        self.clock = clock
        self.sync_op = sync_op
        self.counts_op = counts_op
        self.state = SyncState()
        self._job: Any = None
        self.timer = QTimer(self)
        self.timer.setInterval(max(1, int(interval_minutes * 60_000)))
        self.timer.timeout.connect(self.sync_now)
        # offline with changes waiting: look for the connection again soon (also where the
        # platform cannot tell us when a connection appears)
        self.retry = QTimer(self)
        self.retry.setSingleShot(True)
        self.retry.setInterval(self.OFFLINE_RETRY_MS)
        self.retry.timeout.connect(self.connection_appeared)
        self._watch_connection()

    def start(self) -> None:
        self.timer.start()
        self.refresh_counts()

    def stop(self) -> None:
        self.timer.stop()
        self.retry.stop()
        self.cancel()

    def _set(self, **changes: Any) -> None:
        self.state = replace(self.state, **changes)
        self.changed.emit(self.state)

    # -- counts from the store
    def refresh_counts(self) -> None:
        if self.counts_op is None:
            return
        self.work.run_db(self, self.counts_op, self._got_counts, lambda err: None)

    def _got_counts(self, counts: tuple[Any, ...]) -> None:
        pending, clashes = counts[0], counts[1]
        last = counts[2] if len(counts) > 2 else None
        if last is not None and (self.state.last_ok_at is None or last > self.state.last_ok_at):
            self._set(pending=pending, clashes=clashes, last_ok_at=last, ever_synced=True)
        else:
            self._set(pending=pending, clashes=clashes)

    # -- running
    @property
    def running(self) -> bool:
        return self.state.running

    def sync_now(self) -> None:
        if self.sync_op is None or self.state.running:
            return
        self._set(running=True, progress_text="Connecting...", progress_done=0, progress_total=None)
        op = self.sync_op

        def body(cancel: threading.Event, report: Callable[[int, int, str], None]) -> Any:
            def progress(p: Any) -> None:
                total = p.total if p.total is not None else -1
                report(p.done, total, p.message)

            return op(cancel, progress)

        self._job = self.work.run_net(self, body, self._ok, self._failed, self._progress)

    def say_notice(self, line: str, detail: str, *, sign_in_needed: bool = False) -> None:
        """Something the person should know beside the sync's own state: a few words for
        the line, and the whole of it (said once in the window's message bar)."""
        self._set(notice=line, detail=detail, sign_in_needed=sign_in_needed)
        self.said.emit(detail)

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel()

    def _progress(self, done: int, total: int, message: str) -> None:
        self._set(
            progress_text=message,
            progress_done=done,
            progress_total=None if total < 0 else total,
        )

    def _ok(self, report: Any, notice: str = "", detail: str = "", asks: bool = False) -> None:
        """A sync finished; ``notice`` (few words), ``detail`` (the whole) and ``asks`` (to
        sign in again) say what came after it, in the same change of state."""
        self._job = None
        self.retry.stop()
        clashes = getattr(report, "conflicts_waiting", self.state.clashes)
        self._set(
            running=False,
            offline=False,
            problem="",
            notice=notice,
            detail=detail,
            sign_in_needed=asks,
            last_ok_at=self.clock.now(),
            ever_synced=True,
            clashes=clashes,
        )
        if detail:
            self.said.emit(detail)
        self.refresh_counts()
        self.finished.emit(report)
        self.synced.emit()

    def _failed(self, err: BaseException) -> None:
        self._job = None
        kind = err.kind if isinstance(err, SyncError) else None
        name = type(err).__name__
        finished = getattr(err, "report", None)
        if finished is not None:  # the sync finished; what came after it needs saying
            whole = plain_message(err)[0]
            asks = bool(getattr(err, "asks_sign_in", False))
            self._ok(finished, getattr(err, "line", "") or whole, whole, asks)
            return
        if kind is SyncKind.CANCELLED:
            self._set(running=False)
            self.refresh_counts()
            self.finished.emit(err)
            self.synced.emit()
            return
        message, _details = plain_message(err)
        log.info("sync did not finish: %s", name)
        offline = kind is SyncKind.OFFLINE
        self._set(
            running=False,
            offline=offline,
            problem="" if offline else message,
            detail="" if offline else message,
        )
        if offline:
            self.retry.start()
        else:
            self.said.emit(message)
        self.refresh_counts()
        self.finished.emit(err)
        self.synced.emit()

    # -- a connection appearing
    def _watch_connection(self) -> None:
        try:
            from PySide6.QtNetwork import QNetworkInformation

            if not QNetworkInformation.loadDefaultBackend():
                return
            info = QNetworkInformation.instance()
            if info is None:
                return
            info.reachabilityChanged.connect(self._reachability)
        except Exception:  # no backend on this platform: the interval timer still syncs
            log.info("no network-information backend; syncing on the interval only")

    def _reachability(self, reachability: Any) -> None:
        from PySide6.QtNetwork import QNetworkInformation

        if reachability in (
            QNetworkInformation.Reachability.Online,
            QNetworkInformation.Reachability.Site,
        ) and (self.state.offline or self.state.pending):
            self.connection_appeared()

    def connection_appeared(self) -> None:
        """A connection came back: send what waits."""
        if self.state.offline or self.state.pending:
            self.sync_now()


class SyncLine(QFrame):
    """Bottom line: state in words, last synced, progress + Cancel, Sync now (F5)."""

    def __init__(self, controller: SyncController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("SyncLine")
        self.controller = controller
        self.text = label("", wrap=True)
        self.text.setObjectName("SyncText")
        self.last = label("", role="hint", wrap=False)
        self.bar = QProgressBar()
        self.bar.setAccessibleName("Sync progress")
        self.bar.setMaximumWidth(200)
        self.bar.setTextVisible(False)
        self.cancel_button = button("Cancel", "Cancel the sync")
        self.sign_in_button = button(
            "Sign in again", "Sign in again with your council account", primary=True
        )
        self.sync_button = button("Sync now (F5)", "Sync now: send and fetch changes")
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 6, 12, 6)
        row.addWidget(self.text, 1)
        row.addWidget(self.bar)
        row.addWidget(self.cancel_button)
        row.addWidget(self.sign_in_button)
        row.addWidget(self.last)
        row.addWidget(self.sync_button)
        self.sync_button.clicked.connect(controller.sync_now)
        self.cancel_button.clicked.connect(controller.cancel)
        controller.changed.connect(self.show_state)
        self.show_state(controller.state)

    def show_state(self, state: SyncState) -> None:
        text = state.words()
        self.text.setText(text)
        self.text.setAccessibleName(f"Sync: {text}")
        self.text.setToolTip(state.detail)
        self.text.setAccessibleDescription(state.detail)
        self.text.setProperty("state", state.level())
        restyle(self.text)
        self.last.setText(state.last_synced())
        self.last.setVisible(state.last_synced_adds(self.controller.clock.now()))
        self.bar.setVisible(state.running)
        self.cancel_button.setVisible(state.running)
        self.sign_in_button.setVisible(state.sign_in_needed and not state.running)
        self.sync_button.setEnabled(not state.running)
        if state.running:
            if state.progress_total:
                self.bar.setRange(0, state.progress_total)
                self.bar.setValue(min(state.progress_done, state.progress_total))
            else:
                self.bar.setRange(0, 0)
