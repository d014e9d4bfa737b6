"""The demo council's data, as `make run` shows it: today's visits are still to come whatever
the hour the demo is set up, so My day opens on a day with work in it."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime

import pytest

from server import demo
from sync.records import RecordKind

TODAY = date(2026, 12, 2)


def _today_visit_hours(later_today: int) -> list[int]:
    rows = demo.generate_cases(
        random.Random(2026),
        "Adult Social Care North",
        ["ben.carter", "amira.khan"],
        demo.TEAMS["Adult Social Care North"][0],
        120,
        1,
        TODAY,
        later_today,
    )
    hours = []
    for kind, _id, _case, fields in rows:
        if kind == RecordKind.VISIT:
            due = datetime.fromisoformat(fields["due"]).astimezone(UTC)
            if due.date() == TODAY:
                hours.append(due.hour)
    return hours


@pytest.mark.parametrize("seeded_at", [8, 13, 17])
def test_todays_visits_are_still_to_come_when_the_demo_is_set_up(seeded_at: int) -> None:
    hours = _today_visit_hours(seeded_at + 1)
    assert len(hours) >= 5
    assert min(hours) > seeded_at
    assert max(hours) <= 22
    assert len(set(hours)) > 1  # spread over the rest of the day, not all at one hour


def test_the_morning_demo_keeps_its_working_hours() -> None:
    # seeded before nine, the day looks as it always did
    assert sorted(set(_today_visit_hours(8))) == sorted(set(_today_visit_hours(0)))
