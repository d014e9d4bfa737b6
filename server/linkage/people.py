"""The people the service holds, as record linkage compares them.

:func:`read_people` reads every person record (with the ``source:id`` each import knew them
by); :func:`prepare` turns one into the plain columns the linkage model compares: first name
and its formal form (so "Bob" meets "Robert"), surname, date of birth and the same date with
day and month swapped, the street line with abbreviations written out, postcode and phone
digits. Nothing here needs Splink, so a lean service install can still read and show people.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from server.linkage.names import STREET_WORDS, canonical_first_name
from server.models import Record
from sync.records import RecordKind, external_labels

POSTCODE = re.compile(r"\b([A-Z]{1,2}[0-9][A-Z0-9]?)\s*([0-9][A-Z]{2})\b")


@dataclass(frozen=True)
class PersonRow:
    """One person record: what linkage compares, and how the old systems knew them."""

    person_id: str
    name: str
    date_of_birth: str | None
    address: str
    phone: str
    external_ids: tuple[str, ...] = ()


def read_people(session: Session, *, batch: int = 5000) -> Iterator[PersonRow]:
    """Every person record on the service, each with the ``source:id`` the old systems knew
    them by, read in batches (memory flat in the number of people)."""
    query = (
        select(Record.record_id, Record.fields)
        .where(Record.kind == RecordKind.PERSON.value)
        .order_by(col(Record.record_id))
        .execution_options(yield_per=batch)
    )
    for record_id, fields in session.exec(query):
        yield person_row(str(record_id), fields)


def people_by_id(session: Session, ids: set[str]) -> dict[str, PersonRow]:
    """The person records of ``ids`` that are held, by id."""
    wanted = [uuid.UUID(i) for i in ids]
    found: dict[str, PersonRow] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        for record_id, fields in session.exec(
            select(Record.record_id, Record.fields).where(
                Record.kind == RecordKind.PERSON.value, col(Record.record_id).in_(chunk)
            )
        ):
            found[str(record_id)] = person_row(str(record_id), fields)
    return found


def person_row(person_id: str, fields: Mapping[str, Any]) -> PersonRow:
    """A person record as linkage reads it; their old ids are the record's own
    (``external_ids``: an import's, and after a merge the merged-away person's too)."""
    return PersonRow(
        person_id=person_id,
        name=str(fields.get("name") or ""),
        date_of_birth=fields.get("date_of_birth") or None,
        address=str(fields.get("address") or ""),
        phone=str(fields.get("phone") or ""),
        external_ids=tuple(sorted(external_labels(fields.get("external_ids")))),
    )


def _plain(text: str) -> str:
    """Lower case, accents and punctuation gone, single spaces: "Siân  O'Neill" -> "sian
    oneill"."""
    decomposed = unicodedata.normalize("NFKD", text)
    letters = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    letters = re.sub(r"['’`]", "", letters.lower())
    return " ".join(re.sub(r"[^a-z0-9]+", " ", letters).split())


def postcode_of(address: str) -> str | None:
    """The UK postcode in an address, written "DT1 1AA", or None."""
    found = POSTCODE.findall(address.upper())
    if not found:
        return None
    outward, inward = found[-1]
    return f"{outward} {inward}"


def street_of(address: str) -> str | None:
    """The address's street line ("4 mill lane"): its first part that has a number in it
    (else its first part), abbreviations written out, without the postcode."""
    without = POSTCODE.sub(" ", address.upper())
    parts = [_plain(part) for part in without.split(",")]
    parts = [part for part in parts if part]
    if not parts:
        return None
    line = next((part for part in parts if any(ch.isdigit() for ch in part)), parts[0])
    return " ".join(STREET_WORDS.get(word, word) for word in line.split())


def swapped(day_first: str | None) -> str | None:
    """The ISO date with its day and month swapped ("1980-03-07" -> "1980-07-03"), or None
    when that is no date or the same date."""
    if not day_first:
        return None
    try:
        when = date.fromisoformat(day_first)
        other = date(when.year, when.day, when.month)
    except ValueError:
        return None
    return other.isoformat() if other != when else None


def prepare(row: PersonRow) -> dict[str, Any]:
    """The columns the linkage model compares (None where the record says nothing)."""
    words = _plain(row.name).split()
    first = words[0] if words else None
    surname = words[-1] if len(words) > 1 else None
    digits = re.sub(r"\D", "", row.phone)
    try:
        dob = date.fromisoformat(row.date_of_birth).isoformat() if row.date_of_birth else None
    except ValueError:
        dob = None
    postcode = postcode_of(row.address)
    return {
        "unique_id": row.person_id,
        "first_name": first,
        "first_name_formal": canonical_first_name(first) if first else None,
        "surname": surname,
        "dob": dob,
        "dob_swapped": swapped(dob),
        "street": street_of(row.address),
        "postcode": postcode,
        "postcode_sector": postcode[:-2] if postcode else None,
        "phone": digits[-10:] if len(digits) >= 6 else None,
    }
