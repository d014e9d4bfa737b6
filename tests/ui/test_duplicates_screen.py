"""The Possible duplicates screen against a real ``fieldcase-server serve`` (issue 14): a team
manager's window offers it (a caseworker's does not), shows both people side by side with
the differing fields marked (seen and read out), refuses a decision without a reason, and
merges them; every control is named for screen readers and reachable by keyboard."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app import online
from app.core import Casework
from app.online import ClientOptions
from app.store.profile import Profile
from app.ui.core_backend import CoreGate
from app.ui.main_area import PAGE_DUPLICATES
from app.ui.models import NavModel
from sync.client import RetryPolicy
from tests.support.server import TEST_PASSWORD, admin, running_server, sqlite_url
from tests.ui.conftest import unlock, wait_idle
from tests.ui.test_accessibility import problems

QUICK = ClientOptions(retry=RetryPolicy(attempts=2, base=0.01, cap=0.02))


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    db = sqlite_url(tmp_path_factory.mktemp("service"))
    for team in ("North", "South"):
        assert admin(db, "add-team", team).returncode == 0
    for user, team, role in (
        ("mona", "North", "manager"),
        ("nina", "North", "caseworker"),
        ("sol", "South", "caseworker"),
    ):
        done = admin(db, "add-user", user, "--team", team, "--role", role, password=TEST_PASSWORD)
        assert done.returncode == 0, done.stderr
    with running_server(db) as srv:
        yield srv


def _laptop(folder: Path, url: str, user: str) -> Path:
    online.enrol(folder, url, user, TEST_PASSWORD, options=QUICK)
    return folder


def _person(folder: Path, name: str, born: str, address: str) -> None:
    with Profile.open(folder, TEST_PASSWORD, backup=False) as profile:
        work = Casework(profile)
        ref = work.create_case("adult_social_care", name, {})
        work.edit_case(ref, {"person.date_of_birth": born, "person.address": address})
        online.sync(profile, options=QUICK)


def test_a_manager_compares_and_merges_a_pair(
    qtbot: Any, tmp_path: Path, service: Any, make_window, dialogs
) -> None:
    nina = _laptop(tmp_path / "nina", service.url, "nina")
    sol = _laptop(tmp_path / "sol", service.url, "sol")
    _person(nina, "Robert Smith", "1950-03-07", "4 Mill Lane, Dorchester, DT1 1AA")
    _person(sol, "Bob Smith", "1950-07-03", "4 Mill Ln, DT1 1AA")
    found = admin(service.db_url, "duplicates", "find")
    assert found.returncode == 0 and "1 new to review" in found.stdout, found.stdout

    # a caseworker's window does not offer the screen
    window = make_window(nina, gate=CoreGate(nina, client_options=QUICK))
    unlock(qtbot, window, TEST_PASSWORD)
    assert window.main is not None
    assert window.main.nav_model.rowCount() == NavModel.DUPLICATES
    wait_idle(qtbot, window)

    mona = _laptop(tmp_path / "mona", service.url, "mona")
    window = make_window(mona, gate=CoreGate(mona, client_options=QUICK))
    unlock(qtbot, window, TEST_PASSWORD)
    main = window.main
    assert main is not None
    qtbot.waitUntil(lambda: main.nav_model.rowCount() == NavModel.DUPLICATES + 1, timeout=10_000)
    main.nav.setCurrentIndex(main.nav_model.index(NavModel.DUPLICATES, 0))
    assert main.pages.currentIndex() == PAGE_DUPLICATES
    screen = main.duplicates
    qtbot.waitUntil(lambda: screen.list.count() == 1, timeout=20_000)
    wait_idle(qtbot, window)
    assert (
        "Robert Smith" in screen.list.item(0).text() and "Bob Smith" in screen.list.item(0).text()
    )
    shown = {
        heading.text(): (a.text(), b.text())
        for heading, (a, b) in zip(screen.field_labels, screen.values, strict=True)
    }
    # which is A and which is B follows their ids
    assert sorted(shown["Date of birth (differs)"]) == ["3 Jul 1950", "7 Mar 1950"]
    assert sorted(shown["Name (differs)"]) == ["Bob Smith", "Robert Smith"]
    assert "Teams with a case (differs)" in shown
    assert any(v.accessibleName().endswith("differs") for pair in screen.values for v in pair)
    assert "day and month swapped" in screen.reasons.text()
    assert problems(window) == []

    # no reason, no decision
    screen.merge_button.click()
    assert "Say why first" in main.messages.text.text()
    screen.reason.setText("Same man: same address, date of birth written two ways")
    dialogs.confirm_answers.append(True)
    screen.merge_button.click()
    qtbot.waitUntil(lambda: "Merged" in main.messages.text.text(), timeout=20_000)
    qtbot.waitUntil(lambda: screen.list.count() == 0, timeout=20_000)
    assert "No possible duplicates are waiting" in screen.intro.text()
    assert dialogs.asked[-1] == "Merge them?"
