"""How the window says things: dates, statuses, sizes, in plain English."""

from __future__ import annotations

from datetime import date, datetime

from app.domain import BUILTIN_CASE_TYPES

STATUS_LABELS = {
    "open": "Open",
    "in_progress": "In progress",
    "waiting": "Waiting",
    "closed": "Closed",
}
PRIORITY_LABELS = {"low": "Low", "normal": "Normal", "high": "High", "urgent": "Urgent"}
PRIORITY_RANK = {"low": 0, "normal": 1, "high": 2, "urgent": 3}
VISIT_STATUS_LABELS = {"planned": "Planned", "done": "Done", "cancelled": "Cancelled"}
CATEGORY_LABELS = {"risk": "Risk", "access": "Access", "health": "Health", "other": "Note"}


def status_label(code: str | None) -> str:
    return STATUS_LABELS.get(code or "", (code or "").replace("_", " ").capitalize())


def priority_label(code: str | None) -> str:
    return PRIORITY_LABELS.get(code or "", (code or "").capitalize())


def type_label(code: str | None, known: dict[str, str] | None = None) -> str:
    table = known or BUILTIN_CASE_TYPES
    return table.get(code or "", (code or "").replace("_", " ").capitalize())


def when(value: datetime | None) -> str:
    """'12 Nov 2026, 10:40' in the laptop's local time; '' for nothing."""
    if value is None:
        return ""
    local = value.astimezone() if value.tzinfo else value
    return f"{local.day} {local:%b %Y, %H:%M}"


def day(value: date | None) -> str:
    """'12 Nov 2026'."""
    if value is None:
        return ""
    return f"{value.day} {value:%b %Y}"


def clock_time(value: datetime) -> str:
    local = value.astimezone() if value.tzinfo else value
    return f"{local:%H:%M}"


def size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    if n < 1024 * 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n / (1024 * 1024):.1f} MB"


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"
