"""On a link that cuts every long answer, a first sync still completes: each retried pull
asks for a page half the size of the try before, until one gets through whole (a real
``fieldcase-server serve`` behind the fault proxy)."""

from __future__ import annotations

from pathlib import Path

from sync.engine import (
    MAX_ADAPTIVE_PAGE_BYTES,
    PAGE_GROW_SECONDS,
    next_page_size,
)
from sync.protocol import DEFAULT_PAGE_BYTES, MAX_PAGE_BYTES, SMALLEST_PAGE_BYTES
from tests.support.server import running_server, sqlite_url
from tests.sync.helpers import add_users, enrol_laptop
from tests.sync.service_rows import call
from tests.tools.faultproxy import FaultProxy

PULL = "/v1/sync/pull"


def test_a_link_that_cuts_long_answers_gets_smaller_pages(tmp_path: Path) -> None:
    db = sqlite_url(tmp_path)
    add_users(db, [("sam", "Rural", "caseworker")])
    made = call("seed_realistic", db, 400, "Rural", "sam")
    with running_server(db) as srv, FaultProxy(("127.0.0.1", srv.port)) as proxy:
        # every pull answer is cut once 12 kB of it have arrived (a first page of 256 KB
        # of JSON is several times that on the wire, even compressed)
        proxy.cut(PULL, "down", 12_000, times=10_000)
        laptop = enrol_laptop(tmp_path / "sam", proxy.url, "sam")  # enrolling syncs
        try:
            assert len(laptop.state()) == made
        finally:
            laptop.close()
        pulls = [r for r in proxy.log if r.path == PULL]
    assert proxy.cuts >= 1  # pages were cut, and smaller ones got through
    assert any(r.down_sent < 12_000 for r in pulls), [r.down_sent for r in pulls]


def test_pages_grow_only_while_they_come_quickly() -> None:
    size = DEFAULT_PAGE_BYTES
    sizes = []
    for _ in range(8):  # a fast link: each page within the time, so each doubles, to the cap
        size = next_page_size(size, retried=False, seconds=0.05)
        sizes.append(size)
    assert sizes[0] == 2 * DEFAULT_PAGE_BYTES
    assert sizes[-1] == MAX_ADAPTIVE_PAGE_BYTES <= MAX_PAGE_BYTES
    # a slow link: a page that took longer than the time stays the size it was
    assert next_page_size(512 * 1024, retried=False, seconds=PAGE_GROW_SECONDS + 1) == 512 * 1024
    # a retry halves it, never below the smallest
    assert next_page_size(512 * 1024, retried=True, seconds=0.1) == 256 * 1024
    assert next_page_size(SMALLEST_PAGE_BYTES, retried=True, seconds=9) == (SMALLEST_PAGE_BYTES)
