"""The way in: link this laptop to the service (enrol), unlock the profile, or recover from
a forgotten password. Each screen's work runs in the background; a profile that opens is
handed on as the backend (``opened``, or ``enrolled`` after a first enrolment)."""

from __future__ import annotations

from typing import Any

from app.ui.backend import Backend, Gate
from app.ui.qt import QObject, QStackedWidget, Signal
from app.ui.start import EnrolScreen, RecoveryScreen, UnlockScreen
from app.ui.work import Work
from sync.clock import Clock

LOCKED_REASON = (
    "Fieldcase locked itself to keep your cases safe. Everything you typed is kept. "
    "Enter your password to carry on where you were."
)


class Door(QObject):
    opened = Signal(object)  # a Backend: unlocked, or recovered with a new password
    enrolled = Signal(object)  # a Backend: this laptop was just linked to the service

    def __init__(
        self,
        gate: Gate,
        work: Work,
        clock: Clock,
        stack: QStackedWidget,
        *,
        server_url: str,
        server_locked: bool,
        demo_login: str,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.gate = gate
        self.work = work
        self.stack = stack
        self.enrol_screen = EnrolScreen(server_url, server_locked)
        self.unlock_screen = UnlockScreen(clock)
        self.recovery_screen = RecoveryScreen()
        for screen in (self.enrol_screen, self.unlock_screen, self.recovery_screen):
            screen.set_demo_login(demo_login)
            stack.addWidget(screen)
        self.enrol_screen.submitted.connect(self._enrol)
        self.unlock_screen.submitted.connect(self._unlock)
        self.unlock_screen.forgot.connect(lambda: stack.setCurrentWidget(self.recovery_screen))
        self.recovery_screen.back.connect(lambda: stack.setCurrentWidget(self.unlock_screen))
        self.recovery_screen.submitted.connect(self._recover)

    def show_first(self, server_known: bool) -> bool:
        """Show the unlock screen, or enrolment when this laptop has no profile yet; says
        whether there is a profile."""
        if self.gate.has_profile():
            self.stack.setCurrentWidget(self.unlock_screen)
            self.unlock_screen.password.setFocus()
            return True
        self.stack.setCurrentWidget(self.enrol_screen)
        first = self.enrol_screen.username if server_known else None
        (first or self.enrol_screen.server).setFocus()
        return False

    def show_locked(self) -> None:
        """The window locked itself: say why, and ask for the password again."""
        self.unlock_screen.set_locked_reason(LOCKED_REASON)
        self.stack.setCurrentWidget(self.unlock_screen)
        self.unlock_screen.reset()

    def _unlock(self, password: str) -> None:
        gate = self.gate
        self.work.run_db(
            self, lambda: gate.unlock(password), self.opened.emit, self.unlock_screen.failed
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
        self.enrolled.emit(backend)

    def _recover(self, user: str, password: str, new_password: str) -> None:
        gate = self.gate
        self.work.run_net(
            self,
            lambda _c, _p: gate.recover(user, password, new_password),
            self.opened.emit,
            self.recovery_screen.failed,
        )
