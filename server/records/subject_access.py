"""Subject access, part one: finding the person. A governance officer answering a subject
access request (UK GDPR article 15) names the person by id (repeatable: the same person may
have a record in each team's cases) or searches by name (normalised: case, accents,
punctuation and spacing do not matter) and date of birth; near misses are listed as possible
matches for the officer to include by id or not. The one owner of matching a person across
teams. Duplicate people are merged later (issue 14): :func:`people_of` is where a merged
person's other ids join the request.

Part two, gathering their record and writing the export, is :mod:`server.records.sar_export`;
the SAR log and due dates are :mod:`server.records.sar_log`.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from server.models import CaseScope
from server.models import Record as RecordRow
from server.records import shares
from server.records.erasure import cases_of_person
from server.records.governance import GovernanceError
from sync.records import RecordKind


class SubjectAccessError(GovernanceError):
    """A subject access request that cannot be answered as asked (``str`` is the message)."""


# ----------------------------------------------------------------------------- finding them


def normalised_name(name: str) -> str:
    """``"  Siân  O'Neill-Łukasz "`` -> ``"sian o neill lukasz"``: what a name matches on."""
    decomposed = unicodedata.normalize("NFKD", name.replace("ł", "l").replace("Ł", "L"))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[^\w]+", " ", bare).split())


@dataclass(frozen=True)
class PersonMatch:
    """A person record the search found: its id, name and date of birth, and its cases."""

    person_id: uuid.UUID
    name: str
    date_of_birth: str | None
    refs: tuple[str, ...]
    teams: tuple[str, ...]


@dataclass(frozen=True)
class Matches:
    exact: list[PersonMatch]
    possible: list[PersonMatch]


def find_people(session: Session, name: str, date_of_birth: date) -> Matches:
    """Person records whose normalised name and date of birth are both the ones given
    (``exact``), and near misses (``possible``): the same name with another or no date of
    birth, or the same date of birth and a name sharing its first or last word."""
    wanted = normalised_name(name)
    if not wanted:
        raise SubjectAccessError("Give the person's name (it is empty).")
    born = date_of_birth.isoformat()
    fields = RecordRow.__table__.c.fields  # type: ignore[attr-defined]
    rows = session.exec(
        select(
            RecordRow.record_id,
            fields["name"].as_string(),
            fields["date_of_birth"].as_string(),
        ).where(col(RecordRow.kind) == RecordKind.PERSON.value)
    ).all()
    words = set(wanted.split()[:1] + wanted.split()[-1:])
    exact: list[uuid.UUID] = []
    possible: list[uuid.UUID] = []
    found: dict[uuid.UUID, tuple[str, str | None]] = {}
    for record_id, their_name, their_birth in rows:
        theirs = normalised_name(their_name or "")
        found[record_id] = (their_name or "", their_birth)
        if theirs == wanted and their_birth == born:
            exact.append(record_id)
        elif theirs == wanted or (
            their_birth == born and words & set(theirs.split()[:1] + theirs.split()[-1:])
        ):
            possible.append(record_id)
    return Matches(
        [_match(session, pid, *found[pid]) for pid in exact],
        [_match(session, pid, *found[pid]) for pid in possible],
    )


def describe(session: Session, person_id: uuid.UUID) -> PersonMatch:
    """The person record ``person_id`` as a match (refused when there is none)."""
    row = session.exec(
        select(RecordRow).where(
            col(RecordRow.record_id) == person_id, col(RecordRow.kind) == RecordKind.PERSON.value
        )
    ).first()
    if row is None:
        moved = shares.redirects(session, [person_id]).get(person_id)
        if moved is not None:  # merged into another record of the same person since
            return describe(session, moved.kept_id)
        raise SubjectAccessError(
            f"No person on the service has the id {person_id}. Check it, or search by name "
            "and date of birth."
        )
    return _match(
        session, person_id, str(row.fields.get("name") or ""), row.fields.get("date_of_birth")
    )


def _match(session: Session, person_id: uuid.UUID, name: str, born: str | None) -> PersonMatch:
    scopes = scopes_of(session, cases_of_person(session, person_id))
    return PersonMatch(
        person_id,
        name,
        born,
        tuple(sorted(s.ref or str(s.case_id) for s in scopes)),
        tuple(sorted({s.team for s in scopes if s.team})),
    )


def people_of(session: Session, person_ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    """The person ids a request covers: the ones named, each merged-away id as the person
    it was merged into (whose record holds everything that was about them)."""
    named = set(person_ids)
    moved = shares.redirects(session, named)
    return sorted({moved[i].kept_id if i in moved else i for i in named})


def scopes_of(session: Session, case_ids: Collection[uuid.UUID]) -> list[CaseScope]:
    if not case_ids:
        return []
    return list(
        session.exec(select(CaseScope).where(col(CaseScope.case_id).in_(sorted(case_ids)))).all()
    )
