"""Realistic council cases, seeded and deterministic: what the sync benchmark (and the demo, if
it wants) seeds the service with, and the byte floor the sync's bytes are measured against.

Each case is about 1.5 KB as JSON: a person (name, date of birth, address with postcode,
phone, language, access needs), the case itself (reference, type, status, priority, a one- or
two-sentence summary, team, assigned worker, opened and review dates), one to three warnings,
three notes of 150-300 characters with author and time, and one planned visit. Every record
uses the field names of :mod:`sync.records` and passes :func:`sync.records.check_record`.

The same seed always gives the same cases (ids included), whatever the machine or the day:
dates are counted from ``today``, a fixed day unless given.

The byte floor (issue 11) is the zstd level 3 size of the cases as compact JSON lines, one
case per line with all its records (:func:`json_lines`, :func:`zstd_floor`).
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from server.compress import zstd
from sync.records import BUILTIN_CASE_TYPES, RecordKind

#: The day the generated dates are counted from when none is given (keeps the floor fixed).
ANCHOR = date(2026, 11, 2)
#: zstd level of the byte floor.
FLOOR_LEVEL = 3
#: The team and workers of the cases when none are given (the benchmark's, and the floor's).
TEAM = "Adult Social Care North"
WORKERS = ("ben.carter", "chloe.davies", "amira.khan")

_FIRST = (
    "Margaret", "Peter", "Joan", "Arthur", "Doris", "Kevin", "Aisha", "Tomasz", "Priya", "Sean",
    "Gwen", "Olu", "Rita", "Dennis", "Fatima", "Bernard", "Irene", "Stanley", "Nadia", "Colin",
    "Hazel", "Yusuf", "Maureen", "Declan", "Eileen", "Raj", "Beryl", "Kofi", "Sheila", "Ivan",
    "Wendy", "Gareth", "Siobhan", "Mohammed", "Lorraine", "Agnieszka", "Trevor", "Zainab",
    "Glenys", "Darren", "Ewa", "Nigel", "Bronwen", "Imran", "Pauline", "Callum",
)  # fmt: skip
_LAST = (
    "Thompson", "Evans", "Walsh", "Okafor", "Nowak", "Singh", "Roberts", "Lewis", "Murphy",
    "Jenkins", "Ahmed", "Price", "Morgan", "Kowalski", "Hughes", "Baker", "Doyle", "Begum",
    "Reid", "Fletcher", "Lloyd", "Mensah", "Powell", "Quinn", "Shaw", "Davies", "Williams",
    "Hussain", "Wiśniewska", "O'Brien", "Patel", "Griffiths", "Campbell", "Ellis", "Rahman",
)  # fmt: skip
_STREETS = (
    "Mill Lane", "Chapel Street", "The Green", "Station Road", "Church View", "Orchard Close",
    "Rectory Lane", "Quarry Road", "High Street", "Bridge Street", "Meadow Way", "Victoria Road",
    "Brook Lane", "Castle Terrace", "Hillside Crescent", "School Lane", "Park Avenue",
)  # fmt: skip
_PLACES = (
    ("Ashby", "AB"), ("Brynmor", "BM"), ("Little Haddon", "LH"), ("Westbury", "WB"),
    ("Oakfield", "OK"), ("Hexley", "HX"), ("Upper Marsh", "UM"), ("Penwyn", "PW"),
    ("Caldbeck", "CB"), ("Rhosfawr", "RH"),
)  # fmt: skip
_LANGUAGES = ("English",) * 6 + ("Welsh", "Polish", "Urdu", "Punjabi", "Romanian", "Arabic")
_ACCESS = (
    "", "", "", "Wheelchair user; ramp at the side door.", "Needs large print letters.",
    "Hard of hearing: face them when speaking.", "Prefers visits in the afternoon.",
    "Needs an interpreter for formal meetings.", "Uses a walking frame; allow time at the door.",
)  # fmt: skip
_SUMMARIES: dict[str, tuple[str, ...]] = {
    "adult_social_care": (
        "Care and support needs assessment after hospital discharge.",
        "Review of the home care package after a fall at home; family asking for more visits.",
        "Assessment of daily living needs; lives alone and is struggling with meals.",
    ),
    "carer_support": (
        "Carer's assessment: daughter caring full time, respite requested.",
        "Husband caring for his wife with dementia; asking about day centre places.",
    ),
    "occupational_therapy": (
        "Stair lift and bathroom adaptations assessment.",
        "Grab rails and a raised toilet seat requested after a hip replacement.",
    ),
    "safeguarding": (
        "Concern raised by the GP about possible financial abuse by a relative.",
        "Neighbour reported the person has not been seen for a week; welfare check made.",
    ),
    "housing_repair": (
        "Damp and mould in the bedroom; tenant reports it is getting worse.",
        "Leaking roof over the kitchen. Temporary repair done, full repair to be scheduled.",
        "Boiler fails most mornings; elderly tenant without heating or hot water.",
    ),
    "environmental_health": (
        "Noise complaint from neighbours about repeated late-night parties.",
        "Accumulation of rubbish in the rear garden attracting rats.",
    ),
}
_OPENINGS = (
    "Visited at home", "Phoned the client", "Spoke with the daughter", "Called the GP surgery",
    "Met at the day centre", "Home visit with the occupational therapist", "Rang the landlord",
    "Joint visit with the district nurse", "Spoke with the neighbour", "Text from the son",
)  # fmt: skip
_MIDDLES = (
    "discussed the support plan and what has changed since the last review",
    "they said mornings are the hardest, especially getting washed and dressed",
    "the kitchen was cold and the heating had not worked for two days",
    "medication is now in a blister pack and is being taken as prescribed",
    "agreed that a referral for a falls assessment would help",
    "the family can cover weekends but not weekday evenings",
    "the contractor has been booked and access is confirmed for the mornings",
    "no new concerns were raised and the house was warm and tidy",
    "they asked about help with the cost of the adaptations",
    "the carer is tired and would welcome a break of a few days",
)  # fmt: skip
_ENDINGS = (
    "Next step: review in two weeks.", "Letter to follow by post.",
    "Will chase the referral on Monday.", "Manager informed.", "No further action today.",
    "Follow-up visit booked.", "Sent the outcome letter.", "Updated the risk assessment.",
)  # fmt: skip
_WARNINGS = (
    ("Dog on premises: ask for it to be shut away before entering.", "risk"),
    ("Lone-worker risk: visit in pairs.", "risk"),
    ("Verbal aggression towards staff reported in 2025.", "risk"),
    ("Hard of hearing: knock loudly and wait.", "access"),
    ("Key safe by the back door; code held by the team manager.", "access"),
    ("Steep unlit steps to the front door.", "access"),
    ("Oxygen in use: no smoking or naked flames.", "health"),
    ("Infection control: wear gloves and an apron.", "health"),
    ("Neighbour must not be told about this case.", "other"),
)
_VISITS = (
    "Home visit", "Review visit", "Assessment visit", "Joint visit with the OT",
    "Check the repair work", "Welfare check",
)  # fmt: skip
_STATUSES = ("open", "open", "open", "in_progress", "in_progress", "waiting", "closed")
_PRIORITIES = ("low", "normal", "normal", "normal", "high", "urgent")
_DIALLING = ("07700 9", "01632 9", "01184 9")
_CONTACTS = ("phone", "phone", "visit", "letter", "email")


@dataclass(frozen=True)
class Record:
    """One generated record: its kind, id and fields (wire values)."""

    kind: RecordKind
    record_id: uuid.UUID
    fields: dict[str, Any]


@dataclass(frozen=True)
class CaseBundle:
    """One generated case with every record that belongs to it."""

    case_id: uuid.UUID
    person: Record
    case: Record
    warnings: tuple[Record, ...]
    notes: tuple[Record, ...]
    visits: tuple[Record, ...]

    def records(self) -> list[Record]:
        """Person first (the case refers to it), then the case and the rest."""
        return [self.person, self.case, *self.warnings, *self.notes, *self.visits]

    def seed_rows(self) -> list[tuple[RecordKind, uuid.UUID, uuid.UUID, dict[str, Any]]]:
        """Rows for :func:`server.records.seeding.bulk_insert`."""
        return [(r.kind, r.record_id, self.case_id, r.fields) for r in self.records()]

    def line(self) -> dict[str, Any]:
        """The case as one JSON line: each record's id beside its fields."""

        def one(record: Record) -> dict[str, Any]:
            return {"id": str(record.record_id), **record.fields}

        return {
            "case": one(self.case),
            "person": one(self.person),
            "warnings": [one(r) for r in self.warnings],
            "notes": [one(r) for r in self.notes],
            "visits": [one(r) for r in self.visits],
        }


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _at(day: date, rng: random.Random) -> str:
    moment = time(rng.randint(8, 17), rng.choice((0, 5, 10, 15, 20, 30, 40, 45, 50)))
    return datetime.combine(day, moment, tzinfo=UTC).isoformat()


def _postcode(rng: random.Random, area: str) -> str:
    letters = "ABDEFGHJLNPQRSTUWXYZ"
    inward = f"{rng.randint(1, 9)}{rng.choice(letters)}{rng.choice(letters)}"
    return f"{area}{rng.randint(1, 19)} {inward}"


def _note_text(rng: random.Random) -> str:
    """150 to 300 characters of a caseworker's note."""
    text = f"{rng.choice(_OPENINGS)}: {rng.choice(_MIDDLES)}."
    extras = rng.sample(_MIDDLES, len(_MIDDLES))
    while len(text) < 150 and extras:
        extra = extras.pop()
        if extra not in text:
            text += f" {extra[0].upper()}{extra[1:]}."
    ending = f" {rng.choice(_ENDINGS)}"
    if (len(text) < 150 or rng.random() < 0.4) and len(text) + len(ending) <= 300:
        text += ending
    return text[:300]


class _Maker:
    """Draws one case after another from one seeded generator."""

    def __init__(self, seed: int, team: str, workers: Sequence[str], today: date) -> None:
        self.rng = random.Random(seed)
        self.team = team
        self.workers = tuple(workers)
        self.today = today
        self.types = tuple(BUILTIN_CASE_TYPES)

    def person(self) -> Record:
        rng = self.rng
        town, area = rng.choice(_PLACES)
        born = self.today - timedelta(days=rng.randint(18 * 365, 97 * 365))
        return Record(
            RecordKind.PERSON,
            _uuid(rng),
            {
                "name": f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",
                "date_of_birth": born.isoformat(),
                "address": f"{rng.randint(1, 180)} {rng.choice(_STREETS)}, {town}, "
                f"{_postcode(rng, area)}",
                "phone": f"{rng.choice(_DIALLING)}{rng.randint(0, 99999):05d}",
                "preferred_contact": rng.choice(_CONTACTS),
                "language": rng.choice(_LANGUAGES),
                "access_needs": rng.choice(_ACCESS),
            },
        )

    def bundle(self, number: int, year: int) -> CaseBundle:
        rng = self.rng
        case_id = _uuid(rng)
        person = self.person()
        worker = rng.choice(self.workers)
        kind = rng.choice(self.types)
        opened = self.today - timedelta(days=rng.randint(3, 600))
        status = rng.choice(_STATUSES)
        case = Record(
            RecordKind.CASE,
            case_id,
            {
                "ref": f"FC-{year}-{number:05d}",
                "type": kind,
                "status": status,
                "priority": rng.choice(_PRIORITIES),
                "summary": rng.choice(_SUMMARIES[kind]),
                "team": self.team,
                "assigned_to": worker,
                "next_review": (self.today + timedelta(days=rng.randint(1, 90))).isoformat(),
                "opened_on": opened.isoformat(),
                "closed_on": (
                    (self.today - timedelta(days=rng.randint(0, 2))).isoformat()
                    if status == "closed"
                    else None
                ),
                "person_id": str(person.record_id),
            },
        )
        added = _at(opened, rng)
        warnings = tuple(
            Record(
                RecordKind.WARNING,
                _uuid(rng),
                {
                    "person_id": str(person.record_id),
                    "text": text,
                    "category": category,
                    "active": rng.random() > 0.1,
                    "added_by": worker,
                    "added_at": added,
                },
            )
            for text, category in rng.sample(_WARNINGS, rng.choice((1, 1, 1, 2, 2, 3)))
        )
        days = sorted(rng.randint(0, (self.today - opened).days) for _ in range(3))
        notes = tuple(
            Record(
                RecordKind.NOTE,
                _uuid(rng),
                {
                    "text": _note_text(rng),
                    "author": rng.choice((worker, worker, *self.workers)),
                    "written_at": _at(opened + timedelta(days=day), rng),
                    "corrects": None,
                },
            )
            for day in days
        )
        visit = Record(
            RecordKind.VISIT,
            _uuid(rng),
            {
                "title": rng.choice(_VISITS),
                "kind": "visit",
                "due": _at(self.today + timedelta(days=rng.randint(1, 30)), rng),
                "place": person.fields["address"],
                "status": "planned",
                "done_at": None,
            },
        )
        return CaseBundle(case_id, person, case, warnings, notes, (visit,))


def cases(
    count: int,
    *,
    seed: int = 0,
    team: str = TEAM,
    workers: Sequence[str] = WORKERS,
    today: date = ANCHOR,
    first_ref: int = 1,
) -> Iterator[CaseBundle]:
    """``count`` cases of ``team``, each assigned to one of ``workers``; references count up
    from ``first_ref`` in ``today``'s year. The same arguments always give the same cases."""
    if not workers:
        raise ValueError("at least one worker is needed")
    maker = _Maker(seed, team, workers, today)
    for n in range(count):
        yield maker.bundle(first_ref + n, today.year)


def json_lines(bundles: Iterable[CaseBundle]) -> Iterator[bytes]:
    """Each case as one compact JSON line (``separators=(",", ":")``), newline included."""
    for bundle in bundles:
        yield json.dumps(bundle.line(), separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def zstd_floor(bundles: Iterable[CaseBundle], level: int = FLOOR_LEVEL) -> tuple[int, int]:
    """(JSON lines bytes, their zstd size at ``level``): the byte floor of a sync of these
    cases. Compressed in one go, as ``zstd -3 cases.jsonl`` does (within a few hundred bytes:
    10,000 cases of seed 0 give 3,514,511 bytes here and 3,514,219 from the command line)."""
    text = b"".join(json_lines(bundles))
    return len(text), len(zstd.compress(text, level=level))
