"""Team moves: a user moved to another team (``fieldcase-server admin move-user NAME --team
TEAM``) gets the whole new team's cases on their laptops and loses the old team's, as a case
moved by reassignment does. The one owner of that rule.

The move writes a change of scope for each case of either team (not those assigned to the user
themself, which they keep), seen only by that user's devices: a pull then removes the old
team's cases and sends the new team's whole. Work on the old team's cases still waiting on a
laptop is sent before they go: each of the user's devices may send changes to its old team's
cases until it has pulled past the move (:class:`server.models.MoveGrace`); the laptop pushes
before it pulls, and purges a removed case only once its work was sent.
"""

from __future__ import annotations

import uuid

from sqlalchemy import delete, or_
from sqlmodel import Session, col, select

from server import crud
from server.audit import AuditEvent
from server.models import CaseScope, Device, MoveGrace
from server.records.changelog import Pending, finalize
from server.records.scope import scope_event
from sync.clock import Clock


def move_user(session: Session, username: str, team: str, *, clock: Clock) -> tuple[str, int]:
    """Move ``username`` to ``team`` (the caller commits); returns (the team before, how many
    cases change on their laptops). Moving to the team they are in changes nothing."""
    user = crud.require_user(session, username)
    target = crud.get_team(session, team)
    if target is None:
        raise crud.AdminError(f"There is no team called {team!r}. Add it first (add-team).")
    before = crud.team_name(session, user)
    if before == team:
        return before, 0
    user.team_id = target.id
    session.add(user)
    now = clock.now()
    case_ids = session.exec(
        select(CaseScope.case_id).where(
            col(CaseScope.team).in_([before, team]),
            or_(col(CaseScope.assigned_to).is_(None), col(CaseScope.assigned_to) != username),
        )
    ).all()
    pending = Pending()
    # seen by this user's devices alone: each re-checks the case against the new team
    pending.scope_events = [
        scope_event(case_id, (None, username), (None, username), now)
        for case_id in sorted(case_ids)
    ]
    pending.audit.append(
        AuditEvent(
            "user_moved",
            actor="admin",
            detail={"user_id": str(user.id), "from": before, "to": team, "cases": len(case_ids)},
        )
    )
    finalize(session, pending, at=now)
    until = max((event.seq for event in pending.scope_events), default=0)
    devices = session.exec(
        select(Device.id).where(col(Device.user_id) == user.id, col(Device.revoked_at).is_(None))
    ).all()
    for device_id in devices:
        grace = session.get(MoveGrace, (device_id, before))
        if grace is None:
            session.add(
                MoveGrace(device_id=device_id, old_team=before, until_seq=until, moved_at=now)
            )
        else:
            grace.until_seq, grace.moved_at = until, now
            session.add(grace)
    return before, len(case_ids)


def grace_teams(session: Session, device_id: uuid.UUID | None) -> set[str]:
    """The old teams whose cases this device may still send its waiting work on."""
    if device_id is None:
        return set()
    rows = session.exec(select(MoveGrace.old_team).where(col(MoveGrace.device_id) == device_id))
    return set(rows.all())


def pulled_to(session: Session, device_id: uuid.UUID | None, position: int) -> int:
    """The device pulled up to ``position``: the moves it has now seen end their grace.
    Returns how many ended (the caller commits)."""
    if device_id is None:
        return 0
    mine = col(MoveGrace.device_id) == device_id
    if session.exec(select(MoveGrace.device_id).where(mine)).first() is None:
        return 0  # the usual case: no write at all
    ended = session.exec(
        select(MoveGrace.old_team).where(mine, col(MoveGrace.until_seq) <= position)
    ).all()
    if ended:
        session.execute(delete(MoveGrace).where(mine, col(MoveGrace.until_seq) <= position))
    return len(ended)
