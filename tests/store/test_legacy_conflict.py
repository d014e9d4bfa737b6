"""A conflict the service kept before it checked every change may hold a lone surrogate in a
value (it arrives as its JSON escape): the laptop stores the page, conflict and all, and shows
the value back as it came, on a real encrypted profile."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from app.store.profile import Profile
from app.store.sync_adapter import SyncAdapter
from sync.protocol import ConflictInfo, PullResponse
from sync.records import RecordKind

AT = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def test_a_conflict_with_a_lone_surrogate_is_stored(profile: Profile) -> None:
    case_id = uuid.uuid4()
    conflict = ConflictInfo(
        conflict_id=uuid.uuid4(),
        kind=RecordKind.CASE,
        record_id=case_id,
        case_id=case_id,
        field="summary",
        kept_value="Seen \ud800",
        kept_by="amy.jones",
        kept_at=AT,
        other_value="Seen",
        other_by="sam.okafor",
        other_at=AT,
    )
    page = PullResponse(
        records=[], conflicts=[conflict], next_cursor="c1.9", more=False, server_time=AT
    )
    adapter = SyncAdapter(profile)
    assert not adapter.apply_page(page)
    assert adapter.cursor() == "c1.9"
    (stored,) = adapter.conflicts()
    assert stored.kept_value == "Seen \ud800" and stored.other_value == "Seen"
