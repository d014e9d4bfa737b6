"""The core actions: the one application API the CLI and the window call.

    with Profile.open(folder, password) as profile:
        work = Casework(profile)
        ref = work.create_case("housing_repair", "Pat Morgan", {"priority": "high"})
        work.add_note(ref, "Visited at home. Damp in the back bedroom.")

:class:`Casework` is a thin facade; each aggregate's rules live in a module of its own
(:mod:`app.core.cases`, :mod:`~app.core.reading`, :mod:`~app.core.notes`,
:mod:`~app.core.visits`, :mod:`~app.core.warnings`, :mod:`~app.core.documents`,
:mod:`~app.core.clashes`), all over one :class:`app.core.uow.UnitOfWork`.

Every change is one transaction that also writes its outbox entry (one ``Change`` per record
touched, carrying only the fields set, based on the version this laptop holds) and a local
audit event. Reading a case records a "viewed" audit event. Nothing here touches Qt or the
network; calls must be serialised (one at a time), as the profile's are. Time comes from the
clock given (else the profile's): nothing here reads the system's clock.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO
from uuid import UUID

from app.core import cases, clashes, documents, notes, printing, reading, visits, warnings
from app.core.printing import Handout
from app.core.uow import CaseKey, UnitOfWork
from app.core.views import AuditRow, CaseDetail, CaseFilter, CaseRow, CaseSort, NewCase, VisitRow
from app.store import outbox, state
from app.store.profile import Profile
from sync.clock import Clock
from sync.records import RecordKind

log = logging.getLogger("fieldcase.core")


class Casework:
    """The core actions on one unlocked profile."""

    def __init__(self, profile: Profile, *, clock: Clock | None = None) -> None:
        self.profile = profile
        self.clock: Clock = clock or profile.clock
        self.uow = UnitOfWork(profile, self.clock)

    @property
    def user(self) -> str:
        return self.profile.user

    # ------------------------------------------------------------------------- cases

    def case_types(self) -> dict[str, str]:
        """Case type code -> label: the built-in types and those the service added."""
        return cases.case_types(self.uow)

    def set_case_types(self, types: Mapping[str, str]) -> None:
        """Remember the service's case types (code -> label); the built-in ones always stay."""
        cases.set_case_types(self.uow, types)

    def create_case(
        self, type: str, person_name: str, fields: Mapping[str, str] | None = None
    ) -> str:
        """Create a case and its person; return the new reference."""
        (ref,) = cases.create_cases(self.uow, [NewCase(type, person_name, dict(fields or {}))])
        log.info("created a case")
        return ref

    def create_cases_bulk(self, items: Iterable[NewCase], *, flush_every: int = 500) -> list[str]:
        """Create many cases in ONE transaction through the same code as :meth:`create_case`
        (for seeding, imports and benchmarks): all or nothing."""
        made = cases.create_cases(self.uow, items, flush_every=flush_every)
        log.info("created %d cases in one go", len(made))
        return made

    def edit_case(self, ref: CaseKey, fields: Mapping[str, str]) -> list[str]:
        """Set case and person fields (``person.NAME`` for the person's); returns the names
        of the fields that actually changed (nothing is written when none did)."""
        return cases.edit_case(self.uow, ref, fields)

    def get_case(
        self, ref: CaseKey, *, record_view: bool = True, with_history: bool = False
    ) -> CaseDetail:
        """Everything about a case (its history too, when asked). Records a "viewed" audit
        event unless told not to."""
        return reading.get_case(self.uow, ref, record_view=record_view, with_history=with_history)

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
        """A page of cases (see :func:`app.core.reading.list_cases`)."""
        return reading.list_cases(
            self.uow, search, filters, sort, offset, limit, descending=descending
        )

    def page_of_cases(
        self,
        search: str | None = None,
        filters: CaseFilter | None = None,
        sort: CaseSort | str = CaseSort.BEST,
        offset: int = 0,
        limit: int = 50,
        *,
        descending: bool = False,
    ) -> tuple[list[CaseRow], int]:
        """A page of cases and how many match in all (for a list that loads page by page)."""
        return reading.page_of_cases(
            self.uow, search, filters, sort, offset, limit, descending=descending
        )

    def count_cases(
        self,
        search: str | None = None,
        filters: CaseFilter | None = None,
        *,
        cap: int | None = None,
    ) -> int:
        """How many cases match (at most ``cap``)."""
        return reading.count_cases(self.uow, search, filters, cap=cap)

    def audit(self, ref: CaseKey) -> list[AuditRow]:
        """The case's history on this laptop, oldest first."""
        return reading.history(self.uow, ref)

    def ref_for(self, case_id: UUID) -> str:
        """The reference of a case, from its id."""
        return reading.ref_for(self.uow, case_id)

    def refs(self) -> Sequence[str]:
        """Every case reference on this laptop (for completion and tests)."""
        return reading.refs(self.uow)

    # ------------------------------------------------------------------------- notes

    def add_note(self, ref: CaseKey, text: str, corrects: UUID | str | None = None) -> UUID:
        """Append a note. A correction is a new note that points at the note it corrects."""
        return notes.add_note(self.uow, ref, text, corrects)

    # ------------------------------------------------------------------------ visits

    def add_visit(
        self,
        ref: CaseKey,
        due: datetime | str,
        place: str,
        title: str = "Visit",
        kind: str = "visit",
    ) -> UUID:
        """Plan a visit or task (``due``: an aware datetime, or local-time text)."""
        return visits.add_visit(self.uow, ref, due, place, title, kind)

    def complete_visit(
        self, visit_id: UUID | str, note_text: str | None = None, outcome: str = "done"
    ) -> UUID | None:
        """Say what came of a visit (done, no_access, not_in, cancelled_by_person,
        cancelled_by_us) and (optionally) write its note, in one transaction."""
        return visits.complete_visit(self.uow, visit_id, note_text, outcome)

    def cancel_visit(self, visit_id: UUID | str) -> None:
        """A planned visit that will not happen."""
        visits.cancel_visit(self.uow, visit_id)

    def my_day(self, today: date | None = None, *, team: bool = False) -> list[VisitRow]:
        """Planned visits and tasks due today (the laptop's local date) or overdue, on the
        cases assigned to this user (``team``: on every case here)."""
        return visits.my_day(self.uow, today, team=team)

    # ---------------------------------------------------------------------- warnings

    def add_warning(self, ref: CaseKey, text: str, category: str = "risk") -> UUID:
        """A warning on the case's person ("Dog on premises"), shown above everything else."""
        return warnings.add_warning(self.uow, ref, text, category)

    def retire_warning(self, warning_id: UUID | str) -> None:
        """Mark a warning as no longer active (it stays in the history)."""
        warnings.retire_warning(self.uow, warning_id)

    # --------------------------------------------------------------------- documents

    def print_case(self, ref: CaseKey, out_path: Path | str, choice: Handout) -> Path:
        """The case's printed record as a PDF (0600), audited as ``printed``."""
        return printing.print_case(self.uow, ref, out_path, choice)

    def print_pages(self, ref: CaseKey, choice: Handout, *, ppi: int = 300) -> list[bytes]:
        """The case's printed record as page pictures for a printer, audited ``printed``."""
        return printing.print_pages(self.uow, ref, choice, ppi=ppi)

    def document_path(self, document_id: UUID) -> Path:
        """Where a document's encrypted file lives."""
        return self.uow.files.path(document_id)

    def add_document(self, ref: CaseKey, path: Path | str) -> UUID:
        """Encrypt a file into the profile (streamed, never whole in memory) and record it."""
        return documents.add_document(self.uow, ref, path)

    def read_document(self, ref: str, name: str, out_path: Path | str) -> Path:
        """Decrypt a case's document (the newest of that name) into ``out_path``."""
        return documents.read_document(self.uow, ref, name, out_path)

    def open_document(self, document_id: UUID) -> BinaryIO:
        """A streaming reader of a document's plaintext."""
        return documents.open_document(self.uow, document_id)

    # ------------------------------------------------------------ clashes, the outbox

    def settle_clash(
        self, conflict_id: UUID, kind: RecordKind, record_id: UUID, field: str, value: Any
    ) -> None:
        """Set one field to the chosen (wire) value as the change that settles a clash."""
        clashes.settle_clash(self.uow, conflict_id, kind, record_id, field, value)

    def role(self) -> str | None:
        """The user's role as the service last said at a sync (None: not heard yet)."""
        with self.uow.read() as session:
            return state.role(session)

    def pending_count(self) -> int:
        """Changes waiting to be sent to the central service (see :mod:`app.store.outbox`)."""
        with self.uow.read() as session:
            return outbox.waiting_count(session)

    def waiting_records(self, case_id: UUID) -> set[UUID]:
        """The case's records with a change still waiting to be sent."""
        with self.uow.read() as session:
            return outbox.waiting_records(session, case_id)
