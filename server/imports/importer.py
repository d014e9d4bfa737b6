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
import json
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from server import audit, crud
from server.audit import AuditEvent
from server.core.db import unit_of_work
from server.imports.mapping import Mapping
from server.imports.reading import Source
from server.imports.rows import RowProblem, RowRecords, build
from server.models import ImportKey
from server.records.changelog import Pending, finalize
from server.records.push import apply_change, prefetch
from server.records.seeding import bulk_insert, insert_rows
from sync.clock import Clock
from sync.protocol import Change, ChangeStatus
from sync.records import RecordKind, check_fields

#: Rows written in one transaction.
BATCH_ROWS = 1000
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
    seen: set[tuple[str, str]] = field(default_factory=set)  # people this run has written
    batches: int = 0

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
    began = clock.monotonic()
    batch: list[tuple[int, dict[str, str]]] = []
    dry = Session(engine) if dry_run else None
    try:
        for number, values in source.rows:
            batch.append((number, values))
            if len(batch) >= BATCH_ROWS:
                _write(engine, dry, job, batch)
                batch = []
                if progress is not None:
                    progress(report.rows, clock.monotonic() - began)
        if batch:
            _write(engine, dry, job, batch)
    finally:
        if dry is not None:
            dry.rollback()
            dry.close()
    report.seconds = clock.monotonic() - began
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


@dataclass
class _Key:
    """What an earlier import (or an earlier row of this one) made of a source's record."""

    record_id: uuid.UUID
    case_id: uuid.UUID
    version: int
    digest: str = ""  # of the fields the import last wrote (see :func:`_digest`)
    stored: bool = False  # False: made by this batch, written at its end
    moved: bool = False  # stored, and its version or digest moved on by this batch


@dataclass
class _Planned:
    """One change a row makes, and the import key it is known by."""

    kind: str
    external_id: str
    key: _Key | None  # None: a new record
    change: Change
    digest: str  # of what the file said of the record


#: What a batch reads of each import key.
KEY_COLUMNS: tuple[Any, ...] = (
    ImportKey.external_id,
    ImportKey.record_id,
    ImportKey.case_id,
    ImportKey.version,
    ImportKey.digest,
)
#: (kind, external id) -> the import key, for the rows of one batch.
Keys = dict[tuple[str, str], _Key]


def _rows(session: Session, job: _Run, batch: list[tuple[int, dict[str, str]]]) -> None:
    """One batch: build each row's records, look up what earlier imports made of them in a few
    queries, then apply every change through the push's merge."""
    pending = Pending()
    built: list[tuple[RowRecords, dict[str, str]]] = []
    for number, values in batch:
        job.report.rows += 1
        row = build(job.mapping, number, values)
        if isinstance(row, RowProblem):
            _refuse(job, row, values)
        else:
            built.append((row, values))
    keys = _known(session, job.mapping.source, [row for row, _ in built])
    fresh: set[tuple[str, str]] = set()
    plans: list[tuple[RowRecords, dict[str, str], list[_Planned]]] = []
    for row, values in built:
        plan = _plan(session, job, row, keys, fresh)
        if isinstance(plan, RowProblem):
            _refuse(job, plan, values)
        else:
            plans.append((row, values, plan))
    updates = [
        (row, values, [p for p in planned if p.key is not None]) for row, values, planned in plans
    ]
    written: list[_Planned] = []
    with session.no_autoflush:
        prefetch(session, [p.change for _, _, planned in updates for p in planned], pending)
        for (row, values, changed), (_row, _values, planned) in zip(updates, plans, strict=True):
            problem = _apply_row(session, pending, job, row, changed)
            if problem is None:
                written.extend(p for p in planned if p.key is None)
                continue
            _refuse(job, problem, values)
            for item in planned:  # its new records are not written, so not known either
                if item.key is None:
                    fresh.discard((item.kind, item.external_id))
                    keys.pop((item.kind, item.external_id), None)
    _insert(session, pending, job, written)
    finalize(session, pending, at=job.clock.now())
    new = [(kind_ext, keys[kind_ext]) for kind_ext in sorted(fresh) if kind_ext in keys]
    if new:
        now = job.clock.now()
        insert_rows(
            session,
            ImportKey.__table__,  # type: ignore[attr-defined]
            [
                {
                    "source": job.mapping.source,
                    "kind": kind,
                    "external_id": ext,
                    "record_id": key.record_id,
                    "case_id": key.case_id,
                    "version": key.version,
                    "digest": key.digest,
                    "imported_at": now,
                }
                for (kind, ext), key in new
            ],
        )
    moved = [(kind, ext, key) for (kind, ext), key in keys.items() if key.moved]
    if moved:
        table = ImportKey.__table__  # type: ignore[attr-defined]
        session.execute(
            table.update()
            .where(
                table.c.source == job.mapping.source,
                table.c.kind == bindparam("k"),
                table.c.external_id == bindparam("e"),
            )
            .values(version=bindparam("v"), digest=bindparam("d"), imported_at=job.clock.now()),
            [{"k": kind, "e": ext, "v": key.version, "d": key.digest} for kind, ext, key in moved],
        )
    session.flush()
    job.batches += 1
    if job.batches & (job.batches - 1) == 0 and session.get_bind().dialect.name == "postgresql":
        # the tables grow as the import goes: fresh statistics after batches 1, 2, 4, 8...
        # keep PostgreSQL looking its keys and records up by index
        for table_name in ("import_key", "record", "case_scope"):
            session.execute(text(f"ANALYZE {table_name}"))


def _insert(session: Session, pending: Pending, job: _Run, planned: list[_Planned]) -> None:
    """Write the batch's new records in one statement (they need no merge: their schema was
    checked when planned); each new case is audited as ``case_imported``."""
    bulk_insert(
        session,
        [(p.change.kind, p.change.record_id, p.change.case_id, p.change.fields) for p in planned],
        job.by,
        clock=job.clock,
        analyze=False,
    )
    for item in planned:
        job.report.created[item.kind] += 1
        if item.kind == "case":
            pending.audit.append(
                AuditEvent(
                    "case_imported",
                    actor=job.by,
                    case_id=str(item.change.case_id),
                    detail={"source": job.mapping.source, "external_id": item.external_id},
                )
            )


def _refuse(job: _Run, problem: RowProblem, values: dict[str, str]) -> None:
    job.report.refused.append(problem)
    job.report.refused_rows.append((problem.number, values))


def _known(session: Session, source: str, rows: list[RowRecords]) -> Keys:
    """The import keys of every record these rows name, in one query per kind."""
    wanted: dict[str, set[str]] = {"person": set(), "case": set(), "warning": set(), "note": set()}
    for row in rows:
        wanted["person"].add(row.person_external_id)
        wanted["case"].add(row.case_external_id)
        for fields in row.warnings:
            wanted["warning"].add(
                _derived(row.case_external_id, "warning", fields["text"].casefold())
            )
        if row.note:
            wanted["note"].add(_derived(row.case_external_id, "note", row.note))
    keys: Keys = {}
    for kind, external_ids in wanted.items():
        if not external_ids:
            continue
        for ext, record_id, case_id, version, digest in session.execute(
            sa_select(*KEY_COLUMNS).where(
                col(ImportKey.source) == source,
                col(ImportKey.kind) == kind,
                col(ImportKey.external_id).in_(sorted(external_ids)),
            )
        ):
            keys[(kind, ext)] = _Key(record_id, case_id, version, digest, stored=True)
    return keys


def _plan(
    session: Session,
    job: _Run,
    row: RowRecords,
    keys: Keys,
    fresh: set[tuple[str, str]],
) -> list[_Planned] | RowProblem:
    """The changes a row makes (new records get fresh ids and keys, known ones are updates
    based on the version the import last wrote)."""
    team = str(row.case.get("team") or "")
    if not job.team_known(session, team):
        return RowProblem(
            row.number,
            "case.team",
            f'names the team "{team}", which the service does not have (add it with '
            "`admin add-team`, or map the file's teams in the mapping)",
        )
    now = job.clock.now()
    case_key = keys.get(("case", row.case_external_id))
    person_key = keys.get(("person", row.person_external_id))
    case_id = case_key.case_id if case_key else uuid.uuid4()
    person_id = person_key.record_id if person_key else uuid.uuid4()
    said = {**row.case, "person_id": str(person_id)}  # what the file says of the case
    case_fields = said
    if case_key is None:
        case_fields = {"status": "open", "priority": "normal", **case_fields}
        case_fields["ref"] = job.ref(session)
        problems = check_fields(RecordKind.CASE, case_fields, whole=True)
        if problems:
            return RowProblem(row.number, f"case.{problems[0].field}", problems[0].reason)
    # (kind, external id, record id, case id, fields to write, what the file said of them)
    wanted: list[tuple[str, str, uuid.UUID, uuid.UUID, dict[str, Any], dict[str, Any]]] = [
        ("case", row.case_external_id, case_id, case_id, case_fields, said),
        (
            "person",
            row.person_external_id,
            person_id,
            person_key.case_id if person_key else case_id,
            row.person,
            row.person,
        ),
    ]
    for fields in row.warnings:
        ext = _derived(row.case_external_id, "warning", fields["text"].casefold())
        values = {**fields, "person_id": str(person_id), "active": True}
        values |= {"added_by": job.by, "added_at": now.isoformat()}
        wanted.append(("warning", ext, uuid.uuid4(), case_id, values, fields))
    if row.note:
        ext = _derived(row.case_external_id, "note", row.note)
        values = {"text": row.note, "author": job.by, "written_at": now.isoformat()}
        wanted.append(("note", ext, uuid.uuid4(), case_id, values, {"text": row.note}))
    planned = []
    for kind, ext, record_id, in_case, fields, from_file in wanted:
        digest = _digest(from_file)
        key = keys.get((kind, ext))
        if key is not None and kind in ("warning", "note"):
            continue  # known by its text: nothing to change
        if kind in ("person", "case") and (kind, ext) in job.seen:
            continue  # on several rows: the first row that names it says what it is
        if key is not None and key.digest == digest:
            job.report.unchanged += 1
            job.seen.add((kind, ext))
            continue  # the file says what it said last time: the record is left alone
        if key is None:
            problems = check_fields(RecordKind(kind), fields, whole=True)
            if problems:
                return RowProblem(row.number, f"{kind}.{problems[0].field}", problems[0].reason)
        if key is None:
            # known from here on, to the later rows of this import (created at version 1)
            keys[(kind, ext)] = _Key(record_id, in_case, 1, digest)
            fresh.add((kind, ext))
        change = Change.model_construct(  # made here from checked values: no second check
            change_id=uuid.uuid4(),
            kind=RecordKind(kind),
            record_id=key.record_id if key is not None else record_id,
            case_id=key.case_id if key is not None else in_case,
            base_version=key.version if key is not None else 0,
            fields=fields,
            made_at=now,
            resolves=[],
        )
        planned.append(_Planned(kind, ext, key, change, digest))
    job.seen.update((p.kind, p.external_id) for p in planned if p.kind in ("person", "case"))
    return planned


def _apply_row(
    session: Session, pending: Pending, job: _Run, row: RowRecords, planned: list[_Planned]
) -> RowProblem | None:
    """Apply a row's changes to records an earlier import made, through the push's merge."""
    report = job.report
    for item in planned:
        if item.key is not None:  # an earlier row of this batch may have moved it on
            item.change.base_version = item.key.version
        result = apply_change(session, None, item.change, pending, clock=job.clock, by=job.by)
        if result.status == ChangeStatus.REJECTED:
            said = result.error.message if result.error is not None else "was refused"
            return RowProblem(row.number, f"{item.kind} record", said)
        assert item.key is not None  # only changes to known records come here
        if result.status == ChangeStatus.CONFLICT:
            # the file's value waits beside Fieldcase's for a person; the key keeps the
            # version the import last wrote, so a later import never takes the person's edit
            # as its own
            report.clashes += len(result.conflicts)
            item.key.digest = item.digest  # the same file again makes no second clash
            item.key.moved = item.key.stored
        elif (result.version or 0) > item.key.version:
            report.updated[item.kind] += 1
            item.key.version = result.version or item.key.version
            item.key.digest = item.digest
            item.key.moved = item.key.stored
        else:
            report.unchanged += 1
    return None


def _digest(fields: dict[str, Any]) -> str:
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _derived(case_external_id: str, kind: str, text: str) -> str:
    """The external id of a warning or note: its case's, and a digest of its text."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
    return f"{case_external_id}/{kind}/{digest}"
