"""The audit events a real laptop writes (created, changed, viewed, exported...) pass the
service's rules for uploaded events: each is stored as ``laptop_<action>``, none refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text

from server.core.db import make_engine
from tests.support.server import ServerProcess
from tests.sync.helpers import Laptop


def test_a_laptops_own_audit_events_are_all_accepted(
    laptops: Callable[..., list[Laptop]], service: ServerProcess, tmp_path: Path
) -> None:
    (a,) = laptops(1)
    work = a.work
    ref = work.create_case("housing_repair", "Audit Person")
    work.edit_case(ref, {"status": "in_progress", "priority": "high", "summary": "Roof leak"})
    work.get_case(ref)  # viewed
    work.add_note(ref, "Visited; the roof leaks over the stairs")
    work.add_warning(ref, "Dog on site")
    source = tmp_path / "letter.txt"
    source.write_text("Dear tenant")
    work.add_document(ref, source)
    work.read_document(ref, "letter.txt", tmp_path / "out.txt")  # exported
    a.sync()
    assert a.store.rejected_changes() == []
    assert a.store.pending_count() == 0
    engine = make_engine(service.db_url, pool_size=1)
    try:
        with engine.connect() as conn:
            events = {
                row[0]
                for row in conn.execute(
                    text("SELECT event FROM audit_log WHERE actor = :u"), {"u": a.user}
                )
            }
    finally:
        engine.dispose()
    assert {"laptop_created", "laptop_changed", "laptop_viewed", "laptop_exported"} <= events
    assert not any(e.startswith("device_") and e != "device_enrolled" for e in events)
