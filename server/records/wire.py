"""A record as a pull sends it: its canonical wire JSON, made once when the record is written.

Every writer of ``record`` rows (:func:`server.records.changelog.finalize` for pushes and the
service's own changes, :func:`server.records.seeding.bulk_insert`) stores the record's JSON
(what :func:`record_json` makes, UTF-8) in ``record.wire``, so a pull copies bytes instead of
decoding the stored fields and encoding them again. The column may be NULL, and a pull then
makes the JSON from the row itself:

* rows written before migration 0006, or by anything that does not know the column;
* a row changed by an UPDATE that does not also set ``wire`` (database triggers of migration
  0006 clear it, so stored JSON never goes stale, whoever changes the row);
* a record stored before the service checked every change whose text is not valid UTF-8
  (a lone surrogate): the pull sends it as its JSON escape and logs it (see
  :meth:`server.records.pull.PullPage.to_bytes`).

The JSON holds every field of its kind in :data:`sync.records.FIELDS`; when those change, a
migration must clear ``record.wire`` (tests/server/test_pull_wire.py holds the fingerprint).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime
from typing import Any

from server.core.db import compact_json
from sync.records import FIELDS

_FIELDS_BY_KIND = {kind.value: names for kind, names in FIELDS.items()}


def wire_text(
    kind: str,
    record_id: uuid.UUID,
    case_id: uuid.UUID,
    version: int,
    fields: dict[str, Any] | None,
    updated_at: datetime,
    updated_by: str,
) -> str:
    """The same as ``RecordState(...).model_dump_json()``, made directly."""
    stored = fields or {}
    return compact_json(
        {
            "kind": kind,
            "record_id": str(record_id),
            "case_id": str(case_id),
            "version": version,
            "fields": {name: stored.get(name) for name in _FIELDS_BY_KIND[kind]},
            "updated_at": updated_at.isoformat(),
            "updated_by": updated_by,
        }
    )


def record_json(row: Any) -> str:
    """A stored record (any object with the record's columns) as wire JSON."""
    return wire_text(
        row.kind,
        row.record_id,
        row.case_id,
        row.version,
        row.fields,
        row.updated_at,
        row.updated_by,
    )


def stored_wire(text: str) -> bytes | None:
    """What to keep in ``record.wire``: the JSON as UTF-8, or None when it cannot be (a legacy
    lone surrogate: the pull then makes it from the row and says so in the log)."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return None


def fields_fingerprint() -> str:
    """A digest of the field names the wire JSON holds per kind."""
    names = {kind: list(fields) for kind, fields in sorted(_FIELDS_BY_KIND.items())}
    return hashlib.sha256(json.dumps(names).encode()).hexdigest()[:16]
