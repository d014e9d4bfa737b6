"""Subject access: everything the service holds about a person, for a governance officer to
answer a subject access request (UK GDPR article 15) within a month. The one owner of finding
a person across every team and of gathering their record; :mod:`server.records.sar_paper`
turns the record into the readable PDF, :mod:`server.records.sar_log` keeps the SAR log.

The person is named by id (repeatable: the same person may have a record in two teams' cases),
or found by their name (normalised: case, accents, punctuation and spacing do not matter) and
date of birth; near misses are listed as possible matches for the officer to include by id.
Duplicate people are merged later (issue 14): :func:`people_of` is where a merged person's
other ids join the request.

The export is a ZIP: ``record.json`` (every record of every case about them, the unsettled
clashes and set-aside copies of those records, and the audit of who viewed and changed each
case), ``record.pdf`` (the same in plain words, tagged for screen readers) and the document
files under ``documents/``. A review file (TOML, ``[[withhold]] id = "..." reason = "..."``)
withholds notes or documents holding third parties' information: they are left out of all
three and listed, with the reason, as withheld. Another person's details in those cases (a
person record or warning about someone else) are withheld the same way without being named.
The export is audited as ``exported`` on each case, with no personal data.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
import unicodedata
import uuid
import zipfile
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from sqlmodel import Session, col, select

from server.audit import AuditEvent
from server.audit import append as audit_append
from server.models import CaseScope, Conflict, DocumentChunk, DocumentContent, QuarantinedRecord
from server.models import Record as RecordRow
from server.records import history
from server.records.erasure import cases_of_person
from server.records.governance import GovernanceError
from server.records.wire import record_json
from sync.clock import Clock
from sync.records import RecordKind

#: What the ZIP's ``record.json`` says it is.
FORMAT = "fieldcase-subject-access"
FORMAT_VERSION = 1


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
        raise SubjectAccessError(
            f"No person on the service has the id {person_id}. Check it, or search by name "
            "and date of birth."
        )
    return _match(
        session, person_id, str(row.fields.get("name") or ""), row.fields.get("date_of_birth")
    )


def _match(session: Session, person_id: uuid.UUID, name: str, born: str | None) -> PersonMatch:
    scopes = _scopes(session, cases_of_person(session, person_id))
    return PersonMatch(
        person_id,
        name,
        born,
        tuple(sorted(s.ref or str(s.case_id) for s in scopes)),
        tuple(sorted({s.team for s in scopes if s.team})),
    )


def people_of(session: Session, person_ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    """The person ids a request covers: the ones named (and, once duplicates can be merged,
    the ids merged into them)."""
    return sorted(set(person_ids))


def _scopes(session: Session, case_ids: Collection[uuid.UUID]) -> list[CaseScope]:
    if not case_ids:
        return []
    return list(
        session.exec(select(CaseScope).where(col(CaseScope.case_id).in_(sorted(case_ids)))).all()
    )


# ----------------------------------------------------------------------------- the review


def read_review(path: Path) -> dict[uuid.UUID, str]:
    """The review file: ``[[withhold]]`` tables, each an ``id`` and a ``reason``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SubjectAccessError(f"There is no review file {path}.") from None
    except (OSError, UnicodeDecodeError) as err:
        raise SubjectAccessError(f"The review file {path} cannot be read ({err}).") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise SubjectAccessError(f"The review file {path} is not valid TOML: {err}.") from None
    unknown = sorted(set(doc) - {"withhold"})
    items = doc.get("withhold", [])
    if unknown or not isinstance(items, list):
        raise SubjectAccessError(
            f"The review file {path} may hold only [[withhold]] tables, each with an id and "
            'a reason, such as:\n[[withhold]]\nid = "3f2b9c1e-8a4d-4f6b-9e2a-1c5d7b8e9f00"\n'
            'reason = "Information about a neighbour"'
        )
    withheld: dict[uuid.UUID, str] = {}
    for number, item in enumerate(items, start=1):
        try:
            record_id = uuid.UUID(str(item["id"]))
            reason = " ".join(str(item["reason"]).split())
        except (KeyError, TypeError, ValueError):
            raise SubjectAccessError(
                f"The review file {path}: withhold number {number} needs an id (a note's or a "
                "document's id) and a reason."
            ) from None
        if not reason:
            raise SubjectAccessError(
                f"The review file {path}: withhold number {number} ({record_id}) gives no "
                "reason. Say why it is withheld (for example, information about a neighbour)."
            )
        withheld[record_id] = reason
    return withheld


# ----------------------------------------------------------------------------- the record


@dataclass
class Gathered:
    """A person's whole record, as ``record.json`` holds it, and the document files."""

    person_ids: list[uuid.UUID]
    data: dict[str, Any]
    documents: list[tuple[uuid.UUID, str]] = field(default_factory=list)  # (id, path in ZIP)
    case_ids: list[uuid.UUID] = field(default_factory=list)


#: Why a record about someone else is left out (no name of theirs is given).
ANOTHER_PERSON = "It is about another person."


def gather(
    session: Session,
    person_ids: Iterable[uuid.UUID],
    withhold: Mapping[uuid.UUID, str],
    *,
    council: str,
    by: str,
    now: datetime,
) -> Gathered:
    """Everything held about the people ``person_ids`` (one person's records), without what
    ``withhold`` names (each listed as withheld, with its reason)."""
    people = people_of(session, person_ids)
    case_ids: set[uuid.UUID] = set()
    for person_id in people:
        describe(session, person_id)  # refused when there is no such person
        case_ids.update(cases_of_person(session, person_id))
    scopes = sorted(_scopes(session, case_ids), key=lambda s: (s.ref or "", str(s.case_id)))
    rows = session.exec(
        select(RecordRow)
        .where(col(RecordRow.case_id).in_(sorted(case_ids)))
        .order_by(col(RecordRow.seq))
    ).all()
    known = {row.record_id for row in rows}
    stray = sorted(set(withhold) - known)
    if stray:
        raise SubjectAccessError(
            "The review file names records that are not in this person's cases: "
            + ", ".join(map(str, stray))
            + ". Check the ids (each is a note's or a document's id)."
        )
    people_set = {str(p) for p in people}
    withheld: list[dict[str, Any]] = []
    gathered = Gathered(people, {}, case_ids=[s.case_id for s in scopes])
    by_case: dict[uuid.UUID, dict[str, Any]] = {}
    person_records: list[dict[str, Any]] = []
    for scope in scopes:
        by_case[scope.case_id] = {
            "case_id": str(scope.case_id),
            "ref": scope.ref,
            "team": scope.team,
            "assigned_to": scope.assigned_to,
            "case": None,
            "warnings": [],
            "notes": [],
            "visits": [],
            "documents": [],
            "unsettled_clashes": [],
            "set_aside": [],
            "history": [],
        }
    refs = {s.case_id: s.ref for s in scopes}
    for row in rows:
        record = json.loads(record_json(row))
        kind = row.kind
        reason = withhold.get(row.record_id) or _about_someone_else(row, people_set)
        if reason is not None:
            withheld.append(
                {
                    "record_id": str(row.record_id),
                    "kind": kind,
                    "case_ref": refs.get(row.case_id),
                    "written_at": row.fields.get("written_at") or row.fields.get("added_at"),
                    "reason": reason,
                }
            )
            continue
        entry = by_case[row.case_id]
        if kind == RecordKind.CASE.value:
            entry["case"] = record
        elif kind == RecordKind.PERSON.value:
            person_records.append(record)
        elif kind == RecordKind.DOCUMENT.value:
            path = f"documents/{row.record_id}/{_safe_name(str(row.fields.get('name') or ''))}"
            stored = session.get(DocumentContent, row.record_id)
            record["file_in_zip"] = path if stored is not None and stored.complete else None
            if record["file_in_zip"]:
                gathered.documents.append((row.record_id, path))
            entry["documents"].append(record)
        elif kind in ("warning", "note", "visit"):
            entry[kind + "s"].append(record)
    _add_clashes_and_set_aside(session, by_case, case_ids, set(withhold))
    for scope in scopes:
        by_case[scope.case_id]["history"] = [
            {
                "at": line.at.isoformat(),
                "received_at": line.received_at.isoformat(),
                "actor": line.actor,
                "action": line.action,
                "record_kind": line.record_kind,
                "from_laptop": line.from_laptop,
                "text": line.sentence(),
            }
            for line in history.case_history(session, scope.case_id)
        ]
    gathered.data = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "council": council,
        "made_at": now.isoformat(),
        "made_by": by,
        "person_ids": [str(p) for p in people],
        "people": person_records,
        "cases": [by_case[s.case_id] for s in scopes],
        "withheld": withheld,
    }
    return gathered


def _about_someone_else(row: RecordRow, people: set[str]) -> str | None:
    if row.kind == RecordKind.PERSON.value and str(row.record_id) not in people:
        return ANOTHER_PERSON
    if row.kind == RecordKind.WARNING.value:
        about = row.fields.get("person_id")
        if about and str(about) not in people:
            return ANOTHER_PERSON
    return None


def _add_clashes_and_set_aside(
    session: Session,
    by_case: dict[uuid.UUID, dict[str, Any]],
    case_ids: Collection[uuid.UUID],
    withheld: Collection[uuid.UUID],
) -> None:
    ids = sorted(case_ids)
    for clash in session.exec(
        select(Conflict).where(col(Conflict.case_id).in_(ids), col(Conflict.resolved).is_(False))
    ):
        if clash.record_id in withheld:
            continue
        by_case[clash.case_id]["unsettled_clashes"].append(
            {
                "record_id": str(clash.record_id),
                "kind": clash.kind,
                "field": clash.field,
                "kept_value": clash.kept_value,
                "kept_by": clash.kept_by,
                "other_value": clash.other_value,
                "other_by": clash.other_by,
            }
        )
    for aside in session.exec(
        select(QuarantinedRecord).where(col(QuarantinedRecord.case_id).in_(ids))
    ):
        if aside.record_id in withheld:
            continue
        by_case[aside.case_id]["set_aside"].append(
            {"record_id": str(aside.record_id), "kind": aside.kind, "fields": aside.fields}
        )


def _safe_name(name: str) -> str:
    """A document's name as a file name inside the ZIP (no folders, nothing hidden)."""
    base = re.sub(r"[\\/:*?\"<>|\x00-\x1f]+", "_", name).strip(" .") or "document"
    return base[:150]


# ----------------------------------------------------------------------------- the ZIP


def write_zip(session: Session, gathered: Gathered, pdf: bytes, target: IO[bytes]) -> None:
    """The export: ``record.json``, ``record.pdf`` and each document's file."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "record.json", json.dumps(gathered.data, indent=2, ensure_ascii=False, default=str)
        )
        archive.writestr("record.pdf", pdf)
        for document_id, path in gathered.documents:
            offsets = session.exec(
                select(DocumentChunk.offset)
                .where(col(DocumentChunk.document_id) == document_id)
                .order_by(col(DocumentChunk.offset))
            ).all()
            with archive.open(path, "w") as out:
                for offset in offsets:  # a chunk at a time: a document may be large
                    chunk = session.get(DocumentChunk, (document_id, offset))
                    if chunk is not None:
                        out.write(chunk.data)
                        session.expunge(chunk)


def write_private(path: Path, write: Any) -> Path:
    """Write a file only its owner may read (0600), whole or not at all."""
    if not path.parent.is_dir():
        raise SubjectAccessError(f"There is no folder {path.parent}. Choose where to save it.")
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.chmod(partial, 0o600)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return path


def audit_export(
    session: Session, gathered: Gathered, *, by: str, device_id: str | None, clock: Clock
) -> None:
    """``exported`` on each case (what and for whom by id only: no personal data)."""
    audit_append(
        session,
        [
            AuditEvent(
                "exported",
                actor=by,
                device_id=device_id,
                case_id=str(case_id),
                detail={
                    "what": "subject access",
                    "person_ids": [str(p) for p in gathered.person_ids],
                    "withheld": len(gathered.data["withheld"]),
                    "requests": gathered.data.get("requests", []),
                },
            )
            for case_id in gathered.case_ids
        ],
        at=clock.now(),
    )


# ----------------------------------------------------------------------------- the export


@dataclass(frozen=True)
class Export:
    """A prepared export: the gathered record, its PDF, and the SAR log requests it answers."""

    gathered: Gathered
    pdf: bytes
    answered: list[str]


def prepare(
    session: Session,
    person_ids: Iterable[uuid.UUID],
    withhold: Mapping[uuid.UUID, str],
    *,
    council: str,
    by: str,
    device_id: str | None,
    clock: Clock,
    large_print: bool = False,
) -> Export:
    """Gather the record, mark the SAR log's open requests for these people answered, make
    the PDF and audit the export (the caller writes the ZIP with :func:`write_zip`, then
    commits: nothing is marked or audited unless the ZIP was written)."""
    from server.records import sar_log, sar_paper  # they read what this module gathers

    gathered = gather(session, person_ids, withhold, council=council, by=by, now=clock.now())
    answered = [
        sar_log.reference(r)
        for r in sar_log.answer(session, gathered.person_ids, by=by, clock=clock)
    ]
    gathered.data["requests"] = answered
    pdf = sar_paper.render(
        gathered.data, request=", ".join(answered) or None, large_print=large_print
    )
    audit_export(session, gathered, by=by, device_id=device_id, clock=clock)
    return Export(gathered, pdf, answered)
