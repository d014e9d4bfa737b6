"""Subject access, part two: everything the service holds about a person, as a ZIP for a
governance officer to send them. The one owner of what goes in it.

What is theirs: every record of every case about them (whose ``person_id`` is theirs), their
own details and warnings about them wherever they are held (in another person's case too, a
carer's for example), the clashes and set-aside copies of those records, and the full history
of who viewed and changed each case about them. What is not: another person's details, warnings
about someone else, and the rest of another person's case; each such record is listed as
withheld ("It is about another person.", "It is part of another person's case.") without
being shown.

The officer reviews with a TOML file: ``[[withhold]] id = "..." reason = "..."`` leaves a note
or document out (third parties' information), listed with its reason; ``[[include]] id =
"..."`` puts in a record of another person's case that is about them too (a note on the carer
in the cared-for person's case). A note that corrects a withheld note is withheld with it.

The ZIP: ``record.json`` (the data, format :data:`FORMAT`), ``record.pdf`` (the same in plain
words: :mod:`server.records.sar_paper`) and each document's file under ``documents/``. Until the
officer makes the final export the PDF says it is a draft for review; the final one marks the
SAR log's open requests for them answered. Every export is audited as ``exported`` on each
case, with ids only.
"""

from __future__ import annotations

import json
import re
import uuid
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlmodel import Session, col, or_, select

from server.audit import AuditEvent
from server.audit import append as audit_append
from server.models import Conflict, DocumentChunk, DocumentContent, QuarantinedRecord
from server.models import Record as RecordRow
from server.records import history, sar_log
from server.records.governance import read_toml
from server.records.subject_access import SubjectAccessError, describe, people_of, scopes_of
from server.records.wire import record_json
from sync.clock import Clock
from sync.records import RecordKind

#: What the ZIP's ``record.json`` says it is.
FORMAT = "fieldcase-subject-access"
FORMAT_VERSION = 1
#: Why a record is left out without the officer saying so (no one else is named).
ANOTHER_PERSON = "It is about another person."
ANOTHER_CASE = "It is part of another person's case."
CORRECTS_WITHHELD = "It corrects a note that is withheld."


# ----------------------------------------------------------------------------- the review


@dataclass(frozen=True)
class Review:
    """The officer's review: records to withhold (with the reason) and records of another
    person's case to include."""

    withhold: Mapping[uuid.UUID, str] = field(default_factory=dict)
    include: frozenset[uuid.UUID] = frozenset()


EXAMPLE = (
    '[[withhold]]\nid = "3f2b9c1e-8a4d-4f6b-9e2a-1c5d7b8e9f00"\nreason = "Information about a '
    'neighbour."\n\n[[include]]\nid = "9a1c2b3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d"'
)


def read_review(path: Path) -> Review:
    """The review file (see the module's words); refused in plain words when malformed."""
    _text, doc = read_toml(path, "review file", SubjectAccessError)
    items, included = doc.get("withhold", []), doc.get("include", [])
    if (
        set(doc) - {"withhold", "include"}
        or not isinstance(items, list)
        or not isinstance(included, list)
    ):
        raise SubjectAccessError(
            f"The review file {path} may hold only [[withhold]] tables (an id and a reason) and "
            f"[[include]] tables (an id), such as:\n{EXAMPLE}"
        )
    withhold: dict[uuid.UUID, str] = {}
    for number, item in enumerate(items, start=1):
        record_id = _id_of(item, path, f"withhold number {number}")
        reason = " ".join(str(item.get("reason") or "").split())
        if not reason:
            raise SubjectAccessError(
                f"The review file {path}: withhold number {number} ({record_id}) gives no "
                "reason. Say why it is withheld (for example, information about a neighbour)."
            )
        withhold[record_id] = reason
    include = {_id_of(item, path, f"include number {n}") for n, item in enumerate(included, 1)}
    return Review(withhold, frozenset(include))


def _id_of(item: Any, path: Path, which: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(item["id"]))
    except (KeyError, TypeError, ValueError):
        raise SubjectAccessError(
            f"The review file {path}: {which} needs an id (a record's id from record.json)."
        ) from None


# ----------------------------------------------------------------------------- the record


@dataclass
class Gathered:
    """A person's whole record, as ``record.json`` holds it, and the document files."""

    person_ids: list[uuid.UUID]
    data: dict[str, Any]
    documents: list[tuple[uuid.UUID, str]] = field(default_factory=list)  # (id, path in ZIP)
    case_ids: list[uuid.UUID] = field(default_factory=list)


@dataclass
class _Sorting:
    """Decides, record by record in the order they were written, what is theirs."""

    people: set[str]
    about: set[uuid.UUID]  # the cases about them
    review: Review
    withheld: dict[uuid.UUID, str] = field(default_factory=dict)

    def reason(
        self, kind: str, record_id: uuid.UUID, case_id: uuid.UUID, fields: Any
    ) -> str | None:
        fields = fields if isinstance(fields, dict) else {}
        reason = self.review.withhold.get(record_id) or self._automatic(
            kind, record_id, case_id, fields
        )
        if reason is not None:
            self.withheld[record_id] = reason
        return reason

    def _automatic(
        self, kind: str, record_id: uuid.UUID, case_id: uuid.UUID, fields: dict[str, Any]
    ) -> str | None:
        about = str(fields.get("person_id") or "")
        if kind == RecordKind.PERSON.value:
            return None if str(record_id) in self.people else ANOTHER_PERSON
        if kind == RecordKind.WARNING.value and about:
            return None if about in self.people else ANOTHER_PERSON
        if record_id in self.review.include:
            return None
        if case_id not in self.about:
            return ANOTHER_CASE
        corrects = fields.get("corrects") if kind == RecordKind.NOTE.value else None
        if corrects and _uuid(corrects) in self.withheld:
            return CORRECTS_WITHHELD
        return None


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _cases(session: Session, people: list[uuid.UUID]) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    """(the cases about them, the other cases holding their details or a warning about them)."""
    ids = [str(p) for p in people]
    about: set[uuid.UUID] = set()
    touching: set[uuid.UUID] = set()
    for table in (RecordRow, QuarantinedRecord):
        # a record's own column (indexed); a set-aside record's, read from its fields
        person_of: Any = (
            col(RecordRow.person_id).in_(people)
            if table is RecordRow
            else table.__table__.c.fields["person_id"].as_string().in_(ids)  # type: ignore[union-attr]
        )
        kind = col(table.kind)
        about.update(
            session.exec(select(table.case_id).where(kind == RecordKind.CASE.value, person_of))
        )
        touching.update(
            session.exec(
                select(table.case_id).where(
                    or_(
                        (kind == RecordKind.PERSON.value) & col(table.record_id).in_(people),
                        (kind == RecordKind.WARNING.value) & person_of,
                    )
                )
            )
        )
    return about, touching - about


def _entry(scope: Any, about: bool) -> dict[str, Any]:
    return {
        "case_id": str(scope.case_id),
        "ref": scope.ref,
        "team": scope.team,
        "assigned_to": scope.assigned_to,
        "about_you": about,
        "case": None,
        "warnings": [],
        "notes": [],
        "visits": [],
        "documents": [],
        "clashes": [],
        "set_aside": [],
        "history": [],
    }


def gather(
    session: Session,
    person_ids: Iterable[uuid.UUID],
    review: Review,
    *,
    council: str,
    by: str,
    now: datetime,
) -> Gathered:
    """Everything held about the people ``person_ids`` (one person's records); see the
    module's words for what is left out."""
    people = people_of(session, person_ids)
    for person_id in people:
        describe(session, person_id)  # refused when there is no such person
    about, touching = _cases(session, people)
    scopes = sorted(
        scopes_of(session, about | touching), key=lambda s: (s.ref or "", str(s.case_id))
    )
    case_ids = sorted(s.case_id for s in scopes)
    rows = session.exec(
        select(RecordRow).where(col(RecordRow.case_id).in_(case_ids)).order_by(col(RecordRow.seq))
    ).all()
    aside = session.exec(
        select(QuarantinedRecord)
        .where(col(QuarantinedRecord.case_id).in_(case_ids))
        .order_by(col(QuarantinedRecord.seq))
    ).all()
    known = {row.record_id for row in rows if row.kind != RecordKind.AUDIT.value}
    known |= {row.record_id for row in aside}
    stray = sorted((set(review.withhold) | review.include) - known)
    if stray:
        raise SubjectAccessError(
            "The review file names records that are not in this person's cases: "
            + ", ".join(map(str, stray))
            + ". Check the ids against record.json."
        )
    sorting = _Sorting({str(p) for p in people}, about, review)
    by_case = {s.case_id: _entry(s, s.case_id in about) for s in scopes}
    refs = {s.case_id: s.ref for s in scopes}
    gathered = Gathered(people, {}, case_ids=case_ids)
    person_records: list[dict[str, Any]] = []
    withheld: list[dict[str, Any]] = []
    for row in rows:
        if row.kind == RecordKind.AUDIT.value:
            continue  # the history below says who did what
        reason = sorting.reason(row.kind, row.record_id, row.case_id, row.fields)
        if reason is not None:
            withheld.append(_withheld(row, refs, reason))
        elif row.kind == RecordKind.PERSON.value:
            person_records.append(json.loads(record_json(row)))
        else:
            _place(session, row, by_case[row.case_id], gathered)
    for kept in aside:
        reason = sorting.reason(kept.kind, kept.record_id, kept.case_id, kept.fields)
        if reason is not None:
            withheld.append(_withheld(kept, refs, reason))
            continue
        by_case[kept.case_id]["set_aside"].append(
            {"record_id": str(kept.record_id), "kind": kept.kind, "fields": kept.fields}
        )
    for clash in session.exec(select(Conflict).where(col(Conflict.case_id).in_(case_ids))):
        if clash.record_id in sorting.withheld or clash.record_id not in known:
            continue
        by_case[clash.case_id]["clashes"].append(_clash(clash))
    for case_id in sorted(about):
        if case_id in by_case:
            by_case[case_id]["history"] = _history(session, case_id)
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


def _place(session: Session, row: RecordRow, entry: dict[str, Any], gathered: Gathered) -> None:
    """Put one of their records in its case's entry (a document with its file)."""
    record = json.loads(record_json(row))
    if row.kind == RecordKind.CASE.value:
        entry["case"] = record
    elif row.kind == RecordKind.DOCUMENT.value:
        path = f"documents/{row.record_id}/{_safe_name(str(row.fields.get('name') or ''))}"
        stored = session.get(DocumentContent, row.record_id)
        record["file_in_zip"] = path if stored is not None and stored.complete else None
        if record["file_in_zip"]:
            gathered.documents.append((row.record_id, path))
        entry["documents"].append(record)
    else:
        entry[row.kind + "s"].append(record)


def _withheld(row: Any, refs: Mapping[uuid.UUID, str | None], reason: str) -> dict[str, Any]:
    fields = row.fields if isinstance(row.fields, dict) else {}
    return {
        "record_id": str(row.record_id),
        "kind": row.kind,
        "case_ref": refs.get(row.case_id),
        "written_at": fields.get("written_at") or fields.get("added_at"),
        "reason": reason,
    }


def _clash(clash: Conflict) -> dict[str, Any]:
    return {
        "record_id": str(clash.record_id),
        "kind": clash.kind,
        "field": clash.field,
        "kept_value": clash.kept_value,
        "kept_by": clash.kept_by,
        "other_value": clash.other_value,
        "other_by": clash.other_by,
        "settled": clash.resolved,
        "settled_value": clash.resolved_value,
    }


def _history(session: Session, case_id: uuid.UUID) -> list[dict[str, Any]]:
    return [
        {
            "at": line.at.isoformat(),
            "received_at": line.received_at.isoformat(),
            "actor": line.actor,
            "action": line.action,
            "record_kind": line.record_kind,
            "from_laptop": line.from_laptop,
            "text": line.sentence(),
        }
        for line in history.case_history(session, case_id, limit=None)
    ]


def _safe_name(name: str) -> str:
    """A document's name as a file name inside the ZIP (no folders, nothing hidden)."""
    base = re.sub(r"[\\/:*?\"<>|\x00-\x1f]+", "_", name).strip(" .") or "document"
    return base[:150]


# ----------------------------------------------------------------------------- the ZIP


def write_zip(session: Session, gathered: Gathered, pdf: bytes, target: IO[bytes]) -> None:
    """The export: ``record.json``, ``record.pdf`` and each document's file (stored as it is,
    a chunk at a time: documents are often compressed already, and may be large)."""
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
            member = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
            member.compress_type = zipfile.ZIP_STORED
            with archive.open(member, "w", force_zip64=True) as out:
                for offset in offsets:
                    chunk = session.get(DocumentChunk, (document_id, offset))
                    if chunk is not None:
                        out.write(chunk.data)
                        session.expunge(chunk)


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
    review: Review,
    *,
    council: str,
    by: str,
    device_id: str | None,
    clock: Clock,
    final: bool = False,
    large_print: bool = False,
) -> Export:
    """Gather the record, make the PDF (a draft for review unless ``final``; the final one
    marks the SAR log's open requests for these people answered) and audit the export. The
    caller writes the ZIP with :func:`write_zip`, then commits: nothing is marked or audited
    unless the ZIP was written."""
    from server.records import sar_paper  # it reads what this module gathers

    gathered = gather(session, person_ids, review, council=council, by=by, now=clock.now())
    answered = (
        [
            sar_log.reference(r)
            for r in sar_log.answer(session, people_of(session, person_ids), by=by, clock=clock)
        ]
        if final
        else []
    )
    gathered.data["draft"] = not final
    gathered.data["requests"] = answered
    pdf = sar_paper.render(gathered.data, large_print=large_print)
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
                    "final": final,
                    "person_ids": [str(p) for p in gathered.person_ids],
                    "withheld": len(gathered.data["withheld"]),
                    "requests": answered,
                },
            )
            for case_id in gathered.case_ids
        ],
        at=clock.now(),
    )
    return Export(gathered, pdf, answered)
