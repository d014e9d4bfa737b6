"""The mapping file of an import: how a predecessor system's export becomes Fieldcase records
(docs/import.md has a worked example). The one owner of reading it; every problem is one plain
sentence naming the file and, where it can, the line.

```toml
[source]
name = "west_dorset_carefirst"      # kept with every imported record
encoding = "cp1252"                 # optional, for a CSV file (else detected)
sheet = "Clients"                   # optional, for a workbook (else its first sheet)
[defaults]                          # values for every row (case fields unless qualified)
team = "North"
type = "adult_social_care"
[columns]                           # Fieldcase field = the file's column, or a template
"person.external_id" = "Client ID"
"case.external_id" = "Referral ID"
"person.name" = "{Forename} {Surname}"
[values."case.status"]              # the file's value = Fieldcase's value
"Open" = "open"
[formats]                           # how the file writes a date
"person.date_of_birth" = "%d/%m/%Y"
[teams]                             # postcode district -> team
"DT1" = "North"
```
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from server.records.governance import GovernanceError, read_toml
from sync.records import FIELDS, RecordKind

#: The Fieldcase fields a column may fill.
TARGETS: frozenset[str] = frozenset(
    {"person.external_id", "case.external_id", "warning.text", "warning.category", "note.text"}
    | {f"person.{name}" for name in FIELDS[RecordKind.PERSON]}
    | {
        f"case.{name}"
        for name in FIELDS[RecordKind.CASE]
        if name not in ("ref", "person_id")  # the service gives references and links people
    }
)
REQUIRED: tuple[str, ...] = ("person.external_id", "case.external_id", "person.name")
DATE_FIELDS: frozenset[str] = frozenset(
    {"person.date_of_birth", "case.next_review", "case.opened_on", "case.closed_on"}
)
SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")
TEMPLATE_PART = re.compile(r"\{([^{}]+)\}")


class MappingError(GovernanceError):
    """The mapping file cannot be used (``str`` is the plain message)."""


@dataclass(frozen=True)
class Mapping:
    source: str
    columns: dict[str, str]  # field -> a column's name, or a template of columns
    defaults: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    formats: dict[str, str] = field(default_factory=dict)
    teams: dict[str, str] = field(default_factory=dict)
    encoding: str | None = None
    sheet: str | None = None
    path: Path | None = None

    @cached_property
    def templates(self) -> dict[str, tuple[str, ...]]:
        """Field -> the columns its template names (none for a plain column's name), worked
        out once rather than for every row."""
        return {target: tuple(TEMPLATE_PART.findall(spec)) for target, spec in self.columns.items()}

    def targets_of(self, kind: str) -> tuple[str, ...]:
        """The fields of ``kind`` (``person``, ``case``) the mapping fills, ids aside."""
        return self._targets[kind]

    @cached_property
    def _targets(self) -> dict[str, tuple[str, ...]]:
        every = sorted({*self.columns, *self.defaults})
        found: dict[str, tuple[str, ...]] = {}
        for kind in ("person", "case"):
            found[kind] = tuple(
                t for t in every if t.startswith(f"{kind}.") and not t.endswith(".external_id")
            )
        return found

    def columns_used(self) -> set[str]:
        """Every column of the file the mapping reads."""
        used: set[str] = set()
        for spec in self.columns.values():
            parts = TEMPLATE_PART.findall(spec)
            used.update(parts if parts else [spec])
        return used


def _line(text: str, needle: str) -> str:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return f", line {number}"
    return ""


def load_mapping(path: Path) -> Mapping:
    """Read and check the mapping file ``path``."""
    text, doc = read_toml(path, "mapping file", MappingError)

    def problem(what: str, needle: str = "") -> MappingError:
        return MappingError(
            f"The mapping file {path}{_line(text, needle) if needle else ''}: {what}"
        )

    unknown = sorted(set(doc) - {"source", "defaults", "columns", "values", "formats", "teams"})
    if unknown:
        raise problem(
            f"[{unknown[0]}] is not a section it may have (source, defaults, columns, values, "
            "formats, teams).",
            unknown[0],
        )
    source = doc.get("source", {})
    name = source.get("name") if isinstance(source, dict) else None
    if not isinstance(name, str) or not SOURCE_NAME.match(name):
        raise problem(
            '[source] needs a name: lower-case letters, digits, "_", "." or "-", such as '
            '"west_dorset_carefirst" (it is kept with every record imported).',
            "[source]",
        )
    columns = _strings(doc.get("columns", {}), "[columns]", problem)
    defaults = {
        (key if "." in key else f"case.{key}"): value
        for key, value in _strings(doc.get("defaults", {}), "[defaults]", problem).items()
    }
    missing = [r for r in REQUIRED if r not in columns]
    if missing:
        raise problem(f"[columns] must name the file's column for {', '.join(missing)}.")
    raw_values = doc.get("values", {})
    if not isinstance(raw_values, dict):
        raise problem("[values.\"field\"] tables map the file's values to Fieldcase's.", "values")
    values = {
        target: _strings(table, f'[values."{target}"]', problem)
        for target, table in raw_values.items()
    }
    formats = _strings(doc.get("formats", {}), "[formats]", problem)
    for target in [*columns, *defaults, *values, *formats]:
        if target not in TARGETS:
            raise problem(
                f'"{target}" is not a field an import can fill; see docs/import.md.', target
            )
    for target in formats:
        if target not in DATE_FIELDS:
            raise problem(f'"{target}" is not a date, so it has no format.', target)
    teams = {
        district.upper().replace(" ", ""): team
        for district, team in _strings(doc.get("teams", {}), "[teams]", problem).items()
    }
    return Mapping(
        source=name,
        columns=columns,
        defaults=defaults,
        values=values,
        formats=formats,
        teams=teams,
        encoding=_optional(source, "encoding", problem),
        sheet=_optional(source, "sheet", problem),
        path=path,
    )


def _strings(table: Any, where: str, problem: Any) -> dict[str, str]:
    if not isinstance(table, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in table.items()
    ):
        raise problem(f'{where} must hold only names = "text" lines.', where.strip("[]"))
    return {k.strip(): v.strip() for k, v in table.items()}


def _optional(source: dict[str, Any], key: str, problem: Any) -> str | None:
    value = source.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise problem(f"[source] {key} must be text in quotes.", key)
    return value.strip()
