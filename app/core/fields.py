"""The fields a person may set on a case and its person, and how typed text becomes values.

Names are the wire names of ``sync/records.py``; a person's fields are written ``person.NAME``.
Every problem is a plain-English :class:`InvalidValue` that lists what would be accepted and
names the field (``err.field``). A field marked ``required`` may never be left empty: the core
refuses it for the CLI and the window alike, in the words of its ``missing`` message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from app.core.errors import InvalidValue
from app.domain.enums import CaseStatus, PreferredContact, Priority, VisitKind, WarningCategory

#: A date given without a time of day means this time, in the laptop's local time.
DEFAULT_VISIT_TIME = time(9, 0)


@dataclass(frozen=True)
class FieldSpec:
    name: str  # as typed: "summary", "person.phone"
    attr: str  # the column
    parse: Callable[[str, str], Any]  # (label, text) -> value
    hint: str  # what a good value looks like
    required: bool = False  # may never be empty
    missing: str = ""  # what to say when a required field is left empty

    def value(self, text: str) -> Any:
        """Typed text -> the column's value, or an :class:`InvalidValue` naming this field."""
        if self.required and not text.strip():
            raise InvalidValue(self.missing or f"{self.name} cannot be empty.", field=self.name)
        try:
            return self.parse(self.name, text)
        except InvalidValue as err:
            if err.field is None:
                err.field = self.name
            raise


def parse_text(label: str, text: str) -> str:
    return text.strip()


#: The ways a date may be written besides ISO's 2026-12-01: as people in the UK write them
#: (day first), with the month as a number or a word.
_DAY_FIRST = ("%d/%m/%Y", "%d.%m.%Y", "%d %b %Y", "%d %B %Y")


def parse_date(label: str, text: str) -> date | None:
    """'2026-12-01', '1/12/2026' (day first, as in the UK) or '1 Dec 2026'; '' is none."""
    value = " ".join(text.split())
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        pass
    for pattern in _DAY_FIRST:
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    raise InvalidValue(
        f"{label} must be a date like 2026-12-01 (year-month-day) or 1/12/2026 (day first); "
        f"you gave {value!r}."
    )


def parse_when(label: str, text: str) -> datetime:
    """'2026-12-01T10:30' or '2026-12-01 10:30' (local time unless an offset is given) or
    '2026-12-01' (at 09:00 local time) -> an aware UTC datetime."""
    value = text.strip()
    try:
        if len(value) == 10:
            moment = datetime.combine(date.fromisoformat(value), DEFAULT_VISIT_TIME)
        else:
            moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidValue(
            f"{label} must be a date like 2026-12-01 or a date and time like 2026-12-01T10:30; "
            f"you gave {value!r}."
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # the laptop's local time
    return moment.astimezone(UTC)


def choice(values: tuple[str, ...], *, optional: bool = False) -> Callable[[str, str], Any]:
    def parse(label: str, text: str) -> str | None:
        value = text.strip()
        if optional and not value:
            return None
        if value not in values:
            raise InvalidValue(f"{label} must be one of: {', '.join(values)}; you gave {value!r}.")
        return value

    return parse


STATUSES = tuple(s.value for s in CaseStatus)
PRIORITIES = tuple(p.value for p in Priority)
CONTACTS = tuple(c.value for c in PreferredContact)
CATEGORIES = tuple(c.value for c in WarningCategory)
VISIT_KINDS = tuple(k.value for k in VisitKind)

CASE_FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        FieldSpec(
            "summary",
            "summary",
            parse_text,
            "text",
            required=True,
            missing="Write a short summary of the case. It cannot be empty.",
        ),
        FieldSpec("status", "status", choice(STATUSES), " | ".join(STATUSES)),
        FieldSpec("priority", "priority", choice(PRIORITIES), " | ".join(PRIORITIES)),
        FieldSpec("next_review", "next_review", parse_date, "a date like 2026-12-01"),
        FieldSpec("team", "team", parse_text, "a team's name"),
        FieldSpec(
            "assigned_to",
            "assigned_to",
            parse_text,
            "a user name",
            required=True,
            missing="Give the user name of the worker this case is for.",
        ),
        FieldSpec("opened_on", "opened_on", parse_date, "a date like 2026-12-01"),
        FieldSpec("closed_on", "closed_on", parse_date, "a date like 2026-12-01"),
    )
}

PERSON_FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        FieldSpec(
            "person.name",
            "name",
            parse_text,
            "the person's full name",
            required=True,
            missing="Enter the person's full name. It cannot be empty.",
        ),
        FieldSpec("person.date_of_birth", "date_of_birth", parse_date, "a date like 1950-04-30"),
        FieldSpec("person.address", "address", parse_text, "text"),
        FieldSpec("person.phone", "phone", parse_text, "text"),
        FieldSpec(
            "person.preferred_contact",
            "preferred_contact",
            choice(CONTACTS, optional=True),
            " | ".join(CONTACTS),
        ),
        FieldSpec("person.language", "language", parse_text, "text"),
        FieldSpec("person.access_needs", "access_needs", parse_text, "text"),
    )
}

#: Field name -> what it expects, for help texts and error messages.
SETTABLE_FIELDS: dict[str, str] = {
    "type": "a case type code",
    **{name: spec.hint for name, spec in CASE_FIELDS.items()},
    **{name: spec.hint for name, spec in PERSON_FIELDS.items()},
}


def parse_assignments(pairs: list[str]) -> dict[str, str]:
    """['status=open', 'person.phone=01234'] -> {'status': 'open', 'person.phone': '01234'}."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise InvalidValue(
                f"Write each --set as FIELD=VALUE, for example --set status=in_progress; "
                f"you gave {pair!r}."
            )
        out[name.strip()] = value
    return out


def split_fields(
    fields: Mapping[str, str], case_types: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate typed ``fields``; return (case column values, person column values)."""
    case_values: dict[str, Any] = {}
    person_values: dict[str, Any] = {}
    for name, text in fields.items():
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        if name == "type":
            case_values["type"] = parse_case_type(text, case_types)
        elif name in CASE_FIELDS:
            spec = CASE_FIELDS[name]
            case_values[spec.attr] = spec.value(text)
        elif name in PERSON_FIELDS:
            spec = PERSON_FIELDS[name]
            person_values[spec.attr] = spec.value(text)
        else:
            raise InvalidValue(
                f"There is no field called {name!r}. The fields you can set are: "
                f"{', '.join(SETTABLE_FIELDS)}."
            )
    return case_values, person_values


def parse_case_type(text: str, case_types: Mapping[str, str]) -> str:
    value = text.strip()
    if value not in case_types:
        raise InvalidValue(
            f"There is no case type {value!r}. The case types are: {', '.join(case_types)}.",
            field="type",
        )
    return value


def parse_category(text: str) -> str:
    value = choice(CATEGORIES)("category", text)
    assert value is not None
    return str(value)


def parse_visit_kind(text: str) -> str:
    value = choice(VISIT_KINDS)("kind", text)
    assert value is not None
    return str(value)
