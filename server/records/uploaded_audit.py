"""What a laptop's audit event becomes in the service's audit trail.

The event's fields have passed the record schema already (``server.records.validate`` in the
push's screen phase): known fields, the action from :data:`sync.records.AUDIT_ACTIONS`, the
kind, an id, a time, and a ``detail`` of ids and short codes only
(:data:`sync.records.AUDIT_DETAIL_PATTERN`, checked the same way on the laptop before it queues
the event), so no personal data reaches the trail through a laptop.

It is stored as ``laptop_<action>``: a namespace the service never uses for its own events, so
a device cannot forge ``device_revoked`` or any other service event.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

EVENT_PREFIX = "laptop_"


def stored_event(fields: dict[str, Any]) -> dict[str, Any]:
    """The stored parts of an uploaded event: event name, kind, record id and detail."""
    detail = fields.get("detail") or ""
    at = datetime.fromisoformat(fields["at"]).isoformat()
    return {
        "event": EVENT_PREFIX + fields["action"],
        "record_kind": fields["record_kind"],
        "record_id": str(uuid.UUID(fields["record_id"])),
        "detail": {"at": at, "detail": detail} if detail else {"at": at},
    }
