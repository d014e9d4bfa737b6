"""The screens before the profile is open: enrol (first run), unlock, and password recovery."""

from __future__ import annotations

import math

from app.ui import words
from app.ui.qt import (
    QButtonGroup,
    QFrame,
    QGuiApplication,
    QHBoxLayout,
    QLineEdit,
    QRadioButton,
    QScrollArea,
    Qt,
    QTimer,
    QVBoxLayout,
    QWidget,
    Signal,
)
from app.ui.widgets import bring_into_sight, button, label, named, plain_message
from app.ui.work import is_cancellation
from sync.clock import Clock

MIN_PASSWORD = 10


def _password_field(name: str) -> QLineEdit:
    field = QLineEdit()
    field.setEchoMode(QLineEdit.EchoMode.Password)
    return named(field, name)


class _Rows(QVBoxLayout):
    """A form's rows, each a label above its field (GOV.UK style). A label wraps at large
    text sizes (never cut off) and names its field (its buddy); a row can be hidden whole."""

    def __init__(self) -> None:
        super().__init__()
        self.setSpacing(14)
        self._rows: dict[QWidget, QWidget] = {}

    def add(self, text: str, field: QWidget) -> None:
        row = QWidget()
        column = QVBoxLayout(row)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(6)
        title = label(text)
        title.setBuddy(field)
        column.addWidget(title)
        column.addWidget(field)
        self._rows[field] = row
        self.addWidget(row)

    def add_hint(self, text: str) -> None:
        """A hint under the last row's field, part of that row."""
        row = list(self._rows.values())[-1]
        layout = row.layout()
        assert layout is not None
        layout.addWidget(label(text, role="hint"))

    def show_row(self, field: QWidget, shown: bool) -> None:
        self._rows[field].setVisible(shown)


def _panel(*, width: int = 640) -> tuple[QWidget, QVBoxLayout]:
    """A centred column (GOV.UK style: one thing per page), which scrolls when large text
    makes it taller than the window (never squeezed, never cut off)."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the fields take focus; the area follows
    outer = QWidget()
    area.setWidget(outer)
    outer_box = QHBoxLayout(outer)
    outer_box.addStretch(1)
    inner = QFrame()
    inner.setMaximumWidth(width * 2)
    inner.setMinimumWidth(min(width, 480))
    box = QVBoxLayout(inner)
    box.setSpacing(14)
    outer_box.addWidget(inner, 3)
    outer_box.addStretch(1)
    return area, box


class _Form(QWidget):
    """Shared: an error line, a busy state, a demo-login hint."""

    def __init__(self) -> None:
        super().__init__()
        # parented at once: a parentless label that is shown becomes a window of its own
        self.error = label("", role="error")
        self.error.setParent(self)
        self.error.setAccessibleName("Problem")
        self.error.hide()
        self.demo_hint = label("", role="demo")
        self.demo_hint.setParent(self)
        self.demo_hint.hide()

    def show_problem(self, text: str) -> None:
        self.error.setText(text)
        self.error.setAccessibleName(f"Problem: {text}")
        self.error.setVisible(bool(text))

    def set_demo_login(self, text: str) -> None:
        self.demo_hint.setText(text)
        self.demo_hint.setAccessibleName(text)
        self.demo_hint.setVisible(bool(text))


class BrowserStep(QFrame):
    """While the person signs in with the council's account in the web browser: what to do
    there, the sign-in page's address to copy if no browser opened, and a way to stop."""

    stop = Signal()

    def __init__(self) -> None:
        super().__init__()
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        self.text = label(
            "Finish signing in with your council account in your web browser. Fieldcase "
            "carries on here once you have."
        )
        box.addWidget(self.text)
        box.addWidget(
            label("If no browser window opened, copy this address into your web browser:")
        )
        row = QHBoxLayout()
        self.address = named(QLineEdit(), "Sign-in page address")
        self.address.setReadOnly(True)
        self.copy_button = button("Copy address", "Copy the sign-in page address")
        row.addWidget(self.address, 1)
        row.addWidget(self.copy_button)
        box.addLayout(row)
        self.stop_button = button("Stop signing in")
        box.addWidget(self.stop_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.copy_button.clicked.connect(self._copy)
        self.stop_button.clicked.connect(self.stop.emit)
        self.hide()

    def show_address(self, url: str) -> None:
        self.address.setText(url)
        self.address.setCursorPosition(0)
        self.show()
        self.stop_button.setFocus()  # Enter or Space stops waiting; Tab reaches the address
        bring_into_sight(self.text, self.stop_button)

    def _copy(self) -> None:
        clipboard = QGuiApplication.clipboard()
        if clipboard is not None:
            clipboard.setText(self.address.text())


class EnrolScreen(_Form):
    """First run: link this laptop to the central service and set a profile password. The
    person signs in with the council's account in the browser (single sign-on) or with a
    user name and password, as the service offers (:meth:`set_ways`)."""

    submitted = Signal(str, str, str, str)  # server, user name, service password, new password
    sso_submitted = Signal(str, str)  # server, new password: sign in in the browser
    server_chosen = Signal(str)  # the service address was typed: ask it how people sign in
    stop = Signal()  # stop waiting for the browser

    def __init__(self, server_url: str = "", server_locked: bool = False) -> None:
        super().__init__()
        page, box = _panel()
        box.addStretch(1)
        box.addWidget(label("Set up Fieldcase on this laptop", role="h1"))
        box.addWidget(
            label(
                "Sign in with your council account once. Fieldcase then keeps your cases on "
                "this laptop, encrypted, so you can work without a connection."
            )
        )
        box.addWidget(self.demo_hint)
        box.addWidget(self.error)
        form = _Rows()
        self.form = form
        self.server = named(QLineEdit(server_url), "Fieldcase service address")
        self.server.setReadOnly(server_locked)
        self.server.setPlaceholderText("https://fieldcase.your-council.gov.uk")
        self.by_sso = named(
            QRadioButton("With your council account, in your web browser"),
            "Sign in with your council account, in your web browser",
        )
        self.by_password = named(
            QRadioButton("With a Fieldcase user name and password"),
            "Sign in with a Fieldcase user name and password",
        )
        self.way = QButtonGroup(self)
        self.way.addButton(self.by_sso)
        self.way.addButton(self.by_password)
        self.by_password.setChecked(True)
        ways = QWidget()
        ways_box = QVBoxLayout(ways)
        ways_box.setContentsMargins(0, 0, 0, 0)
        ways_box.addWidget(self.by_sso)
        ways_box.addWidget(self.by_password)
        self.ways = named(ways, "How do you sign in?")
        self.username = named(QLineEdit(), "Your council user name")
        self.password = _password_field("Your council password")
        self.new_password = _password_field("New password for this laptop")
        self.confirm = _password_field("Type the new password again")
        form.add("Fieldcase service address", self.server)
        if server_locked:
            form.add_hint("Set by your council's IT team.")
        form.add("How do you sign in?", self.ways)
        form.add("Your council user name", self.username)
        form.add("Your council password", self.password)
        form.add("New password for this laptop (at least 10 characters)", self.new_password)
        form.add("Type the new password again", self.confirm)
        box.addLayout(form)
        self.laptop_hint = label(
            "This password unlocks Fieldcase on this laptop, with or without a connection. "
            "Your council account does not.",
            role="hint",
        )
        box.addWidget(self.laptop_hint)
        self.go = button("Set up this laptop", primary=True)
        box.addWidget(self.go, 0, Qt.AlignmentFlag.AlignLeft)
        self.progress = label("", role="hint")
        self.progress.hide()
        box.addWidget(self.progress)
        self.browser = BrowserStep()
        box.addWidget(self.browser)
        box.addStretch(2)
        outer = QVBoxLayout(self)
        outer.addWidget(page)
        self._busy = False
        self.go.clicked.connect(self._submit)
        self.browser.stop.connect(self.stop.emit)
        self.way.buttonToggled.connect(lambda _b, _on: self._show_way())
        self.server.editingFinished.connect(self._server_typed)
        for field in (self.username, self.password, self.new_password, self.confirm):
            field.returnPressed.connect(self._submit)
        self._show_way()

    @property
    def sso(self) -> bool:
        """The person signs in with the council's account (in the browser)."""
        return self.by_sso.isChecked()

    def set_ways(self, password: bool, sso: bool) -> None:
        """Offer the ways the service takes: one alone needs no choice; with both, the
        council's account comes first."""
        both = password == sso
        self.form.show_row(self.ways, both)
        (self.by_sso if sso else self.by_password).setChecked(True)
        self._show_way()

    def _show_way(self) -> None:
        by_password = not self.sso
        self.form.show_row(self.username, by_password)
        self.form.show_row(self.password, by_password)
        self.laptop_hint.setVisible(self.sso)
        self._label_go()

    def _label_go(self) -> None:
        if self._busy:
            self.go.setText("Waiting for your browser..." if self.sso else "Setting up...")
        else:
            sso = "Sign in with your council account"
            self.go.setText(sso if self.sso else "Set up this laptop")
        self.go.setAccessibleName(self.go.text())

    def _server_typed(self) -> None:
        if self.server.text().strip() and not self.server.isReadOnly():
            self.server_chosen.emit(self.server.text().strip())

    def _submit(self) -> None:
        if self._busy:
            return
        server = self.server.text().strip()
        user = self.username.text().strip()
        if not server:
            self.show_problem("Enter the Fieldcase service address.")
            self.server.setFocus()
            return
        if not self.sso and (not user or not self.password.text()):
            self.show_problem("Enter your council user name and password.")
            (self.username if not user else self.password).setFocus()
            return
        if len(self.new_password.text()) < MIN_PASSWORD:
            self.show_problem(
                f"Choose a password for this laptop with at least {MIN_PASSWORD} characters."
            )
            self.new_password.setFocus()
            return
        if self.new_password.text() != self.confirm.text():
            self.show_problem("The two new passwords are different. Type them again.")
            self.confirm.clear()
            self.confirm.setFocus()
            return
        self.show_problem("")
        self.set_busy(True)
        if self.sso:
            self.sso_submitted.emit(server, self.new_password.text())
        else:
            self.submitted.emit(server, user, self.password.text(), self.new_password.text())

    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.go.setEnabled(not busy)
        for choice in (self.by_sso, self.by_password):
            choice.setEnabled(not busy)
        self._label_go()
        if busy and self.sso:
            text = "Opening the council's sign-in page in your web browser..."
        elif busy:
            text = (
                "Signing in and fetching your cases. This can take a few minutes on a slow "
                "connection."
            )
        else:
            text = ""
        self.show_progress(0, 0, text)
        self.progress.setVisible(busy)
        if not busy:
            self.browser.hide()

    def show_browser(self, url: str) -> None:
        """The sign-in page is open (or should be) in the browser at ``url``."""
        self.progress.hide()
        self.browser.show_address(url)

    def show_progress(self, _done: int, _total: int, message: str) -> None:
        """The first sync's own words ("Receiving updates (1200 so far)..."): the browser
        step, if any, is over."""
        if message and self.browser.isVisible():
            self.browser.hide()
            self.progress.show()
        self.progress.setText(message)
        self.progress.setAccessibleName(message)

    def failed(self, err: BaseException) -> None:
        self.set_busy(False)
        if is_cancellation(err):
            self.show_problem("You stopped signing in. Nothing was set up; start again when ready.")
        else:
            self.show_problem(plain_message(err)[0])


class UnlockScreen(_Form):
    """Later runs: the profile password. Wrong passwords meet a growing, visible wait."""

    submitted = Signal(str)
    forgot = Signal()

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock
        self._until = 0.0
        page, box = _panel()
        box.addStretch(1)
        self.title = label("Unlock Fieldcase", role="h1")
        box.addWidget(self.title)
        self.reason = label("Enter the password for this laptop's Fieldcase profile.")
        box.addWidget(self.reason)
        box.addWidget(self.demo_hint)
        box.addWidget(self.error)
        self.wait_label = label("", role="hint")
        self.wait_label.hide()
        box.addWidget(self.wait_label)
        form = _Rows()
        self.password = _password_field("Password")
        form.add("Password", self.password)
        box.addLayout(form)
        row = QHBoxLayout()
        self.go = button("Unlock", primary=True)
        self.forgot_button = button("Forgot your password?", link=True)
        row.addWidget(self.go)
        row.addStretch(1)
        row.addWidget(self.forgot_button)
        box.addLayout(row)
        box.addStretch(2)
        outer = QVBoxLayout(self)
        outer.addWidget(page)
        self.timer = QTimer(self)
        self.timer.setInterval(250)
        self.timer.timeout.connect(self._tick)
        self.go.clicked.connect(self._submit)
        self.password.returnPressed.connect(self._submit)
        self.forgot_button.clicked.connect(self.forgot.emit)

    def set_locked_reason(self, text: str) -> None:
        self.reason.setText(text)

    def _submit(self) -> None:
        if not self.go.isEnabled():
            return
        if not self.password.text():
            self.show_problem("Enter your password.")
            return
        self.set_busy(True)
        self.submitted.emit(self.password.text())

    def set_busy(self, busy: bool) -> None:
        self.go.setEnabled(not busy)
        self.go.setText("Unlocking..." if busy else "Unlock")

    def reset(self) -> None:
        self.password.clear()
        self.show_problem("")
        self.set_busy(False)
        self.password.setFocus()

    def failed(self, err: BaseException) -> None:
        self.set_busy(False)
        self.password.clear()
        self.password.setFocus()
        wait = float(getattr(err, "wait_seconds", 0.0) or 0.0)
        if type(err).__name__ == "TooManyAttempts":
            self.show_problem("Too many wrong passwords in a row.")
        else:
            self.show_problem(plain_message(err)[0])
        if wait > 0:
            self.start_wait(wait)

    def start_wait(self, seconds: float) -> None:
        self._until = self.clock.monotonic() + seconds
        self.go.setEnabled(False)
        self._tick()
        self.timer.start()

    def _tick(self) -> None:
        left = math.ceil(self._until - self.clock.monotonic())
        if left <= 0:
            self.timer.stop()
            self.wait_label.hide()
            self.go.setEnabled(True)
            return
        text = f"You can try again in {words.plural(left, 'second')}."
        self.wait_label.setText(text)
        self.wait_label.setAccessibleName(text)
        self.wait_label.show()


class RecoveryScreen(_Form):
    """Forgot your password: sign in to the central service online and choose a new one.
    Unsynced work on this laptop is kept. A laptop enrolled with the council's account signs
    in with it again, in the browser (:meth:`set_sso`)."""

    submitted = Signal(str, str, str)  # user name, council password, new password
    sso_submitted = Signal(str)  # new password: sign in in the browser first
    back = Signal()
    stop = Signal()  # stop waiting for the browser

    def __init__(self) -> None:
        super().__init__()
        self.sso = False
        page, box = _panel()
        box.addStretch(1)
        box.addWidget(label("Choose a new password", role="h1"))
        self.intro = label("")
        box.addWidget(self.intro)
        box.addWidget(self.demo_hint)
        box.addWidget(self.error)
        form = _Rows()
        self.form = form
        self.username = named(QLineEdit(), "Your council user name")
        self.password = _password_field("Your council password")
        self.new_password = _password_field("New password for this laptop")
        self.confirm = _password_field("Type the new password again")
        form.add("Your council user name", self.username)
        form.add("Your council password", self.password)
        form.add("New password for this laptop (at least 10 characters)", self.new_password)
        form.add("Type the new password again", self.confirm)
        box.addLayout(form)
        row = QHBoxLayout()
        self.go = button("Set new password and unlock", primary=True)
        self.back_button = button("Back to unlock", link=True)
        row.addWidget(self.go)
        row.addStretch(1)
        row.addWidget(self.back_button)
        box.addLayout(row)
        self.browser = BrowserStep()
        box.addWidget(self.browser)
        box.addStretch(2)
        outer = QVBoxLayout(self)
        outer.addWidget(page)
        self.go.clicked.connect(self._submit)
        self.back_button.clicked.connect(self.back.emit)
        self.browser.stop.connect(self.stop.emit)
        for field in (self.username, self.password, self.new_password, self.confirm):
            field.returnPressed.connect(self._submit)
        self.set_sso(False)

    def set_sso(self, sso: bool) -> None:
        """This laptop's person signs in with the council's account, not a password."""
        self.sso = sso
        self.form.show_row(self.username, not sso)
        self.form.show_row(self.password, not sso)
        how = (
            "Sign in with your council account in your web browser"
            if sso
            else "Sign in with your council account"
        )
        self.intro.setText(
            f"You need a connection for this. {how}; the Fieldcase service then lets this "
            "laptop set a new password. Nothing on this laptop is lost, including changes not "
            "yet sent."
        )
        self._label_go(busy=False)

    def _label_go(self, *, busy: bool) -> None:
        if busy:
            text = "Waiting for your browser..." if self.sso else "Signing in..."
        else:
            text = "Sign in and set new password" if self.sso else "Set new password and unlock"
        self.go.setText(text)
        self.go.setAccessibleName(text)

    def _submit(self) -> None:
        if not self.go.isEnabled():
            return
        if not self.sso and (not self.username.text().strip() or not self.password.text()):
            self.show_problem("Enter your council user name and password.")
            return
        if len(self.new_password.text()) < MIN_PASSWORD:
            self.show_problem(f"Choose a new password with at least {MIN_PASSWORD} characters.")
            return
        if self.new_password.text() != self.confirm.text():
            self.show_problem("The two new passwords are different. Type them again.")
            return
        self.show_problem("")
        self.go.setEnabled(False)
        self._label_go(busy=True)
        if self.sso:
            self.sso_submitted.emit(self.new_password.text())
        else:
            self.submitted.emit(
                self.username.text().strip(), self.password.text(), self.new_password.text()
            )

    def show_browser(self, url: str) -> None:
        self.browser.show_address(url)

    def failed(self, err: BaseException) -> None:
        self.go.setEnabled(True)
        self._label_go(busy=False)
        self.browser.hide()
        if is_cancellation(err):
            self.show_problem("You stopped signing in. Your password is unchanged.")
        else:
            self.show_problem(plain_message(err)[0])
