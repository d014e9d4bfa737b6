"""What the core actions return: plain, immutable rows for the CLI, the window and tests.

These are the ONLY row types: the CLI prints them and the window's item models show them as
they are (the window adds no row classes of its own)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sync import words


def _iso(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


class CaseSort(StrEnum):
    """Orders for the case list."""

    BEST = "best"  # searching: most recently written matches first; otherwise as NAME
    NAME = "name"  # person's surname, then given names
    REF = "ref"
    NEXT_REVIEW = "next_review"  # soonest first, none last
    PRIORITY = "priority"  # urgent first
    STATUS = "status"


@dataclass(frozen=True)
class CaseFilter:
    """Narrow the case list; every field left as None matches everything."""

    status: str | None = None
    priority: str | None = None
    type: str | None = None
    team: str | None = None
    assigned_to: str | None = None
    open_only: bool = False  # leave out closed cases
    review_due_by: date | None = None  # only cases whose next review is on or before this day
    review_due: bool = False  # only cases whose review has come (today on the core's clock)


@dataclass(frozen=True)
class CaseRow:
    case_id: UUID
    ref: str
    type: str
    status: str
    priority: str
    person_name: str
    next_visit: datetime | None
    next_review: date | None
    warnings: int  # active warnings on the person
    warning_texts: tuple[str, ...] = ()  # their words, oldest first

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "type": self.type,
            "status": self.status,
            "priority": self.priority,
            "person_name": self.person_name,
            "next_visit": _iso(self.next_visit),
        }


@dataclass(frozen=True)
class NoteView:
    id: UUID
    text: str
    author: str
    at: datetime
    corrects: UUID | None
    corrected_by: UUID | None = None  # a later note that corrects this one
    sent: bool = False  # no change to it is waiting to be sent

    def to_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "text": self.text,
            "author": self.author,
            "at": _iso(self.at),
            "corrects": None if self.corrects is None else str(self.corrects),
        }


@dataclass(frozen=True)
class WarningView:
    id: UUID
    text: str
    category: str
    added_by: str
    added_at: datetime
    #: the team whose case holds it, when it is another team's (a risk warning about the
    #: person, shared after a merge); None for a warning of this case or team
    held_by: str | None = None


@dataclass(frozen=True)
class DocumentView:
    id: UUID
    name: str
    size: int
    mime: str
    added_by: str
    added_at: datetime
    available: bool  # the encrypted content is on this laptop
    sent: bool = False  # no change to it is waiting to be sent

    def to_json(self) -> dict[str, Any]:
        return {"id": str(self.id), "name": self.name, "size": self.size}


@dataclass(frozen=True)
class CaseDetail:
    """Everything about one case, as ``fieldcase case show`` prints it."""

    id: UUID
    ref: str
    type: str
    version: int
    fields: dict[str, Any]  # summary, status, priority, next_review, team, assigned_to, ...
    person_id: UUID
    person: dict[str, Any]  # name, date_of_birth, address, phone, ...
    warnings: list[WarningView]
    notes: list[NoteView]  # oldest first
    visits: list[VisitRow]  # soonest first
    documents: list[DocumentView]
    pending: int  # changes to this case not yet sent to the central service
    conflicts: int = 0  # clashes on this case waiting for a person to choose
    history: list[AuditRow] = field(default_factory=list)  # oldest first, when asked for

    @property
    def person_name(self) -> str:
        return str(self.person.get("name") or "")

    @property
    def old_ids(self) -> str:
        """The ids the council's old systems knew the person by, as a person reads them:
        "C0001234 (west_dorset_carefirst), P-88121 (north_dorset_liquidlogic)"; empty when
        none (a person first recorded in Fieldcase)."""
        return words.old_ids(self.person.get("external_ids"))

    @property
    def summary(self) -> str:
        return str(self.fields.get("summary") or "")

    @property
    def status(self) -> str:
        return str(self.fields.get("status") or "")

    @property
    def priority(self) -> str:
        return str(self.fields.get("priority") or "")

    @property
    def assigned_to(self) -> str:
        return str(self.fields.get("assigned_to") or "")

    @property
    def next_review(self) -> date | None:
        value = self.fields.get("next_review")
        return value if isinstance(value, date) else None

    @property
    def opened_on(self) -> date | None:
        value = self.fields.get("opened_on")
        return value if isinstance(value, date) else None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "ref": self.ref,
            "type": self.type,
            "version": self.version,
            "fields": {k: _iso(v) if isinstance(v, date) else v for k, v in self.fields.items()},
            "person": {k: _iso(v) if isinstance(v, date) else v for k, v in self.person.items()},
            "warnings": [w.text for w in self.warnings],
            "notes": [n.to_json() for n in self.notes],
            "visits": [v.case_json() for v in self.visits],
            "documents": [d.to_json() for d in self.documents],
            "pending": self.pending,
        }


@dataclass(frozen=True)
class VisitRow:
    """A visit or task: on "My day" (planned ones, with the person's warnings) and on its
    case (all of them, with their status)."""

    visit_id: UUID
    case_id: UUID
    ref: str
    person_name: str
    title: str
    kind: str
    due: datetime
    place: str
    overdue: bool  # planned and due before now
    warnings: list[str] = field(default_factory=list)
    status: str = "planned"  # planned | done | cancelled
    done_at: datetime | None = None
    outcome: str | None = None  # what came of it: done, no_access, not_in, cancelled_...
    outcome_note: str = ""
    person_address: str = ""  # where the person lives (on "My day")
    assigned_to: str = ""  # the case's worker (on "My day")

    @property
    def where(self) -> str:
        """Where to go: the visit's place, or the person's address when the place says no more
        than "home" (or nothing)."""
        place = self.place.strip()
        if self.person_address and place.lower() in ("", "home", "home address", "at home"):
            return self.person_address
        return place

    @property
    def id(self) -> UUID:
        return self.visit_id

    def case_json(self) -> dict[str, Any]:
        """As ``case show --json`` lists a case's visits."""
        return {
            "id": str(self.visit_id),
            "due": _iso(self.due),
            "place": self.place,
            "status": self.status,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "id": str(self.visit_id),
            "ref": self.ref,
            "person_name": self.person_name,
            "title": self.title,
            "kind": self.kind,
            "due": _iso(self.due),
            "place": self.place,
            "where": self.where,
            "assigned_to": self.assigned_to,
            "overdue": self.overdue,
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class AuditRow:
    at: datetime
    actor: str
    action: str
    record_kind: str
    record_id: UUID
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {
            "at": _iso(self.at),
            "actor": self.actor,
            "action": self.action,
            "record_kind": self.record_kind,
            "record_id": str(self.record_id),
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Clash:
    """One field changed here and elsewhere, waiting for a person to choose. "mine" is this
    user's value when they made one side (else the value this laptop shows, the one kept);
    "theirs" is the other side, with who made it and when."""

    id: UUID
    case_id: UUID
    ref: str
    kind: str
    record_id: UUID
    field: str
    mine: Any
    theirs: Any
    changed_by: str
    changed_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "ref": self.ref,
            "field": self.field,
            "mine": self.mine,
            "theirs": self.theirs,
            "changed_by": self.changed_by,
            "changed_at": self.changed_at.astimezone(UTC).isoformat(),
        }


@dataclass(frozen=True)
class SettledClash:
    """A clash someone else settled (the first decision settles it for everyone): what they
    chose, who and when; ``mine`` is this user's own version when they made one side."""

    id: UUID
    case_id: UUID
    ref: str
    kind: str
    field: str
    chosen: Any
    settled_by: str
    settled_at: datetime | None
    mine: Any
    made_one_side: bool

    @property
    def mine_kept(self) -> bool:
        """Whether this user's own version is the one chosen (or they made neither side)."""
        return not self.made_one_side or self.mine == self.chosen

    def as_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "ref": self.ref,
            "field": self.field,
            "chosen": self.chosen,
            "settled_by": self.settled_by,
            "settled_at": self.settled_at.astimezone(UTC).isoformat() if self.settled_at else None,
            "mine": self.mine if self.made_one_side else None,
            "mine_kept": self.mine_kept,
        }


@dataclass(frozen=True)
class NewCase:
    """One case for :meth:`Casework.create_cases_bulk`."""

    type: str
    person_name: str
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ComparedField:
    """One field of two people who may be one, as a reviewer compares them."""

    label: str  # "Date of birth"
    a: str  # as person A's record says it ("not recorded" when it says nothing)
    b: str
    differs: bool  # case, accents, punctuation and spacing aside


@dataclass(frozen=True)
class PairView:
    """A pair of people waiting for a reviewer's decision (the Possible duplicates screen)."""

    a_id: UUID
    b_id: UUID
    a_name: str
    b_name: str
    probability: float
    reasons: list[str]
    fields: list[ComparedField]

    @property
    def title(self) -> str:
        return f"{self.a_name} / {self.b_name} ({self.probability:.0%} likely one person)"


@dataclass(frozen=True)
class WaitingPairs:
    """The pairs waiting (None: none could be fetched, and ``note`` says why)."""

    pairs: list[PairView] | None
    note: str
    more: int = 0
