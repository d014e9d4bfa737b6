"""Who may see a case: its team, or the worker it is assigned to.

A case's scope row (``case_scope``) copies the case record's team, assignee and reference.
When a push moves a case, a :class:`server.models.ScopeEvent` tells the devices on either
side to re-check it at their next pull.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import exists, or_
from sqlmodel import Session, select

from server.crud import Actor
from server.models import CaseScope, ScopeEvent
from server.records.changelog import Pending


def can_see(scope: CaseScope | None, team: str, username: str) -> bool:
    if scope is None:
        return False
    return (scope.team is not None and scope.team == team) or (
        scope.assigned_to is not None and scope.assigned_to == username
    )


def visible_to(case_id: Any, team: str, username: str) -> Any:
    """A condition: the case named by the column ``case_id`` is one the user may see (their
    team's, or assigned to them). An EXISTS on the case's scope row, so a pull can walk the
    change log by its ``seq`` index and look each case up by its key, rather than reading
    every visible record and sorting them (see tests/server/test_pull_plan.py)."""
    scope = CaseScope.__table__  # type: ignore[attr-defined]
    return exists().where(
        scope.c.case_id == case_id,
        or_(scope.c.team == team, scope.c.assigned_to == username),
    )


def case_visible_to(session: Session, case_id: uuid.UUID, actor: Actor) -> bool:
    return can_see(session.get(CaseScope, case_id), actor.team, actor.username)


def find_case_by_ref(session: Session, ref: str) -> CaseScope | None:
    return session.exec(select(CaseScope).where(CaseScope.ref == ref)).first()


def ref_holder(
    session: Session, ref: str, pending: Pending, *, besides: uuid.UUID
) -> uuid.UUID | None:
    """The case other than ``besides`` that holds ``ref``, as this batch left things (a
    scope written earlier in the batch counts; one whose ref it changed no longer does)."""
    for case_id in sorted(pending.refs.get(ref, ())):
        scope = pending.scopes.get(case_id)
        if case_id != besides and scope is not None and scope.ref == ref:
            return case_id
    if ref in pending.stored_refs:
        stored = pending.stored_refs[ref]
    else:
        stored = session.exec(select(CaseScope.case_id).where(CaseScope.ref == ref)).first()
    if stored is None or stored == besides:
        return None
    in_batch = pending.scopes.get(stored)
    if in_batch is not None and in_batch.ref != ref:
        return None  # this batch moved that case to another reference
    return stored


def scope_event(
    case_id: uuid.UUID,
    old: tuple[str | None, str | None],
    new: tuple[str | None, str | None],
    at: datetime,
) -> ScopeEvent:
    """A case's (team, assignee) went from ``old`` to ``new``: the devices on either side
    re-check it at their next pull (its log position is given at commit time)."""
    return ScopeEvent(
        seq=0,
        case_id=case_id,
        old_team=old[0],
        old_assigned=old[1],
        new_team=new[0],
        new_assigned=new[1],
        at=at,
    )


def set_scope(
    session: Session, pending: Pending, case_id: uuid.UUID, fields: dict[str, Any], now: datetime
) -> None:
    """Copy a written case's team, assignee and reference to its scope row; a move is kept
    as a scope event."""
    scope = pending.scope(session, case_id)
    new_team, new_assigned, ref = fields.get("team"), fields.get("assigned_to"), fields.get("ref")
    if scope is None:
        scope = CaseScope(case_id=case_id, ref=ref, team=new_team, assigned_to=new_assigned)
        pending.scopes[case_id] = scope
        pending.note_ref(scope)
        session.add(scope)
        return
    if (scope.team, scope.assigned_to) != (new_team, new_assigned):
        pending.scope_events.append(
            scope_event(case_id, (scope.team, scope.assigned_to), (new_team, new_assigned), now)
        )
    scope.team, scope.assigned_to, scope.ref = new_team, new_assigned, ref
    pending.note_ref(scope)
    session.add(scope)
