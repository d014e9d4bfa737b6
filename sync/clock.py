"""The one clock of Fieldcase: the laptop, the window and the service all read time through it.

Each entry point (the CLI, the window, the service, a test) builds one :class:`Clock` and
passes it down; nothing else reads the system's time. A test passes a :class:`ManualClock` and
moves it, instead of patching globals. ``tests/test_clock.py`` fails on a direct
``datetime.now()``, ``time.time()`` or ``date.today()`` anywhere else.

* :meth:`Clock.now` is timezone-aware UTC: what is stored and sent.
* :meth:`Clock.local_today` is the date on the wall where the laptop is ("today's visits").
* :meth:`Clock.monotonic` never goes back: timeouts and back-off are measured on it.
* :meth:`Clock.awake_or_asleep` never goes back and keeps counting while the computer sleeps:
  idle time is measured on it (a laptop closed for an hour has been idle for an hour).
* :meth:`Clock.sleep` waits (a manual clock just moves on).
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Timezone-aware UTC now."""
        ...

    def local_zone(self) -> tzinfo:
        """The laptop's local time zone (for "today" and for showing times)."""
        ...

    def local_today(self) -> date:
        """Today's date where the laptop is."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""
        ...

    def awake_or_asleep(self) -> float:
        """Seconds on a clock that never goes back and counts while the computer sleeps."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait this long."""
        ...


#: Linux's clock that keeps counting while the computer is suspended (None elsewhere).
_BOOTTIME: int | None = getattr(time, "CLOCK_BOOTTIME", None)


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def local_zone(self) -> tzinfo:
        zone = datetime.now(UTC).astimezone().tzinfo
        return zone if zone is not None else UTC

    def local_today(self) -> date:
        return datetime.now(UTC).astimezone(self.local_zone()).date()

    def monotonic(self) -> float:
        return time.monotonic()

    def awake_or_asleep(self) -> float:
        # Linux's monotonic clock stops while suspended, its boot-time clock does not;
        # Windows' monotonic clock (the tick count) counts the time asleep already
        if _BOOTTIME is not None:
            return time.clock_gettime(_BOOTTIME)
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class ManualClock:
    """A clock that moves only when told to (tests, screenshots with a fixed date).

    ``zone`` is its local time zone (UTC unless given). :meth:`sleep` advances it.
    """

    def __init__(self, start: datetime | None = None, *, zone: tzinfo = UTC) -> None:
        start = start or datetime(2026, 11, 12, 9, 5, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("a clock starts at an aware datetime")
        self._now = start.astimezone(UTC)
        self._mono = 1000.0
        self._asleep = 0.0  # time the computer was suspended (the monotonic clock stood still)
        self._zone = zone

    def now(self) -> datetime:
        return self._now

    def local_zone(self) -> tzinfo:
        return self._zone

    def local_today(self) -> date:
        return self._now.astimezone(self._zone).date()

    def monotonic(self) -> float:
        return self._mono

    def awake_or_asleep(self) -> float:
        return self._mono + self._asleep

    def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))

    def suspend(self, seconds: float) -> None:
        """The computer sleeps for ``seconds``: the wall clock and :meth:`awake_or_asleep`
        move on, the monotonic clock (and every timer) stands still."""
        self._now += timedelta(seconds=seconds)
        self._asleep += seconds

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        self._mono += seconds

    def set(self, moment: datetime) -> None:
        """Jump the wall clock (not the monotonic one) to ``moment``."""
        if moment.tzinfo is None:
            raise ValueError("a clock is set to an aware datetime")
        self._now = moment.astimezone(UTC)
