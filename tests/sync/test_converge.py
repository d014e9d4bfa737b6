"""Laptops converge: edits offline on each, synced in every order."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from app.core.errors import InvalidValue
from app.errors import UsageError
from tests.sync.helpers import Laptop

POOL_TEAMS = 7  # laptops() calls in this module (see conftest)


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


def _clash_between(laptops: Callable[..., list[Laptop]]) -> tuple[Laptop, Laptop, str]:
    """Two laptops that each changed a case's summary (A's reached the service first)."""
    a, b = laptops(2)
    ref = a.work.create_case("safeguarding", "Pat Person", {"summary": "first"})
    _sync_all([a, b])
    a.work.edit_case(ref, {"summary": "from A"})
    b.work.edit_case(ref, {"summary": "from B"})
    _sync_all([a, b, a])
    return a, b, ref


def test_the_first_decision_settles_a_clash_and_the_second_chooser_is_told(
    laptops: Callable[..., list[Laptop]],
) -> None:
    """Both choose "keep mine" without knowing of the other: A's decision reaches the service
    first and stands for everyone; B's is not applied (no fresh clash), B's laptop shows A's
    choice, B is told once, and settling it again says who decided."""
    from app.core import clashes

    a, b, ref = _clash_between(laptops)
    (clash_a,), (clash_b,) = clashes.clashes(a.profile), clashes.clashes(b.profile)
    clashes.resolve_clash(a.profile, str(clash_a.id), keep="mine")
    clashes.resolve_clash(b.profile, str(clash_b.id), keep="mine")
    with pytest.raises(UsageError, match="already settled this clash"):
        clashes.resolve_clash(b.profile, str(clash_b.id), keep="theirs")
    assert a.sync().decided == []
    report = b.sync()
    assert [(d.resolved_by, d.resolved_value) for d in report.decided] == [(a.user, "from A")]
    assert f"{a.user} settled the clash on the summary first" in report.summary()
    assert report.conflicts_waiting == 0
    assert b.work.get_case(ref, record_view=False).fields["summary"] == "from A"
    _sync_all([a, b])
    _converged([a, b])
    assert b.reports[-1].decided == []  # told once
    for laptop in (a, b):
        assert clashes.clashes(laptop.profile) == []
        assert laptop.work.get_case(ref, record_view=False).fields["summary"] == "from A"
    (settled,) = clashes.settled_by_others(b.profile)
    assert (settled.ref, settled.chosen, settled.settled_by) == (ref, "from A", a.user)
    assert settled.mine == "from B" and not settled.mine_kept
    assert clashes.settled_by_others(a.profile) == []  # A settled it: nothing to be told
    with pytest.raises(UsageError, match=f"already settled by {a.user} on .*'from A'"):
        clashes.resolve_clash(b.profile, str(clash_b.id), keep="mine")


def test_the_person_whose_version_lost_hears_of_it_at_their_next_sync(
    laptops: Callable[..., list[Laptop]],
) -> None:
    """A settles the clash for A's own version; B (who made the other side and never chose)
    is told at B's next sync, once; A, whose version was kept, hears nothing."""
    from app.core import clashes

    a, b, ref = _clash_between(laptops)
    b.sync()
    (clash,) = clashes.clashes(a.profile)
    clashes.resolve_clash(a.profile, str(clash.id), keep="mine")
    assert a.sync().decided == []
    report = b.sync()
    (told,) = report.decided
    assert told.conflict_id == clash.id and told.resolved_by == a.user
    assert "your version was not kept" in report.summary()
    assert b.sync().decided == []
    assert b.work.get_case(ref, record_view=False).fields["summary"] == "from A"
    # a decision for B's own version is no news to B
    b.work.edit_case(ref, {"summary": "B again"})
    a.work.edit_case(ref, {"summary": "A again"})
    _sync_all([b, a, b])
    (again,) = clashes.clashes(b.profile)
    assert again.mine == "B again"
    _sync_all([a])
    (clash_a,) = clashes.clashes(a.profile)
    clashes.resolve_clash(a.profile, str(clash_a.id), keep="theirs")
    a.sync()
    assert b.sync().decided == []
    assert b.work.get_case(ref, record_view=False).fields["summary"] == "B again"
