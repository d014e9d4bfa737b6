"""A push's answer that says a clash was settled first is the service's word, and untrusted:
values that do not fit the record are left to the next pull, never a failure that would keep
the answer from being recorded."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from app.core import Casework
from app.store import conflicts, outbox
from app.store.models import Case
from sync.protocol import ChangeResult, ChangeStatus, ConflictInfo
from sync.records import RecordKind
from tests.support.profile import make_profile

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def _sent(profile: object) -> None:
    """The case's changes as the service confirmed them (nothing waits to be sent)."""
    with profile.session() as s, s.begin():  # type: ignore[attr-defined]
        waiting = outbox.pending_changes(s, 100)
        outbox.mark_sent(
            s,
            [
                ChangeResult(change_id=c.change_id, status=ChangeStatus.APPLIED, version=1)
                for c in waiting
            ],
        )


def _answer(case_id: uuid.UUID, fields_now: dict[str, object]) -> ChangeResult:
    info = ConflictInfo(
        conflict_id=uuid.uuid4(),
        kind=RecordKind.CASE,
        record_id=case_id,
        case_id=case_id,
        field="summary",
        kept_value="theirs",
        kept_by="kim",
        kept_at=NOW,
        other_value="mine",
        other_by="ajones",
        other_at=NOW,
        resolved=True,
        resolved_value="theirs",
        resolved_by="kim",
        resolved_at=NOW,
    )
    return ChangeResult(
        change_id=uuid.uuid4(),
        status=ChangeStatus.APPLIED,
        version=2,
        settled=[info],
        fields_now=fields_now,
    )


@pytest.mark.parametrize(
    "fields_now",
    [{"summary": 5}, {"no_such_field": "x"}, {"summary": "x" * 6000}],
    ids=["wrong-type", "unknown-field", "too-long"],
)
def test_values_that_do_not_fit_are_left_and_the_decision_is_still_told(
    tmp_path: Path, fields_now: dict[str, object]
) -> None:
    with make_profile(tmp_path / "p") as profile:
        work = Casework(profile)
        ref = work.create_case("housing_repair", "Pat Morgan", {"summary": "mine"})
        with profile.session() as s:
            case = s.exec(select(Case).where(Case.ref == ref)).one()
            case_id = case.id
        _sent(profile)
        with profile.session() as s, s.begin():
            conflicts.settled_first(s, _answer(case_id, fields_now), None)
        assert work.get_case(ref, record_view=False).fields["summary"] == "mine"
        with profile.session() as s, s.begin():
            (told,) = conflicts.take_decisions_to_tell(s)
        assert told.resolved_by == "kim"


def test_values_that_fit_are_shown(tmp_path: Path) -> None:
    with make_profile(tmp_path / "p") as profile:
        work = Casework(profile)
        ref = work.create_case("housing_repair", "Pat Morgan", {"summary": "mine"})
        with profile.session() as s:
            case_id = s.exec(select(Case).where(Case.ref == ref)).one().id
        _sent(profile)
        with profile.session() as s, s.begin():
            conflicts.settled_first(s, _answer(case_id, {"summary": "theirs"}), None)
        assert work.get_case(ref, record_view=False).fields["summary"] == "theirs"
