"""What every core action shares: the open profile, the clock, the user, one transaction at a
time, and the rituals every change follows.

* :meth:`UnitOfWork.tx` is one transaction; a full disk becomes a plain message and nothing is
  saved.
* :meth:`UnitOfWork.create` adds a new record with its outbox entry and its audit event.
* :meth:`UnitOfWork.update` is THE update ritual: set the fields that really change, queue an
  outbox entry carrying only those (made on the version this laptop held) and record the
  audit event. Nothing is written when no field changes.
* :meth:`UnitOfWork.audit` records an audit event (also sent, never counted as waiting).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime, tzinfo
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import text
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlmodel import Session, select

from app.core.errors import InvalidValue, UnknownCase, UnknownRecord
from app.store import outbox
from app.store.document_files import DocumentFiles
from app.store.errors import DiskError, DiskFull, is_disk_full
from app.store.models import AuditEvent, Case, Person, Record
from app.store.profile import Profile
from app.store.records import record_fields
from sync.clock import Clock
from sync.records import RecordKind, check_fields

#: A case, named by its reference (``FC-2026-00042``, as people and the CLI do) or its id
#: (as the window does): every core action takes either.
CaseKey = str | UUID


#: How a person names the record each kind of change is about.
_RECORD_WORDS: dict[RecordKind, str] = {
    RecordKind.CASE: "The case's",
    RecordKind.PERSON: "The person's",
    RecordKind.NOTE: "The note's",
    RecordKind.VISIT: "The visit's",
    RecordKind.WARNING: "The warning's",
    RecordKind.DOCUMENT: "The document's",
    RecordKind.AUDIT: "The history entry's",
}


def refuse_what_the_service_would(obj: Record, fields: dict[str, Any], *, whole: bool) -> None:
    """:class:`InvalidValue` (naming the core's field: ``summary``, ``person.name``) for the
    first field of ``obj`` that breaks the shared record schema (``sync.records``)."""
    problems = check_fields(obj.KIND, fields, whole=whole)
    if not problems:
        return
    first = problems[0]
    label = first.field.replace("_", " ")
    field = f"person.{first.field}" if obj.KIND is RecordKind.PERSON else first.field
    raise InvalidValue(
        f"{_RECORD_WORDS[obj.KIND]} {label} {first.reason}. Change it and save again.",
        field=field,
    )


def normal_ref(ref: str) -> str:
    return ref.strip().upper()


class UnitOfWork:
    """The context of the core actions on one unlocked profile."""

    def __init__(self, profile: Profile, clock: Clock) -> None:
        self.profile = profile
        self.clock = clock
        self.files = DocumentFiles(profile.documents_dir)

    @property
    def user(self) -> str:
        return self.profile.user

    # ------------------------------------------------------------------------ sessions

    @contextmanager
    def tx(self) -> Iterator[Session]:
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
    def read(self) -> Iterator[Session]:
        with Session(self.profile.engine, expire_on_commit=False) as session:
            yield session

    # --------------------------------------------------------------------------- time

    def now(self) -> datetime:
        now = self.clock.now()
        if now.tzinfo is None:
            raise ValueError("the clock must return an aware UTC datetime")
        return now.astimezone(UTC)

    def today(self) -> date:
        """Today where the laptop is (the local date: references, opened_on, My day)."""
        return self.clock.local_today()

    def zone(self) -> tzinfo:
        return self.clock.local_zone()

    # ------------------------------------------------------------------------ rituals

    def change(
        self,
        session: Session,
        obj: Record,
        case_id: UUID,
        *,
        only: Iterable[str] | None = None,
        base_version: int | None = None,
        resolves: Iterable[UUID] = (),
    ) -> None:
        """Queue the outbox entry for ``obj`` (all its fields, or those in ``only``; settling
        the clashes ``resolves``) after checking them against the shared record schema: what
        the service would refuse is refused here, in plain words naming the field, and nothing
        is saved."""
        fields = None if only is None else set(only)
        refuse_what_the_service_would(obj, record_fields(obj, fields), whole=fields is None)
        outbox.add_change(
            session,
            obj,
            case_id,
            self.now(),
            only=only,
            base_version=base_version,
            resolves=resolves,
        )

    def audit(
        self, session: Session, case_id: UUID, action: str, record: Record, detail: str = ""
    ) -> None:
        """Record who did what to which record (sent like a change, never counted)."""
        event = AuditEvent(
            id=uuid4(),
            case_id=case_id,
            actor=self.user,
            action=action,
            record_kind=record.KIND.value,
            record_id=record.id,
            at=self.now(),
            detail=detail,
        )
        session.add(event)
        self.change(session, event, case_id)

    def create(self, session: Session, obj: Record, case_id: UUID, action: str = "created") -> None:
        """Add a new record, its outbox entry and its audit event."""
        session.add(obj)
        self.change(session, obj, case_id)
        self.audit(session, case_id, action, obj)

    def update(
        self,
        session: Session,
        obj: Record,
        values: Mapping[str, Any],
        case_id: UUID,
        *,
        audit: bool = True,
    ) -> list[str]:
        """Set ``values`` on ``obj``; queue one change with only the fields that differ and
        (unless told not to) the "changed" audit event. Returns the changed names, in the
        order given; nothing is written when there are none."""
        changed = [name for name, value in values.items() if getattr(obj, name) != value]
        if not changed:
            return changed
        base = obj.version
        for name in changed:
            setattr(obj, name, values[name])
        session.add(obj)
        self.change(session, obj, case_id, only=changed, base_version=base)
        if audit:
            self.audit(session, case_id, "changed", obj, "fields: " + ", ".join(changed))
        return changed

    # ------------------------------------------------------------------------ lookups

    def case(self, session: Session, key: CaseKey) -> Case:
        """The case named by ``key``: its id, or its reference."""
        if isinstance(key, UUID):
            found = session.get(Case, key)
            if found is None:
                raise UnknownCase(key)
            return found
        wanted = normal_ref(key)
        case = session.exec(select(Case).where(Case.ref == wanted)).first()
        if case is None:
            raise UnknownCase(wanted or key)
        return case

    def person(self, session: Session, case: Case) -> Person:
        person = session.get(Person, case.person_id)
        if person is None:  # a case pulled before its person arrived
            raise UnknownRecord(
                "person for case", case.ref, "Sync again to fetch the rest of this case."
            )
        return person

    def find(self, session: Session, model: type[Record], ident: UUID | str, what: str) -> Any:
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
