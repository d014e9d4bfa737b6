"""References are unique forever, push marks, and the protocol versions served: against a real
``fieldcase-server serve`` process on SQLite and PostgreSQL, and the migration that makes
references unique on a database that already holds duplicates."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest
from alembic import command
from sqlalchemy import text
from sqlmodel import Session, select

from server.core.db import alembic_config, make_engine
from server.models import AuditEntry, CaseScope, Device, Record
from sync.protocol import PROTOCOL_VERSION
from sync.records import FIELDS, RecordKind
from tests.server.helpers import Service, change, fresh_ref, new_case
from tests.support.server import add_user, enrol, running_server


def _call(
    url: str,
    body: dict[str, Any] | None = None,
    token: str | None = None,
    *,
    version: str = "2",
    method: str = "POST",
) -> tuple[int, dict[str, Any]]:
    headers = {"X-Fieldcase-Protocol": version, "Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (loopback)
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _push(srv_url: str, token: str, *changes: dict[str, Any], **extra: Any) -> list[Any]:
    status, body = _call(srv_url + "/v1/sync/push", {"changes": list(changes), **extra}, token)
    assert status == 200, body
    return list(body["results"])


def _mark(srv_url: str, token: str, version: str = "2") -> int:
    status, body = _call(srv_url + "/v1/sync/state", None, token, method="GET", version=version)
    assert status == 200, body
    return int(body["push_mark"])


def test_a_second_case_with_a_held_reference_is_refused(db_url: str) -> None:
    add_user(db_url, "sam", "Housing")
    add_user(db_url, "kim", "Housing")
    with running_server(db_url) as srv:
        sam, kim = enrol(srv.url, "sam")["token"], enrol(srv.url, "kim")["token"]
        first_id, first = new_case("Housing", "sam")
        ref = first["fields"]["ref"]
        assert [r["status"] for r in _push(srv.url, sam, first)] == ["applied"]

        # another laptop, another case id, the same reference: refused on its own
        other_id, other = new_case("Housing", "kim", ref=ref)
        fine_id, fine = new_case("Housing", "kim")
        results = _push(srv.url, kim, other, fine)
        assert results[0]["status"] == "rejected"
        assert results[0]["error"]["code"] == "duplicate_ref"
        assert ref in results[0]["error"]["message"]
        assert results[1]["status"] == "applied"  # the rest of the batch is not held up

        # two new cases with one reference in one batch: the first wins
        shared = fresh_ref()
        a_id, a = new_case("Housing", "kim", ref=shared)
        b_id, b = new_case("Housing", "kim", ref=shared)
        assert [r["status"] for r in _push(srv.url, kim, a, b)] == ["applied", "rejected"]

        # an edit giving a case another case's reference is refused the same way
        edit = change("case", fine_id, fine_id, {"ref": ref}, base=1)
        (result,) = _push(srv.url, kim, edit)
        assert result["error"]["code"] == "duplicate_ref"
        # the same case sending its own reference again is no clash
        again = change("case", first_id, first_id, {"ref": ref, "summary": "x"}, base=1)
        assert _push(srv.url, sam, again)[0]["status"] == "applied"
        # a case moving to a free reference frees its old one
        moved = fresh_ref()
        assert (
            _push(srv.url, kim, change("case", a_id, a_id, {"ref": moved}, base=1))[0]["status"]
            == "applied"
        )
        assert _push(srv.url, kim, b)[0]["status"] == "applied"

    engine = make_engine(db_url, pool_size=1)
    try:
        with Session(engine) as session:
            refs = [s.ref for s in session.exec(select(CaseScope)).all()]
            assert len(refs) == len(set(refs))
            assert session.get(CaseScope, other_id) is None
            assert session.get(Record, other_id) is None
            assert session.get(CaseScope, first_id).ref == ref  # type: ignore[union-attr]
            assert session.get(CaseScope, b_id).ref == shared  # type: ignore[union-attr]
            # each refusal is in the audit trail, naming both cases and the laptop's user
            refused = session.exec(
                select(AuditEntry).where(AuditEntry.event == "duplicate_ref_refused")
            ).all()
            assert [(e.case_id, e.actor) for e in refused] == [
                (str(other_id), "kim"),
                (str(b_id), "kim"),
                (str(fine_id), "kim"),
            ]
            assert refused[0].detail["ref"] == ref
            assert refused[0].detail["held_by"] == str(first_id)
    finally:
        engine.dispose()


def test_pushes_racing_for_one_reference_leave_one_holder(db_url: str) -> None:
    """Two service workers, eight laptops each pushing its own new case with one reference at
    the same moment: exactly one is applied, every other is ``duplicate_ref``, never a 500."""
    from concurrent.futures import ThreadPoolExecutor

    names = [f"racer{n}" for n in range(8)]
    for name in names:
        add_user(db_url, name, "Racers")
    with running_server(db_url, workers=2) as srv:
        tokens = [enrol(srv.url, name)["token"] for name in names]
        ref = fresh_ref()
        cases = [new_case("Racers", name, ref=ref)[1] for name in names]

        def push(n: int) -> tuple[int, dict[str, Any]]:
            return _call(srv.url + "/v1/sync/push", {"changes": [cases[n]]}, tokens[n])

        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(push, range(8)))
    assert all(status == 200 for status, _ in answers), answers
    results = [body["results"][0] for _, body in answers]
    assert sum(r["status"] == "applied" for r in results) == 1
    refused = [r for r in results if r["status"] != "applied"]
    assert all(r["error"]["code"] == "duplicate_ref" for r in refused)


def test_the_unique_index_backs_the_check(db_url: str) -> None:
    """Even written around the push's check, the database refuses a second holder."""
    from sqlalchemy.exc import IntegrityError

    engine = make_engine(db_url, pool_size=1)
    try:
        with Session(engine) as session:
            session.add(CaseScope(case_id=uuid.uuid4(), ref="FC-2026-77777", team="T"))
            session.commit()
            session.add(CaseScope(case_id=uuid.uuid4(), ref="FC-2026-77777", team="T"))
            with pytest.raises(IntegrityError):
                session.commit()
            session.rollback()
            session.add(CaseScope(case_id=uuid.uuid4(), ref=None, team="T"))
            session.add(CaseScope(case_id=uuid.uuid4(), ref=None, team="T"))
            session.commit()  # cases without a reference are not duplicates of each other
    finally:
        engine.dispose()


def test_push_marks_and_protocol_versions(db_url: str) -> None:
    add_user(db_url, "sam", "Housing")
    with running_server(db_url) as srv:
        device = enrol(srv.url, "sam")
        token = device["token"]
        assert _mark(srv.url, token) == 0
        _case_id, case = new_case("Housing", "sam")
        _push(srv.url, token, case, mark=3)
        assert _mark(srv.url, token) == 3
        # a replayed or older batch never lowers it; a refused request leaves it as it was
        _push(srv.url, token, case, mark=2)
        assert _mark(srv.url, token) == 3
        status, _ = _call(srv.url + "/v1/sync/push", {"changes": [case], "mark": -1}, token)
        assert status == 422
        assert _mark(srv.url, token) == 3

        # a version 1 laptop is still served (no mark: nothing changes)
        _other_id, other = new_case("Housing", "sam")
        status, body = _call(srv.url + "/v1/sync/push", {"changes": [other]}, token, version="1")
        assert status == 200 and body["results"][0]["status"] == "applied"
        assert _mark(srv.url, token, version="1") == 3
        status, meta = _call(srv.url + "/v1/meta", None, method="GET", version="1")
        assert status == 200
        assert (meta["protocol_version"], meta["min_protocol_version"]) == (PROTOCOL_VERSION, 1)

        # a laptop too old is told to update, in plain words
        for version in ("0", "", "abc"):
            status, body = _call(
                srv.url + "/v1/sync/pull", {"cursor": None}, token, version=version
            )
            assert status == 426
            assert body["code"] == "protocol_unsupported"
            assert "too old" in body["message"] and "update" in body["message"].lower()

    engine = make_engine(db_url, pool_size=1)
    try:
        with Session(engine) as session:
            row = session.get(Device, uuid.UUID(device["device_id"]))
            assert row is not None and row.push_mark == 3
    finally:
        engine.dispose()


# ------------------------------------------------------------------------------ migration


def _insert_case(conn: Any, case_id: uuid.UUID, ref: str, created: str, seq: int) -> None:
    fields = {"ref": ref, "team": "Housing", "assigned_to": "sam", "status": "open"}
    stamp = {"v": 1, "d": None, "u": "sam", "at": created}
    conn.execute(
        text(
            "INSERT INTO record (record_id, kind, case_id, version, fields, stamps, created_at,"
            " updated_at, updated_by, seq) VALUES (:id, 'case', :id, 1, :f, :s, :c, :c, 'sam',"
            " :seq)"
        ),
        {
            "id": case_id.hex if conn.dialect.name == "sqlite" else str(case_id),
            "f": json.dumps(fields),
            "s": json.dumps(dict.fromkeys(fields, stamp)),
            "c": created,
            "seq": seq,
        },
    )
    conn.execute(
        text("INSERT INTO case_scope (case_id, ref, team) VALUES (:id, :ref, 'Housing')"),
        {"id": case_id.hex if conn.dialect.name == "sqlite" else str(case_id), "ref": ref},
    )


@pytest.fixture
def old_db_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """An empty database of either kind, not migrated yet."""
    if request.param == "postgres":
        cluster = request.getfixturevalue("pg_cluster")
        return str(cluster.create_database("fcold"))
    return f"sqlite:///{tmp_path / 'old.db'}"


@pytest.mark.parametrize("old_db_url", ["sqlite", "postgres"], indirect=True)
def test_the_migration_keeps_the_oldest_holder_of_a_shared_reference(
    old_db_url: str, capfd: pytest.CaptureFixture[str]
) -> None:
    engine = make_engine(old_db_url, pool_size=1)
    config = alembic_config()
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0002")
        oldest, newer, newest, alone = (uuid.uuid4() for _ in range(4))
        with engine.begin() as conn:
            conn.execute(text("UPDATE counter SET value = 10 WHERE name = 'log'"))
            if conn.execute(text("SELECT count(*) FROM counter")).scalar_one() == 0:
                conn.execute(text("INSERT INTO counter (name, value) VALUES ('log', 10)"))
            conn.execute(text("INSERT INTO ref_counter (year, next_number) VALUES (2026, 201)"))
            _insert_case(conn, newer, "FC-2026-00042", "2026-03-02 10:00:00", 5)
            _insert_case(conn, oldest, "FC-2026-00042", "2026-03-01 10:00:00", 7)
            _insert_case(conn, newest, "FC-2026-00042", "2026-03-03 10:00:00", 3)
            _insert_case(conn, alone, "FC-2026-00043", "2026-03-01 10:00:00", 4)
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        err = capfd.readouterr().err
        assert "2 case(s) that shared a reference" in err
        assert "FC-2026-00042 -> FC-2026-00201" in err and "FC-2026-00042 -> FC-2026-00202" in err
        assert "What to do" in err

        with Session(engine) as session:
            scopes = {s.case_id: s.ref for s in session.exec(select(CaseScope)).all()}
            assert scopes[oldest] == "FC-2026-00042"
            assert scopes[alone] == "FC-2026-00043"
            assert {scopes[newer], scopes[newest]} == {"FC-2026-00201", "FC-2026-00202"}
            for case_id in (newer, newest):
                record = session.get(Record, case_id)
                assert record is not None
                assert record.fields["ref"] == scopes[case_id]
                assert record.version == 2  # a new version, so every laptop pulls it again
                assert record.seq > 10
                assert record.stamps["ref"]["v"] == 2
                assert record.fields["team"] == "Housing"  # nothing else touched
            kept = session.get(Record, oldest)
            assert kept is not None and kept.version == 1 and kept.seq == 7
            next_number = session.execute(
                text("SELECT next_number FROM ref_counter WHERE year = 2026")
            ).scalar_one()
            assert next_number == 203  # never reserved to a laptop again
            marks = session.execute(text("SELECT count(*) FROM device")).scalar_one()
            assert marks == 0
        # now unique: a second holder is refused by the database itself
        from sqlalchemy.exc import IntegrityError

        with pytest.raises(IntegrityError), engine.begin() as conn:
            _insert_case(conn, uuid.uuid4(), "FC-2026-00042", "2026-03-04 10:00:00", 20)
        # and the migration goes back down and up again cleanly
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0002")
            command.upgrade(config, "head")
    finally:
        engine.dispose()


def test_a_laptop_of_an_older_protocol_gets_no_field_it_does_not_know(db_url: str) -> None:
    """Protocol 3 added a warning's retired_by/retired_at and a visit's outcome/outcome_note:
    a version 2 laptop pulls its warnings and visits without them (its check would set each
    aside), a version 3 laptop with them, as lines and as one object alike."""
    add_user(db_url, "sam", "Housing")
    with running_server(db_url) as srv:
        token = enrol(srv.url, "sam")["token"]
        case_id, case = new_case("Housing", "sam")
        warning = change(
            "warning",
            uuid.uuid4(),
            case_id,
            {
                "person_id": case["fields"]["person_id"],
                "text": "Dog on premises",
                "active": False,
                "retired_by": "sam",
                "retired_at": "2026-12-02T10:00:00+00:00",
            },
        )
        visit = change(
            "visit",
            uuid.uuid4(),
            case_id,
            {"due": "2026-12-03T10:00:00+00:00", "status": "done", "outcome": "not_in"},
        )
        _push(srv.url, token, case, warning, visit)
        for version, known in (("3", True), ("2", False), ("1", False)):
            status, page = _call(
                srv.url + "/v1/sync/pull", {"cursor": None}, token, version=version
            )
            assert status == 200, page
            by_kind = {r["kind"]: r["fields"] for r in page["records"]}
            assert ("retired_by" in by_kind["warning"]) is known, version
            assert ("outcome" in by_kind["visit"]) is known, version
            if known:
                assert by_kind["warning"]["retired_by"] == "sam"
                assert by_kind["visit"]["outcome"] == "not_in"
            else:
                assert set(by_kind["warning"]) == set(FIELDS[RecordKind.WARNING]) - {
                    "retired_by",
                    "retired_at",
                }
                assert by_kind["warning"]["active"] is False  # the rest as it is


def test_a_hostile_reference_is_refused_by_its_check_not_by_the_database(
    service: Service,
) -> None:
    """A case whose reference holds a NUL (which PostgreSQL cannot even compare) is refused
    as invalid, and the rest of its batch is applied: the look-up of taken references before
    the batch only ever asks about references that pass the record schema."""
    sam = service.device("sam", "Housing")
    _, bad = new_case("Housing", "sam", ref="FC-2026-\x0000001")
    _, good = new_case("Housing", "sam")
    results = sam.push(bad, good)
    assert [r["status"] for r in results] == ["rejected", "applied"], results
