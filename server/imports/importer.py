"""Bringing a predecessor system's export into the service (``fieldcase-server admin import``).
The one owner of import: the rows come from :mod:`server.imports.reading`, become records in
:mod:`server.imports.rows`, and are written here through the same merge as a laptop's push
(:func:`server.records.push.apply_change`), so they pass the same schema, are audited, reach
laptops by the normal sync, and a field changed in Fieldcase since the last import becomes a
clash for the case's worker rather than being overwritten.

A record is known by its source and the source's id for it (:class:`server.models.ImportKey`):
re-importing the same file changes nothing, a corrected file changes only what changed. A
warning is known by its case and its text, a note by its case and its text (notes are never
edited: a changed note is a new one). New cases get references from the service's counter.

Rows are written in batches, each its own transaction, so a failure part way loses nothing
already imported; a dry run does the same work in one transaction and rolls it back.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from server import audit, crud
from server.audit import AuditEvent
from server.core.db import unit_of_work
from server.imports.mapping import Mapping
from server.imports.reading import Source
from server.imports.rows import RowProblem, RowRecords, build
from server.models import ImportKey
from server.records.changelog import Pending, finalize
from server.records.push import apply_change
from sync.clock import Clock
from sync.protocol import Change, ChangeStatus
from sync.records import RecordKind, check_fields

#: Rows written in one transaction.
BATCH_ROWS = 200
#: Reference numbers taken from the counter at a time.
REF_CHUNK = 256


@dataclass
class ImportReport:
    """What an import did (or, a dry run, would do)."""

    rows: int = 0
    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    unchanged: int = 0
    clashes: int = 0
    refused: list[RowProblem] = field(default_factory=list)
    refused_rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    seconds: float = 0.0

    def counts(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": dict(self.created),
            "updated": dict(self.updated),
            "unchanged": self.unchanged,
            "clashes": self.clashes,
            "refused": len(self.refused),
        }


Progress = Callable[[int, float], None]


@dataclass
class _Run:
    mapping: Mapping
    by: str
    clock: Clock
    report: ImportReport
    refs: list[int] = field(default_factory=list)
    teams: dict[str, bool] = field(default_factory=dict)

    def team_known(self, session: Session, name: str) -> bool:
        if name not in self.teams:
            self.teams[name] = crud.get_team(session, name) is not None
        return self.teams[name]

    def ref(self, session: Session) -> str:
        year = self.clock.now().year
        if not self.refs:
            start = crud.take_ref_numbers(session, year, REF_CHUNK)
            self.refs = list(range(start + REF_CHUNK - 1, start - 1, -1))
        return f"FC-{year}-{self.refs.pop():05d}"


def run_import(
    engine: Engine,
    mapping: Mapping,
    source: Source,
    *,
    by: str,
    clock: Clock,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import every row of ``source``; see the module's words."""
    report = ImportReport()
    job = _Run(mapping, by, clock, report)
    began = time.monotonic()
    batch: list[tuple[int, dict[str, str]]] = []
    dry = Session(engine) if dry_run else None
    try:
        for number, values in source.rows:
            batch.append((number, values))
            if len(batch) >= BATCH_ROWS:
                _write(engine, dry, job, batch)
                batch = []
                if progress is not None:
                    progress(report.rows, time.monotonic() - began)
        if batch:
            _write(engine, dry, job, batch)
    finally:
        if dry is not None:
            dry.rollback()
            dry.close()
    report.seconds = time.monotonic() - began
    if progress is not None:
        progress(report.rows, report.seconds)
    with unit_of_work(engine) as session:
        detail = {"source": mapping.source, "file": source.path.name, "dry_run": dry_run}
        audit.append(
            session,
            [AuditEvent("imported", actor=by, detail={**detail, **report.counts()})],
            at=clock.now(),
        )
    return report


def _write(
    engine: Engine, dry: Session | None, job: _Run, batch: list[tuple[int, dict[str, str]]]
) -> None:
    if dry is not None:
        _rows(dry, job, batch)
        return
    with unit_of_work(engine) as session:
        _rows(session, job, batch)


def _rows(session: Session, job: _Run, batch: list[tuple[int, dict[str, str]]]) -> None:
    pending = Pending()
    for number, values in batch:
        job.report.rows += 1
        built = build(job.mapping, number, values)
        if isinstance(built, RowRecords):
            problem = _import_row(session, pending, job, built)
            if problem is None:
                continue
            built = problem
        job.report.refused.append(built)
        job.report.refused_rows.append((number, values))
    finalize(session, pending, at=job.clock.now())
    session.flush()


def _key(session: Session, source: str, kind: str, external_id: str) -> ImportKey | None:
    return session.get(ImportKey, (source, kind, external_id))


def _import_row(
    session: Session, pending: Pending, job: _Run, row: RowRecords
) -> RowProblem | None:
    source = job.mapping.source
    team = str(row.case.get("team") or "")
    if not job.team_known(session, team):
        return RowProblem(
            row.number,
            "case.team",
            f'names the team "{team}", which the service does not have (add it with '
            "`admin add-team`, or map the file's teams in the mapping)",
        )
    person_key = _key(session, source, "person", row.person_external_id)
    case_key = _key(session, source, "case", row.case_external_id)
    case_id = case_key.case_id if case_key else uuid.uuid4()
    person_id = person_key.record_id if person_key else uuid.uuid4()
    now = job.clock.now()
    case_fields = dict(row.case)
    case_fields["person_id"] = str(person_id)
    if case_key is None:
        case_fields = {"status": "open", "priority": "normal", **case_fields}
        case_fields["ref"] = job.ref(session)
        problems = check_fields(RecordKind.CASE, case_fields, whole=True)
        if problems:
            return RowProblem(row.number, f"case.{problems[0].field}", problems[0].reason)
    wanted: list[tuple[str, ImportKey | None, uuid.UUID, uuid.UUID, dict[str, Any]]] = [
        ("case", case_key, case_id, case_id, case_fields),
        (
            "person",
            person_key,
            person_id,
            person_key.case_id if person_key else case_id,
            row.person,
        ),
    ]
    for fields in row.warnings:
        ext = _derived(row.case_external_id, "warning", fields["text"].casefold())
        if _key(session, source, "warning", ext) is None:
            values = {**fields, "person_id": str(person_id), "active": True}
            values |= {"added_by": job.by, "added_at": now.isoformat()}
            wanted.append(("warning:" + ext, None, uuid.uuid4(), case_id, values))
    if row.note:
        ext = _derived(row.case_external_id, "note", row.note)
        if _key(session, source, "note", ext) is None:
            values = {"text": row.note, "author": job.by, "written_at": now.isoformat()}
            wanted.append(("note:" + ext, None, uuid.uuid4(), case_id, values))
    for what, key, record_id, in_case, fields in wanted:
        kind, _, ext = what.partition(":")
        external = ext or (row.case_external_id if kind == "case" else row.person_external_id)
        refused = _apply(session, pending, job, kind, key, record_id, in_case, fields, external)
        if refused is not None:
            return RowProblem(row.number, f"{kind}.{refused[0]}", refused[1])
    return None


def _apply(
    session: Session,
    pending: Pending,
    job: _Run,
    kind: str,
    key: ImportKey | None,
    record_id: uuid.UUID,
    case_id: uuid.UUID,
    fields: dict[str, Any],
    external_id: str,
) -> tuple[str, str] | None:
    change = Change(
        change_id=uuid.uuid4(),
        kind=RecordKind(kind),
        record_id=record_id,
        case_id=case_id,
        base_version=key.version if key is not None else 0,
        fields=fields,
        made_at=job.clock.now(),
    )
    result = apply_change(session, None, change, pending, clock=job.clock, by=job.by)
    if result.status == ChangeStatus.REJECTED:
        said = result.error.message if result.error is not None else "was refused"
        return "record", said
    version = result.version or 1
    report = job.report
    if key is None:
        report.created[kind] += 1
        session.add(
            ImportKey(
                source=job.mapping.source,
                kind=kind,
                external_id=external_id,
                record_id=record_id,
                case_id=case_id,
                version=version,
                imported_at=job.clock.now(),
            )
        )
        return None
    if result.status == ChangeStatus.CONFLICT:
        # the file's value waits beside Fieldcase's for a person; the key keeps the version
        # the import last wrote, so a later import never takes the person's edit as its own
        report.clashes += len(result.conflicts)
        return None
    if version > key.version:
        report.updated[kind] += 1
        key.version = version
        key.imported_at = job.clock.now()
        session.add(key)
    else:
        report.unchanged += 1
    return None


def _derived(case_external_id: str, kind: str, text: str) -> str:
    """The external id of a warning or note: its case's, and a digest of its text."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
    return f"{case_external_id}/{kind}/{digest}"
