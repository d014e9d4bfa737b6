"""Reviewing possible duplicates from a laptop (the Possible duplicates window): the pairs a
reviewer may see, both people side by side, and their decision.

A governance officer sees every pair waiting; a team manager only the pairs where at least
one of the two is about their team's cases (they are deciding about their own people; the
other person's details are shown so they can tell).
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlmodel import Session, col, select

from server.crud import Actor
from server.linkage import queue
from server.linkage.people import PersonRow, people_by_id
from server.models import CaseScope, DuplicatePair, Record
from server.records import people
from server.roles import Can, allows
from sync.clock import Clock
from sync.protocol import (
    DuplicateDecided,
    DuplicateDecision,
    DuplicatePairInfo,
    DuplicatePairs,
    PersonSide,
)
from sync.records import RecordKind

MAX_SHOWN = 200


class NotYours(queue.QueueError):
    """A manager's decision about two people neither of whom is their team's."""


def team_people(session: Session, team: str) -> set[str]:
    """The ids of the people the team's cases are about."""
    named = col(Record.person_id)
    query = (
        select(named)
        .select_from(Record)
        .join(CaseScope, col(CaseScope.case_id) == col(Record.record_id))
        .where(col(Record.kind) == RecordKind.CASE.value, col(CaseScope.team) == team)
    )
    return {str(value) for value in session.exec(query) if value}


def _holders(session: Session, ids: set[str]) -> dict[str, list[str]]:
    """Person id -> the team of each case about them."""
    named = col(Record.person_id)
    found: dict[str, list[str]] = {}
    wanted = sorted(uuid.UUID(i) for i in ids)
    for start in range(0, len(wanted), 500):
        query = (
            select(named, CaseScope.team)
            .select_from(Record)
            .join(CaseScope, col(CaseScope.case_id) == col(Record.record_id))
            .where(
                col(Record.kind) == RecordKind.CASE.value,
                named.in_(wanted[start : start + 500]),
            )
        )
        for person_id, team in session.exec(query):
            found.setdefault(str(person_id), []).append(team or "no team")
    return found


def _side(person_id: uuid.UUID, row: PersonRow | None, teams: list[str]) -> PersonSide:
    if row is None:
        return PersonSide(person_id=person_id, name="(no longer on the service)")
    born = None
    if row.date_of_birth:
        try:
            born = date.fromisoformat(row.date_of_birth)
        except ValueError:
            born = None
    return PersonSide(
        person_id=person_id,
        name=row.name,
        date_of_birth=born,
        address=row.address,
        phone=row.phone,
        external_ids=list(row.external_ids),
        teams=sorted(set(teams)),
        cases=len(teams),
    )


def _theirs(session: Session, actor: Actor) -> set[str] | None:
    """The people a reviewer may decide about (None: anyone)."""
    return None if allows(actor.role, Can.ANY_TEAM) else team_people(session, actor.team)


def refuse_not_theirs(session: Session, role: str, team: str, *people_ids: uuid.UUID) -> None:
    """Refuse a decision (a merge, a split, "not the same") about people none of whom is
    about a case of the reviewer's team, unless their role may see any team's."""
    if allows(role, Can.ANY_TEAM):
        return
    theirs = session.exec(
        select(Record.record_id)
        .join(CaseScope, col(CaseScope.case_id) == col(Record.record_id))
        .where(
            col(Record.kind) == RecordKind.CASE.value,
            col(CaseScope.team) == team,
            col(Record.person_id).in_(list(people_ids)),
        )
        .limit(1)
    ).first()
    if theirs is None:
        raise NotYours(
            "Neither of these people is about your team's cases, so the decision is not yours "
            "to make. A governance officer can make it."
        )


def pairs_for(session: Session, actor: Actor, *, limit: int = 50) -> DuplicatePairs:
    """The pairs waiting that ``actor`` may review, most likely first, both people whole."""
    mine = _theirs(session, actor)
    wanted = max(1, min(limit, MAX_SHOWN))
    if mine is None:  # every pair: the database reads only the ones shown, and counts the rest
        shown: list[DuplicatePair] = queue.waiting(session, limit=wanted)
        total = queue.waiting_count(session)
    else:
        waiting = [
            p for p in queue.waiting(session) if str(p.person_a) in mine or str(p.person_b) in mine
        ]
        shown, total = waiting[:wanted], len(waiting)
    ids = {str(p.person_a) for p in shown} | {str(p.person_b) for p in shown}
    rows = people_by_id(session, ids)
    holders = _holders(session, ids)
    return DuplicatePairs(
        pairs=[
            DuplicatePairInfo(
                a=_side(p.person_a, rows.get(str(p.person_a)), holders.get(str(p.person_a), [])),
                b=_side(p.person_b, rows.get(str(p.person_b)), holders.get(str(p.person_b), [])),
                probability=min(max(p.probability, 0.0), 1.0),
                reasons=list(p.reasons),
            )
            for p in shown
        ],
        more=total - len(shown),
    )


def decide(
    session: Session, actor: Actor, decision: DuplicateDecision, *, clock: Clock
) -> DuplicateDecided:
    """A reviewer's decision: merge ``other`` into ``keep``, or not the same person."""
    refuse_not_theirs(session, actor.role, actor.team, decision.keep, decision.other)
    if decision.same:
        merge = people.merge_people(
            session,
            decision.keep,
            decision.other,
            reason=decision.reason,
            by=actor.username,
            clock=clock,
        )
        return DuplicateDecided(
            merge_id=merge.id,
            message=(
                f"Merged (merge {merge.id}): they are one person on every laptop from its "
                "next sync."
            ),
        )
    queue.not_same(
        session,
        decision.keep,
        decision.other,
        reason=decision.reason,
        by=actor.username,
        at=clock.now(),
    )
    return DuplicateDecided(message="Noted: not the same person. They will not be suggested again.")
