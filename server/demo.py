"""A realistic demo council: three teams, eight workers, a few hundred people and cases.

Deterministic (a seeded random generator; dates relative to today) and idempotent: a second
run finds the marker it left and only prints the sign-ins again. Every demo account uses the
password :data:`DEMO_PASSWORD`.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine, text
from sqlmodel import Session

from server import audit, crud
from server.audit import AuditEvent
from server.core.config import Settings
from server.core.db import unit_of_work
from server.models import RefCounter, ServerSetting
from server.records.seeding import bulk_insert
from sync.clock import Clock
from sync.records import RecordKind, external_label

DEMO_PASSWORD = "fieldcase-demo"  # noqa: S105 (printed for the demo on purpose)
MARKER = "demo_seeded"

#: team -> (case types, [(user, role)])
TEAMS: dict[str, tuple[tuple[str, ...], list[tuple[str, str]]]] = {
    "Adult Social Care North": (
        ("adult_social_care", "carer_support", "occupational_therapy", "safeguarding"),
        [("amira.khan", "manager"), ("ben.carter", "caseworker"), ("chloe.davies", "caseworker")],
    ),
    "Housing Repairs": (
        ("housing_repair",),
        [("dev.patel", "manager"), ("ellen.hughes", "caseworker"), ("femi.adeyemi", "caseworker")],
    ),
    "Environmental Health": (
        ("environmental_health",),
        [("grace.oconnor", "caseworker"), ("harry.wilson", "caseworker")],
    ),
}
CASES_PER_TEAM = {
    "Adult Social Care North": 140,
    "Housing Repairs": 100,
    "Environmental Health": 60,
}

FIRST = [
    "Margaret",
    "Peter",
    "Joan",
    "Arthur",
    "Doris",
    "Kevin",
    "Aisha",
    "Tomasz",
    "Priya",
    "Sean",
    "Gwen",
    "Olu",
    "Rita",
    "Dennis",
    "Fatima",
    "Bernard",
    "Irene",
    "Stanley",
    "Nadia",
    "Colin",
    "Hazel",
    "Yusuf",
    "Maureen",
    "Declan",
    "Eileen",
    "Raj",
    "Beryl",
    "Kofi",
    "Sheila",
    "Ivan",
]
LAST = [
    "Thompson",
    "Evans",
    "Walsh",
    "Okafor",
    "Nowak",
    "Singh",
    "Roberts",
    "Lewis",
    "Murphy",
    "Jenkins",
    "Ahmed",
    "Price",
    "Morgan",
    "Kowalski",
    "Hughes",
    "Baker",
    "Doyle",
    "Begum",
    "Reid",
    "Fletcher",
    "Lloyd",
    "Mensah",
    "Powell",
    "Quinn",
    "Shaw",
]
STREETS = (
    "Mill Lane, Ashby",
    "Chapel Street, Brynmor",
    "The Green, Little Haddon",
    "Station Road, Westbury",
    "Church View, Oakfield",
    "Orchard Close, Hexley",
    "Rectory Lane, Upper Marsh",
    "Quarry Road, Penwyn",
)
SUMMARIES = {
    "adult_social_care": "Care and support needs assessment after hospital discharge",
    "carer_support": "Carer's assessment: daughter caring full time, respite requested",
    "occupational_therapy": "Stair lift and bathroom adaptations assessment",
    "safeguarding": "Concern raised by GP about possible financial abuse",
    "housing_repair": "Damp and mould in bedroom, tenant reports worsening",
    "environmental_health": "Noise complaint from neighbours, repeated late-night parties",
}
NOTES = (
    "Phoned to arrange a visit; left a voicemail.",
    "Visited at home. Discussed needs and next steps; agreed to review in two weeks.",
    "Spoke with the GP surgery; letter to follow.",
    "Contractor booked; tenant confirmed access in the mornings.",
    "Family member present at the visit and supportive of the plan.",
    "Sent the assessment outcome letter by post.",
)
WARNINGS = (
    ("Dog on premises", "risk"),
    ("Lone-worker risk: visit in pairs", "risk"),
    ("Hard of hearing: knock loudly and wait", "access"),
    ("Key safe by the back door; code with the team manager", "access"),
    ("Oxygen in use: no smoking or naked flames", "health"),
)
LANGUAGES = ("English", "English", "English", "Welsh", "Polish", "Urdu", "Punjabi")


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _at(day: date, hour: int, minute: int = 0) -> str:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC).isoformat()


def _hour(rng: random.Random, offset: int, later_today: int) -> int:
    """A visit's hour: in working hours, and for one today no earlier than ``later_today``
    (up to 22:00)."""
    hour = rng.choice((9, 10, 11, 13, 14, 15))
    if offset == 0 and later_today:
        return min(22, max(hour, later_today + (hour - 9) // 2))
    return hour


def generate_cases(
    rng: random.Random,
    team: str,
    workers: list[str],
    case_types: tuple[str, ...],
    count: int,
    first_ref: int,
    today: date,
    later_today: int = 0,
) -> Iterator[tuple[RecordKind, uuid.UUID, uuid.UUID, dict[str, Any]]]:
    """Rows for :func:`server.records.seeding.bulk_insert`: each case with its person, notes,
    visits and (sometimes) warnings. ``later_today``: the first whole hour (UTC) still to come
    today, so today's visits are still to come when the demo is seeded in the afternoon."""
    for i in range(count):
        case_id, person_id = _uuid(rng), _uuid(rng)
        worker = workers[i % len(workers)]
        kind = case_types[i % len(case_types)]
        opened = today - timedelta(days=rng.randint(3, 400))
        status = rng.choice(("open", "open", "in_progress", "in_progress", "waiting", "closed"))
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        yield (
            RecordKind.PERSON,
            person_id,
            case_id,
            {
                "name": name,
                "date_of_birth": (
                    today - timedelta(days=rng.randint(20 * 365, 95 * 365))
                ).isoformat(),
                "address": f"{rng.randint(1, 120)} {rng.choice(STREETS)}",
                "phone": f"07700 9{rng.randint(0, 99999):05d}",
                "preferred_contact": rng.choice(("phone", "visit", "letter", "email")),
                "language": rng.choice(LANGUAGES),
                "access_needs": rng.choice(("", "", "Wheelchair user", "Needs large print")),
            },
        )
        yield (
            RecordKind.CASE,
            case_id,
            case_id,
            {
                "ref": f"FC-{today.year}-{first_ref + i:05d}",
                "type": kind,
                "status": status,
                "priority": rng.choice(("low", "normal", "normal", "high", "urgent")),
                "summary": SUMMARIES[kind],
                "team": team,
                "assigned_to": worker,
                "next_review": (today + timedelta(days=rng.randint(-10, 60))).isoformat(),
                "opened_on": opened.isoformat(),
                "closed_on": (today - timedelta(days=rng.randint(0, 3))).isoformat()
                if status == "closed"
                else None,
                "person_id": str(person_id),
            },
        )
        for n in range(rng.randint(1, 4)):
            day = opened + timedelta(days=3 * n + 1)
            yield (
                RecordKind.NOTE,
                _uuid(rng),
                case_id,
                {
                    "text": rng.choice(NOTES),
                    "author": worker,
                    "written_at": _at(min(day, today), rng.randint(9, 16), rng.choice((0, 15, 30))),
                    "corrects": None,
                },
            )
        if status != "closed":
            offset = rng.choice((0, 0, -1, -3, 1, 2, 5, 9, 14))  # today, overdue, coming up
            due = today + timedelta(days=offset)
            yield (
                RecordKind.VISIT,
                _uuid(rng),
                case_id,
                {
                    "title": "Home visit" if offset != 2 else "Phone review",
                    "kind": "visit" if offset != 2 else "task",
                    "due": _at(due, _hour(rng, offset, later_today), rng.choice((0, 30))),
                    "place": "Home address",
                    "status": "planned",
                    "done_at": None,
                },
            )
        if rng.random() < 0.25:
            text_, category = rng.choice(WARNINGS)
            yield (
                RecordKind.WARNING,
                _uuid(rng),
                case_id,
                {
                    "person_id": str(person_id),
                    "text": text_,
                    "category": category,
                    "active": True,
                    "added_by": worker,
                    "added_at": _at(opened, 10),
                },
            )


#: (the first name in one system, the same person's first name in another)
RECORDED_TWICE = (("Margaret", "Peggy"), ("Peter", "Pete"), ("Arthur", "Artur"))


def recorded_twice(
    rng: random.Random,
    rows: list[tuple[RecordKind, uuid.UUID, uuid.UUID, dict[str, Any]]],
    team: str,
    worker: str,
    first_ref: int,
    today: date,
) -> list[tuple[RecordKind, uuid.UUID, uuid.UUID, dict[str, Any]]]:
    """People of ``rows`` (another team's) recorded again by ``team``'s predecessor system,
    its own way: a short first name or a typo, the day and month of birth swapped, the street
    abbreviated. The demo's possible duplicates."""
    made: list[tuple[RecordKind, uuid.UUID, uuid.UUID, dict[str, Any]]] = []
    people = [r for r in rows if r[0] == RecordKind.PERSON]
    for first, other in RECORDED_TWICE:
        found = next((r for r in people if r[3]["name"].startswith(first + " ")), None)
        if found is None:
            continue
        fields = dict(found[3])
        fields["external_ids"] = external_label(
            "north_dorset_liquidlogic", f"P-{rng.randint(10_000, 99_999)}"
        )
        born = date.fromisoformat(fields["date_of_birth"])
        if born.day <= 12 and born.day != born.month:
            born = date(born.year, born.day, born.month)
        fields["date_of_birth"] = born.isoformat()
        fields["name"] = other + fields["name"][len(first) :]
        fields["address"] = fields["address"].replace(" Lane", " Ln").replace(" Road", " Rd")
        case_id, person_id = _uuid(rng), _uuid(rng)
        number = first_ref + len(made) // 2
        made.append((RecordKind.PERSON, person_id, case_id, fields))
        made.append(
            (
                RecordKind.CASE,
                case_id,
                case_id,
                {
                    "ref": f"FC-{today.year}-{number:05d}",
                    "type": "housing_repair",
                    "status": "open",
                    "priority": "normal",
                    "summary": SUMMARIES["housing_repair"],
                    "team": team,
                    "assigned_to": worker,
                    "next_review": (today + timedelta(days=14)).isoformat(),
                    "opened_on": (today - timedelta(days=30)).isoformat(),
                    "closed_on": None,
                    "person_id": str(person_id),
                },
            )
        )
    return made


def queue_duplicates(session: Session, clock: Clock) -> int:
    """Score the demo's people for duplicates and queue the likely pairs (needs the
    ``linkage`` extra, which ``make run`` installs; without it the queue stays empty)."""
    try:
        from server.linkage import queue
        from server.linkage.find import LinkageUnavailable, find_pairs
        from server.linkage.people import read_people

        pairs = find_pairs(list(read_people(session)))
    except LinkageUnavailable:
        return 0
    queue.queue(session, pairs, at=clock.now(), by="demo")
    return len(pairs)


def reserve_refs_upto(session: Session, year: int, last_used: int) -> None:
    """Keep laptops' reference blocks clear of numbers the seed used."""
    session.execute(
        text(
            "INSERT INTO ref_counter (year, next_number) VALUES (:y, 1) "
            "ON CONFLICT (year) DO NOTHING"
        ),
        {"y": year},
    )
    counter = session.get(RefCounter, year)
    assert counter is not None
    if counter.next_number <= last_used:
        counter.next_number = last_used + 1
        session.add(counter)


def seed(engine: Engine, settings: Settings, clock: Clock) -> bool:
    """Seed the demo council once (one unit of work). Returns False when it was already
    there."""
    with unit_of_work(engine) as session:
        if session.get(ServerSetting, MARKER) is not None:
            return False
        rng = random.Random(2026)
        now = clock.now()
        today = now.date()
        next_ref = 1
        first_team: list[tuple[RecordKind, uuid.UUID, uuid.UUID, dict[str, Any]]] = []
        for team, (case_types, people) in TEAMS.items():
            if crud.get_team(session, team) is None:
                crud.add_team(session, team, clock=clock)
            for username, role in people:
                if crud.get_user(session, username) is None:
                    crud.add_user(
                        session, settings, username, team, role, DEMO_PASSWORD, clock=clock
                    )
            workers = [u for u, r in people if r == "caseworker"] or [people[0][0]]
            count = CASES_PER_TEAM[team]
            rows = list(
                generate_cases(rng, team, workers, case_types, count, next_ref, today, now.hour + 1)
            )
            if not first_team:  # brought in from the old council's system, with its ids
                for kind, _id, _case, fields in rows:
                    if kind == RecordKind.PERSON:
                        number = f"C{rng.randint(1, 9_999_999):07d}"
                        fields["external_ids"] = external_label("west_dorset_carefirst", number)
            if team == "Housing Repairs":
                twice = recorded_twice(rng, first_team, team, workers[0], next_ref + count, today)
                rows += twice
                count += len(twice) // 2
            first_team = first_team or rows
            bulk_insert(session, rows, by="demo", clock=clock)
            next_ref += count
        if crud.get_user(session, "it.admin") is None:
            crud.add_user(
                session,
                settings,
                "it.admin",
                "Adult Social Care North",
                "admin",
                DEMO_PASSWORD,
                clock=clock,
            )
        reserve_refs_upto(session, today.year, next_ref - 1)
        session.flush()
        queue_duplicates(session, clock)
        session.add(ServerSetting(key=MARKER, value=now.isoformat()))
        audit.append(
            session,
            [AuditEvent("demo_seeded", actor="demo", detail={"cases": next_ref - 1})],
            at=now,
        )
    return True


def seed_and_print(engine: Engine, settings: Settings, clock: Clock) -> None:
    created = seed(engine, settings, clock)
    print("Demo council ready." if created else "The demo council was already there.")
    print(f"Every demo account's password: {DEMO_PASSWORD}")
    print(f"{'user':<16} {'role':<11} team")
    for team, (_types, people) in TEAMS.items():
        for username, role in people:
            print(f"{username:<16} {role:<11} {team}")
    print(f"{'it.admin':<16} {'admin':<11} Adult Social Care North")
