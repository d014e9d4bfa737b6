"""Clashes (a field edited on two sides): listing them, and settling one. The decision is an
ordinary change that carries ``resolves=[clash id]``, syncs to every laptop and is in the case's
history. Also what the bottom line shows: changes waiting, clashes waiting, the last sync.
All of it local: nothing here talks to the service."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import or_
from sqlmodel import col, select

from app.core.uow import UnitOfWork
from app.core.views import Clash, SettledClash
from app.errors import UsageError
from app.store import outbox, state
from app.store.models import KIND_MODELS, Case
from app.store.profile import Profile
from app.store.records import from_wire, to_wire
from app.store.tables import Conflict
from sync import words
from sync.clock import Clock
from sync.records import RecordKind

log = logging.getLogger("fieldcase.core.clashes")


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
        # checked against the shared schema like every other change (a value the service
        # would refuse is refused here, and nothing is saved)
        uow.change(
            session, record, case_id, only={field}, base_version=base, resolves=[conflict_id]
        )
        uow.audit(session, case_id, "resolved", record, f"fields: {field}")


@dataclass(frozen=True)
class SyncStatus:
    """What the window's bottom line shows about syncing."""

    waiting: int  # changes waiting to be sent (the one rule: app.store.outbox)
    clashes: int  # clashes waiting for a person to choose
    last_sync: datetime | None  # the last sync that finished


def status(profile: Profile) -> SyncStatus:
    """Changes waiting, clashes waiting, and when the last sync finished."""
    with profile.session() as s:
        waiting = outbox.waiting_count(s)
        last = state.last_sync(s)
        any_open = s.exec(
            select(Conflict.conflict_id).where(col(Conflict.resolved).is_(False)).limit(1)
        ).first()
    # the full list (which skips clashes already settled here) only when there are any
    return SyncStatus(waiting, len(clashes(profile)) if any_open is not None else 0, last)


def clashes(profile: Profile) -> list[Clash]:
    """Unresolved clashes, oldest first. "mine" is this user's value when they made one side
    (else the value this laptop shows, i.e. the one kept); "theirs" is the other side, with who
    made it and when."""
    me = profile.user
    out: list[Clash] = []
    with profile.session() as s:
        pending = outbox.pending_resolutions(s)
        rows = s.exec(
            select(Conflict)
            .where(col(Conflict.resolved).is_(False))
            .order_by(col(Conflict.other_at))
        ).all()
        for row in rows:
            if str(row.conflict_id) in pending:
                continue
            case = s.get(Case, row.case_id)
            kept, other = json.loads(row.kept_value), json.loads(row.other_value)
            if row.other_by == me:
                mine, theirs, by, at = other, kept, row.kept_by, row.kept_at
            else:  # this user's value was kept, or the clash is between two colleagues
                mine, theirs, by, at = kept, other, row.other_by, row.other_at
            out.append(
                Clash(
                    id=row.conflict_id,
                    case_id=row.case_id,
                    ref=case.ref if case else "",
                    kind=row.kind,
                    record_id=row.record_id,
                    field=row.field,
                    mine=mine,
                    theirs=theirs,
                    changed_by=by,
                    changed_at=at,
                )
            )
    return out


#: How long a clash someone else settled stays in the list of settled clashes.
SETTLED_SHOWN_DAYS = 30


def settled_by_others(profile: Profile, *, days: int = SETTLED_SHOWN_DAYS) -> list[SettledClash]:
    """Clashes someone else settled in the last ``days`` days (the first decision settles a
    clash for everyone), newest first: what was chosen, by whom and when."""
    me = profile.user
    since = profile.clock.now() - timedelta(days=days)
    with profile.session() as s:
        rows = s.exec(
            select(Conflict)
            .where(
                col(Conflict.resolved).is_(True),
                col(Conflict.resolved_by) != me,
                or_(col(Conflict.resolved_at).is_(None), col(Conflict.resolved_at) >= since),
            )
            .order_by(col(Conflict.resolved_at).desc(), col(Conflict.other_at).desc())
        ).all()
        return [_settled(s, row, me) for row in rows]


def _settled(s: Any, row: Conflict, me: str) -> SettledClash:
    case = s.get(Case, row.case_id)
    made = me in (row.kept_by, row.other_by)
    mine = json.loads(row.other_value if row.other_by == me else row.kept_value)
    return SettledClash(
        id=row.conflict_id,
        case_id=row.case_id,
        ref=case.ref if case else "",
        kind=row.kind,
        field=row.field,
        chosen=json.loads(row.resolved_value),
        settled_by=row.resolved_by or "someone else",
        settled_at=row.resolved_at,
        mine=mine if made else None,
        made_one_side=made,
    )


def _find_clash(profile: Profile, ident: str) -> Clash:
    ident = ident.strip().lower()
    found = [c for c in clashes(profile) if str(c.id) == ident or str(c.id).startswith(ident)]
    if len(found) == 1 and ident:
        return found[0]
    if not found:
        _not_waiting(profile, ident)
        raise UsageError(
            f"There is no clash waiting with the id {ident!r}. Run `fieldcase conflicts` to see "
            "the clashes and their ids."
        )
    raise UsageError(f"More than one clash starts with {ident!r}; give more of the id.")


def _not_waiting(profile: Profile, ident: str) -> None:
    """Say so when the clash was settled already: by someone else (who, when, what they
    chose: the first decision settles it for everyone), or here with the decision not sent."""
    if not ident:
        return
    with profile.session() as s:
        rows = [
            row
            for row in s.exec(select(Conflict)).all()
            if str(row.conflict_id) == ident or str(row.conflict_id).startswith(ident)
        ]
        if len(rows) != 1:
            return
        row = rows[0]
        if not row.resolved:  # not listed, so settled here, the decision not sent yet
            raise UsageError(
                "You have already settled this clash; your decision will be sent at the next sync."
            )
        settled = _settled(s, row, profile.user)
    when = f" on {words.when(settled.settled_at)}" if settled.settled_at else ""
    raise UsageError(
        f"This clash was already settled by {settled.settled_by}{when}, who chose "
        f"{settled.chosen!r}. The first decision settles a clash for everyone, so nothing "
        "was changed."
    )


def resolve_clash(
    profile: Profile,
    ident: str,
    *,
    keep: str | None = None,
    value: str | None = None,
    clock: Clock | None = None,
) -> Clash:
    """Settle one clash: keep "mine", "theirs", or a new value. The decision is a normal change
    (``resolves=[id]``) that syncs to every laptop."""
    if (keep is None) == (value is None):
        raise UsageError("Say how to settle it: --keep mine, --keep theirs, or --value TEXT.")
    clash = _find_clash(profile, ident)
    kind = RecordKind(clash.kind)
    model = KIND_MODELS[kind]
    if keep is not None:
        if keep not in ("mine", "theirs"):
            raise UsageError("--keep must be mine or theirs.")
        chosen = clash.mine if keep == "mine" else clash.theirs
    else:
        try:
            chosen = to_wire(from_wire(model, clash.field, value))
        except ValueError as err:
            raise UsageError(f"That value does not fit the field {clash.field}: {err}.") from None
    from app.core.casework import Casework

    Casework(profile, clock=clock).settle_clash(
        clash.id, kind, clash.record_id, clash.field, chosen
    )
    log.info("settled clash %s", clash.id)
    return clash
