"""Property: whatever laptops edit offline and in whatever order they sync over a faulty link,
they end up equal, and no value anyone saved is silently lost (it is the value in force, or it
is kept in a clash, or the person who replaced it had seen it)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync.client import ServiceClient
from sync.engine import SyncEngine
from tests.support.server import ServerProcess
from tests.sync.helpers import Laptop
from tests.tools.faultproxy import FaultProxy

POOL_TEAMS = 1  # laptops() calls in this module (see conftest)

#: 70 keeps this test near 25 s on a busy 2-core machine (100 took 35 s of an 8-minute suite);
#: set FIELDCASE_SYNC_EXAMPLES=1000 for a deeper search by hand.
EXAMPLES = int(os.environ.get("FIELDCASE_SYNC_EXAMPLES", "45"))
#: (as typed for edit_case, the record it lives on, the wire field)
FIELDS = (
    ("summary", "case", "summary"),
    ("person.address", "person", "address"),
    ("person.phone", "person", "phone"),
)
PATHS = ("/v1/sync/push", "/v1/sync/pull")

faults = st.one_of(
    st.tuples(
        st.just("cut"),
        st.sampled_from(PATHS),
        st.sampled_from(("up", "down")),
        st.integers(min_value=0, max_value=1200),
    ),
    st.tuples(st.just("status"), st.sampled_from(PATHS), st.sampled_from((500, 503))),
)
steps = st.one_of(
    st.tuples(st.just("edit"), st.integers(0, 3), st.integers(0, len(FIELDS) - 1)),
    st.tuples(st.just("note"), st.integers(0, 3)),
    st.tuples(st.just("sync"), st.integers(0, 3), st.one_of(st.none(), faults)),
)


class World:
    """Four enrolled laptops of one team, a proxy in front of the service, one shared case."""

    def __init__(self, laptops: list[Laptop], proxy: FaultProxy) -> None:
        self.laptops = laptops
        self.proxy = proxy
        self.clients: dict[tuple[int, bool], ServiceClient] = {}
        self.counter = itertools.count()
        self.ref = laptops[0].work.create_case("housing_repair", "Property Person")
        for n in range(len(laptops)):
            self.sync(n)
        self.faulty_examples = 0
        self.examples = 0

    def client(self, n: int, faulty: bool) -> ServiceClient:
        """A kept-alive client per laptop: through the proxy for a faulty sync, else direct."""
        key = (n, faulty)
        if key not in self.clients:
            url = self.proxy.url if faulty else self.laptops[n].url
            self.clients[key] = self.laptops[n].client(url)
        return self.clients[key]

    def sync(self, n: int, fault: tuple[Any, ...] | None = None) -> None:
        if fault is not None:
            if fault[0] == "cut":
                self.proxy.cut(fault[1], fault[2], fault[3])
            else:
                self.proxy.status(fault[1], fault[2])
        SyncEngine(self.laptops[n].store, self.client(n, fault is not None)).sync()
        self.proxy.clear()  # a rule that did not fire must not leak into the next step

    def local_value(self, n: int, record: str, field: str) -> Any:
        detail = self.laptops[n].work.get_case(self.ref, record_view=False)
        return detail.fields[field] if record == "case" else detail.person[field]

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


@pytest.fixture
def world(service: ServerProcess, laptops: Callable[..., list[Laptop]]) -> Iterator[World]:
    group = laptops(4)
    with FaultProxy(("127.0.0.1", service.port)) as proxy:
        w = World(group, proxy)
        yield w
        w.close()
    assert w.examples == 0 or w.faulty_examples * 2 >= w.examples


@pytest.mark.slow
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    count=st.integers(min_value=2, max_value=4),
    script=st.lists(steps, min_size=1, max_size=6),
    final_faults=st.lists(faults, min_size=4, max_size=4),
)
def test_laptops_converge_and_lose_nothing(
    world: World,
    count: int,
    script: list[tuple[Any, ...]],
    final_faults: list[tuple[Any, ...]],
) -> None:
    world.examples += 1
    saved: list[tuple[str, str, Any]] = []  # (record, field, value) of every saved edit
    superseded: set[tuple[str, str, Any]] = set()
    notes: set[str] = set()
    for step in script:
        n = step[1] % count
        laptop = world.laptops[n]
        if step[0] == "edit":
            typed, record, field = FIELDS[step[2]]
            superseded.add((record, field, world.local_value(n, record, field)))
            value = f"{field} {next(world.counter)}"
            laptop.work.edit_case(world.ref, {typed: value})
            saved.append((record, field, value))
        elif step[0] == "note":
            text = f"note {next(world.counter)}"
            laptop.work.add_note(world.ref, text)
            notes.add(text)
        else:
            world.sync(n, step[2])
    # every laptop syncs once over a faulty link, then once more cleanly
    for n in range(count):
        world.sync(n, final_faults[n])
    world.faulty_examples += 1
    for n in range(count - 1):  # the last one already holds everything
        world.sync(n)

    group = world.laptops[:count]
    states = [laptop.state() for laptop in group]
    assert all(state == states[0] for state in states[1:])
    clashes = [
        sorted((c.conflict_id, c.kept_value, c.other_value) for c in laptop.store.conflicts())
        for laptop in group
    ]
    assert all(c == clashes[0] for c in clashes[1:])
    for laptop in group:
        assert laptop.store.pending_count() == 0
        assert laptop.store.rejected_changes() == []

    detail = group[0].work.get_case(world.ref, record_view=False)
    assert notes <= {note.text for note in detail.notes}
    kept = {(c.field, v) for c in group[0].store.conflicts() for v in (c.kept_value, c.other_value)}
    for record, field, value in saved:
        if (record, field, value) in superseded:
            continue  # the person who replaced it had it in front of them
        current = detail.fields[field] if record == "case" else detail.person[field]
        assert value == current or (field, value) in kept, (record, field, value)
