"""Sign in again with the council's account, when a sync said the laptop's sign-in ran out
(:class:`sync.sso.SignInAgain`): a small window that opens the council's sign-in page in the
system browser, shows its address to copy, and can be stopped. The work runs on the network
worker (:meth:`app.ui.backend.Backend.sign_in_again`); nothing here talks to a service."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from app.ui.backend import Backend
from app.ui.qt import (
    QDesktopServices,
    QDialog,
    QObject,
    QUrl,
    QVBoxLayout,
    QWidget,
    Signal,
)
from app.ui.start import BrowserStep
from app.ui.widgets import label, plain_message
from app.ui.work import Job, Work, is_cancellation

log = logging.getLogger("fieldcase.ui.sign_in_again")


class SignInAgainDialog(QDialog):
    """While the person signs in again in the browser."""

    #: the sign-in page to open (emitted on the network worker; shown on the GUI thread)
    browser_asked = Signal(str)
    #: the work it waits on (stopped when it is rejected)
    job: Job | None = None

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sign in again")
        self.setAccessibleName("Sign in again with your council account")
        self.setModal(True)
        box = QVBoxLayout(self)
        box.setSpacing(14)
        box.addWidget(label("Sign in again with your council account", role="h2"))
        self.opening = label("Opening the council's sign-in page in your web browser...")
        box.addWidget(self.opening)
        self.browser = BrowserStep()
        box.addWidget(self.browser)
        self.browser.stop.connect(self.reject)
        self.browser_asked.connect(self._open)
        # wide enough for its sentences at large text, and as tall as they wrap to
        self._width = min(760, parent.width() - 40 if parent is not None else 760)
        self._fit()

    def _fit(self) -> None:
        """Tall enough for what it shows at its width (wrapped sentences never cut off)."""
        layout = self.layout()
        assert layout is not None
        layout.activate()
        height = max(layout.totalHeightForWidth(self._width), layout.totalMinimumSize().height())
        self.setMinimumSize(self._width, height)
        self.resize(self._width, height)

    def show_address(self, url: str) -> None:
        """The sign-in page's address, to copy when no browser opened."""
        self.opening.hide()
        self.browser.show_address(url)
        self._fit()

    def _open(self, url: str) -> None:
        self.show_address(url)
        if not QDesktopServices.openUrl(QUrl(url)):
            log.warning("the system browser could not be opened; the address is shown to copy")


def sign_in_again(
    parent: QWidget,
    owner: QObject,
    work: Work,
    backend: Backend,
    done: Callable[[], None],
    failed: Callable[[BaseException], None],
) -> SignInAgainDialog:
    """Ask the person to sign in again in the browser; ``done()`` once they have, ``failed``
    with why not (never for Stop: the person asked for that). Both are called only while
    ``owner`` lives (the sync controller: gone once the window locks)."""
    dialog = SignInAgainDialog(parent)
    opener = dialog.browser_asked.emit
    job: Job = work.run_net(
        owner,
        lambda cancel, _p: backend.sign_in_again(opener, cancel, work.call_db),
        lambda _none: _finished(dialog, done),
        lambda err: _failed(dialog, err, failed),
    )
    dialog.job = job  # held as long as the dialog (a connection alone does not hold it)
    dialog.rejected.connect(lambda: job.cancel())  # Stop, Esc, closing or locking: stop waiting
    dialog.open()
    return dialog


def _finished(dialog: SignInAgainDialog, done: Callable[[], None]) -> None:
    dialog.accept()
    dialog.deleteLater()
    done()


def _failed(dialog: SignInAgainDialog, err: BaseException, failed: Callable[[Any], None]) -> None:
    dialog.accept()  # closed quietly: its Stop already cancelled, or the problem is said
    dialog.deleteLater()
    if not is_cancellation(err):
        log.info("signing in again did not finish: %s", plain_message(err)[1] or type(err))
        failed(err)
