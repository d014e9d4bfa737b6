"""The core actions on cases: one non-UI module the CLI, the window and the sync adapter call.

    with Profile.open(folder, password) as profile:
        work = Casework(profile)
        ref = work.create_case("housing_repair", "Pat Morgan", {"priority": "high"})
        work.add_note(ref, "Visited at home. Damp in the back bedroom.")

Every change is one transaction that also writes its outbox entry (one ``Change`` per record
touched, carrying only the fields set, based on the version this laptop holds) and a local
audit event. Reading a case records a "viewed" audit event. Nothing here touches Qt or the
network; calls must be serialised (one at a time), as the profile's are.
"""

from __future__ import annotations

import hashlib
import json
import logging
import mimetypes
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, BinaryIO
from uuid import UUID, uuid4

from sqlalchemy import insert, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlmodel import Session, SQLModel, col, func, select

from app import vault
from app.core import fields as F
from app.core import listing
from app.core.errors import InvalidValue, UnknownCase, UnknownRecord
from app.core.listing import parse_ts
from app.core.refs import RefAllocator, read_facts
from app.core.views import (
    AuditRow,
    CaseDetail,
    CaseFilter,
    CaseRow,
    CaseSort,
    DocumentView,
    NewCase,
    NoteView,
    VisitRow,
    VisitView,
    WarningView,
)
from app.domain.enums import DocumentState, VisitStatus
from app.domain.names import sort_name
from app.errors import FieldcaseError, UsageError
from app.store import outbox, state
from app.store.errors import DiskError, DiskFull, is_disk_full
from app.store.models import (
    KIND_MODELS,
    AuditEvent,
    Case,
    Document,
    Note,
    Person,
    Record,
    Visit,
    Warning,
)
from app.store.profile import Profile
from app.store.records import from_wire, to_wire
from app.store.tables import Conflict, Outbox
from sync.clock import Clock
from sync.records import BUILTIN_CASE_TYPES, FIELDS, RecordKind

log = logging.getLogger("fieldcase.core")

DOCUMENT_SUFFIX = ".fcd"
READ_CHUNK = 1024 * 1024
CASE_FIELD_NAMES = tuple(
    f for f in FIELDS[RecordKind.CASE] if f not in ("ref", "type", "person_id")
)
PERSON_FIELD_NAMES = FIELDS[RecordKind.PERSON]


def _ts(moment: datetime) -> str:
    """A UTC datetime as stored by UTCDateTime (for comparisons in raw SQL)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _normal_ref(ref: str) -> str:
    return ref.strip().upper()


class _RowBatch:
    """Rows waiting to be inserted, per table, in the order the tables were first used."""

    def __init__(self) -> None:
        self.rows: dict[Any, list[dict[str, Any]]] = {}

    def add(self, model: type[SQLModel], values: dict[str, Any]) -> None:
        self.rows.setdefault(model.__table__, []).append(values)  # type: ignore[attr-defined]

    def insert(self, session: Session) -> None:
        conn = session.connection()
        for table, rows in self.rows.items():
            if rows:
                conn.execute(insert(table), rows)
        self.rows.clear()


class Casework:
    """The core actions on one unlocked profile."""

    def __init__(self, profile: Profile, *, clock: Clock | None = None) -> None:
        self.profile = profile
        self.clock: Clock = clock or profile.clock

    # ------------------------------------------------------------------------- plumbing

    @property
    def user(self) -> str:
        return self.profile.user

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        """One transaction; a full disk becomes a plain message and nothing is saved."""
        try:
            with (
                Session(self.profile.engine, expire_on_commit=False) as session,
                session.begin(),
            ):
                yield session
        except (SQLAlchemyError, OSError) as err:
            if is_disk_full(err):
                raise DiskFull(detail=type(err).__name__) from err
            if isinstance(err, OperationalError) and "disk I/O error" in str(err):
                raise DiskError(detail=type(err).__name__) from err
            raise

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with Session(self.profile.engine, expire_on_commit=False) as session:
            yield session

    def _now(self) -> datetime:
        now = self.clock.now()
        if now.tzinfo is None:
            raise ValueError("the clock must return an aware UTC datetime")
        return now.astimezone(UTC)

    def _today(self) -> date:
        return self._now().astimezone().date()

    def _change(
        self,
        session: Session,
        obj: Record,
        case_id: UUID,
        *,
        only: set[str] | None = None,
        base_version: int | None = None,
    ) -> None:
        """Queue the outbox entry for ``obj`` (all its fields, or those in ``only``)."""
        outbox.add_change(session, obj, case_id, self._now(), only=only, base_version=base_version)

    def _audit(
        self,
        session: Session,
        case_id: UUID,
        action: str,
        record: Record,
        detail: str = "",
    ) -> None:
        event = AuditEvent(
            id=uuid4(),
            case_id=case_id,
            actor=self.user,
            action=action,
            record_kind=record.KIND.value,
            record_id=record.id,
            at=self._now(),
            detail=detail,
        )
        session.add(event)
        self._change(session, event, case_id)

    def _case(self, session: Session, ref: str) -> Case:
        wanted = _normal_ref(ref)
        case = session.exec(select(Case).where(Case.ref == wanted)).first()
        if case is None:
            raise UnknownCase(wanted or ref)
        return case

    def _person(self, session: Session, case: Case) -> Person:
        person = session.get(Person, case.person_id)
        if person is None:  # a case pulled before its person arrived
            raise UnknownRecord(
                "person for case", case.ref, "Sync again to fetch the rest of this case."
            )
        return person

    def case_types(self) -> dict[str, str]:
        """Case type code -> label: the built-in types and those the service added."""
        with self._read() as session:
            return self._case_types(state.case_types_json(session))

    @staticmethod
    def _case_types(extra: str | None) -> dict[str, str]:
        types = dict(BUILTIN_CASE_TYPES)
        if extra is not None:
            try:
                for item in json.loads(extra):
                    types.setdefault(str(item["code"]), str(item["label"]))
            except (ValueError, KeyError, TypeError):
                log.warning("ignoring a malformed list of case types")
        return types

    def set_case_types(self, types: Mapping[str, str]) -> None:
        """Remember the service's case types (code -> label); the built-in ones always stay."""
        with self._tx() as session:
            state.set_case_types(session, types)

    # --------------------------------------------------------------------- cases: write

    def create_case(
        self, type: str, person_name: str, fields: Mapping[str, str] | None = None
    ) -> str:
        """Create a case and its person; return the new reference."""
        with self._tx() as session:
            year = self._today().year
            facts = read_facts(session.connection(), year)
            types = self._case_types(facts.get("case_types"))
            refs = RefAllocator(session.connection(), year, facts)
            batch = _RowBatch()
            ref = self._plan_case(
                batch, refs, types, NewCase(type, person_name, dict(fields or {}))
            )
            batch.insert(session)
            refs.save()
        log.info("created a case")
        return ref

    def create_cases_bulk(self, items: Iterable[NewCase], *, flush_every: int = 500) -> list[str]:
        """Create many cases in ONE transaction through the same code as :meth:`create_case`
        (for seeding, imports and benchmarks): all or nothing."""
        made: list[str] = []
        with self._tx() as session:
            year = self._today().year
            facts = read_facts(session.connection(), year)
            types = self._case_types(facts.get("case_types"))
            refs = RefAllocator(session.connection(), year, facts)
            batch = _RowBatch()
            for n, item in enumerate(items, start=1):
                made.append(self._plan_case(batch, refs, types, item))
                if n % flush_every == 0:
                    batch.insert(session)
            batch.insert(session)
            refs.save()
        log.info("created %d cases in one go", len(made))
        return made

    def _plan_case(
        self, batch: _RowBatch, refs: RefAllocator, types: Mapping[str, str], item: NewCase
    ) -> str:
        """Validate one new case and add its rows (person, case, their outbox entries and the
        audit event) to ``batch``. Rows are plain column dicts: creating cases is the hot path
        (one by one in the field, a hundred thousand at a time when seeding)."""
        case_type = F.parse_case_type(item.type, types)
        name = F.parse_required_text("The person's name", item.person_name)
        case_values, person_values = F.split_fields(item.fields, types)
        case_values.pop("type", None)
        today = self._today()
        now = self._now()
        case_id, person_id = uuid4(), uuid4()
        person: dict[str, Any] = {
            "id": person_id,
            "version": 0,
            "case_id": case_id,
            "name": name,
            "date_of_birth": None,
            "address": "",
            "phone": "",
            "preferred_contact": None,
            "language": "",
            "access_needs": "",
        }
        person.update(person_values)
        person["sort_name"] = sort_name(person["name"])
        case: dict[str, Any] = {
            "id": case_id,
            "version": 0,
            "ref": refs.next(),
            "type": case_type,
            "status": "open",
            "priority": "normal",
            "summary": "",
            "team": self.profile.team,
            "assigned_to": self.user,
            "next_review": None,
            "opened_on": today,
            "closed_on": None,
            "person_id": person_id,
        }
        case.update(case_values)
        if (
            case["status"] == "closed"
            and case["closed_on"] is None
            and "closed_on" not in case_values
        ):
            case["closed_on"] = today
        audit: dict[str, Any] = {
            "id": uuid4(),
            "version": 0,
            "case_id": case_id,
            "actor": self.user,
            "action": "created",
            "record_kind": RecordKind.CASE.value,
            "record_id": case_id,
            "at": now,
            "detail": "",
        }
        batch.add(Person, person)
        batch.add(Case, case)
        batch.add(AuditEvent, audit)
        for kind, values in (
            (RecordKind.PERSON, person),
            (RecordKind.CASE, case),
            (RecordKind.AUDIT, audit),
        ):
            wire = {f: to_wire(values[f]) for f in FIELDS[kind]}
            batch.add(Outbox, outbox.change_values(kind, values["id"], case_id, 0, wire, now))
        return str(case["ref"])

    def edit_case(self, ref: str, fields: Mapping[str, str]) -> list[str]:
        """Set case and person fields (``person.NAME`` for the person's). Returns the names of
        the fields that actually changed (nothing is written when none did)."""
        if not fields:
            raise InvalidValue(
                "Say what to change, for example --set status=in_progress. The fields you can "
                f"set are: {', '.join(F.SETTABLE_FIELDS)}."
            )
        types = self.case_types()
        case_values, person_values = F.split_fields(fields, types)
        changed: list[str] = []
        with self._tx() as session:
            case = self._case(session, ref)
            person = self._person(session, case)
            status = case_values.get("status")
            if status is not None and status != case.status and "closed_on" not in case_values:
                if status == "closed" and case.closed_on is None:
                    case_values["closed_on"] = self._today()
                elif status != "closed" and case.closed_on is not None:
                    case_values["closed_on"] = None
            for obj, values, prefix in (
                (case, case_values, ""),
                (person, person_values, "person."),
            ):
                diff = {k for k, v in values.items() if getattr(obj, k) != v}
                if not diff:
                    continue
                base = obj.version
                for attr in diff:
                    setattr(obj, attr, values[attr])
                session.add(obj)
                self._change(session, obj, case.id, only=diff, base_version=base)
                changed.extend(sorted(prefix + a for a in diff))
            if changed:
                self._audit(session, case.id, "changed", case, "fields: " + ", ".join(changed))
        return changed

    # ---------------------------------------------------------------------- cases: read

    def get_case(self, ref: str, *, record_view: bool = True) -> CaseDetail:
        """Everything about a case. Records a "viewed" audit event unless told not to."""
        if record_view:
            try:
                with self._tx() as session:
                    case = self._case(session, ref)
                    self._audit(session, case.id, "viewed", case)
            except DiskFull:
                # a full disk must not hide a person's warnings from the caseworker at the door
                log.warning("could not record a case view: the disk is full")
        with self._read() as session:
            case = self._case(session, ref)
            person = self._person(session, case)
            return self._detail(session, case, person)

    def _detail(self, session: Session, case: Case, person: Person) -> CaseDetail:
        notes = list(
            session.exec(
                select(Note).where(Note.case_id == case.id).order_by(col(Note.written_at))
            ).all()
        )
        corrected_by = {n.corrects: n.id for n in notes if n.corrects is not None}
        warnings = session.exec(
            select(Warning)
            .where(Warning.person_id == person.id, col(Warning.active).is_(True))
            .order_by(col(Warning.added_at))
        ).all()
        visits = session.exec(
            select(Visit).where(Visit.case_id == case.id).order_by(col(Visit.due))
        ).all()
        documents = session.exec(
            select(Document).where(Document.case_id == case.id).order_by(col(Document.added_at))
        ).all()
        return CaseDetail(
            id=case.id,
            ref=case.ref,
            type=case.type,
            version=case.version,
            fields={name: getattr(case, name) for name in CASE_FIELD_NAMES if name != "person_id"},
            person_id=person.id,
            person={name: getattr(person, name) for name in PERSON_FIELD_NAMES},
            warnings=[
                WarningView(w.id, w.text, w.category, w.added_by, w.added_at) for w in warnings
            ],
            notes=[
                NoteView(n.id, n.text, n.author, n.written_at, n.corrects, corrected_by.get(n.id))
                for n in notes
            ],
            visits=[
                VisitView(v.id, v.title, v.kind, v.due, v.place, v.status, v.done_at)
                for v in visits
            ],
            documents=[
                DocumentView(
                    d.id,
                    d.name,
                    d.size,
                    d.mime,
                    d.added_by,
                    d.added_at,
                    d.local_state != DocumentState.REMOTE and d.file_key is not None,
                )
                for d in documents
            ],
            pending=outbox.waiting_count(session, case.id),
            conflicts=session.exec(
                select(func.count())
                .select_from(Conflict)
                .where(Conflict.case_id == case.id, col(Conflict.resolved).is_(False))
            ).one(),
        )

    def list_cases(
        self,
        search: str | None = None,
        filters: CaseFilter | None = None,
        sort: CaseSort | str = CaseSort.BEST,
        offset: int = 0,
        limit: int = 50,
        *,
        descending: bool = False,
    ) -> list[CaseRow]:
        """A page of cases. ``search`` is full-text over names, references, summaries and notes
        (each word a prefix). With the default sort a search streams the most recently written
        matches first and stops at the page, so it stays fast on a hundred thousand cases;
        any other sort orders every match. Without a search, BEST means NAME."""
        with self._read() as session:
            return listing.page_of_cases(
                session.connection(),
                search,
                filters or CaseFilter(),
                sort,
                offset,
                limit,
                descending=descending,
            )

    def count_cases(
        self,
        search: str | None = None,
        filters: CaseFilter | None = None,
        *,
        cap: int | None = None,
    ) -> int:
        """How many cases match (at most ``cap``, which keeps a broad search quick: show
        "1,000 or more" when the answer equals the cap)."""
        with self._read() as session:
            return listing.count_cases(session.connection(), search, filters or CaseFilter(), cap)

    # -------------------------------------------------------------------------- notes

    def add_note(self, ref: str, text: str, corrects: UUID | str | None = None) -> UUID:
        """Append a note. A correction is a new note that points at the note it corrects."""
        body = text.strip()
        if not body:
            raise InvalidValue("A note cannot be empty. Write what happened, then save.")
        with self._tx() as session:
            case = self._case(session, ref)
            corrects_id: UUID | None = None
            if corrects is not None:
                corrects_id = self._note_id(session, case, corrects)
            note = Note(
                id=uuid4(),
                case_id=case.id,
                text=body,
                author=self.user,
                written_at=self._now(),
                corrects=corrects_id,
            )
            session.add(note)
            self._change(session, note, case.id)
            self._audit(session, case.id, "corrected" if corrects_id else "created", note)
        return note.id

    def _note_id(self, session: Session, case: Case, ident: UUID | str) -> UUID:
        note = self._find(session, Note, ident, "note")
        if note is None or note.case_id != case.id:
            raise UnknownRecord(
                "note", str(ident), f"Give the id of a note on {case.ref} (see `case show`)."
            )
        return note.id

    def _find(self, session: Session, model: type[Record], ident: UUID | str, what: str) -> Any:
        """A record by full id, or by an unambiguous start of its id (at least 8 characters)."""
        if isinstance(ident, UUID):
            return session.get(model, ident)
        raw = ident.strip().lower().replace("-", "")
        try:
            return session.get(model, UUID(raw))
        except ValueError:
            pass
        if len(raw) < 8 or not re.fullmatch(r"[0-9a-f]+", raw):
            raise InvalidValue(
                f"{ident!r} is not a {what} id. Copy the id from `fieldcase case show`."
            )
        table = model.__tablename__
        found = (
            session.connection()
            .execute(text(f"SELECT id FROM {table} WHERE id LIKE :p LIMIT 2"), {"p": raw + "%"})
            .all()
        )
        if len(found) != 1:
            return None
        return session.get(model, UUID(found[0][0]))

    # ------------------------------------------------------------------------- visits

    def add_visit(
        self,
        ref: str,
        due: datetime | str,
        place: str,
        title: str = "Visit",
        kind: str = "visit",
    ) -> UUID:
        """Plan a visit or task. ``due`` is an aware datetime, or text like 2026-12-01T10:30
        (local time) or 2026-12-01 (09:00 local time)."""
        if isinstance(due, datetime):
            if due.tzinfo is None:
                raise InvalidValue("The due time must say its time zone.")
            when = due.astimezone(UTC)
        else:
            when = F.parse_when("due", due)
        visit_kind = F.parse_visit_kind(kind)
        with self._tx() as session:
            case = self._case(session, ref)
            visit = Visit(
                id=uuid4(),
                case_id=case.id,
                title=title.strip() or "Visit",
                kind=visit_kind,
                due=when,
                place=place.strip(),
                status=VisitStatus.PLANNED.value,
            )
            session.add(visit)
            self._change(session, visit, case.id)
            self._audit(session, case.id, "created", visit)
        return visit.id

    def complete_visit(self, visit_id: UUID | str, note_text: str | None = None) -> UUID | None:
        """Mark a visit done and (optionally) write its note, in one transaction. Returns the
        note's id when one was written."""
        with self._tx() as session:
            visit = self._find(session, Visit, visit_id, "visit")
            if visit is None:
                raise UnknownRecord(
                    "visit", str(visit_id), "Copy the visit's id from `fieldcase case show`."
                )
            if visit.status != VisitStatus.PLANNED.value:
                raise UsageError(f"That visit is already {visit.status}; nothing was changed.")
            base = visit.version
            visit.status = VisitStatus.DONE.value
            visit.done_at = self._now()
            session.add(visit)
            self._change(
                session, visit, visit.case_id, only={"status", "done_at"}, base_version=base
            )
            self._audit(session, visit.case_id, "changed", visit, "fields: status, done_at")
            note_id: UUID | None = None
            if note_text is not None and note_text.strip():
                note = Note(
                    id=uuid4(),
                    case_id=visit.case_id,
                    text=note_text.strip(),
                    author=self.user,
                    written_at=self._now(),
                )
                session.add(note)
                self._change(session, note, visit.case_id)
                self._audit(session, visit.case_id, "created", note)
                note_id = note.id
        return note_id

    def cancel_visit(self, visit_id: UUID | str) -> None:
        with self._tx() as session:
            visit = self._find(session, Visit, visit_id, "visit")
            if visit is None:
                raise UnknownRecord("visit", str(visit_id))
            if visit.status != VisitStatus.PLANNED.value:
                raise UsageError(f"That visit is already {visit.status}; nothing was changed.")
            base = visit.version
            visit.status = VisitStatus.CANCELLED.value
            session.add(visit)
            self._change(session, visit, visit.case_id, only={"status"}, base_version=base)
            self._audit(session, visit.case_id, "changed", visit, "fields: status")

    def my_day(self, today: date | None = None) -> list[VisitRow]:
        """Planned visits and tasks due today or earlier (overdue), soonest first, with the
        person's name, the place and the person's active warnings."""
        day = today or self._today()
        local = datetime.now().astimezone().tzinfo
        start = datetime.combine(day, time(0), tzinfo=local)
        end = start + timedelta(days=1)
        with self._read() as session:
            conn = session.connection()
            rows = conn.execute(
                text(
                    "SELECT v.id, v.case_id, c.ref, coalesce(p.name, ''), v.title, v.kind,"
                    " v.due, v.place, c.person_id FROM visits AS v"
                    " JOIN cases AS c ON c.id = v.case_id"
                    " LEFT JOIN people AS p ON p.id = c.person_id"
                    " WHERE v.status = 'planned' AND v.due < :end ORDER BY v.due, c.ref"
                ),
                {"end": _ts(end)},
            ).all()
            people = sorted({row[8] for row in rows})
            warnings: dict[str, list[str]] = {}
            if people:
                marks = ",".join(f":p{i}" for i in range(len(people)))
                for person_id, body in conn.execute(
                    text(
                        "SELECT person_id, text FROM warnings WHERE active AND"
                        f" person_id IN ({marks}) ORDER BY added_at"
                    ),
                    {f"p{i}": pid for i, pid in enumerate(people)},
                ).all():
                    warnings.setdefault(person_id, []).append(body)
        result = []
        for row in rows:
            due = parse_ts(row[6])
            assert due is not None
            result.append(
                VisitRow(
                    visit_id=UUID(row[0]),
                    case_id=UUID(row[1]),
                    ref=row[2],
                    person_name=row[3],
                    title=row[4],
                    kind=row[5],
                    due=due,
                    place=row[7],
                    overdue=due < start,
                    warnings=warnings.get(row[8], []),
                )
            )
        return result

    # ----------------------------------------------------------------------- warnings

    def add_warning(self, ref: str, text: str, category: str = "risk") -> UUID:
        """A warning on the case's person ("Dog on premises"), shown above everything else."""
        body = text.strip()
        if not body:
            raise InvalidValue('A warning needs its text, for example "Dog on premises".')
        cat = F.parse_category(category)
        with self._tx() as session:
            case = self._case(session, ref)
            warning = Warning(
                id=uuid4(),
                case_id=case.id,
                person_id=case.person_id,
                text=body,
                category=cat,
                active=True,
                added_by=self.user,
                added_at=self._now(),
            )
            session.add(warning)
            self._change(session, warning, case.id)
            self._audit(session, case.id, "created", warning)
        return warning.id

    def retire_warning(self, warning_id: UUID | str) -> None:
        """Mark a warning as no longer active (it stays in the history)."""
        with self._tx() as session:
            warning = self._find(session, Warning, warning_id, "warning")
            if warning is None:
                raise UnknownRecord("warning", str(warning_id))
            if not warning.active:
                return
            base = warning.version
            warning.active = False
            session.add(warning)
            self._change(session, warning, warning.case_id, only={"active"}, base_version=base)
            self._audit(session, warning.case_id, "changed", warning, "fields: active")

    # ----------------------------------------------------------------------- clashes

    def settle_clash(
        self, conflict_id: UUID, kind: RecordKind, record_id: UUID, field: str, value: Any
    ) -> None:
        """Set one field to the chosen (wire) value as a change that settles the clash
        ``conflict_id``; like any change it syncs to every laptop and is in the history."""
        model = KIND_MODELS[kind]
        with self._tx() as session:
            record = session.get(model, record_id)
            if record is None:
                raise UsageError(
                    "The record of this clash is no longer on this laptop; sync first."
                )
            base = record.version
            setattr(record, field, from_wire(model, field, value))
            session.add(record)
            case_id: UUID = record.case_id  # type: ignore[attr-defined]
            outbox.add_change(
                session,
                record,
                case_id,
                self._now(),
                only={field},
                base_version=base,
                resolves=[conflict_id],
            )
            self._audit(session, case_id, "resolved", record, f"fields: {field}")

    # ---------------------------------------------------------------------- documents

    def document_path(self, document_id: UUID) -> Path:
        """Where a document's encrypted file lives."""
        return self.profile.documents_dir / f"{document_id}{DOCUMENT_SUFFIX}"

    def add_document(self, ref: str, path: Path | str) -> UUID:
        """Encrypt a file into the profile (streamed, never whole in memory) and record it."""
        src = Path(path)
        if not src.is_file():
            raise InvalidValue(f"There is no file at {src}. Check the name and try again.")
        with self._read() as session:
            case = self._case(session, ref)
            case_id = case.id
        document_id = uuid4()
        file_key = vault.new_file_key()
        dst = self.document_path(document_id)
        digest = hashlib.sha256()

        def pieces() -> Iterator[bytes]:
            with open(src, "rb") as handle:
                while piece := handle.read(READ_CHUNK):
                    digest.update(piece)
                    yield piece

        self.profile.documents_dir.mkdir(mode=0o700, exist_ok=True)
        try:
            size = vault.encrypt_chunks(pieces(), dst, file_id=document_id, key=file_key)
        except OSError as err:
            dst.unlink(missing_ok=True)
            if is_disk_full(err):
                raise DiskFull(detail="encrypting a document") from err
            raise FieldcaseError(
                f"Could not read {src}: {err.strerror or 'the file cannot be read'}. Nothing was "
                "saved; check the file and try again.",
                detail=type(err).__name__,
            ) from err
        try:
            with self._tx() as session:
                document = Document(
                    id=document_id,
                    case_id=case_id,
                    name=src.name,
                    size=size,
                    sha256=digest.hexdigest(),
                    mime=mimetypes.guess_type(src.name)[0] or "application/octet-stream",
                    added_by=self.user,
                    added_at=self._now(),
                    file_key=file_key,
                    local_state=DocumentState.LOCAL.value,
                )
                session.add(document)
                self._change(session, document, case_id)
                self._audit(session, case_id, "created", document)
        except BaseException:
            dst.unlink(missing_ok=True)
            raise
        return document_id

    def _document(self, session: Session, case: Case, name: str) -> Document:
        doc = session.exec(
            select(Document)
            .where(Document.case_id == case.id, Document.name == name)
            .order_by(col(Document.added_at).desc())
        ).first()
        if doc is None:
            names = session.exec(select(Document.name).where(Document.case_id == case.id)).all()
            listed = ", ".join(sorted(set(names))) or "none yet"
            raise UnknownRecord(
                "document", f"called {name!r} on {case.ref}", f"Its documents are: {listed}."
            )
        return doc

    def read_document(self, ref: str, name: str, out_path: Path | str) -> Path:
        """Decrypt a case's document (the newest of that name) into ``out_path``."""
        out = Path(out_path)
        with self._tx() as session:
            case = self._case(session, ref)
            doc = self._document(session, case, name)
            self._audit(session, case.id, "exported", doc)
            document_id, file_key, state = doc.id, doc.file_key, doc.local_state
        if file_key is None or state == DocumentState.REMOTE.value:
            raise UsageError(
                f"The document {name!r} has not been downloaded to this laptop yet. Sync, then "
                "try again."
            )
        if not out.parent.is_dir():
            raise InvalidValue(f"There is no folder {out.parent}. Choose where to save the file.")
        try:
            vault.decrypt_file(
                self.document_path(document_id), out, file_id=document_id, key=file_key
            )
        except OSError as err:
            if is_disk_full(err):
                raise DiskFull(detail="writing a document") from err
            reason = err.strerror or "the file cannot be written"
            raise FieldcaseError(
                f"Could not save the document to {out}: {reason}. Nothing was changed; choose "
                "another place and try again.",
                detail=type(err).__name__,
            ) from err
        return out

    def open_document(self, document_id: UUID) -> BinaryIO:
        """A streaming reader of a document's plaintext (for the sync engine's upload)."""
        with self._read() as session:
            doc = session.get(Document, document_id)
            if doc is None or doc.file_key is None:
                raise UnknownRecord("document", str(document_id))
            key = doc.file_key
        return vault.open_decrypted(self.document_path(document_id), file_id=document_id, key=key)

    def list_documents(self, ref: str) -> list[DocumentView]:
        return self.get_case(ref, record_view=False).documents

    # ---------------------------------------------------------------------- the rest

    def pending_count(self) -> int:
        """Changes waiting to be sent to the central service (see :mod:`app.store.outbox`)."""
        with self._read() as session:
            return outbox.waiting_count(session)

    def waiting_records(self, case_id: UUID) -> set[UUID]:
        """The case's records with a change still waiting to be sent."""
        with self._read() as session:
            return outbox.waiting_records(session, case_id)

    def audit(self, ref: str) -> list[AuditRow]:
        """The case's history on this laptop, oldest first."""
        with self._read() as session:
            case = self._case(session, ref)
            events = session.exec(
                select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(col(AuditEvent.at))
            ).all()
        return [
            AuditRow(e.at, e.actor, e.action, e.record_kind, e.record_id, e.detail) for e in events
        ]

    def ref_for(self, case_id: UUID) -> str:
        """The reference of a case, from its id."""
        with self._read() as session:
            case = session.get(Case, case_id)
        if case is None:
            raise UnknownRecord("case with id", str(case_id), "Sync to fetch new cases.")
        return case.ref

    def refs(self) -> Sequence[str]:
        """Every case reference on this laptop (for completion and tests)."""
        with self._read() as session:
            return list(session.exec(select(Case.ref).order_by(Case.ref)).all())
