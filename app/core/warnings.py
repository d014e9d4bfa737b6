"""Warnings about a case's person ("Dog on premises"), shown above everything else. A warning
is never deleted: it is retired (no longer active) and stays in the history."""

from __future__ import annotations

from uuid import UUID, uuid4

from app.core import fields as F
from app.core.errors import InvalidValue, UnknownRecord
from app.core.uow import CaseKey, UnitOfWork
from app.store.models import Warning


def add_warning(uow: UnitOfWork, ref: CaseKey, text: str, category: str = "risk") -> UUID:
    body = text.strip()
    if not body:
        raise InvalidValue('A warning needs its text, for example "Dog on premises".')
    cat = F.parse_category(category)
    with uow.tx() as session:
        case = uow.case(session, ref)
        warning = Warning(
            id=uuid4(),
            case_id=case.id,
            person_id=case.person_id,
            text=body,
            category=cat,
            active=True,
            added_by=uow.user,
            added_at=uow.now(),
        )
        uow.create(session, warning, case.id)
    return warning.id


def retire_warning(uow: UnitOfWork, warning_id: UUID | str) -> None:
    """Mark a warning as no longer active (retiring it again changes nothing)."""
    with uow.tx() as session:
        warning = uow.find(session, Warning, warning_id, "warning")
        if warning is None:
            raise UnknownRecord("warning", str(warning_id))
        if not warning.active:
            return  # retired already: nothing is written
        retired = {"active": False, "retired_by": uow.user, "retired_at": uow.now()}
        uow.update(session, warning, retired, warning.case_id)
