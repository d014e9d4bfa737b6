"""Property: whatever change batches a device sends (any JSON within the size limits, for every
record kind, valid-looking and broken, envelopes too), the service never answers 5xx, stores
only records that pass the schema, and two enrolled laptops of the team still sync and
converge.

One real service per database (SQLite and PostgreSQL); Hypothesis sends the batches through
the real API as an enrolled device; the laptops sync once at the end of the run.
"""

from __future__ import annotations

import itertools
import math
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from server.cli.records import bad_records
from server.core.db import make_engine
from sync.records import BUILTIN_CASE_TYPES, SCHEMA, FieldSpec, FieldType, RecordKind, check_fields
from tests.server.helpers import change
from tests.server.hostile import (
    NOW,
    RawDevice,
    assert_all_valid,
    dumps,
    poison_change,
    poisons,
)
from tests.support.server import add_user, enrol, running_server
from tests.sync.helpers import enrol_laptop

pytestmark = pytest.mark.slow

#: 200 in ``make test`` (about 15 s a database); FIELDCASE_HOSTILE_EXAMPLES=2000 by hand.
EXAMPLES = int(os.environ.get("FIELDCASE_HOSTILE_EXAMPLES", "200"))

#: Records the attacker makes first (fixed ids, so examples may name them).
TEAM_CASE = uuid.UUID("7e57ca5e-0000-4000-8000-000000000001")
TEAM_PERSON = uuid.UUID("7e57ca5e-0000-4000-8000-000000000002")
TEAM_NOTE = uuid.UUID("7e57ca5e-0000-4000-8000-000000000003")
KNOWN_IDS = (TEAM_CASE, TEAM_PERSON, TEAM_NOTE)

_refs = itertools.count(1)
POISON_TEXT = ("\ud800", "a\udfffb", "nul\x00", "x" * 100_001, "", " ", "\u202e\ufeff")

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(POISON_TEXT),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def _unique_ref(_: object) -> str:
    """A fresh fallback-form reference (two cases never share one in this test)."""
    return f"FC-2026-HYPO-{next(_refs):04d}"


def valid_value(name: str, spec: FieldSpec) -> st.SearchStrategy[Any]:
    """Values the schema takes for a field (text may still hold a NUL: Hypothesis's text)."""
    if spec.type is FieldType.CHOICE:
        return st.sampled_from(spec.choices)
    if spec.type is FieldType.BOOL:
        return st.booleans()
    if spec.type is FieldType.SIZE:
        return st.integers(min_value=0, max_value=spec.maximum or 0)
    if spec.type is FieldType.DATE:
        return st.dates().map(lambda d: d.isoformat())
    if spec.type is FieldType.DATETIME:
        zones = st.sampled_from([0, 60, -300, 330]).map(lambda m: _zone(m))
        return st.datetimes(timezones=zones).map(lambda d: d.isoformat())
    if spec.type is FieldType.UUID:
        return st.sampled_from(KNOWN_IDS).map(str) | st.uuids().map(str)
    if name == "ref":
        return st.just(None).map(_unique_ref)
    if name == "type":
        return st.sampled_from(sorted(BUILTIN_CASE_TYPES))
    if name == "sha256":
        return st.binary(min_size=32, max_size=32).map(bytes.hex)
    return st.text(min_size=1 if spec.required else 0, max_size=min(spec.max_length or 40, 40))


def _zone(minutes: int) -> Any:
    from datetime import timedelta, timezone

    return timezone(timedelta(minutes=minutes))


def any_value(name: str, spec: FieldSpec) -> st.SearchStrategy[Any]:
    return st.one_of(valid_value(name, spec), valid_value(name, spec), st.none(), json_values)


@st.composite
def fields_of(draw: st.DrawFn, kind: RecordKind) -> dict[str, Any]:
    schema = SCHEMA[kind]
    required = {
        n: st.one_of(valid_value(n, s), valid_value(n, s), any_value(n, s))
        for n, s in schema.items()
        if s.required
    }
    optional = {n: any_value(n, s) for n, s in schema.items() if not s.required}
    fields = draw(st.fixed_dictionaries(required, optional=optional))
    for name in draw(st.lists(st.sampled_from(sorted(schema)), max_size=2)):
        fields.pop(name, None)  # a required field missing, sometimes
    fields.update(draw(st.dictionaries(st.text(max_size=8), json_values, max_size=1)))
    return fields


@st.composite
def changes(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(list(RecordKind)))
    record_id = draw(st.sampled_from(KNOWN_IDS) | st.uuids())
    if kind is RecordKind.CASE:
        case_id = draw(st.just(record_id) | st.just(record_id) | st.uuids())
    else:
        case_id = draw(st.just(TEAM_CASE) | st.just(TEAM_CASE) | st.uuids())
    sent = change(
        kind.value,
        record_id,
        case_id,
        draw(fields_of(kind)),
        base=draw(st.integers(min_value=0, max_value=3)),
        change_id=draw(st.uuids()),
        complete=False,
    )
    sent["made_at"] = NOW
    if draw(st.integers(min_value=0, max_value=7)) == 0:  # a broken envelope, sometimes
        how, key = (
            draw(st.sampled_from(["replace", "drop", "extra"])),
            draw(st.sampled_from(ENVELOPE)),
        )
        if how == "replace":
            sent[key] = draw(json_values)
        elif how == "drop":
            del sent[key]
        else:
            sent[draw(st.text(max_size=8))] = draw(json_values)
    return sent


ENVELOPE = (
    "change_id",
    "kind",
    "record_id",
    "case_id",
    "base_version",
    "fields",
    "resolves",
    "made_at",
)

#: Mostly lists of changes; now and then any JSON at all where the list belongs.
batches = st.integers(min_value=0, max_value=19).flatmap(
    lambda n: json_values if n == 0 else st.lists(changes(), min_size=1, max_size=4)
)


def poison_batch(index: int) -> list[dict[str, Any]]:
    return [poison_change(poisons()[index], TEAM_CASE)]


def _check_answer(batch: Any, status: int, body: Any) -> None:
    assert status < 500, (status, body)
    if status != 200:
        assert body["code"] == "validation", body
        return
    results = body["results"]
    assert isinstance(batch, list) and len(results) == len(batch)
    for sent, result in zip(batch, results, strict=True):
        if result["status"] in ("applied", "conflict"):
            kind = RecordKind(sent["kind"])
            problems = check_fields(kind, sent.get("fields", {}), whole=False)
            assert not problems, (sent, problems)
        elif result["status"] == "rejected" and result["error"]["code"] == "validation":
            assert isinstance(result["error"]["detail"], dict), result


def _seed(device: RawDevice) -> None:
    """The team's case, its person and a note, at the ids examples name."""
    case = change(
        "case",
        TEAM_CASE,
        TEAM_CASE,
        {"ref": "FC-2026-SEED-0001", "type": "housing_repair", "person_id": str(TEAM_PERSON)},
        complete=False,
    )
    person = change("person", TEAM_PERSON, TEAM_CASE, {"name": "Ada Lovelace"}, complete=False)
    note = change(
        "note",
        TEAM_NOTE,
        TEAM_CASE,
        {"text": "Seed", "author": "lee", "written_at": NOW},
        complete=False,
    )
    answer = device.push(case, person, note)
    assert answer.status_code == 200, answer.text
    assert [r["status"] for r in answer.json()["results"]] == ["applied"] * 3


def test_hostile_batches_never_wedge_the_service_or_the_team(db_url: str, tmp_path: Path) -> None:
    for user in ("sam", "kim", "lee"):
        add_user(db_url, user, "Housing")
    with running_server(db_url) as srv:
        attacker = RawDevice(srv.url, enrol(srv.url, "lee")["token"])
        _seed(attacker)
        first = enrol_laptop(tmp_path / "sam", srv.url, "sam")
        second = enrol_laptop(tmp_path / "kim", srv.url, "kim")
        try:
            ref = first.work.create_case("housing_repair", "Grace Hopper")
            first.work.add_note(ref, "Laptop-made note.")
            assert first.sync().completed

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                suppress_health_check=[
                    HealthCheck.too_slow,
                    HealthCheck.data_too_large,
                    HealthCheck.large_base_example,
                ],
            )
            @given(batch=batches)
            def send(batch: Any) -> None:
                answer = attacker.post("/v1/sync/push", dumps({"changes": batch}))
                _check_answer(batch, answer.status_code, answer.json())

            for index in range(len(poisons())):
                send = example(batch=poison_batch(index))(send)
            send = example(batch=[poison_change(p, TEAM_CASE) for p in poisons()])(send)
            send()

            stored = attacker.pull_all()
            assert_all_valid(stored)
            engine = make_engine(db_url, pool_size=1)
            try:
                with Session(engine) as session:  # cases moved to other teams too
                    assert list(bad_records(session)) == []
            finally:
                engine.dispose()
            for laptop in (first, second, first, second):
                report = laptop.sync()
                assert report.completed and not report.rejected, report.summary()
            assert first.state() == second.state()
            # A schema-valid hostile change may move the seeded case to another team, so what
            # both must still hold is the laptop-made case, which no hostile batch names.
            own = ("case", first.case_id(ref))
            assert first.state()[own]["ref"] == ref
        finally:
            first.close()
            second.close()


def test_every_poison_of_the_issue_is_an_example() -> None:
    """The issue's poison values (a lone surrogate, a NUL, NaN, a 10 MB note, ...) each make
    one explicit example batch of the property test, on the team's case."""
    names = {p.name for p in poisons()}
    assert {"a lone surrogate", "a NUL byte", "NaN as text", "a 10 MB note"} <= names
    for index, poison in enumerate(poisons()):
        (sent,) = poison_batch(index)
        assert (
            sent["kind"] == poison.kind
            and sent["fields"].items()
            >= {
                k: v
                for k, v in poison.fields.items()
                if not (isinstance(v, float) and math.isnan(v))
            }.items()
        ), poison.name
