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

import os
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from server import audit, crud
from server.audit import AuditEvent
from server.core.db import among, insert_rows, unit_of_work
from server.imports.mapping import Mapping
from server.imports.pipeline import built_batches
from server.imports.reading import Source
from server.imports.rows import BuiltRow, RowProblem, RowRecords, digest, new_records
from server.imports.rows import column_of as _column_of
from server.models import ImportKey, SharedRecord
from server.records import erasure, shares
from server.records.changelog import Pending, finalize
from server.records.push import apply_change, prefetch
from server.records.seeding import bulk_insert
from sync.clock import Clock
from sync.protocol import Change, ChangeStatus
from sync.records import RecordKind

#: Rows written in one transaction.
BATCH_ROWS = 1000
#: The batches after which PostgreSQL's statistics of the tables an import grows are made
#: again: while the tables are small their shape changes quickly; once they hold a few tens
#: of thousands of rows, the planner scales what it knows by the tables' size.
FRESH_STATISTICS_AFTER = frozenset({1, 2, 4, 8, 16})
#: Refused rows a report keeps to show (all of them go to its ``on_refused``).
KEEP_REFUSED = 20


@dataclass
class ImportReport:
    """What an import did (or, a dry run, would do)."""

    rows: int = 0
    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    unchanged: int = 0
    clashes: int = 0
    #: the first refused rows (:data:`KEEP_REFUSED`); every one goes to ``on_refused``
    refused: list[RowProblem] = field(default_factory=list)
    refused_count: int = 0
    on_refused: Callable[[RowProblem, dict[str, str]], None] | None = None
    seconds: float = 0.0

    def counts(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": dict(self.created),
            "updated": dict(self.updated),
            "unchanged": self.unchanged,
            "clashes": self.clashes,
            "refused": self.refused_count,
        }


Progress = Callable[[int, float], None]


@dataclass
class _Run:
    mapping: Mapping
    by: str
    clock: Clock
    report: ImportReport
    dry_run: bool = False
    teams: dict[str, bool] = field(default_factory=dict)
    #: person and case records this run has dealt with: a later row naming one is skipped
    seen: set[int] = field(default_factory=set)
    batches: int = 0
    #: a dry run's keys of records its earlier (rolled back) batches would have made
    dry_keys: dict[tuple[str, str], Any] = field(default_factory=dict)
    dry_refs: int = 0  # the references a dry run has pretended to take
    #: the merged-away people the batch's person keys name -> where they are now (a new case
    #: or warning names the kept person: a merge is never undone by an import)
    redirects: dict[uuid.UUID, Any] = field(default_factory=dict)
    #: (person, case) for each new case about a person whose record another case holds: the
    #: person is shared with it, so the case's team sees them (the batch writes them)
    shares: list[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=list)

    #: random bytes for the ids of new records (one call to the system for many ids), and
    #: how far into them the ids so far have taken
    spare: bytes = b""
    spare_at: int = 0

    def new_id(self) -> uuid.UUID:
        """A new record's id: a random (version 4) UUID, as :func:`uuid.uuid4` makes."""
        if self.spare_at >= len(self.spare):
            self.spare, self.spare_at = os.urandom(16 * 512), 0
        raw = self.spare[self.spare_at : self.spare_at + 16]
        self.spare_at += 16
        return uuid.UUID(bytes=raw, version=4)

    @property
    def writer(self) -> str:
        """What the import's writes are stamped with (the merge's same-writer rule)."""
        return f"import:{self.mapping.source}"

    def team_known(self, session: Session, name: str) -> bool:
        if name not in self.teams:
            self.teams[name] = crud.get_team(session, name) is not None
        return self.teams[name]

    def take_refs(self, session: Session, count: int) -> list[str]:
        """References for ``count`` new cases, taken from the service's counter at once (so
        the numbers run on without gaps); a dry run takes none."""
        year = self.clock.now().year
        if self.dry_run:
            self.dry_refs += count
            return [
                f"FC-{year}-DRY-{n:06d}"
                for n in range(self.dry_refs - count + 1, self.dry_refs + 1)
            ]
        if not count:
            return []
        start = crud.take_ref_numbers(session, year, count)
        return [f"FC-{year}-{n:05d}" for n in range(start, start + count)]


def run_import(
    engine: Engine,
    mapping: Mapping,
    source: Source,
    *,
    by: str,
    clock: Clock,
    dry_run: bool = False,
    progress: Progress | None = None,
    on_refused: Callable[[RowProblem, dict[str, str]], None] | None = None,
    helper_from: int | None = None,
) -> ImportReport:
    """Import every row of ``source``; see the module's words. The run is audited
    (``imported``) even when the file breaks part way (then the error is raised after)."""
    report = ImportReport(on_refused=on_refused)
    job = _Run(mapping, by, clock, report, dry_run=dry_run)
    began = clock.monotonic()
    try:
        # a large file's next batches are built in a helper process while this one is written
        for batch in built_batches(mapping, source, BATCH_ROWS, by, helper_from=helper_from):
            _write(engine, job, batch)
            if progress is not None:
                progress(report.rows, clock.monotonic() - began)
    finally:
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


def _write(engine: Engine, job: _Run, batch: list[BuiltRow]) -> None:
    """One batch in its own transaction: committed, or (a dry run) rolled back."""
    if job.dry_run:
        with Session(engine) as session:
            try:
                _rows(session, job, batch)
            finally:
                session.rollback()
        return
    with unit_of_work(engine) as session:
        _rows(session, job, batch)
    job.batches += 1
    if job.batches in FRESH_STATISTICS_AFTER and engine.dialect.name == "postgresql":
        # the tables grow as the import goes: fresh statistics keep PostgreSQL looking keys
        # and records up by index (outside the batch, so no lock is held meanwhile)
        with engine.begin() as connection:
            for table_name in ("import_key", "record", "case_scope"):
                connection.execute(text(f"ANALYZE {table_name}"))


@dataclass(slots=True)
class _Key:
    """What an earlier import (or an earlier row of this one) made of a source's record."""

    record_id: uuid.UUID
    case_id: uuid.UUID
    version: int  # the version it was created at: every later import's change is based on it
    hashes: dict[str, str] = field(default_factory=dict)  # field -> digest of the file's value
    stored: bool = False  # False: made by this batch, written at its end
    moved: bool = False  # stored, and its hashes moved on by this batch


@dataclass(frozen=True, slots=True)
class _NewRecord:
    """A record the import makes: written whole with the batch's others, never merged (so
    no :class:`Change` is made for it: one for each of a hundred thousand rows costs)."""

    kind: RecordKind
    record_id: uuid.UUID
    case_id: uuid.UUID
    fields: dict[str, Any]


@dataclass(slots=True)
class _Planned:
    """One change a row makes, and the import key it is known by."""

    kind: str
    external_id: str
    key: _Key | None  # None: a new record
    change: Change | _NewRecord  # a change to a record an earlier import made, or a new one
    hashes: dict[str, str]  # the key's hashes once the change is written


#: What a batch reads of each import key.
KEY_COLUMNS: tuple[Any, ...] = (
    ImportKey.external_id,
    ImportKey.record_id,
    ImportKey.case_id,
    ImportKey.version,
    ImportKey.hashes,
)
#: (kind, external id) -> the import key, for the rows of one batch.
Keys = dict[tuple[str, str], _Key]


def _rows(session: Session, job: _Run, batch: list[BuiltRow]) -> None:
    """One batch of built rows: look up what earlier imports made of their records in a few
    queries, refuse rows that touch erased records, apply the changes to known records through
    the push's merge, then write the new records and the keys."""
    pending = Pending()
    built: list[tuple[RowRecords, dict[str, str]]] = []
    for _number, values, row in batch:
        job.report.rows += 1
        if isinstance(row, RowProblem):
            _refuse(job, row, values)
        else:
            built.append((row, values))
    keys = _known(session, job, [row for row, _ in built])
    fresh: set[tuple[str, str]] = set()
    plans: list[tuple[RowRecords, dict[str, str], list[_Planned]]] = []
    for row, values in built:
        plan = _plan(session, job, row, keys, fresh)
        if isinstance(plan, RowProblem):
            _refuse(job, plan, values)
        else:
            plans.append((row, values, plan))
    # only what an earlier import made can have been erased since (a new record's id is
    # new; a new warning or note may be of a case made before)
    known = [p for _, _, planned in plans for p in planned if p.key is not None]
    later = [p for _, _, planned in plans for p in planned if p.kind in ("warning", "note")]
    erased_cases, erased_records = erasure.erased_among(
        session, {p.change.case_id for p in known + later}, {p.change.record_id for p in known}
    )
    written: list[_Planned] = []
    with session.no_autoflush:
        updates = [
            p.change for _, _, planned in plans for p in planned if isinstance(p.change, Change)
        ]
        prefetch(session, updates, pending)
        for row, values, planned in plans:
            touched = {p.change.case_id for p in planned} | {p.change.record_id for p in planned}
            if touched & (erased_cases | erased_records):
                problem: RowProblem | None = RowProblem(
                    row.number,
                    _column_of(job.mapping, "case.external_id"),
                    "names a case or person that was erased from the council's records, so it "
                    "is not brought back: take the row out of the file",
                )
            else:
                problem = _apply_row(session, pending, job, row, planned)
            if problem is None:
                written.extend(p for p in planned if p.key is None)
                continue
            _refuse(job, problem, values)
            _forget(job, planned, keys, fresh)
    _write_keys(session, job, keys, fresh)
    cases = [p.change for p in written if p.kind == "case"]
    for case, ref in zip(cases, job.take_refs(session, len(cases)), strict=True):
        case.fields["ref"] = ref  # the batch's new cases, numbered in the file's order
    _insert(session, pending, job, written)
    _share(session, pending, job, written)
    finalize(session, pending, at=job.clock.now())  # last: it holds the change log's counter
    if job.dry_run:
        job.dry_keys.update({k: keys[k] for k in fresh if k in keys})


def _share(session: Session, pending: Pending, job: _Run, written: list[_Planned]) -> None:
    """Share what the batch's new records make shared: a person with each new case about them
    in another case than their record's own (another team's, often), and every active risk
    warning about such a person with each case about them, each with its holder's name; a new
    risk warning about a person shared before reaches them too. As after a merge. Only the
    people with a risk warning need the whole reckoning (:func:`shares.refresh_shares`)."""
    made = {p.change.case_id for p in written if p.kind == "case"}
    pairs = {(person, case) for person, case in job.shares if case in made}
    job.shares.clear()
    people = {person for person, _case in pairs}
    risky = {
        uuid.UUID(str(p.change.fields.get("person_id")))
        for p in written
        if p.kind == "warning" and p.change.fields.get("category") == shares.RISK
    } - people
    if risky:
        query = select(SharedRecord.record_id).where(
            among(session, col(SharedRecord.record_id), sorted(risky))
        )
        people |= set(session.exec(query))
    whole = shares.at_risk(session, people) if people else set()
    now = {p.change.record_id for p in written}  # new to every laptop: none sent again
    rest = {(person, case) for person, case in pairs if person not in whole}
    shares.share_people(session, pending, rest, written_now=now)
    if whole:
        shares.refresh_shares(session, pending, *whole, written_now=now)


def _forget(job: _Run, planned: list[_Planned], keys: Keys, fresh: set[tuple[str, str]]) -> None:
    """A refused row's records are not written, so not known, and a later row may say them."""
    for item in planned:
        job.seen.discard(_seen_mark(item.kind, item.external_id))
        if item.key is None:
            fresh.discard((item.kind, item.external_id))
            keys.pop((item.kind, item.external_id), None)


def _write_keys(session: Session, job: _Run, keys: Keys, fresh: set[tuple[str, str]]) -> None:
    new = [(kind_ext, keys[kind_ext]) for kind_ext in sorted(fresh) if kind_ext in keys]
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
                "hashes": key.hashes,
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
            .values(hashes=bindparam("h"), imported_at=now),
            [{"k": kind, "e": ext, "h": key.hashes} for kind, ext, key in moved],
        )


def _insert(session: Session, pending: Pending, job: _Run, planned: list[_Planned]) -> None:
    """Write the batch's new records in one statement (they need no merge: their schema was
    checked when planned); each new case is audited as ``case_imported``."""
    bulk_insert(
        session,
        [(p.change.kind, p.change.record_id, p.change.case_id, p.change.fields) for p in planned],
        job.by,
        clock=job.clock,
        analyze=False,
        stamped_as=job.writer,
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
    report = job.report
    report.refused_count += 1
    if len(report.refused) < KEEP_REFUSED:
        report.refused.append(problem)
    if report.on_refused is not None:
        report.on_refused(problem, values)  # streamed: memory stays flat


def _known(session: Session, job: _Run, rows: list[RowRecords]) -> Keys:
    """The import keys of every record these rows name, in one query per kind (and, in a dry
    run, the ones its earlier batches would have made)."""
    wanted: dict[str, set[str]] = {"person": set(), "case": set(), "warning": set(), "note": set()}
    for row in rows:
        wanted["person"].add(row.person_external_id)
        wanted["case"].add(row.case_external_id)
        wanted["warning"].update(row.warning_ids)
        if row.note_id:
            wanted["note"].add(row.note_id)
    keys: Keys = {}
    for kind, external_ids in wanted.items():
        if not external_ids:
            continue
        for ext, record_id, case_id, version, hashes in session.execute(
            sa_select(*KEY_COLUMNS).where(
                col(ImportKey.source) == job.mapping.source,
                col(ImportKey.kind) == kind,
                among(session, col(ImportKey.external_id), sorted(external_ids)),
            )
        ):
            keys[(kind, ext)] = _Key(record_id, case_id, version, dict(hashes or {}), stored=True)
        for ext in external_ids:
            if (kind, ext) in job.dry_keys:
                keys.setdefault((kind, ext), job.dry_keys[(kind, ext)])
    people = [key.record_id for (kind, _ext), key in keys.items() if kind == "person"]
    job.redirects = shares.redirects(session, people) if people else {}
    return keys


def _plan(
    session: Session,
    job: _Run,
    row: RowRecords,
    keys: Keys,
    fresh: set[tuple[str, str]],
) -> list[_Planned] | RowProblem:
    """The changes a row makes: new records whole (checked against the schema with the row, so
    before anything of it is known), known ones only in the fields whose value in the file
    changed."""
    team = str(row.case.get("team") or "")
    if not job.team_known(session, team):
        return RowProblem(
            row.number,
            _column_of(job.mapping, "case.team"),
            f'names the team "{team}", which the service does not have (add it with '
            "`admin add-team`, or map the file's teams in the mapping)",
        )
    now = job.clock.now()
    case_key = keys.get(("case", row.case_external_id))
    person_key = keys.get(("person", row.person_external_id))
    case_id = case_key.case_id if case_key else job.new_id()
    person_id = person_key.record_id if person_key else job.new_id()
    named, home = person_id, (person_key.case_id if person_key else case_id)
    moved = job.redirects.get(person_id)
    if moved is not None:  # merged into another person since: the case is about them
        named, home = moved.kept_id, moved.kept_case_id
    if case_key is None and home != case_id:
        job.shares.append((named, case_id))
    records = new_records(
        row, source=job.mapping.source, by=job.by, person_id=str(named), at=now.isoformat()
    )
    # (kind, external id, record id, case id, fields, the key's hashes once written)
    chosen: list[tuple[str, str, uuid.UUID, uuid.UUID, dict[str, Any], dict[str, str]]] = []
    for index, record in enumerate(records):
        kind, ext = record.kind, record.external_id
        key = keys.get((kind, ext))
        if _seen_mark(kind, ext) in job.seen or (key is not None and kind in ("warning", "note")):
            continue  # said by an earlier row of this run; a warning or note is its text
        hashes = row.hashes[index]  # made with the row, but for the person a case names:
        if kind == "case":
            hashes = {**hashes, "person_id": digest(str(named))}
        if key is not None:
            changed = {n: record.from_file[n] for n, h in hashes.items() if key.hashes.get(n) != h}
            if not changed:
                job.report.unchanged += 1
                job.seen.add(_seen_mark(kind, ext))
                continue  # the file says what it said last time: the record is left alone
            chosen.append(
                (kind, ext, key.record_id, key.case_id, changed, {**key.hashes, **hashes})
            )
            continue
        problem = row.unfit.get(index)  # checked whole with the row
        if problem is not None:
            return RowProblem(
                row.number, _column_of(job.mapping, f"{kind}.{problem.field}"), problem.reason
            )
        whole = record.whole  # a case's reference is added with the batch's others
        # a new person's record is held by this row's case, like its warnings and note
        record_id = {"case": case_id, "person": person_id}.get(kind) or job.new_id()
        chosen.append((kind, ext, record_id, case_id, whole, hashes))
    return _planned(job, keys, fresh, chosen, now)


def _planned(
    job: _Run,
    keys: Keys,
    fresh: set[tuple[str, str]],
    chosen: list[tuple[str, str, uuid.UUID, uuid.UUID, dict[str, Any], dict[str, str]]],
    now: datetime,
) -> list[_Planned]:
    """The row's chosen records as what the batch writes: a new record, or a change to one
    an earlier import made; each known to the later rows of this import from here on."""
    planned = []
    for kind, ext, record_id, in_case, fields, hashes in chosen:
        key = keys.get((kind, ext))
        if key is None:  # known from here on, to the later rows of this import
            keys[(kind, ext)] = _Key(record_id, in_case, 1, hashes)
            fresh.add((kind, ext))
        if key is None:
            made: Change | _NewRecord = _NewRecord(RecordKind(kind), record_id, in_case, fields)
        else:
            made = Change.model_construct(  # made here from checked values: no second check
                change_id=uuid.uuid4(),
                kind=RecordKind(kind),
                record_id=record_id,
                case_id=in_case,
                base_version=key.version,
                fields=fields,
                made_at=now,
                resolves=[],
            )
        planned.append(_Planned(kind, ext, key, made, hashes))
        if kind in ("person", "case"):
            job.seen.add(_seen_mark(kind, ext))
    return planned


def _apply_row(
    session: Session, pending: Pending, job: _Run, row: RowRecords, planned: list[_Planned]
) -> RowProblem | None:
    """Apply a row's changes to records an earlier import made, through the push's merge: a
    field the import itself wrote last is changed, one changed in Fieldcase since becomes a
    clash (the file's value beside Fieldcase's, for the case's worker)."""
    report = job.report
    for item in planned:
        if item.key is None or not isinstance(item.change, Change):
            continue
        result = apply_change(
            session, None, item.change, pending, clock=job.clock, by=job.by, stamp_as=job.writer
        )
        if result.status == ChangeStatus.REJECTED:
            said = result.error.message if result.error is not None else "was refused"
            return RowProblem(row.number, f"the {item.kind} it names", said)
        if result.status == ChangeStatus.CONFLICT:
            report.clashes += len(result.conflicts)
        if len(result.conflicts) < len(item.change.fields):
            report.updated[item.kind] += 1
        item.key.hashes = item.hashes  # the same file again changes nothing, clashes nothing
        item.key.moved = item.key.stored
    return None


def _seen_mark(kind: str, external_id: str) -> int:
    """A small mark of a record this run has dealt with (memory stays small)."""
    return hash((kind, external_id))
