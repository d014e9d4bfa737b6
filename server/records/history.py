"""Who saw and changed what: a case's full history, and a user's, from the audit trail. The
one owner of reading it back.

Laptops upload their own view and change events (``laptop_viewed``, ``laptop_changed``...:
:mod:`server.records.uploaded_audit`), each with the moment it happened on the laptop; the
service adds what it did itself (``change_applied``, documents fetched, holds, erasure...). A
history line says who, what and when, and, for an event a laptop sent later, when the service
received it: "amira.khan viewed this case on 3 Dec 2026, 10:04 UTC (on the laptop; received
4 Dec)". Managers see the history of their team's cases, governance officers any case's
(``server.roles.Can.SEE_FULL_HISTORY``, ``ANY_TEAM``); IT prints it with ``admin audit``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from server.models import AuditEntry, CaseScope, ErasedCase
from server.records.uploaded_audit import EVENT_PREFIX
from sync import words

#: What the service's own events are called in a history line.
SERVICE_WORDS = {
    "change_applied": "changed",
    "document_uploaded": "uploaded a document to",
    "document_fetched": "downloaded a document of",
    "access_denied": "was refused access to",
    "hold_placed": "put a legal hold on",
    "hold_released": "released the legal hold on",
    "case_erased": "erased",
    "case_imported": "imported",
    "person_merged": "merged a duplicate person into the person of",
    "person_split": "undid the merge of the person of",
    "exported": "exported",
    "printed": "printed",
    "history_viewed": "read the history of",
}
#: What a laptop's events are called (its action, after ``laptop_``).
LAPTOP_WORDS = {
    "viewed": "viewed",
    "created": "created",
    "changed": "changed",
    "corrected": "corrected a note on",
    "resolved": "settled a clash on",
    "exported": "exported",
    "printed": "printed",
    "set_aside": "could not store a record of",
    "re_referenced": "gave a fresh reference to",
}
#: Most lines one answer holds (the newest kept).
MAX_LINES = 5000


@dataclass(frozen=True)
class HistoryLine:
    """One thing someone did to a case."""

    at: datetime  # when it happened (on the laptop, for an event a laptop sent)
    received_at: datetime  # when the service wrote it down
    actor: str
    action: str  # plain words: "viewed", "changed", "put a legal hold on"...
    case_id: str | None
    ref: str | None
    record_kind: str | None
    from_laptop: bool

    def sentence(self, *, of_case: bool = True) -> str:
        """ "amira.khan viewed this case on 3 Dec 2026, 10:04 UTC (on the laptop; received
        4 Dec 2026)"."""
        what = "this case" if of_case else f"case {self.ref or self.case_id}"
        if self.record_kind and self.record_kind not in ("case", None):
            what += f" ({self.record_kind})"
        line = f"{self.actor} {self.action} {what} on {words.when_utc(self.at)}"
        if self.from_laptop:
            if self.received_at.date() != self.at.date():
                line += f" (on the laptop; received {words.day(self.received_at.date())})"
            else:
                line += " (on the laptop)"
        return line


def _line(entry: AuditEntry, refs: dict[str, str | None]) -> HistoryLine | None:
    detail = entry.detail or {}
    from_laptop = entry.event.startswith(EVENT_PREFIX)
    if from_laptop:
        action = LAPTOP_WORDS.get(entry.event.removeprefix(EVENT_PREFIX))
        try:
            at = datetime.fromisoformat(str(detail.get("at")))
        except ValueError:
            at = entry.at
        if at.tzinfo is None:
            at = entry.at
    else:
        action = SERVICE_WORDS.get(entry.event)
        at = entry.at
    if action is None:
        return None
    return HistoryLine(
        at=at,
        received_at=entry.at,
        actor=entry.actor or "the service",
        action=action,
        case_id=entry.case_id,
        ref=refs.get(entry.case_id or "") or detail.get("ref"),
        record_kind=entry.record_kind,
        from_laptop=from_laptop,
    )


def _refs(session: Session, case_ids: set[str]) -> dict[str, str | None]:
    ids = [uuid.UUID(c) for c in case_ids if c]
    found: dict[str, str | None] = {}
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        for case_id, ref in session.exec(
            select(CaseScope.case_id, CaseScope.ref).where(col(CaseScope.case_id).in_(part))
        ):
            found[str(case_id)] = ref
        for case_id, ref in session.exec(
            select(ErasedCase.case_id, ErasedCase.ref).where(col(ErasedCase.case_id).in_(part))
        ):
            found[str(case_id)] = ref
    return found


def _lines(session: Session, entries: list[AuditEntry]) -> list[HistoryLine]:
    refs = _refs(session, {e.case_id for e in entries if e.case_id})
    lines = [line for entry in entries if (line := _line(entry, refs)) is not None]
    lines.sort(key=lambda line: line.at)
    return lines


def case_history(
    session: Session, case_id: uuid.UUID, *, limit: int | None = MAX_LINES
) -> list[HistoryLine]:
    """Everything done to the case, oldest first (the newest ``limit``; None: all of it)."""
    entries = session.exec(
        select(AuditEntry)
        .where(col(AuditEntry.case_id) == str(case_id))
        .order_by(col(AuditEntry.id).desc())
        .limit(limit)
    ).all()
    return _lines(session, list(entries))


def user_history(session: Session, username: str) -> list[HistoryLine]:
    """Everything the user did to any case, oldest first (the newest :data:`MAX_LINES`)."""
    entries = session.exec(
        select(AuditEntry)
        .where(col(AuditEntry.actor) == username, col(AuditEntry.case_id).is_not(None))
        .order_by(col(AuditEntry.id).desc())
        .limit(MAX_LINES)
    ).all()
    return _lines(session, list(entries))
