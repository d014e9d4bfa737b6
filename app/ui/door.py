"""The way in: link this laptop to the service (enrol), unlock the profile, or recover from
a forgotten password. Each screen's work runs in the background; a profile that opens is
handed on as the backend (``opened``, or ``enrolled`` after a first enrolment)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from app.ui.backend import Backend, Gate
from app.ui.qt import QDesktopServices, QObject, QStackedWidget, QUrl, Signal
from app.ui.start import EnrolScreen, RecoveryScreen, UnlockScreen
from app.ui.work import Job, Work
from sync.clock import Clock

log = logging.getLogger("fieldcase.ui.door")

LOCKED_REASON = (
    "Fieldcase locked itself to keep your cases safe. Everything you typed is kept. "
    "Enter your password to carry on where you were."
)


class Door(QObject):
    opened = Signal(object)  # a Backend: unlocked, or recovered with a new password
    enrolled = Signal(object)  # a Backend: this laptop was just linked to the service
    #: the sign-in page to open in the browser (emitted on the network worker; handled on
    #: the GUI thread)
    browser_asked = Signal(str)

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
        self.enrol_screen.sso_submitted.connect(self._enrol_sso)
        self.enrol_screen.server_chosen.connect(self.ask_ways)
        self.recovery_screen.sso_submitted.connect(self._recover_sso)
        for screen in (self.enrol_screen, self.recovery_screen):
            screen.stop.connect(self.stop)
        self.browser_asked.connect(self._open_browser)
        #: the sign-in in the browser being waited for (stopped by the person, or at close)
        self._browser_job: Job | None = None
        #: asking a service how its people sign in, and the address asked
        self._ways_job: Job | None = None
        self._ways_asked: str | None = None

    def show_first(self, server_known: bool) -> bool:
        """Show the unlock screen, or enrolment when this laptop has no profile yet; says
        whether there is a profile."""
        if self.gate.has_profile():
            self.recovery_screen.set_sso(self.gate.enrolled_by_sso())
            self.stack.setCurrentWidget(self.unlock_screen)
            self.unlock_screen.password.setFocus()
            return True
        self.stack.setCurrentWidget(self.enrol_screen)
        first = self.enrol_screen.username if server_known else None
        (first or self.enrol_screen.server).setFocus()
        if server_known:
            self.ask_ways(self.enrol_screen.server.text().strip())
        return False

    def ask_ways(self, server: str) -> None:
        """Ask the service how people sign in to it; the enrol screen offers just those. No
        answer (offline, an address mistyped) leaves both on offer: enrolling says why."""
        if not server or server == self._ways_asked:
            return
        if self._ways_job is not None:  # another address since: that answer is not wanted
            self._ways_job.cancel()
        self._ways_asked = server
        gate, screen = self.gate, self.enrol_screen

        def offered(ways: Any) -> None:
            if server != self._ways_asked:  # an answer for an address typed over since
                return
            if screen.server.text().strip() == server and screen.go.isEnabled():
                screen.set_ways(ways.password, ways.sso)

        def unknown(err: BaseException) -> None:
            if server != self._ways_asked:
                return
            self._ways_asked = None  # asked again when the address is typed again
            log.info("could not ask %s how to sign in: %s", server, type(err).__name__)

        self._ways_job = self.work.run_net(
            self, lambda cancel, _p: gate.sign_in_ways(server, cancel), offered, unknown
        )

    def stop(self) -> None:
        """Stop waiting for the browser (the person asked, or the window is closing), and
        asking a service how to sign in."""
        for job in (self._browser_job, self._ways_job):
            if job is not None:
                job.cancel()

    def _browser_opener(self) -> Callable[[str], object]:
        """For the network worker: open ``url`` in the browser, from the GUI thread."""
        return self.browser_asked.emit

    def _open_browser(self, url: str) -> None:
        if self.stack.currentWidget() is self.recovery_screen:
            self.recovery_screen.show_browser(url)
        else:
            self.enrol_screen.show_browser(url)
        if not QDesktopServices.openUrl(QUrl(url)):
            log.warning("the system browser could not be opened; the address is shown to copy")

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

    def _enrol_sso(self, server: str, new_password: str) -> None:
        gate, opener = self.gate, self._browser_opener()

        def op(cancel: Any, report: Any) -> Backend:
            def progress(p: Any) -> None:
                report(p.done, -1 if p.total is None else p.total, p.message)

            return gate.enrol_sso(server, new_password, opener, cancel, progress=progress)

        self._browser_job = self.work.run_net(
            self, op, self._enrolled, self.enrol_screen.failed, self.enrol_screen.show_progress
        )

    def _enrolled(self, backend: Backend) -> None:
        self._browser_job = None
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

    def _recover_sso(self, new_password: str) -> None:
        gate, opener = self.gate, self._browser_opener()
        self._browser_job = self.work.run_net(
            self,
            lambda cancel, _p: gate.recover_sso(new_password, opener, cancel),
            self.opened.emit,
            self.recovery_screen.failed,
        )
