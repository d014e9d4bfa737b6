"""Records a team sees through another case than their own, and where merged-away people
now are: the one owner of ``shared_record``, and of following ``person_merge`` rows.

After a merge (:mod:`server.records.people`) each team sees the person through its own
cases: the kept person's record is shared with every case that names them, and so is every
active risk warning about them (sent with the holding team's name: protocol 6, ``held_by``).
Other warnings and notes stay with their case. A push that names a merged-away person is
sent on to the person they are now (:func:`redirects`).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, exists, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from server.core.db import among, insert_rows
from server.crud import Actor
from server.models import CaseScope, PersonMerge, Record, SharedRecord
from server.records.changelog import Pending, Touched, load_records
from sync.protocol import Change
from sync.records import RecordKind

#: The warning category shown to every team holding a case about the person.
RISK = "risk"
#: Longest chain of merges followed (A into B, B into C...).
MAX_CHAIN = 20


@dataclass(frozen=True)
class Redirect:
    """Where a merged-away person now is."""

    kept_id: uuid.UUID
    kept_case_id: uuid.UUID
    kept_version: int
    merge_id: int


def active_merges(ids: Iterable[uuid.UUID]) -> Any:
    return and_(col(PersonMerge.split_at).is_(None), col(PersonMerge.merged_id).in_(list(ids)))


def redirects(session: Session, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Redirect]:
    """The merged-away people among ``ids``, each with the person they are now (a chain of
    merges followed to its end)."""
    wanted = set(ids)
    rows: dict[uuid.UUID, PersonMerge] = {}
    frontier = set(wanted)
    for _ in range(MAX_CHAIN):
        if not frontier:
            break
        found = list(
            session.exec(
                select(PersonMerge).where(
                    col(PersonMerge.split_at).is_(None),
                    among(session, col(PersonMerge.merged_id), sorted(frontier)),
                )
            )
        )
        rows.update({row.merged_id: row for row in found})
        frontier = {row.kept_id for row in found} - rows.keys()
    if not rows:
        return {}
    ends: dict[uuid.UUID, PersonMerge] = {}
    for start in wanted & rows.keys():
        row = rows[start]
        for _ in range(MAX_CHAIN):
            if row.kept_id not in rows:
                break
            row = rows[row.kept_id]
        ends[start] = row
    homes = dict(
        session.exec(
            select(Record.record_id, Record.case_id).where(
                col(Record.record_id).in_({row.kept_id for row in ends.values()})
            )
        ).all()
    )
    return {
        start: Redirect(end.kept_id, homes[end.kept_id], end.kept_version, rows[start].id or 0)
        for start, end in ends.items()
        if end.kept_id in homes
    }


def _person_named(change: Change) -> uuid.UUID | None:
    value = change.fields.get("person_id")
    if change.kind not in (RecordKind.CASE, RecordKind.WARNING) or not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None  # the record schema refuses it


def _ids_named(change: Change) -> list[uuid.UUID]:
    named = _person_named(change)
    ids = [change.record_id] if change.kind == RecordKind.PERSON else []
    return [*ids, named] if named is not None else ids


def look_up_redirects(session: Session, pending: Pending, changes: Iterable[Change]) -> None:
    """Find at once the merged-away people a batch names (one query, not one a change)."""
    ids = {i for change in changes for i in _ids_named(change)} - pending.redirects_known
    if ids:
        pending.redirects.update(redirects(session, ids))
        pending.redirects_known.update(ids)


def redirected(session: Session, change: Change, pending: Pending) -> Change:
    """``change`` sent on to the person a merged-away person is now: a change to their record
    is made to the kept person's (as if on the version the merge left, so a field changed
    since becomes a clash), and a case or warning naming them names the kept person."""
    ids = _ids_named(change)
    if not ids:
        return change
    look_up_redirects(session, pending, [change])
    update: dict[str, Any] = {}
    if change.kind == RecordKind.PERSON and change.record_id in pending.redirects:
        to = pending.redirects[change.record_id]
        update = {"record_id": to.kept_id, "case_id": to.kept_case_id}
        pending.redirected.add(to.kept_id)
        update["base_version"] = to.kept_version
    named = _person_named(change)
    if named is not None and named in pending.redirects:
        update["fields"] = {**change.fields, "person_id": str(pending.redirects[named].kept_id)}
    return change.model_copy(update=update) if update else change


def shared_with(session: Session, record_id: uuid.UUID, actor: Actor) -> bool:
    """Whether the record is shared with a case ``actor`` may see."""
    query = (
        select(SharedRecord.case_id)
        .join(CaseScope, col(CaseScope.case_id) == col(SharedRecord.case_id))
        .where(
            SharedRecord.record_id == record_id,
            or_(col(CaseScope.team) == actor.team, col(CaseScope.assigned_to) == actor.username),
        )
    )
    return session.exec(query).first() is not None


def naming(
    session: Session,
    person_id: uuid.UUID,
    kinds: Iterable[RecordKind],
    pending: Pending | None = None,
) -> list[Touched]:
    """The records of ``kinds`` (cases, warnings) whose ``person_id`` is ``person_id``, as
    ``pending`` (a batch not yet written) leaves them."""
    return naming_each(session, [person_id], kinds, pending).get(person_id, [])


def naming_each(
    session: Session,
    people: Sequence[uuid.UUID],
    kinds: Iterable[RecordKind],
    pending: Pending | None = None,
) -> dict[uuid.UUID, list[Touched]]:
    """For each of ``people``, the records of ``kinds`` naming them (as :func:`naming`), in
    a query per 500 people (looked up by the index on the person a record names)."""
    names = [kind.value for kind in kinds]
    wanted = {str(person): person for person in people}
    found: dict[uuid.UUID, Touched] = {}
    keys = sorted(set(people))
    table = Record.__table__  # type: ignore[attr-defined]
    columns = [c for c in table.c if c.name not in ("wire", "seq", "echo_free_for")]
    for start in range(0, len(keys), 500):
        rows = session.execute(
            sa_select(*columns).where(
                table.c.kind.in_(names),
                among(session, table.c.person_id, keys[start : start + 500]),
            )
        ).all()
        found.update((row.record_id, Touched.from_row(row)) for row in rows)
    for record in pending.records.values() if pending else ():
        if record.kind not in names:
            continue
        if record.fields.get("person_id") in wanted:
            found[record.record_id] = record
        else:
            found.pop(record.record_id, None)
    each: dict[uuid.UUID, list[Touched]] = {}
    for record in found.values():
        person = wanted.get(str(record.fields.get("person_id")))
        if person is not None:
            each.setdefault(person, []).append(record)
    return each


def _wanted_shares(
    person_id: uuid.UUID, home: uuid.UUID | None, named: list[Touched]
) -> set[tuple[uuid.UUID, uuid.UUID]]:
    """(record, case) for the person's record and each active risk warning about them, for
    every case about them other than the record's own (``home``); ``named``: the cases and
    warnings naming them."""
    if home is None:
        return set()
    cases = {r.case_id for r in named if r.kind == RecordKind.CASE.value and _vouched(r)}
    wanted = {(person_id, case_id) for case_id in cases if case_id != home}
    holding = cases | {home}
    for warning in named:
        if (
            warning.kind == RecordKind.WARNING.value
            and warning.fields.get("category") == RISK
            and warning.fields.get("active")
            and warning.case_id in holding  # a warning of a case about them, never another's
        ):
            wanted |= {(warning.record_id, c) for c in holding if c != warning.case_id}
    return wanted


#: Writers whose naming of a person by a case the service made itself (a merge, an import).
SERVICE_WRITERS = ("merge:", "import:")


def _vouched(case: Touched) -> bool:
    """Whether the case names its person by the service's own doing (a merge or an import):
    a laptop makes every new case with a person of its own, so a laptop's case naming another
    case's person is not believed, and shares nothing with it (it could otherwise read another
    team's person, and the risk warnings about them, by naming their id)."""
    stamp = case.stamps.get("person_id")
    writer = stamp.get("d") if isinstance(stamp, dict) else None
    return isinstance(writer, str) and writer.startswith(SERVICE_WRITERS)


def refresh_shares(
    session: Session,
    pending: Pending,
    *people: uuid.UUID,
    written_now: Collection[uuid.UUID] = (),
) -> None:
    """Bring the shares of the people's records and of the risk warnings about them up to
    date; a record newly shared is sent again (a new log position), so the laptops of the
    cases it is now shared with receive it, unless it was written in this very transaction
    (``written_now``: it is new to every laptop anyway). A few queries per 500 people."""
    ordered = sorted(set(people))
    for start in range(0, len(ordered), 500):
        _refresh(session, pending, ordered[start : start + 500], written_now)


def _refresh(
    session: Session,
    pending: Pending,
    people: list[uuid.UUID],
    written_now: Collection[uuid.UUID],
) -> None:
    homes = {p: pending.records[p].case_id for p in people if p in pending.records}
    unknown = [p for p in people if p not in homes]
    if unknown:
        homes.update(
            session.exec(
                select(Record.record_id, Record.case_id).where(col(Record.record_id).in_(unknown))
            ).all()
        )
    named = naming_each(session, people, (RecordKind.CASE, RecordKind.WARNING), pending)
    wanted: set[tuple[uuid.UUID, uuid.UUID]] = set()
    ids = list(people)
    for person in people:
        records = named.get(person, [])
        wanted |= _wanted_shares(person, homes.get(person), records)
        ids += [r.record_id for r in records if r.kind == RecordKind.WARNING.value]
    have: set[tuple[uuid.UUID, uuid.UUID]] = set()
    for start in range(0, len(ids), 500):
        have.update(
            (row.record_id, row.case_id)
            for row in session.exec(
                select(SharedRecord).where(
                    col(SharedRecord.record_id).in_(ids[start : start + 500])
                )
            )
        )
    for record_id, case_id in have - wanted:
        session.execute(
            delete(SharedRecord).where(
                col(SharedRecord.record_id) == record_id, col(SharedRecord.case_id) == case_id
            )
        )
    gained = sorted(wanted - have)
    if gained:
        insert_rows(
            session,
            SharedRecord.__table__,  # type: ignore[attr-defined]
            [{"record_id": record_id, "case_id": case_id} for record_id, case_id in gained],
        )
    _resend(session, pending, {record_id for record_id, _case in gained}, written_now)


def _resend(
    session: Session,
    pending: Pending,
    ids: set[uuid.UUID],
    written_now: Collection[uuid.UUID],
) -> None:
    """Write the newly shared records ``ids`` again at a new position, so the laptops of the
    cases they are now shared with receive them (not those this batch writes anyway)."""
    resend = sorted(ids - pending.records.keys() - set(written_now))
    for record in load_records(session, resend).values():
        record.echo_free_for = None
        pending.records[record.record_id] = record


def at_risk(session: Session, people: Collection[uuid.UUID]) -> set[uuid.UUID]:
    """Those of ``people`` with an active risk warning about them (the ones whose sharing
    needs more than their own record: :func:`refresh_shares`)."""
    ordered = sorted(set(people))
    found: set[uuid.UUID] = set()
    for start in range(0, len(ordered), 500):
        rows = session.exec(
            select(Record.person_id, Record.fields).where(
                Record.kind == RecordKind.WARNING.value,
                among(session, col(Record.person_id), ordered[start : start + 500]),
            )
        )
        found.update(
            person
            for person, fields in rows
            if person is not None and fields.get("category") == RISK and fields.get("active")
        )
    return found


def share_people(
    session: Session,
    pending: Pending,
    pairs: Collection[tuple[uuid.UUID, uuid.UUID]],
    *,
    written_now: Collection[uuid.UUID] = (),
) -> None:
    """Share each person with a new case about them (``pairs``: person, the new case), for
    people with no risk warning to share (else :func:`refresh_shares`); each person not
    written in this transaction is sent again, so the new case's laptops receive them."""
    if not pairs:
        return
    insert_rows(
        session,
        SharedRecord.__table__,  # type: ignore[attr-defined]
        [{"record_id": person, "case_id": case} for person, case in sorted(pairs)],
    )
    _resend(session, pending, {person for person, _case in pairs}, written_now)


def after_warning(session: Session, pending: Pending, warning: Touched) -> None:
    """A warning was written: when the person it is about is shared with other cases, bring
    its shares up to date (a new risk warning reaches every team holding a case for them)."""
    person = warning.fields.get("person_id")
    try:
        person_id = uuid.UUID(str(person))
    except ValueError:
        return
    if session.exec(
        select(SharedRecord.case_id).where(SharedRecord.record_id == person_id)
    ).first():
        refresh_shares(session, pending, person_id)


def shared_visible_to(record_id: Any, team: str, username: str) -> Any:
    """A condition: the record named by the column ``record_id`` is shared with a case the
    user may see."""
    shared = SharedRecord.__table__  # type: ignore[attr-defined]
    scope = CaseScope.__table__  # type: ignore[attr-defined]
    return exists().where(
        shared.c.record_id == record_id,
        scope.c.case_id == shared.c.case_id,
        or_(scope.c.team == team, scope.c.assigned_to == username),
    )


def shared_with_case(case_id: uuid.UUID) -> Any:
    """The ids of the records shared with the case ``case_id`` (a sub-select)."""
    return select(SharedRecord.record_id).where(SharedRecord.case_id == case_id)


def merges_after(session: Session, after: int, rows: int) -> list[PersonMerge]:
    """Merges (not undone) after change-log position ``after``, in log order."""
    return list(
        session.exec(
            select(PersonMerge)
            .where(col(PersonMerge.seq) > after, col(PersonMerge.split_at).is_(None))
            .order_by(col(PersonMerge.seq))
            .limit(rows)
        )
    )
