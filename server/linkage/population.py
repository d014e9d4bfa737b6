"""A made-up population recorded by two or three predecessor councils' systems, each in its own
way, with the truth of who is who: the evaluation data of ``duplicates find`` (issue 14).

Seeded, so the same seed always makes the same people. Of the people, 30% are in two or more
systems. Each system's record of a person is a copy of the truth with the differences real
exports have: a typo in 10% of names, a short form of the first name in 10% ("Bob" for
"Robert"), the day and month of birth swapped in 5%, an old address in 15% of second records,
no phone in 30%, street words abbreviated ("Ln") in some. The hard non-matches: 5% of people
are relatives living with someone already made (same surname and address, another first name
and date of birth), and 2% share their whole name with someone already made but not their
date of birth.

Each system writes its own export: its own column names, date format and file encoding, with
a mapping file for ``fieldcase-server admin import`` (:func:`write_exports`).
"""

from __future__ import annotations

import csv
import random
import string
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from itertools import combinations
from pathlib import Path

from server.linkage.names import NICKNAMES, STREET_WORDS
from server.linkage.people import PersonRow


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES: tuple[str, ...] = (
    *(name.title() for name in NICKNAMES),
    *_words(
        """Aaron Adam Adrian Agnes Aidan Alan Alice Alison Amanda Amelia Amy Angela Anita Ann Anna
    Annie Audrey Barry Beatrice Bethan Beverley Brenda Brian Bryn Callum Carl Carol Caroline
    Ceri Chloe Claire Clive Colin Craig Dafydd Darren Dawn Dean Denise Derek Diana Diane Dylan
    Eileen Elaine Eleri Ellis Emily Emma Eric Ethan Evan Fiona Gail Gareth Gavin Gemma Geoffrey
    Georgia Gillian Glenys Gordon Graham Gwen Gwyneth Hannah Hazel Heather Helen Hilary Holly
    Hugh Huw Ian Irene Iris Isaac Isla Ivor Jane Janet Janice Jason Jean Joan Joanne Joyce Julia
    Julie June Karen Keith Kelly Kevin Kirsty Lara Laura Lauren Leah Lee Lesley Lewis Lily Linda
    Lisa Lloyd Lorna Louise Lucy Luke Lynne Maisie Marcus Marian Marion Mark Martin Mary Maureen
    Megan Melanie Mia Mohammed Molly Muriel Nadia Naomi Neil Nia Nigel Noah Norma Norman Olive
    Oliver Olivia Owain Paul Pauline Pearl Penny Priya Rachel Rhian Rhys Rita Roger Rose Ruby
    Russell Ruth Ryan Sally Sandra Sarah Scott Sean Sharon Sheila Shirley Sian Simon Sophie
    Stuart Sylvia Tanya Teresa Tracey Trevor Valerie Vanessa Vera Wayne Wendy Yvonne Zara
    Zoe"""
    ),
)
SURNAMES: tuple[str, ...] = _words(
    """Abbott Adams Ahmed Allen Anderson Andrews Armstrong Ashworth Atkinson Bailey Baker
    Ball Banks Barker Barnes Barrett Bates Bell Bennett Berry Bevan Bird Bishop Black Bolton
    Booth Bowen Bradley Brooks Brown Bryant Bull Burgess Burns Burton Butler Campbell Carter
    Chambers Chapman Clark Clarke Cole Coleman Collins Cook Cooper Cox Crawford Cross Cunningham
    Dale Davey Davies Dawson Day Dean Dixon Dobson Doyle Duncan Dunn Edwards Elliott Ellis Evans
    Farmer Fisher Fleming Fletcher Ford Foster Fowler Fox Francis Fraser Freeman Fuller Gardner
    George Gibbs Gibson Gilbert Gill Goodwin Gordon Graham Grant Gray Green Griffiths Hall
    Hamilton Hardy Harris Harrison Hart Harvey Hawkins Hayes Henderson Hill Hobbs Holland Holmes
    Hood Hopkins Howard Howell Hudson Hughes Hunt Hunter Hussain Jackson James Jenkins Johnson
    Johnston Jones Jordan Kaur Kelly Kennedy Khan King Knight Lamb Lambert Lane Lawrence Lawson
    Lee Lewis Lloyd Long Lowe Lucas Marsh Marshall Martin Mason Matthews May McDonald Meredith
    Miles Miller Mills Mitchell Moore Morgan Morris Moss Murphy Murray Nash Newman Newton
    Nicholls Norris Owen Owens Page Palmer Parker Parry Patel Payne Pearce Pearson Perry
    Phillips Pike Poole Porter Potter Powell Preece Price Pritchard Pugh Quinn Rees Reid
    Reynolds Richards Richardson Roberts Robinson Rogers Rose Ross Rowe Russell Ryan Saunders
    Scott Sharp Shaw Simpson Singh Skinner Slater Smith Spencer Stevens Stewart Stone Sutton
    Taylor Thomas Thompson Thomson Tucker Turner Vaughan Walker Wallace Walsh Ward Watkins
    Watson Watts Webb Wells West White Whitehouse Wilkinson Williams Willis Wilson Wood Woods
    Wright Yates Young"""
)
STREETS: tuple[str, ...] = tuple(
    f"{name} {kind}"
    for name in _words(
        "Mill Church Station High Park Bridge Castle Chapel Market Queen King Victoria North "
        "South West East Orchard Meadow Oak Elm Ash Willow Cedar Rowan Beech Holly Bank Brook "
        "Green Hill Manor School Spring Well Water Windmill Abbey Albert Alexandra"
    )
    for kind in ("Lane", "Road", "Street", "Avenue", "Close", "Crescent", "Drive", "Gardens")
)
TOWNS: dict[str, str] = {
    "Dorchester": "DT1",
    "Weymouth": "DT4",
    "Bridport": "DT6",
    "Sherborne": "DT9",
    "Blandford": "DT11",
    "Yeovil": "BA20",
    "Shaftesbury": "SP7",
    "Wimborne": "BH21",
}
#: The chance a record of someone whose first name has a short form uses it: 10% of all
#: records, though only some names have one.
NICKNAME_CHANCE = 0.10 * len(FIRST_NAMES) / sum(name.lower() in NICKNAMES for name in FIRST_NAMES)
ABBREVIATION: dict[str, str] = {whole: short for short, whole in STREET_WORDS.items()}


@dataclass(frozen=True)
class Home:
    house: int
    street: str
    town: str
    postcode: str


@dataclass(frozen=True)
class Person:
    """One real person (the truth) or one system's record of them."""

    key: int  # who they really are
    first: str
    surname: str
    born: date
    home: Home
    phone: str


@dataclass(frozen=True)
class Entry:
    """One system's record of a person: its own id for them and what it says."""

    source: str
    external_id: str
    person: Person

    @property
    def label(self) -> str:
        return f"{self.source}:{self.external_id}"


@dataclass(frozen=True)
class System:
    """A predecessor system: its name, its export's columns, date format and encoding."""

    source: str
    id_prefix: str
    date_format: str
    encoding: str
    split_name: bool  # forename and surname in two columns, or the whole name in one


SYSTEMS: tuple[System, ...] = (
    System("west_dorset_carefirst", "WD", "%d/%m/%Y", "utf-8", split_name=True),
    System("north_dorset_liquidlogic", "ND", "%Y-%m-%d", "cp1252", split_name=False),
    System("purbeck_paris", "PB", "%d-%b-%Y", "utf-8", split_name=True),
)


@dataclass
class Population:
    people: list[Person]
    entries: list[Entry]

    def true_pairs(self) -> set[frozenset[str]]:
        """Every pair of entries (as ``source:id`` labels) that are the same real person."""
        by_key: dict[int, list[str]] = {}
        for entry in self.entries:
            by_key.setdefault(entry.person.key, []).append(entry.label)
        return {
            frozenset(pair)
            for labels in by_key.values()
            for pair in combinations(sorted(labels), 2)
        }

    def person_rows(self) -> Iterator[PersonRow]:
        """Each entry as the person record the import makes of it (the mappings'
        templates: "{Forename} {Surname}", "{Address}, {Town}, {Postcode}"), with its
        entry's label as its id and external id."""
        for entry in self.entries:
            person = entry.person
            yield PersonRow(
                person_id=entry.label,
                name=f"{person.first} {person.surname}",
                date_of_birth=person.born.isoformat(),
                address=_address(person.home),
                phone=person.phone,
                external_ids=(entry.label,),
            )


def _address(home: Home) -> str:
    return f"{home.house} {home.street}, {home.town}, {home.postcode}"


class _Maker:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def home(self) -> Home:
        town = self.rng.choice(list(TOWNS))
        sector = f"{self.rng.randint(1, 9)}{self.rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
        sector += self.rng.choice("ABDEFGHJLNPQRSTUWXYZ")
        return Home(
            self.rng.randint(1, 180), self.rng.choice(STREETS), town, f"{TOWNS[town]} {sector}"
        )

    def born(self) -> date:
        return date(1925, 1, 1) + timedelta(days=self.rng.randint(0, 365 * 95))

    def phone(self) -> str:
        if self.rng.random() < 0.5:
            return f"07{self.rng.randint(100, 999)} {self.rng.randint(100000, 999999)}"
        return f"01305 {self.rng.randint(100000, 999999)}"

    def person(self, key: int, made: list[Person]) -> Person:
        draw = self.rng.random()
        if made and draw < 0.05:  # a relative living with someone already made
            kin = self.rng.choice(made)
            first = self.rng.choice([n for n in FIRST_NAMES if n != kin.first])
            phone = kin.phone if self.rng.random() < 0.5 else self.phone()  # a shared landline
            return Person(key, first, kin.surname, self.born(), kin.home, phone)
        if made and draw < 0.07:  # the same name as someone else, born on another day
            twin = self.rng.choice(made)
            return Person(key, twin.first, twin.surname, self.born(), self.home(), self.phone())
        first, surname = self.rng.choice(FIRST_NAMES), self.rng.choice(SURNAMES)
        return Person(key, first, surname, self.born(), self.home(), self.phone())

    def typo(self, word: str) -> str:
        at = self.rng.randrange(len(word))
        how = self.rng.choice(("swap", "drop", "change", "double"))
        if how == "swap" and at + 1 < len(word):
            return word[:at] + word[at + 1] + word[at] + word[at + 2 :]
        if how == "drop" and len(word) > 3:
            return word[:at] + word[at + 1 :]
        if how == "double":
            return word[: at + 1] + word[at] + word[at + 1 :]
        letter = self.rng.choice(string.ascii_lowercase)
        return (
            (word[:at] + letter + word[at + 1 :]).title()
            if at == 0
            else (word[:at] + letter + word[at + 1 :])
        )

    def mistyped(self, born: date) -> date:
        """``born`` with one digit of its day or year changed."""
        for _ in range(10):
            try:
                if self.rng.random() < 0.5:
                    day = born.day // 10 * 10 + self.rng.randint(0, 9)
                    other = date(born.year, born.month, day)
                else:
                    other = date(
                        born.year // 10 * 10 + self.rng.randint(0, 9), born.month, born.day
                    )
            except ValueError:
                continue
            if other != born:
                return other
        return born

    def recorded(self, truth: Person, *, later: bool) -> Person:
        """How one system recorded ``truth`` (``later``: not the first system to)."""
        rng, person = self.rng, truth
        if rng.random() < 0.10:
            if rng.random() < 0.5:
                person = replace(person, first=self.typo(person.first))
            else:
                person = replace(person, surname=self.typo(person.surname))
        shorts = NICKNAMES.get(person.first.lower())
        if shorts and rng.random() < NICKNAME_CHANCE:  # 10% of all records
            person = replace(person, first=rng.choice(shorts).title())
        day, month = person.born.day, person.born.month
        if day <= 12 and day != month and rng.random() < 0.135:  # about 5% of all records
            person = replace(person, born=date(person.born.year, day, month))
        if rng.random() < 0.02:  # one digit of the date of birth mistyped
            person = replace(person, born=self.mistyped(person.born))
        if later and rng.random() < 0.15:  # moved since (and half the time a new phone)
            person = replace(person, home=self.home())
            if rng.random() < 0.5:
                person = replace(person, phone=self.phone())
        if rng.random() < 0.2:
            words = person.home.street.split()
            words[-1] = ABBREVIATION.get(words[-1].lower(), words[-1].lower()).title()
            person = replace(person, home=replace(person.home, street=" ".join(words)))
        if rng.random() < 0.03:  # the postcode's last letter mistyped
            home = person.home
            letter = rng.choice([c for c in "ABDEFGHJLNPQRSTUWXYZ" if c != home.postcode[-1]])
            person = replace(person, home=replace(home, postcode=home.postcode[:-1] + letter))
        if rng.random() < 0.30:
            person = replace(person, phone="")
        return person


def make_population(people: int, *, seed: int = 14, systems: int = 3) -> Population:
    """``people`` made-up people, each recorded by one or more of the first ``systems`` of
    :data:`SYSTEMS` (30% by two or more)."""
    maker = _Maker(seed)
    made: list[Person] = []
    entries: list[Entry] = []
    counters = [0] * systems
    for key in range(people):
        truth = maker.person(key, made)
        made.append(truth)
        count = (
            1 if maker.rng.random() >= 0.30 else (2 if systems < 3 else maker.rng.choice((2, 2, 3)))
        )
        chosen = sorted(maker.rng.sample(range(systems), min(count, systems)))
        for order, which in enumerate(chosen):
            system = SYSTEMS[which]
            counters[which] += 1
            entries.append(
                Entry(
                    system.source,
                    f"{system.id_prefix}{counters[which]:07d}",
                    maker.recorded(truth, later=order > 0),
                )
            )
    return Population(made, entries)


HEADERS: dict[bool, list[str]] = {
    True: ["Client ID", "Referral ID", "Forename", "Surname", "DOB", "Address", "Town",
           "Postcode", "Phone", "Reason", "Status"],
    False: ["PersonRef", "CaseRef", "Full Name", "Date of Birth", "Address Line 1", "Town",
            "Post Code", "Tel", "Referral Reason", "Case Status"],
}  # fmt: skip
REASONS = ("Falls at home", "Carer's assessment", "Housing adaptation", "Hospital discharge")


def _mapping(system: System) -> str:
    if system.split_name:
        columns = """
"person.external_id" = "Client ID"
"case.external_id" = "Referral ID"
"person.name" = "{Forename} {Surname}"
"person.date_of_birth" = "DOB"
"person.address" = "{Address}, {Town}, {Postcode}"
"person.phone" = "Phone"
"case.summary" = "Reason"
"case.status" = "Status"
"""
    else:
        columns = """
"person.external_id" = "PersonRef"
"case.external_id" = "CaseRef"
"person.name" = "{Full Name}"
"person.date_of_birth" = "Date of Birth"
"person.address" = "{Address Line 1}, {Town}, {Post Code}"
"person.phone" = "Tel"
"case.summary" = "Referral Reason"
"case.status" = "Case Status"
"""
    return (
        f'[source]\nname = "{system.source}"\nencoding = "{system.encoding}"\n'
        '[defaults]\nteam = "North"\ntype = "adult_social_care"\n'
        f"[columns]{columns}"
        '[values."case.status"]\n"Open" = "open"\n"Closed" = "closed"\n'
        f'[formats]\n"person.date_of_birth" = "{system.date_format}"\n'
    )


def write_exports(population: Population, folder: Path) -> list[tuple[Path, Path]]:
    """Each system's export (CSV) and mapping file in ``folder``: [(export, mapping)]."""
    written = []
    rng = random.Random(len(population.entries))
    for system in SYSTEMS:
        entries = [e for e in population.entries if e.source == system.source]
        if not entries:
            continue
        export = folder / f"{system.source}.csv"
        mapping = folder / f"{system.source}.toml"
        mapping.write_text(_mapping(system), encoding="utf-8")
        with export.open("w", newline="", encoding=system.encoding) as handle:
            out = csv.writer(handle)
            out.writerow(HEADERS[system.split_name])
            for number, entry in enumerate(entries, start=1):
                out.writerow(_export_row(system, entry, f"{system.id_prefix}R{number:07d}", rng))
        written.append((export, mapping))
    return written


def _export_row(system: System, entry: Entry, case_id: str, rng: random.Random) -> list[str]:
    person = entry.person
    born = person.born.strftime(system.date_format)
    street = f"{person.home.house} {person.home.street}"
    case = [rng.choice(REASONS), rng.choice(("Open", "Closed"))]
    if system.split_name:
        return [entry.external_id, case_id, person.first, person.surname, born, street,
                person.home.town, person.home.postcode, person.phone, *case]  # fmt: skip
    return [entry.external_id, case_id, f"{person.first} {person.surname}", born, street,
            person.home.town, person.home.postcode, person.phone, *case]  # fmt: skip
