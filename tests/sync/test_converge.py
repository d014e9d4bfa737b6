"""Laptops converge: edits offline on each, synced in every order."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from app.core.errors import InvalidValue
from app.errors import UsageError
from tests.sync.helpers import Laptop

POOL_TEAMS = 5  # laptops() calls in this module (see conftest)


def _converged(laptops: list[Laptop]) -> None:
    states = [laptop.state() for laptop in laptops]
    for other in states[1:]:
        assert other == states[0]


def test_a_new_case_reaches_a_colleague(laptops: Callable[..., list[Laptop]]) -> None:
    a, b = laptops(2)
    ref = a.work.create_case("housing_repair", "Mary Example", {"summary": "Damp in bedroom"})
    a.work.add_note(ref, "Visited; mould on north wall.")
    report = a.sync()
    assert report.pushed >= 3 and report.completed
    assert "Sent" in report.summary()
    assert a.store.pending_count() == 0
    received = b.sync()
    assert received.received >= 3
    detail = b.work.get_case(ref, record_view=False)
    assert detail.fields["summary"] == "Damp in bedroom"
    assert [n.text for n in detail.notes] == ["Visited; mould on north wall."]
    _converged([a, b])


def _sync_all(laptops: list[Laptop], order: tuple[int, ...] | None = None) -> None:
    for index in order or range(len(laptops)):
        laptops[index].sync()


@pytest.mark.parametrize("count", [2, 3])
def test_offline_edits_converge_in_every_sync_order(
    laptops: Callable[..., list[Laptop]], count: int
) -> None:
    group = laptops(count)
    fields = ["summary", "priority", "status"]
    values = {"summary": "Roof leak", "priority": "urgent", "status": "waiting"}
    for order in itertools.permutations(range(count)):
        ref = group[0].work.create_case("housing_repair", "Sam Person", {"summary": "start"})
        _sync_all(group)
        # each laptop edits a different field offline and adds a note
        for n, laptop in enumerate(group):
            laptop.work.edit_case(ref, {fields[n]: values[fields[n]]})
            laptop.work.add_note(ref, f"note from laptop {n}")
        _sync_all(group, order)
        _sync_all(group, order)  # the first to sync now hears from the later ones
        _converged(group)
        detail = group[0].work.get_case(ref, record_view=False)
        for name in fields[:count]:
            assert detail.fields[name] == values[name], (order, name)
        assert sorted(n.text for n in detail.notes) == [
            f"note from laptop {n}" for n in range(count)
        ]
        for laptop in group:
            assert laptop.store.pending_count() == 0
            assert not [c for c in laptop.store.conflicts() if not c.resolved]


def test_same_field_makes_one_clash_both_see_and_resolving_converges(
    laptops: Callable[..., list[Laptop]],
) -> None:
    from app.core import clashes

    a, b, c = laptops(3)
    ref = a.work.create_case("safeguarding", "Pat Person", {"summary": "first"})
    _sync_all([a, b, c])
    a.work.edit_case(ref, {"summary": "from A"})
    b.work.edit_case(ref, {"summary": "from B"})
    a.sync()
    report = b.sync()
    assert report.conflicts_waiting == 1
    assert "1 clash needs your decision" in report.summary()
    a.sync()
    c.sync()
    seen = [clashes.clashes(laptop.profile) for laptop in (a, b, c)]
    assert [len(s) for s in seen] == [1, 1, 1]
    assert len({s[0].id for s in seen}) == 1
    clash_b = seen[1][0]
    assert clash_b.ref == ref and clash_b.field == "summary"
    assert clash_b.mine == "from B" and clash_b.theirs == "from A"
    assert seen[0][0].mine == "from A" and seen[0][0].theirs == "from B"
    # the record keeps the value that arrived first; nothing is discarded
    assert {a.work.get_case(ref, record_view=False).fields["summary"]} == {"from A"}
    clashes.resolve_clash(b.profile, str(clash_b.id)[:8], keep="mine")
    assert clashes.clashes(b.profile) == []
    _sync_all([b, a, c])
    _converged([a, b, c])
    for laptop in (a, b, c):
        assert clashes.clashes(laptop.profile) == []
        assert laptop.work.get_case(ref, record_view=False).fields["summary"] == "from B"


def test_resolving_with_a_new_value(laptops: Callable[..., list[Laptop]]) -> None:
    from app.core import clashes

    a, b = laptops(2)
    ref = a.work.create_case("carer_support", "Lee Person")
    _sync_all([a, b])
    a.work.edit_case(ref, {"priority": "high"})
    b.work.edit_case(ref, {"priority": "low"})
    _sync_all([a, b, a])
    (clash,) = clashes.clashes(a.profile)
    with pytest.raises(UsageError, match="Say how"):
        clashes.resolve_clash(a.profile, str(clash.id))
    waiting = a.work.pending_count()
    # a value the service would refuse is refused here, in words, and nothing is saved
    with pytest.raises(InvalidValue, match="priority must be one of"):
        clashes.resolve_clash(a.profile, str(clash.id), value="emergency")
    assert a.work.pending_count() == waiting
    assert a.work.get_case(ref, record_view=False).fields["priority"] == "high"
    clashes.resolve_clash(a.profile, str(clash.id), value="urgent")
    _sync_all([a, b])
    _converged([a, b])
    assert b.work.get_case(ref, record_view=False).fields["priority"] == "urgent"
    assert clashes.clashes(b.profile) == []
