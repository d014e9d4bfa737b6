"""How the window says things: statuses, priorities and types in plain English; numbers,
sizes, lengths of time and dates as everything in Fieldcase says them (:mod:`sync.words`)."""

from __future__ import annotations

from app.domain import BUILTIN_CASE_TYPES
from sync.words import clock_time, day, duration, plural, size, when

__all__ = [
    "CATEGORY_LABELS",
    "PRIORITY_LABELS",
    "PRIORITY_RANK",
    "STATUS_LABELS",
    "VISIT_STATUS_LABELS",
    "clock_time",
    "day",
    "duration",
    "plural",
    "priority_label",
    "size",
    "status_label",
    "type_label",
    "when",
]

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
