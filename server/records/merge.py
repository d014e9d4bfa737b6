"""The service's per-field merge rules (the laptop never merges: it sends, and keeps clashes).

Pure functions, no I/O. The service keeps, for every field of every record, a :class:`Stamp`
saying at which record version, by which device and user, the field last changed. A change
arrives with the version it was based on (``base_version``) and the fields it sets; for each
field:

* the field last changed at a version <= ``base_version`` (the editor saw that value), or it
  was last changed by the same device (a laptop's successive offline edits all carry the same
  base): the new value is applied;
* otherwise, if the new value equals the current one, nothing clashes;
* otherwise the current value (which reached the service first) is kept and a :class:`Clash`
  records both values for a person to resolve.

Fields named in ``resolving`` (a change that settles conflicts) are always applied.
Append-only kinds (notes, audit events) are created once and never edited, so they never clash.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from sync.records import APPEND_ONLY, FIELDS, RecordKind


@dataclass(frozen=True)
class Stamp:
    """Who last changed one field, and at which record version."""

    version: int
    device: str | None
    user: str
    at: str  # ISO 8601 UTC

    def to_json(self) -> dict[str, Any]:
        return {"v": self.version, "d": self.device, "u": self.user, "at": self.at}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Stamp:
        return cls(
            version=int(data["v"]), device=data.get("d"), user=str(data["u"]), at=str(data["at"])
        )


@dataclass(frozen=True)
class Clash:
    """The same field changed on two sides: ``kept`` stays in the record, ``other`` does not."""

    field: str
    kept_value: Any
    kept_stamp: Stamp
    other_value: Any


@dataclass
class MergeResult:
    """What a change does to a record: the fields to write and the clashes to keep."""

    applied: dict[str, Any] = field(default_factory=dict)
    clashes: list[Clash] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)  # same value already there

    @property
    def changed(self) -> bool:
        return bool(self.applied)


class MergeRefused(ValueError):
    """The change cannot be merged at all (unknown field, edit of an append-only record)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def unknown_fields(kind: RecordKind, values: Mapping[str, Any]) -> list[str]:
    """Field names a change sets that its record kind does not have."""
    allowed = set(FIELDS[kind])
    return sorted(name for name in values if name not in allowed)


def merge_change(
    kind: RecordKind,
    exists: bool,
    current: Mapping[str, Any],
    stamps: Mapping[str, Stamp],
    base_version: int,
    incoming: Mapping[str, Any],
    device: str | None,
    resolving: Collection[str] = (),
) -> MergeResult:
    """Merge one change into a record's current state (see the module docstring).

    ``exists`` says whether the record is already held; a new record takes every field.
    Raises :class:`MergeRefused` for fields the kind does not have and for edits of an
    append-only record that already exists.
    """
    bad = unknown_fields(kind, incoming)
    if bad:
        raise MergeRefused(
            "unknown_field",
            f"This change sets fields a {kind.value} does not have: {', '.join(bad)}.",
        )
    result = MergeResult()
    if not exists:
        result.applied = dict(incoming)
        return result
    if kind in APPEND_ONLY:
        raise MergeRefused(
            "append_only",
            f"A {kind.value} cannot be changed once written; add a correcting one instead.",
        )
    for name, value in incoming.items():
        stamp = stamps.get(name)
        if (
            name in resolving
            or stamp is None
            or stamp.version <= base_version
            or (device is not None and stamp.device == device)
        ):
            if name in current and current[name] == value and stamp is not None:
                result.unchanged.append(name)
                if name in resolving:
                    result.applied[name] = value
            else:
                result.applied[name] = value
        elif current.get(name) == value:
            result.unchanged.append(name)
        else:
            result.clashes.append(
                Clash(field=name, kept_value=current.get(name), kept_stamp=stamp, other_value=value)
            )
    return result
