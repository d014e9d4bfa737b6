"""The service reads time only from the clock its app was built with: moving a ManualClock
moves token expiry, the sign-in lockout window and the times it reports (nothing sleeps)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from sync.clock import ManualClock
from tests.server.helpers import Service, new_case, service_settings

START = datetime(2031, 3, 4, 10, 0, tzinfo=UTC)  # far from the real date on purpose


@pytest.fixture
def timed(db_url: str) -> Iterator[tuple[Service, ManualClock]]:
    clock = ManualClock(START)
    svc = Service(service_settings(db_url, token_ttl_seconds=600), clock)
    try:
        yield svc, clock
    finally:
        svc.close()


def test_times_reported_and_stored_come_from_the_clock(timed: tuple[Service, ManualClock]) -> None:
    svc, clock = timed
    assert svc.client.get("/v1/meta").json()["server_time"].startswith("2031-03-04T10:00:00")
    laptop = svc.device("sam", "Housing")
    case_id, case = new_case("Housing", "sam")
    clock.advance(90)
    laptop.push(case)
    pulled = laptop.pull_all()["records"][str(case_id)]
    assert pulled["updated_at"].startswith("2031-03-04T10:01:30")


def test_a_token_expires_when_the_clock_passes_its_lifetime(
    timed: tuple[Service, ManualClock],
) -> None:
    svc, clock = timed
    laptop = svc.device("sam", "Housing")
    clock.advance(599)
    assert svc.client.post("/v1/sync/pull", json={}, headers=laptop.headers).status_code == 200
    clock.advance(1)
    expired = svc.client.post("/v1/sync/pull", json={}, headers=laptop.headers)
    assert expired.status_code == 401 and expired.json()["code"] == "token_expired"


def test_the_sign_in_lockout_ends_when_the_clock_leaves_its_window(
    timed: tuple[Service, ManualClock],
) -> None:
    svc, clock = timed
    svc.user("sam", "Housing")
    window = svc.settings.login_window_seconds
    limit = svc.settings.login_max_failures_account
    assert [svc.login("sam", "wrong").status_code for _ in range(limit)] == [401] * limit
    assert svc.login("sam").status_code == 429  # even the right password, while locked
    clock.advance(window)  # the failures are exactly one window old: they still count
    assert svc.login("sam").status_code == 429
    clock.advance(1)
    assert svc.login("sam").status_code == 200
