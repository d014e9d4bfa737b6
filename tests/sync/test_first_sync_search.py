"""A first sync builds its search index once, at its end (app/store/first_sync.py); one that
stops part way (here: cancelled after its first page) has the index built from what came, so
search works at once, and the rest of the pull then keeps it up to date. Against a real
``fieldcase-server serve``."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from app.store import first_sync
from sync.engine import SyncProgress
from sync.errors import Cancelled
from tests.support.server import running_server, sqlite_url
from tests.sync.helpers import add_users, enrol_laptop
from tests.sync.service_rows import call


def test_a_stopped_first_sync_leaves_search_working(tmp_path: Path) -> None:
    db = sqlite_url(tmp_path)
    add_users(db, [("sam", "Rural", "caseworker")])
    with running_server(db) as srv:
        laptop = enrol_laptop(tmp_path / "sam", srv.url, "sam")  # nothing to pull yet
        made = call("seed_realistic", db, 120, "Rural", "sam")
        try:
            cancel = threading.Event()

            def progress(step: SyncProgress) -> None:
                if step.phase == "pull" and step.done > 0:
                    cancel.set()  # the first page is stored: stop here

            with pytest.raises(Cancelled):
                laptop.sync(progress=progress, cancel=cancel, page_bytes=32 * 1024)
            with laptop.profile.engine.connect() as conn:
                assert not first_sync.is_paused(conn)
            held = laptop.state()
            assert 0 < len(held) < made
            names = [f["name"] for (kind, _), f in held.items() if kind == "person"]
            assert names and laptop.work.list_cases(names[0].split()[-1])

            assert laptop.sync().completed  # the rest, through the triggers
            assert len(laptop.state()) == made
            last = [f["name"] for (kind, _), f in laptop.state().items() if kind == "person"]
            for name in last[-3:]:
                assert laptop.work.list_cases(name.split()[-1]), name
        finally:
            laptop.close()
