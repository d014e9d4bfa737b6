"""The laptop's tables carry exactly the synced fields of sync/records.py, and time is UTC."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect

from app.domain import sort_name
from app.store.models import KIND_MODELS, Case, Person
from app.store.types import UTCDateTime
from sync.records import FIELDS, RecordKind

BESIDE_FIELDS = {"id", "case_id", "version"}


def columns(model: type) -> set[str]:
    return {c.key for c in inspect(model).columns}


def test_every_kind_has_a_table() -> None:
    assert set(KIND_MODELS) == set(RecordKind)


@pytest.mark.parametrize("kind", list(RecordKind), ids=str)
def test_synced_columns_are_exactly_the_wire_fields(kind: RecordKind) -> None:
    model = KIND_MODELS[kind]
    synced = columns(model) - BESIDE_FIELDS - model.LOCAL_COLUMNS
    assert synced == set(FIELDS[kind]), (
        f"{model.__name__}: extra {sorted(synced - set(FIELDS[kind]))}, "
        f"missing {sorted(set(FIELDS[kind]) - synced)}"
    )
    assert columns(model) >= model.LOCAL_COLUMNS
    assert {"id", "version"} <= columns(model)
    if kind is not RecordKind.CASE:
        assert "case_id" in columns(model)


def test_the_comparison_would_notice_a_drift() -> None:
    synced = columns(Case) - BESIDE_FIELDS - Case.LOCAL_COLUMNS
    assert synced != set(FIELDS[RecordKind.CASE]) - {"summary"}


def test_naive_datetimes_are_refused_and_aware_ones_stored_as_utc() -> None:
    column = UTCDateTime()
    with pytest.raises(ValueError, match="naive"):
        column.process_bind_param(datetime(2026, 1, 1, 10, 0), None)  # type: ignore[arg-type]
    plus_two = timezone(timedelta(hours=2))
    stored = column.process_bind_param(datetime(2026, 1, 1, 12, 0, tzinfo=plus_two), None)  # type: ignore[arg-type]
    assert stored == "2026-01-01T10:00:00.000000+00:00"
    back = column.process_result_value(stored, None)  # type: ignore[arg-type]
    assert back == datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    assert back is not None and back.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Pat Morgan", "morgan pat"),
        ("Siân O'Neill", "oneill sian"),
        ("  MADONNA ", "madonna"),
        ("", ""),
        ("Mary Ann de la Cruz", "cruz mary ann de la"),
    ],
)
def test_sort_name(name: str, key: str) -> None:
    assert sort_name(name) == key


def test_person_sort_name_is_local_only() -> None:
    assert "sort_name" in Person.LOCAL_COLUMNS
    assert "sort_name" not in FIELDS[RecordKind.PERSON]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=30))
def test_an_ascii_name_sorts_as_the_unicode_rules_would_have_it(name: str) -> None:
    """Plain ASCII names take a short way (no decomposition; lower case is the case fold): the
    same key as the full rules give."""
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    words = [w for w in ("".join(c for c in word if c.isalnum()) for word in plain.split()) if w]
    expected = " ".join([words[-1], *words[:-1]]) if len(words) > 1 else "".join(words)
    assert sort_name(name) == expected
