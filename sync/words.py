"""How Fieldcase says numbers, sizes, lengths of time and dates to a person: the one place, for
the window, both command lines, the doctor and the sync's own messages.

* lists in a sentence: "Group Policy, the installer and site.toml";
* counts with the right plural and a thousands separator: "1 change", "1,204 cases";
* sizes in bytes, KB, MB or GB (1,024 of each to the next, as file managers show them):
  "512 bytes", "38 KB", "4.2 MB", "1.2 GB";
* lengths of time in the largest unit that fits, rounded: "less than a second", "45 seconds",
  "3 minutes", "about 2 hours", "5 days";
* how long ago: "just now", "5 minutes ago", "about 3 hours ago";
* dates one way, in the laptop's local time: "12 Nov 2026" and "12 Nov 2026, 10:40" (the
  service's own command line says its times in UTC, and says so: "12 Nov 2026, 10:40 UTC").
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

_KIB = 1024
_UNITS = ("KB", "MB", "GB", "TB")


def plural(n: int, one: str, many: str | None = None) -> str:
    """``n`` with the noun that fits it: "1 minute", "2 minutes", "1,500 cases"."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def listed(items: list[str]) -> str:
    """Things in a sentence: "a", "a and b", "a, b and c"."""
    if len(items) < 2:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def size(n: int) -> str:
    """A size in bytes as a person reads it: "512 bytes", "38 KB", "4.2 MB", "1.2 GB"."""
    if n < _KIB:
        return plural(max(n, 0), "byte")
    value = n / _KIB
    for unit in _UNITS:
        if value < _KIB or unit == _UNITS[-1]:
            if unit == "KB" or value >= 100:
                return f"{max(1, round(value)):,} {unit}"
            shown = f"{value:.1f}".removesuffix(".0")
            return f"{shown} {unit}"
        value /= _KIB
    raise AssertionError("unreachable")  # pragma: no cover


def duration(length: timedelta | float) -> str:
    """A length of time (a ``timedelta`` or seconds) in its largest whole unit: "less than a
    second", "1 second", "45 seconds", "1 minute", "59 minutes", "about 2 hours", "3 days"."""
    seconds = abs(length.total_seconds() if isinstance(length, timedelta) else float(length))
    if seconds < 1:
        return "less than a second"
    if seconds < 60:
        return plural(int(seconds), "second")
    minutes = round(seconds / 60)
    if minutes < 120:
        return plural(minutes, "minute")
    hours = round(seconds / 3600)
    if hours < 48:
        return "about " + plural(hours, "hour")
    return plural(round(seconds / 86400), "day")


def ago(then: datetime, now: datetime) -> str:
    """ "just now" (under a minute), else "5 minutes ago", "about 3 hours ago", "2 days ago"."""
    seconds = (now - then).total_seconds()
    return "just now" if seconds < 60 else f"{duration(seconds)} ago"


def day(value: date | None) -> str:
    """ "12 Nov 2026" ('' for nothing); a date-time is shown as its local date."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = _local(value)
    return f"{value.day} {value:%b %Y}"


def when(value: datetime | None) -> str:
    """ "12 Nov 2026, 10:40" in the laptop's local time ('' for nothing)."""
    if value is None:
        return ""
    local = _local(value)
    return f"{local.day} {local:%b %Y, %H:%M}"


def when_utc(value: datetime) -> str:
    """ "12 Nov 2026, 10:40 UTC" (a time without a zone is taken as UTC, as the service keeps
    them)."""
    moment = value.astimezone(UTC) if value.tzinfo else value
    return f"{moment.day} {moment:%b %Y, %H:%M} UTC"


def clock_time(value: datetime) -> str:
    """ "10:40" in the laptop's local time."""
    return f"{_local(value):%H:%M}"


def _local(value: datetime) -> datetime:
    return value.astimezone() if value.tzinfo else value


def old_ids(external_ids: str | None) -> str:
    """A person's old systems' ids (``external_ids``: ``source:id`` one a line) as a person
    reads them: "C0001234 (west_dorset_carefirst), P-88121 (north_dorset_liquidlogic)"; empty
    when there are none."""
    return ", ".join(
        f"{ext} ({source})" if ext else source
        for source, _sep, ext in (
            label.partition(":") for label in (external_ids or "").splitlines() if label.strip()
        )
    )
