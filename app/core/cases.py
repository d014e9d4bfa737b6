"""Making and changing cases: a case and its person are created together (with their outbox
entries and the "created" audit event) and edited through the one update ritual of
:class:`app.core.uow.UnitOfWork`."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any
from uuid import uuid4

from sqlalchemy import insert
from sqlmodel import Session, SQLModel

from app.core import fields as F
from app.core.errors import InvalidValue
from app.core.uow import CaseKey, UnitOfWork
from app.core.views import NewCase
from app.domain.names import sort_name
from app.store import outbox, state
from app.store.models import AuditEvent, Case, Person
from app.store.records import to_wire
from app.store.refs import RefAllocator
from sync.records import BUILTIN_CASE_TYPES, FIELDS, RecordKind

log = logging.getLogger("fieldcase.core")


class _RowBatch:
    """Rows waiting to be inserted, per table, in the order the tables were first used."""

    def __init__(self) -> None:
        self.rows: dict[Any, list[dict[str, Any]]] = {}

    def add(self, model: type[SQLModel], values: dict[str, Any]) -> None:
        self.add_row(model.__table__, values)  # type: ignore[attr-defined]

    def add_row(self, table: Any, values: dict[str, Any]) -> None:
        self.rows.setdefault(table, []).append(values)

    def insert(self, session: Session) -> None:
        conn = session.connection()
        for table, rows in self.rows.items():
            if rows:
                conn.execute(insert(table), rows)
        self.rows.clear()


# ------------------------------------------------------------------------------ case types


def case_types(uow: UnitOfWork) -> dict[str, str]:
    """Case type code -> label: the built-in types and those the service added."""
    with uow.read() as session:
        return _case_types(state.case_types_json(session))


def _case_types(extra: str | None) -> dict[str, str]:
    types = dict(BUILTIN_CASE_TYPES)
    if extra is not None:
        try:
            for item in json.loads(extra):
                types.setdefault(str(item["code"]), str(item["label"]))
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring a malformed list of case types")
    return types


def set_case_types(uow: UnitOfWork, types: Mapping[str, str]) -> None:
    """Remember the service's case types (code -> label); the built-in ones always stay."""
    with uow.tx() as session:
        state.set_case_types(session, types)


# ---------------------------------------------------------------------------------- create


def create_cases(uow: UnitOfWork, items: Iterable[NewCase], *, flush_every: int = 500) -> list[str]:
    """Create cases (with their people) in ONE transaction: all or nothing. One case at a
    time in the field, many at once when seeding or importing: the same code."""
    made: list[str] = []
    with uow.tx() as session:
        year = uow.today().year
        facts = state.reference_facts(session.connection(), year)
        types = _case_types(facts.get("case_types"))
        refs = RefAllocator(session.connection(), year, facts)
        batch = _RowBatch()
        for n, item in enumerate(items, start=1):
            made.append(_plan_case(uow, batch, refs, types, item))
            if n % flush_every == 0:
                batch.insert(session)
        batch.insert(session)
        refs.save()
    return made


def _plan_case(
    uow: UnitOfWork,
    batch: _RowBatch,
    refs: RefAllocator,
    types: Mapping[str, str],
    item: NewCase,
) -> str:
    """Validate one new case and add its rows (person, case, their outbox entries and the
    audit event) to ``batch``. Rows are plain column dicts: creating cases is the hot path
    (one by one in the field, a hundred thousand at a time when seeding)."""
    case_type = F.parse_case_type(item.type, types)
    name = F.PERSON_FIELDS["person.name"].value(item.person_name)
    case_values, person_values = F.split_fields(item.fields, types)
    case_values.pop("type", None)
    today = uow.today()
    now = uow.now()
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
        "external_ids": "",
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
        "team": uow.profile.team,
        "assigned_to": uow.user,
        "next_review": None,
        "opened_on": today,
        "closed_on": None,
        "person_id": person_id,
    }
    case.update(case_values)
    if case["status"] == "closed" and case["closed_on"] is None and "closed_on" not in case_values:
        case["closed_on"] = today
    audit: dict[str, Any] = {
        "id": uuid4(),
        "version": 0,
        "case_id": case_id,
        "actor": uow.user,
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
        batch.add_row(outbox.TABLE, outbox.change_values(kind, values["id"], case_id, 0, wire, now))
    return str(case["ref"])


def edit_case(uow: UnitOfWork, ref: CaseKey, fields: Mapping[str, str]) -> list[str]:
    """Set case and person fields (``person.NAME`` for the person's). Returns the names of
    the fields that actually changed (nothing is written when none did)."""
    if not fields:
        raise InvalidValue(
            "Say what to change, for example --set status=in_progress. The fields you can "
            f"set are: {', '.join(F.SETTABLE_FIELDS)}."
        )
    types = case_types(uow)
    case_values, person_values = F.split_fields(fields, types)
    changed: list[str] = []
    with uow.tx() as session:
        case = uow.case(session, ref)
        person = uow.person(session, case)
        status = case_values.get("status")
        if status is not None and status != case.status and "closed_on" not in case_values:
            if status == "closed" and case.closed_on is None:
                case_values["closed_on"] = uow.today()
            elif status != "closed" and case.closed_on is not None:
                case_values["closed_on"] = None
        for obj, values, prefix, home in (
            (case, case_values, "", case.id),
            # a person's own case: another team's, for a person shared after a merge
            (person, person_values, "person.", person.case_id),
        ):
            diff = uow.update(session, obj, values, home, audit=False)
            changed.extend(sorted(prefix + name for name in diff))
        if changed:
            uow.audit(session, case.id, "changed", case, "fields: " + ", ".join(changed))
    return changed
