"""What a laptop may put in the audit trail: an action from the fixed list, ids and short
codes only.

A pushed audit event is stored as ``laptop_<action>`` (a namespace the service never uses for
its own events, so a device cannot forge ``device_revoked`` or any other service event). Its
``detail`` text must be ids and short codes: at most :data:`MAX_DETAIL` characters of words
that are each a lower-case name (``fields:``, ``status``, ``person.name``), a code holding a digit
(``FC-2026-00042``, ``K7Q``), a UUID, a number, or ``->``/``=``/``/``. Anything else — a
capitalised word such as a name, free text, control characters — is refused, so no personal
data reaches the trail through a laptop.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from sync.records import AUDIT_ACTIONS, FIELDS, RecordKind

EVENT_PREFIX = "laptop_"
MAX_DETAIL = 300
_SEPARATORS = re.compile(r"[ ,;]+")
_TOKEN = re.compile(
    r"[a-z][a-z0-9_.]*:?"  # a field name (person.name) or keyword
    r"|[A-Z0-9-]*[0-9][A-Z0-9-]*"  # a reference or short code, a number, a date
    r"|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"  # an id
    r"|->|=|/"
)
_KINDS = {kind.value for kind in RecordKind}


class BadAuditEvent(ValueError):
    """A plain reason an uploaded audit event is refused (``validation``)."""


def detail_problem(text: str) -> str | None:
    """Why ``text`` may not be an audit event's detail, or None when it may."""
    if len(text) > MAX_DETAIL:
        return f"its detail is longer than {MAX_DETAIL} characters"
    for word in _SEPARATORS.split(text.strip()):
        if word and _TOKEN.fullmatch(word) is None:
            return "its detail holds something other than ids and short codes"
    return None


def screen_event(fields: dict[str, Any]) -> dict[str, Any]:
    """The stored parts of an uploaded event (event name, kind, record id, detail), or
    :class:`BadAuditEvent` saying plainly what is wrong."""
    allowed = set(FIELDS[RecordKind.AUDIT])
    if any(name not in allowed for name in fields):
        raise BadAuditEvent("This audit event has unknown fields.")
    action = fields.get("action")
    if not isinstance(action, str) or action not in AUDIT_ACTIONS:
        raise BadAuditEvent(
            "This audit event's action is not one Fieldcase records; update Fieldcase."
        )
    kind = fields.get("record_kind")
    if kind is not None and kind not in _KINDS:
        raise BadAuditEvent("This audit event names an unknown kind of record.")
    record_id = fields.get("record_id")
    if record_id is not None:
        try:
            record_id = str(uuid.UUID(str(record_id)))
        except ValueError as err:
            raise BadAuditEvent("This audit event's record id is not an id.") from err
    at = fields.get("at")
    if at is not None:
        try:
            at = datetime.fromisoformat(str(at)).isoformat() if len(str(at)) <= 40 else None
        except ValueError:
            at = None
        if at is None:
            raise BadAuditEvent("This audit event's time is not a time.")
    detail = fields.get("detail") or ""
    if not isinstance(detail, str):
        raise BadAuditEvent("This audit event's detail is not text.")
    problem = detail_problem(detail)
    if problem is not None:
        raise BadAuditEvent(f"This audit event was not recorded: {problem}.")
    return {
        "event": EVENT_PREFIX + action,
        "record_kind": kind,
        "record_id": record_id,
        "detail": {"at": at, "detail": detail} if detail else {"at": at},
    }
