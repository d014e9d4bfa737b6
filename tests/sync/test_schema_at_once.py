"""The record schema's one-call check (the usual case, on every pulled and pushed record)
accepts exactly what the field-by-field check accepts, so the reasons a refusal gives always
come from the same rules."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from server.records import realistic
from sync.records import (
    SCHEMA,
    RecordKind,
    _fits_at_once,
    _problems_field_by_field,
    check_fields,
    unfit_records,
)

values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**65), max_value=2**65)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(
        [
            "",
            "open",
            "visit",
            "2026-02-30",
            "2026-11-28",
            "2026-11-28T09:00:00+00:00",
            "\ud800",
            "a\x00b",
            "ends in NUL\x00",
            "two\nlines\n",
            "pair \U0001f600 and lone \udfff",
            "FC-2026-00042",
            "0b9c6c1e-1111-4222-8333-444455556666",
            "fields: status",
        ]
    ),
    lambda inner: (
        st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner, max_size=2)
    ),
    max_leaves=4,
)


@st.composite
def records(draw: st.DrawFn) -> tuple[RecordKind, dict[Any, Any], bool]:
    kind = draw(st.sampled_from(list(RecordKind)))
    names = st.sampled_from(sorted(SCHEMA[kind])) | st.text(max_size=6)
    fields = draw(st.dictionaries(names, values, max_size=len(SCHEMA[kind]) + 1))
    return kind, fields, draw(st.booleans())


@settings(max_examples=400, deadline=None)
@given(records())
def test_one_call_and_field_by_field_agree(case: tuple[RecordKind, dict[Any, Any], bool]) -> None:
    kind, fields, whole = case
    assert _fits_at_once(kind, fields, whole=whole) == (
        _problems_field_by_field(kind, fields, whole=whole) == []
    ), (kind, fields, whole)


@st.composite
def fields_of(draw: st.DrawFn, kind: RecordKind) -> dict[Any, Any]:
    names = st.sampled_from(sorted(SCHEMA[kind])) | st.text(max_size=6)
    return draw(st.dictionaries(names, values, max_size=len(SCHEMA[kind]) + 1))


#: One record of each kind that fits, from the realistic generator, to mix with random ones.
FITTING = {
    record.kind: dict(record.fields)
    for bundle in realistic.cases(3, seed=5)
    for record in bundle.records()
}


@st.composite
def pages(draw: st.DrawFn) -> tuple[RecordKind, list[dict[Any, Any]]]:
    kind = draw(st.sampled_from([kind for kind in RecordKind if kind in FITTING]))
    one = fields_of(kind) | st.just(FITTING[kind])
    return kind, draw(st.lists(one, max_size=5))


@settings(max_examples=80, deadline=None)
@given(pages())
def test_a_page_checked_in_one_call_finds_exactly_the_records_that_do_not_fit(
    case: tuple[RecordKind, list[dict[Any, Any]]],
) -> None:
    """The pulled page's check (one call per kind) names the same records as checking each."""
    kind, many = case
    one_by_one = {at for at, fields in enumerate(many) if check_fields(kind, fields, whole=True)}
    assert unfit_records(kind, many) == one_by_one, (kind, many)


def test_a_whole_record_that_fits_passes_and_one_that_does_not_gets_reasons() -> None:
    note = {"text": "Seen at home.", "author": "sam", "written_at": "2026-11-28T09:00:00+00:00"}
    assert check_fields(RecordKind.NOTE, note, whole=True) == []
    problems = check_fields(RecordKind.NOTE, {**note, "text": math.nan}, whole=True)
    assert [p.field for p in problems] == ["text"]


def test_every_field_refuses_bad_text_in_both_checks() -> None:
    """Every text field, in both checks: NUL and a lone surrogate are refused, a character
    outside the basic plane is kept (the one-call check does this without Python)."""
    bad = ["a\x00b", "ends in NUL\x00", "lone \ud800", "lone \udfff at the end"]
    for kind, fields in SCHEMA.items():
        for name, spec in fields.items():
            if spec.type.value not in ("text", "date", "datetime", "uuid"):
                continue
            for value in bad:
                assert not _fits_at_once(kind, {name: value}, whole=False), (kind, name, value)
                assert _problems_field_by_field(kind, {name: value}, whole=False), (kind, name)
            if spec.pattern is None:
                assert _fits_at_once(kind, {name: "pair \U0001f600"}, whole=False), (kind, name)
