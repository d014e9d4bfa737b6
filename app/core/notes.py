"""Notes: append-only. A correction is a new note that points at the note it corrects."""

from __future__ import annotations

from uuid import UUID, uuid4

from sqlmodel import Session

from app.core.errors import InvalidValue, UnknownRecord
from app.core.uow import CaseKey, UnitOfWork
from app.store.models import Case, Note


def add_note(uow: UnitOfWork, ref: CaseKey, text: str, corrects: UUID | str | None = None) -> UUID:
    """Append a note (or the correction of one); returns its id."""
    body = text.strip()
    if not body:
        raise InvalidValue("A note cannot be empty. Write what happened, then save.")
    with uow.tx() as session:
        case = uow.case(session, ref)
        corrects_id = None if corrects is None else _note_id(uow, session, case, corrects)
        note = Note(
            id=uuid4(),
            case_id=case.id,
            text=body,
            author=uow.user,
            written_at=uow.now(),
            corrects=corrects_id,
        )
        uow.create(session, note, case.id, "corrected" if corrects_id else "created")
    return note.id


def _note_id(uow: UnitOfWork, session: Session, case: Case, ident: UUID | str) -> UUID:
    note = uow.find(session, Note, ident, "note")
    if note is None or note.case_id != case.id:
        raise UnknownRecord(
            "note", str(ident), f"Give the id of a note on {case.ref} (see `case show`)."
        )
    return note.id
