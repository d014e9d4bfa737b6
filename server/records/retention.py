"""Retention: each kind of case is kept only as long as the council's schedule says, then
erased (:mod:`server.records.erasure`). The one owner of the schedule and of what is due.

The schedule is a TOML file named by ``FIELDCASE_RETENTION_FILE`` (docs/server-deployment.md
has an example)::

    [[rule]]
    case_type = "adult_social_care"
    years = 8
    after = "closure"        # or "opening"

A closed case is due when ``years`` have passed since it was closed (``closed_on``), or since
it was opened; an open case is never due by closure. A case type with no rule is kept.
A case under a legal hold is listed with its hold and kept. Every run, dry or not, is audited
(``retention_run``); each case erased is audited as ``case_erased`` naming its rule.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from server import audit
from server.audit import AuditEvent
from server.models import CaseScope, LegalHold, Record
from server.records import erasure
from server.records.changelog import Pending, finalize
from server.records.governance import GovernanceError, read_toml
from sync.clock import Clock
from sync.records import BUILTIN_CASE_TYPES, RecordKind

#: What a rule may count from.
AFTER = {"closure": "closed_on", "opening": "opened_on"}


class ScheduleError(GovernanceError):
    """The schedule file cannot be used (``str`` says where and why, in plain words)."""


@dataclass(frozen=True)
class Rule:
    case_type: str
    years: int
    after: str = "closure"

    def __str__(self) -> str:
        label = BUILTIN_CASE_TYPES.get(self.case_type, self.case_type)
        return f"{label}: {self.years} years after {self.after}"

    def due_on(self, start: date) -> date:
        """The day a case that started its clock on ``start`` is due (29 February: the 28th)."""
        year = start.year + self.years
        try:
            return start.replace(year=year)
        except ValueError:
            return start.replace(year=year, day=28)


@dataclass(frozen=True)
class Schedule:
    rules: tuple[Rule, ...]
    source: str

    def rule_for(self, case_type: str) -> Rule | None:
        return next((r for r in self.rules if r.case_type == case_type), None)


def load_schedule(path: Path | None) -> Schedule:
    """The schedule in ``path``; refused in plain words when there is none or it is wrong."""
    if path is None:
        raise ScheduleError(
            "No retention schedule is set. Write one (docs/server-deployment.md, "
            "'Retention') and name it with FIELDCASE_RETENTION_FILE."
        )
    _text, data = read_toml(Path(path), "retention schedule", ScheduleError)
    return Schedule(_rules(data, str(path)), str(path))


def _rules(data: dict[str, Any], where: str) -> tuple[Rule, ...]:
    unknown = set(data) - {"rule"}
    if unknown:
        raise ScheduleError(f"{where}: only [[rule]] tables belong here, not {sorted(unknown)}.")
    rows = data.get("rule", [])
    if not isinstance(rows, list) or not rows:
        raise ScheduleError(f"{where} holds no [[rule]]: nothing would ever be due.")
    rules: list[Rule] = []
    for number, row in enumerate(rows, 1):
        said = f"{where}, rule {number}"
        if not isinstance(row, dict) or set(row) - {"case_type", "years", "after"}:
            raise ScheduleError(f"{said}: a rule has case_type, years and after only.")
        case_type, years, after = (
            row.get("case_type"),
            row.get("years"),
            row.get("after", "closure"),
        )
        if case_type not in BUILTIN_CASE_TYPES:
            raise ScheduleError(
                f"{said}: {case_type!r} is not a case type of this service (one of: "
                f"{', '.join(BUILTIN_CASE_TYPES)})."
            )
        if not isinstance(years, int) or isinstance(years, bool) or not 1 <= years <= 150:
            raise ScheduleError(f"{said}: years must be a whole number from 1 to 150.")
        if after not in AFTER:
            raise ScheduleError(f"{said}: after must be one of {', '.join(AFTER)}.")
        if any(r.case_type == case_type for r in rules):
            raise ScheduleError(f"{said}: {case_type} has a rule already.")
        rules.append(Rule(case_type, years, after))
    return tuple(rules)


@dataclass(frozen=True)
class Due:
    """A case the schedule says is due for erasure today."""

    case_id: uuid.UUID
    ref: str | None
    rule: Rule
    due_on: date
    hold: LegalHold | None


def due(session: Session, schedule: Schedule, today: date) -> list[Due]:
    """Every case due on ``today`` (held ones too, with their hold), the longest due first."""
    types = [rule.case_type for rule in schedule.rules]
    fields = Record.__table__.c.fields  # type: ignore[attr-defined]
    rows = session.exec(
        select(Record.record_id, Record.fields).where(
            col(Record.kind) == RecordKind.CASE.value,
            fields["type"].as_string().in_(types),
        )
    ).all()
    found: list[Due] = []
    for case_id, values in rows:
        rule = schedule.rule_for(str(values.get("type")))
        if rule is None or (rule.after == "closure" and values.get("status") != "closed"):
            continue
        start = _date(values.get(AFTER[rule.after]))
        if start is None or rule.due_on(start) > today:
            continue
        scope = session.get(CaseScope, case_id)
        hold = session.get(LegalHold, case_id)
        found.append(Due(case_id, scope.ref if scope else None, rule, rule.due_on(start), hold))
    found.sort(key=lambda d: (d.due_on, d.ref or ""))
    return found


def _date(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


@dataclass(frozen=True)
class RunReport:
    due: list[Due]
    erased: list[erasure.Erased]
    dry_run: bool

    @property
    def held(self) -> list[Due]:
        return [d for d in self.due if d.hold is not None]


def run(session: Session, schedule: Schedule, *, by: str, clock: Clock, dry_run: bool) -> RunReport:
    """List (``dry_run``) or erase what is due today where the service is; held cases are
    kept. The run is audited either way (the caller commits)."""
    today = clock.now().date()
    listed = due(session, schedule, today)
    erased: list[erasure.Erased] = []
    if not dry_run:
        pending = Pending()
        for item in listed:
            if item.hold is None and item.ref is not None:
                erased.append(
                    erasure.erase_due(
                        session, item.case_id, pending, rule=str(item.rule), by=by, clock=clock
                    )
                )
        finalize(session, pending, at=clock.now())
    audit.append(
        session,
        [
            AuditEvent(
                "retention_run",
                actor=by,
                detail={
                    "dry_run": dry_run,
                    "schedule": schedule.source,
                    "due": [d.ref for d in listed],
                    "held": [d.ref for d in listed if d.hold is not None],
                    "erased": [e.ref for e in erased],
                },
            )
        ],
        at=clock.now(),
    )
    return RunReport(listed, erased, dry_run)
