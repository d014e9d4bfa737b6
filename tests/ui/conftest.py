"""Fixtures for the window's tests: real profiles (cheap test KDF), a real service process,
a manual clock and scripted dialogs. Nothing is mocked."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app.core import Casework
from app.store.profile import Profile
from app.ui.core_backend import CoreGate
from app.ui.window import FieldcaseWindow
from sync.clock import ManualClock
from tests.support.kdf import TEST_KDF

PASSWORD = "correct horse battery staple"


class ScriptedDialogs:
    """Answers the window's questions from a script, and records what was asked."""

    def __init__(self) -> None:
        self.confirm_answers: list[bool] = []
        self.files_to_add: list[Path] = []
        self.save_targets: list[Path] = []
        #: printers to "choose" (a QPrinter writing a PDF file stands for paper)
        self.printers: list[Any] = []
        self.asked: list[str] = []

    def confirm(self, parent: Any, title: str, text: str, yes: str, no: str) -> bool:
        self.asked.append(title)
        return self.confirm_answers.pop(0)

    def choose_file_to_add(self, parent: Any) -> Path | None:
        self.asked.append("add file")
        return self.files_to_add.pop(0) if self.files_to_add else None

    def choose_where_to_save(self, parent: Any, suggested_name: str) -> Path | None:
        self.asked.append("save copy")
        return self.save_targets.pop(0) if self.save_targets else None

    def choose_printer(self, parent: Any) -> Any:
        self.asked.append("printer")
        return self.printers.pop(0) if self.printers else None


def seed_cases(profile: Profile, n: int = 3) -> list[str]:
    """A few cases: one with a warning and a visit later today (23:00 on the profile clock's
    local day), one with an overdue visit."""
    core = Casework(profile)
    now = profile.clock.now()
    zone = profile.clock.local_zone()
    refs = []
    people = ["Pat Morgan", "Sam Lee", "Robin Hughes", "Alex Price", "Jo Evans"]
    for i in range(n):
        ref = core.create_case(
            "housing_repair" if i % 2 == 0 else "adult_social_care",
            people[i % len(people)] + ("" if i < len(people) else f" {i}"),
            {
                "summary": f"Damp in the back bedroom, case {i}",
                "person.address": f"{i + 1} Hughes Road",
            },
        )
        refs.append(ref)
    core.add_warning(refs[0], "Dog on premises", "risk")
    today = now.astimezone(zone).replace(hour=23, minute=0, second=0, microsecond=0)
    core.add_visit(refs[0], today.astimezone(UTC), "19 Hughes Road", "Check the damp")
    if n > 1:
        core.add_visit(refs[1], now - timedelta(days=2), "Village hall", "Care review")
    return refs


@pytest.fixture
def clock() -> ManualClock:
    """The window's, the core's and the seed's one clock: today, 09:05 where this machine is
    (so "today" and "overdue" never depend on the hour the suite runs at)."""
    zone = datetime.now(UTC).astimezone().tzinfo or UTC
    morning = datetime.now(zone).replace(hour=9, minute=5, second=0, microsecond=0)
    return ManualClock(morning, zone=zone)


@pytest.fixture
def dialogs() -> ScriptedDialogs:
    return ScriptedDialogs()


@pytest.fixture
def local_profile(tmp_path: Path, clock: ManualClock) -> Path:
    """A profile (not enrolled) with three cases, closed again."""
    folder = tmp_path / "profile"
    with Profile.create(
        folder, PASSWORD, user="ajones", team="North", kdf=TEST_KDF, clock=clock
    ) as profile:
        seed_cases(profile)
    return folder


@pytest.fixture
def make_window(
    qtbot: Any, clock: ManualClock, dialogs: ScriptedDialogs
) -> Iterator[Callable[..., FieldcaseWindow]]:
    made: list[FieldcaseWindow] = []

    def make(folder: Path, **kwargs: Any) -> FieldcaseWindow:
        gate = kwargs.pop("gate", None) or CoreGate(folder, clock=clock)
        window = FieldcaseWindow(gate, clock=clock, dialogs=dialogs, **kwargs)
        qtbot.addWidget(window)
        window.show()
        made.append(window)
        return window

    yield make
    for window in made:
        window.close()
    # the text size and contrast are the application's: a test that changed them leaves the
    # next one at the start's
    from app.ui import theme
    from app.ui.qt import QApplication

    app = QApplication.instance()
    if made and app is not None:
        theme.apply(app, 100, False)


def unlock(qtbot: Any, window: FieldcaseWindow, password: str = PASSWORD) -> None:
    screen = window.unlock_screen
    screen.password.setText(password)
    with qtbot.waitSignal(window.opened, timeout=20_000):
        screen.go.click()
    wait_idle(qtbot, window)


def wait_idle(qtbot: Any, window: FieldcaseWindow, timeout: int = 20_000) -> None:
    """Until every piece of background work has been delivered to the GUI thread."""
    qtbot.waitUntil(lambda: window.work.pending == 0, timeout=timeout)
