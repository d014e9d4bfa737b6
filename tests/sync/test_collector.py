"""Python's cycle collector is paused while a pulled page is parsed and stored
(:mod:`sync.collector`), shared fairly between the threads that do it, and put back as it was."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from sync import collector, transport
from sync.protocol import PullResponse
from tests.sync.helpers import Laptop


@pytest.fixture
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    try:
        yield
    finally:
        if not was:
            gc.disable()


def test_the_last_thread_to_leave_turns_it_back_on(collector_on: None) -> None:
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, bool] = {}

    def second() -> None:
        first_in.wait()
        with collector.paused():
            second_in.set()
            first_out.wait()
            seen["after the first left"] = gc.isenabled()
        seen["after both left"] = gc.isenabled()

    other = threading.Thread(target=second)
    other.start()
    with collector.paused():
        seen["inside"] = gc.isenabled()
        first_in.set()
        second_in.wait()
    first_out.set()
    other.join(timeout=10)
    assert seen == {"inside": False, "after the first left": False, "after both left": True}
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off(collector_on: None) -> None:
    gc.disable()
    with collector.paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_a_pause_ended_twice_counts_once(collector_on: None) -> None:
    first, second = collector.Pause(), collector.Pause()
    first.end()
    first.end()
    assert not gc.isenabled()  # the second still holds it
    second.end()
    assert gc.isenabled()


def test_it_comes_back_after_a_failure(collector_on: None) -> None:
    with pytest.raises(ValueError), collector.paused():
        raise ValueError("a page that could not be stored")
    assert gc.isenabled()
    assert transport.parse_body(PullResponse, b"{not json") is None
    assert gc.isenabled()


def test_a_sync_stores_its_pages_with_the_collector_paused(
    laptops: Callable[..., list[Laptop]], collector_on: None
) -> None:
    a, b = laptops(2)
    for n in range(5):
        a.work.create_case("housing_repair", f"Person {n}", {"summary": "x" * 200})
    a.sync()
    engine = b.engine()
    store = engine.store
    during: list[bool] = []
    apply_page = store.apply_page

    def watched(page: PullResponse) -> int:
        during.append(gc.isenabled())
        return apply_page(page)

    store.apply_page = watched  # type: ignore[method-assign]
    try:
        engine.sync()
    finally:
        engine.client.close()
    assert during and not any(during)
    assert gc.isenabled()
    assert b.state() == a.state()


def test_a_page_waiting_to_be_stored_is_not_walked_by_the_collector(
    laptops: Callable[..., list[Laptop]], collector_on: None
) -> None:
    """On a quick link the next page is here before the last is stored: the collector stays
    paused from one to the next instead of walking the waiting page's objects each time."""
    a, b = laptops(2)
    for n in range(12):
        a.work.create_case("housing_repair", f"Person {n}", {"summary": "x" * 400})
    a.sync()
    engine = b.engine(page_bytes=2048)
    engine.adaptive_pages = False  # small pages, so that there are several
    store = engine.store
    apply_page = store.apply_page
    applied: list[int] = []
    walks: list[int] = []  # how many pages were stored when a walk of the collector began

    def on_walk(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            walks.append(len(applied))

    def slow(page: PullResponse) -> int:
        time.sleep(0.3)  # the next page arrives meanwhile (loopback)
        applied.append(len(page.records))
        return apply_page(page)

    store.apply_page = slow  # type: ignore[method-assign]
    thresholds = gc.get_threshold()
    gc.set_threshold(50)  # these pages are small: a walk after 50 new objects, not 700
    gc.callbacks.append(on_walk)
    try:
        engine.sync()
    finally:
        gc.callbacks.remove(on_walk)
        gc.set_threshold(*thresholds)
        engine.client.close()
    assert len(applied) >= 4
    assert not [n for n in walks if 0 < n < len(applied)], (walks, len(applied))
    assert gc.isenabled()
    assert b.state() == a.state()
