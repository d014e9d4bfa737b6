"""Pushes batch up to the service's maximum, an audit event travels in its edit's batch, and a
batch is marked sent in a few statements (not one per change), against a real service."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import select

from app.store.models import Case
from sync.engine import OLDER_SERVICE_PUSH
from sync.protocol import MAX_PUSH_CHANGES, Change, PushRequest, PushResponse
from sync.records import RecordKind
from tests.support.server import ServerProcess
from tests.sync.helpers import Laptop
from tests.tools.faultproxy import FaultProxy

CASES = 40
EDITS = 1000


@pytest.fixture
def proxy(service: ServerProcess) -> Iterator[FaultProxy]:
    with FaultProxy(("127.0.0.1", service.port)) as p:
        yield p


def _laptop_with_edits(laptops: Callable[..., list[Laptop]], url: str) -> Laptop:
    """A laptop holding CASES synced cases, then one view and EDITS edits waiting, the edits
    taking the cases in turn (so a batch boundary lands between one case's edit and its audit
    event unless the batching keeps them together)."""
    (a,) = laptops(1, url)
    work = a.work
    refs = [work.create_case("housing_repair", f"Person {n}") for n in range(CASES)]
    a.sync()
    work.get_case(refs[0])  # one "viewed" event first: edits no longer start at even rows
    for n in range(EDITS):
        work.edit_case(refs[n % CASES], {"summary": f"Checked on the phone, call {n}"})
    assert a.store.pending_count() == EDITS
    return a


def _recording(engine: Any) -> list[list[Change]]:
    """Every batch the engine pushes, as sent."""
    batches: list[list[Change]] = []
    push = engine.client.push

    def recorded(request: PushRequest) -> PushResponse:
        batches.append(list(request.changes))
        return push(request)  # type: ignore[no-any-return]

    engine.client.push = recorded
    return batches


def _audit_rides_with_its_edit(batches: list[list[Change]]) -> None:
    """Each "changed" audit event is in the batch of the latest edit of the record it names."""
    latest: dict[str, int] = {}  # record id -> batch of its latest edit so far
    audits = 0
    for number, batch in enumerate(batches):
        for change in batch:
            if change.kind is not RecordKind.AUDIT:
                latest[str(change.record_id)] = number
            elif change.fields["action"] == "changed":
                audits += 1
                assert latest[change.fields["record_id"]] == number, (
                    "an audit event left in another batch than its edit"
                )
    assert audits == EDITS


def test_a_thousand_edits_go_in_at_most_three_pushes_with_their_audit_events(
    laptops: Callable[..., list[Laptop]], proxy: FaultProxy
) -> None:
    a = _laptop_with_edits(laptops, proxy.url)
    engine = a.engine()
    batches = _recording(engine)
    proxy.reset_counters()
    report = engine.sync()
    engine.client.close()
    pushes = [p for p in proxy.paths if p.startswith("/v1/sync/push")]
    assert len(pushes) <= 3, pushes
    assert len(pushes) == len(batches)
    assert all(len(batch) <= MAX_PUSH_CHANGES for batch in batches)
    assert sum(len(batch) for batch in batches) == 2 * EDITS + 1
    _audit_rides_with_its_edit(batches)
    assert report.pushed == 2 * EDITS + 1 and report.rejected == 0
    assert a.store.pending_count() == 0 and a.store.rejected_changes() == []


def test_a_batch_is_marked_sent_in_a_few_statements(
    laptops: Callable[..., list[Laptop]], service: ServerProcess
) -> None:
    a = _laptop_with_edits(laptops, service.url)
    statements: list[str] = []
    store = a.store
    mark_sent = store.mark_sent

    def counted(results: Any) -> None:
        def seen(*args: Any) -> None:
            statements.append(args[2])

        event.listen(a.profile.engine, "before_cursor_execute", seen)
        try:
            mark_sent(results)
        finally:
            event.remove(a.profile.engine, "before_cursor_execute", seen)

    store.mark_sent = counted  # type: ignore[method-assign]
    engine = a.engine()
    engine.store = store
    engine._push()  # the push phase alone: nothing pulled back to move versions on
    engine.client.close()
    assert a.store.pending_count() == 0
    # about 1,000 changes per batch, in two or three batches: a handful of statements each
    # (read, move versions on, delete, in chunks of 500), never one or more per change
    assert 0 < len(statements) <= 30, statements
    with a.profile.session() as s:
        versions = set(s.exec(select(Case.version)).all())
    # each case's first edit, made on version 1, moved it to 2; the later ones were made on
    # version 1 too, so the laptop waits for the pull to learn the newest version
    assert versions == {2}


def test_an_older_service_that_takes_fewer_changes_gets_smaller_batches(
    laptops: Callable[..., list[Laptop]], proxy: FaultProxy
) -> None:
    a = _laptop_with_edits(laptops, proxy.url)
    engine = a.engine()
    batches = _recording(engine)
    # as a service before this release answers a push of more than 500 changes
    proxy.status("/v1/sync/push", 422, code="validation", message="Too many changes.")
    report = engine.sync()
    engine.client.close()
    assert len(batches[0]) > OLDER_SERVICE_PUSH
    assert batches[1:] and all(len(batch) <= OLDER_SERVICE_PUSH for batch in batches[1:])
    assert report.pushed == 2 * EDITS + 1 and report.rejected == 0
    assert a.store.pending_count() == 0 and a.store.rejected_changes() == []
