"""Settling a clash (a field edited on two sides): the decision is an ordinary change that
carries ``resolves=[clash id]``, syncs to every laptop and is in the case's history."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from app.core.uow import UnitOfWork
from app.errors import UsageError
from app.store import outbox
from app.store.models import KIND_MODELS
from app.store.records import from_wire
from sync.records import RecordKind


def settle_clash(
    uow: UnitOfWork, conflict_id: UUID, kind: RecordKind, record_id: UUID, field: str, value: Any
) -> None:
    """Set one field to the chosen (wire) value as the change that settles ``conflict_id``
    (sent even when the value here is already the chosen one)."""
    model = KIND_MODELS[kind]
    with uow.tx() as session:
        record = session.get(model, record_id)
        if record is None:
            raise UsageError("The record of this clash is no longer on this laptop; sync first.")
        base = record.version
        setattr(record, field, from_wire(model, field, value))
        session.add(record)
        case_id: UUID = record.case_id  # type: ignore[attr-defined]
        outbox.add_change(
            session,
            record,
            case_id,
            uow.now(),
            only={field},
            base_version=base,
            resolves=[conflict_id],
        )
        uow.audit(session, case_id, "resolved", record, f"fields: {field}")
