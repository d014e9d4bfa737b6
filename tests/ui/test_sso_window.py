"""Single sign-on from the window (issue 16): set up a laptop with the council's account,
stop a sign-in that waits for the browser, recover a forgotten laptop password with the
council's account, and read a refused renewal in the sync line. A real service process set up
for the council's provider, that provider on loopback, and the window driven by pytest-qt.

The system browser is Qt's: the window opens the sign-in page with ``QDesktopServices``, and
the test takes ``http`` addresses there (``setUrlHandler``), playing the person who signs in at
the provider and is sent back to the laptop."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import shiboken6

from app import device_file, online
from app.online import ClientOptions
from app.store import state
from app.store.db import DB_FILE
from app.store.profile import Profile
from app.ui.core_backend import CoreGate
from app.ui.qt import QDesktopServices, QObject, QUrl, Slot
from app.vault.keys import KEY_FILE
from sync.client import RetryPolicy
from tests.support.kdf import TEST_KDF
from tests.support.oidc_provider import CLIENT_ID, LoopbackProvider, running
from tests.support.server import ServerProcess
from tests.support.sso_laptop import (
    NORTH_CASEWORKER,
    Browser,
    enrolled_by_sso,
    person,
    renewed_hours_ago,
    sso_service,
)
from tests.ui.conftest import wait_idle
from tests.ui.test_accessibility import problems

QUICK = ClientOptions(retry=RetryPolicy(attempts=2, base=0.01, cap=0.02))
ROLE = "Fieldcase.North.Caseworker"
LAPTOP_PASSWORD = "a long laptop password"


@pytest.fixture(scope="module")
def idp() -> Iterator[LoopbackProvider]:
    with running("entra") as provider:
        yield provider


@pytest.fixture(scope="module")
def service(
    idp: LoopbackProvider, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("sso-window")
    with sso_service(
        idp, folder, NORTH_CASEWORKER, FIELDCASE_SIGN_IN="sso", FIELDCASE_OIDC_REQUIRE_MFA="true"
    ) as srv:
        yield srv


class SystemBrowser(QObject):
    """Where the window's ``QDesktopServices.openUrl`` lands for ``http`` addresses: the
    person at the browser signs in at the provider (``visit``), or does nothing."""

    def __init__(self, *, visit: bool = True) -> None:
        super().__init__()
        self.visit = visit
        self.opened: list[str] = []
        self.browser = Browser()

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.opened.append(url.toString())
        if self.visit:  # off the GUI thread, as a browser is another program
            self.browser.open(url.toString(QUrl.ComponentFormattingOption.FullyEncoded))


@pytest.fixture
def browser() -> Iterator[SystemBrowser]:
    at = SystemBrowser()
    QDesktopServices.setUrlHandler("http", at, "open")
    try:
        yield at
    finally:
        QDesktopServices.unsetUrlHandler("http")
        if at.browser.thread is not None:
            at.browser.thread.join(timeout=10)


def _unlocked_until_sign_in_asked(qtbot: Any, window: Any, password: str) -> Any:
    """Unlock, sync, and wait for the sync line to offer "Sign in again"; the line."""
    qtbot.keyClicks(window.unlock_screen.password, password)
    with qtbot.waitSignal(window.opened, timeout=60_000):
        window.unlock_screen.go.click()
    assert window.sync is not None
    if not window.sync.running:
        window.sync.sync_now()
    line = window.sync_line
    assert line is not None
    qtbot.waitUntil(lambda: line.sign_in_button.isVisible(), timeout=60_000)
    return line


def _fill_laptop_password(screen: Any, password: str = LAPTOP_PASSWORD) -> None:
    screen.new_password.setText(password)
    screen.confirm.setText(password)


def test_set_up_a_laptop_with_the_council_account(
    qtbot: Any,
    tmp_path: Path,
    idp: LoopbackProvider,
    service: ServerProcess,
    browser: SystemBrowser,
    make_window: Any,
) -> None:
    idp.at_browser, idp.mfa = person("ivy", ROLE), True
    folder = tmp_path / "laptop"
    window = make_window(folder, gate=CoreGate(folder, client_options=QUICK))
    screen = window.enrol_screen
    assert window.stack.currentWidget() is screen
    assert screen.username.isVisible()  # before the service is known: a password may do
    screen.server.setFocus()
    qtbot.keyClicks(screen.server, service.url)
    screen.server.editingFinished.emit()
    # this council signs in with its own accounts only: no user name, no council password
    qtbot.waitUntil(lambda: not screen.username.isVisible(), timeout=20_000)
    assert screen.sso and not screen.password.isVisible() and not screen.ways.isVisible()
    assert screen.go.text() == "Sign in with your council account"
    assert screen.laptop_hint.isVisible()  # the laptop password, not the account, unlocks
    assert problems(window) == []
    screen.go.click()
    assert "at least 10 characters" in screen.error.text()
    assert browser.opened == []
    _fill_laptop_password(screen)
    with qtbot.waitSignal(window.opened, timeout=60_000):
        screen.go.click()
        qtbot.waitUntil(lambda: bool(browser.opened), timeout=20_000)
    wait_idle(qtbot, window)
    # the provider's sign-in page, with PKCE, for Fieldcase's registration
    assert browser.opened[0].startswith(f"{idp.issuer}/authorize?")
    assert "code_challenge_method=S256" in browser.opened[0]
    assert f"client_id={CLIENT_ID}" in browser.opened[0]
    assert window.main is not None and window.main.who.text().startswith("ivy")
    assert window.sync is not None and window.sync.state.last_ok_at is not None
    window.close()
    assert device_file.enrolled_by_sso(folder)
    with Profile.open(folder, LAPTOP_PASSWORD, backup=False) as profile, profile.session() as s:
        link = state.sso_link(s)
    assert link is not None and link.refresh_token  # renewal needs no browser


def test_a_sign_in_waiting_for_the_browser_can_be_stopped(
    qtbot: Any,
    tmp_path: Path,
    idp: LoopbackProvider,
    service: ServerProcess,
    make_window: Any,
) -> None:
    waiting = SystemBrowser(visit=False)  # the person never finishes in the browser
    QDesktopServices.setUrlHandler("http", waiting, "open")
    try:
        folder = tmp_path / "laptop"
        window = make_window(folder, gate=CoreGate(folder, client_options=QUICK))
        screen = window.enrol_screen
        screen.server.setText(service.url)
        screen.set_ways(password=False, sso=True)
        _fill_laptop_password(screen)
        screen.go.click()
        qtbot.waitUntil(lambda: screen.browser.isVisible(), timeout=20_000)
        # no browser opened? the address is there to copy, and the sign-in can be stopped
        assert screen.browser.address.text() == waiting.opened[0]
        assert not screen.go.isEnabled() and screen.go.text() == "Waiting for your browser..."
        assert problems(window) == []
        screen.browser.stop_button.click()
        qtbot.waitUntil(lambda: screen.go.isEnabled(), timeout=10_000)
        assert screen.error.text().startswith("You stopped signing in.")
        assert not screen.browser.isVisible()
        assert not (folder / KEY_FILE).exists() and not (folder / DB_FILE).exists()

        # waiting again, the window closes at once: the wait is stopped, not sat out
        screen.go.click()
        qtbot.waitUntil(lambda: screen.browser.isVisible(), timeout=20_000)
        began = time.monotonic()
        window.close()
        assert not window.isVisible()
        assert time.monotonic() - began < 10  # not the browser's five minutes sat out
    finally:
        QDesktopServices.unsetUrlHandler("http")


def test_a_forgotten_laptop_password_is_recovered_with_the_council_account(
    qtbot: Any,
    tmp_path: Path,
    idp: LoopbackProvider,
    service: ServerProcess,
    browser: SystemBrowser,
    make_window: Any,
) -> None:
    idp.at_browser, idp.mfa = person("jo", ROLE), True
    folder = tmp_path / "jo"
    online.enrol_sso(folder, service.url, "the one jo forgot", Browser().open, kdf=TEST_KDF)
    window = make_window(folder, gate=CoreGate(folder, client_options=QUICK))
    assert window.stack.currentWidget() is window.unlock_screen
    window.unlock_screen.forgot_button.click()
    screen = window.recovery_screen
    assert window.stack.currentWidget() is screen
    # enrolled with the council's account: recovered with it, no account password asked
    assert not screen.username.isVisible() and not screen.password.isVisible()
    assert "web browser" in screen.intro.text()
    assert screen.go.text() == "Sign in and set new password"
    assert problems(window) == []
    _fill_laptop_password(screen, "a brand new laptop password")
    with qtbot.waitSignal(window.opened, timeout=60_000):
        screen.go.click()
    wait_idle(qtbot, window)
    assert "prompt=login" in browser.opened[0]  # signed in afresh, whatever the browser holds
    assert window.main is not None
    window.close()
    Profile.open(folder, "a brand new laptop password", backup=False).close()


def test_a_refused_renewal_is_said_in_the_sync_line_after_the_work_is_sent(
    qtbot: Any,
    tmp_path: Path,
    idp: LoopbackProvider,
    service: ServerProcess,
    make_window: Any,
) -> None:
    from app.core import Casework

    profile = enrolled_by_sso(idp, service.url, tmp_path / "kit", "kit")
    kit = idp.at_browser
    assert kit is not None
    try:
        Casework(profile).create_case("housing_repair", "Left Behind", {})
        renewed_hours_ago(profile, 9)
    finally:
        profile.close()
    kit.roles = []  # IT took away the person's Fieldcase app role at the provider
    window = make_window(
        profile.profile_dir, gate=CoreGate(profile.profile_dir, client_options=QUICK)
    )
    qtbot.keyClicks(window.unlock_screen.password, "kit's laptop password")
    with qtbot.waitSignal(window.opened, timeout=60_000):
        window.unlock_screen.go.click()
    assert window.sync is not None
    if window.sync.running:
        qtbot.waitSignal(window.sync.finished, timeout=60_000).wait()
    else:
        with qtbot.waitSignal(window.sync.finished, timeout=60_000):
            window.sync.sync_now()
    wait_idle(qtbot, window)
    line = window.sync_line
    assert line is not None
    text = line.text.text()
    assert text.startswith("Up to date at "), text  # the work was sent
    assert "no longer signs you in" in text and "tell IT" in text
    # the whole of it, once, in the message bar above
    assert window.main is not None
    assert "Your changes were sent" in window.main.messages.text.text()
    assert not line.sign_in_button.isVisible()  # signing in again would not help
    assert window.sync.state.pending == 0
    assert line.text.property("state") == "error"


def test_the_first_screen_offers_the_ways_the_service_takes(
    qtbot: Any, tmp_path: Path, make_window: Any
) -> None:
    window = make_window(tmp_path / "laptop")
    screen = window.enrol_screen
    screen.set_ways(password=True, sso=True)  # both: the council's account comes first
    assert screen.ways.isVisible() and screen.sso and not screen.username.isVisible()
    qtbot.keyClick(screen.by_password, " ")  # the keyboard chooses the other way
    assert not screen.sso and screen.username.isVisible() and screen.password.isVisible()
    assert screen.go.text() == "Set up this laptop" and not screen.laptop_hint.isVisible()
    screen.set_ways(password=True, sso=False)  # a service without single sign-on
    assert not screen.ways.isVisible() and not screen.sso and screen.username.isVisible()
    assert problems(window) == []


def test_a_sign_in_run_out_is_put_right_from_the_sync_line(
    qtbot: Any,
    tmp_path: Path,
    idp: LoopbackProvider,
    service: ServerProcess,
    browser: SystemBrowser,
    make_window: Any,
) -> None:
    """The provider revoked the laptop's refresh token (a password change): the sync says so
    and offers Sign in again, which opens the browser; once signed in, it syncs again."""
    profile = enrolled_by_sso(idp, service.url, tmp_path / "pia", "pia")
    try:
        with profile.session() as s:
            before = state.sso_link(s)
        renewed_hours_ago(profile, 9)
    finally:
        profile.close()
    idp.revoke_refresh_tokens()
    folder = profile.profile_dir
    window = make_window(folder, gate=CoreGate(folder, client_options=QUICK))
    line = _unlocked_until_sign_in_asked(qtbot, window, "pia's laptop password")
    assert "has run out" in line.text.text() and line.text.text().startswith("Up to date")
    main = window.main
    assert main is not None and "fieldcase sign-in" in main.messages.text.text()
    assert problems(window) == []
    # said once: dismissed, it does not come back at the next sync, which meets it again
    main.messages.clear()
    with qtbot.waitSignal(window.sync.finished, timeout=60_000):
        window.sync.sync_now()
    wait_idle(qtbot, window)
    assert line.sign_in_button.isVisible() and not main.messages.isVisible()

    # locking while it waits for the browser stops it, quietly
    waiting = SystemBrowser(visit=False)
    QDesktopServices.setUrlHandler("http", waiting, "open")
    try:
        line.sign_in_button.click()
        qtbot.waitUntil(lambda: bool(waiting.opened), timeout=20_000)
        window.lock()
        wait_idle(qtbot, window)
    finally:
        QDesktopServices.setUrlHandler("http", browser, "open")
    assert window.is_locked and window.bottom.dialog is None
    line = _unlocked_until_sign_in_asked(qtbot, window, "pia's laptop password")
    with qtbot.waitSignal(window.sync.finished, timeout=60_000):
        line.sign_in_button.click()
        dialog = window.bottom.dialog
        assert dialog is not None and dialog.isVisible()
        assert problems(dialog) == []
    wait_idle(qtbot, window)
    assert browser.opened
    assert not shiboken6.isValid(dialog) or not dialog.isVisible()  # closed once signed in
    assert not line.sign_in_button.isVisible(), line.text.text()
    assert line.text.text().startswith("Up to date") and "run out" not in line.text.text()
    window.close()
    with (
        Profile.open(folder, "pia's laptop password", backup=False) as opened,
        opened.session() as s,
    ):
        after = state.sso_link(s)
    assert before is not None and after is not None
    assert after.refresh_token != before.refresh_token
