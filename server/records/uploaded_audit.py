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

EVENT_PREFIX = "laptop_"
MAX_DETAIL = 300
_SEPARATORS = re.compile(r"[ ,;]+")
_TOKEN = re.compile(
    r"[a-z][a-z0-9_.]*:?"  # a field name (person.name) or keyword
    r"|[A-Z0-9-]*[0-9][A-Z0-9-]*"  # a reference or short code, a number, a date
    r"|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"  # an id
    r"|->|=|/"
)


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
    :class:`BadAuditEvent` saying plainly what is wrong. The fields have passed the record
    schema already (``server.records.validate`` in the push's screen phase: known fields, the
    action from ``AUDIT_ACTIONS``, the kind, an id, a time); what is left is the detail's
    own rule."""
    detail = fields.get("detail") or ""
    problem = detail_problem(detail)
    if problem is not None:
        raise BadAuditEvent(f"This audit event was not recorded: {problem}.")
    at = datetime.fromisoformat(fields["at"]).isoformat()
    return {
        "event": EVENT_PREFIX + fields["action"],
        "record_kind": fields["record_kind"],
        "record_id": str(uuid.UUID(fields["record_id"])),
        "detail": {"at": at, "detail": detail} if detail else {"at": at},
    }
