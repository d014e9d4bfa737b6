"""People merged on the service, and records held through a share, on this laptop (sync
protocol 6): the one owner of ``shared_from``.

When the service merges two records of one person, every pull names the merge
(``PullResponse.merged_people``): :func:`apply_merges` points this laptop's cases and warnings
naming the merged-away person at the kept one and drops the merged-away record, so the
caseworker sees one person. An edit to the merged-away person still waiting in the outbox is
sent as it is; the service applies it to the kept person.

A record this laptop holds through one of its own cases though another team's case holds it
(the kept person, a risk warning about them) comes with ``held_by``: :func:`note_shares`
keeps that team's name, and :func:`held_by` gives it to whoever shows the record ("recorded
by Housing North").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from uuid import UUID

from sqlalchemy import Connection, delete, select, update
from sqlmodel import Session, col

from app.store.models import Case, Person, Warning
from app.store.tables import SharedFrom
from sync.protocol import PeopleMerged, PullResponse, RecordState

Db = Session | Connection
CHUNK = 500


def after_page(s: Session, page: PullResponse) -> None:
    """What a stored pull page says of people: shares (:func:`note_shares`) and merges
    (:func:`apply_merges`); then, on a laptop holding anything shared, the records no case
    here needs any more go (a split, a case moved away)."""
    sharing = note_shares(s, page.records)
    apply_merges(s, page.merged_people)
    if sharing or page.merged_people:
        drop_unheld(s)


def note_shares(s: Session, records: Sequence[RecordState]) -> bool:
    """Keep the holding team of each pulled record that came through a share, and forget it
    for one that now comes through this laptop's own case; whether this laptop holds
    anything through a share."""
    held = {r.record_id: r.held_by for r in records if r.held_by}
    for record_id, team in held.items():
        s.merge(SharedFrom(record_id=record_id, team=team))
    if s.exec(select(SharedFrom.record_id).limit(1)).first() is None:  # type: ignore[call-overload]
        return False  # the usual case: nothing shared with this laptop
    own = [r.record_id for r in records if not r.held_by]
    for start in range(0, len(own), CHUNK):
        part = own[start : start + CHUNK]
        s.execute(delete(SharedFrom).where(col(SharedFrom.record_id).in_(part)))
    return True


def apply_merges(s: Session, merges: Sequence[PeopleMerged]) -> int:
    """Point local cases and warnings at the kept person of each merge, and drop the
    merged-away record; how many merges touched anything here."""
    touched = 0
    for merge in merges:
        cases = s.execute(
            update(Case).where(col(Case.person_id) == merge.merged).values(person_id=merge.kept)
        )
        warnings = s.execute(
            update(Warning)
            .where(col(Warning.person_id) == merge.merged)
            .values(person_id=merge.kept)
        )
        gone = s.execute(delete(Person).where(col(Person.id) == merge.merged))
        s.execute(delete(SharedFrom).where(col(SharedFrom.record_id) == merge.merged))
        if cases.rowcount or warnings.rowcount or gone.rowcount:  # type: ignore[attr-defined]
            touched += 1
    return touched


def drop_unheld(s: Session) -> None:
    """Drop the people and warnings this laptop holds for no case of its own any more (a
    shared record whose case here moved away, or was merged or split since)."""
    case_ids = select(col(Case.id))
    named = select(col(Case.person_id))
    s.execute(
        delete(Person).where(col(Person.case_id).not_in(case_ids), col(Person.id).not_in(named))
    )
    s.execute(
        delete(Warning).where(
            col(Warning.case_id).not_in(case_ids), col(Warning.person_id).not_in(named)
        )
    )
    s.execute(
        delete(SharedFrom).where(
            col(SharedFrom.record_id).not_in(select(col(Person.id))),
            col(SharedFrom.record_id).not_in(select(col(Warning.id))),
        )
    )


def held_by(db: Db, record_ids: Iterable[UUID]) -> dict[UUID, str]:
    """The team holding each of ``record_ids`` that this laptop holds through a share."""
    ids = list(record_ids)
    found: dict[UUID, str] = {}
    for start in range(0, len(ids), CHUNK):
        query = select(
            SharedFrom.record_id, SharedFrom.team
        ).where(  # type: ignore[call-overload]
            col(SharedFrom.record_id).in_(ids[start : start + CHUNK])
        )
        found.update({record_id: team for record_id, team in db.execute(query)})
    return found
