"""The keyed audit chain: a key outside the database, checkpoints, rotation, the upgrade from
the old unkeyed rule, and the service refusing to run on PostgreSQL without a key. Each attack
is made as someone who can write the database but does not hold the key would make it."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlmodel import Session, col, select

from server import audit
from server.audit_check import Checkpoint, verify
from server.audit_key import load_key, read_key_file
from server.core.db import alembic_config, make_engine, migrate
from server.models import AuditEntry, AuditHead
from tests.server.helpers import Service, new_case, service_settings
from tests.support.server import admin, server_cli

TEST_KEY_ENV = "FIELDCASE_AUDIT_KEY"


def busy(service: Service, cases: int = 3) -> None:
    laptop = service.device("sam", "Housing")
    for _ in range(cases):
        laptop.push(new_case("Housing", "sam")[1])
    service.login("sam", "wrong password")


def rows(service: Service) -> list[dict[str, Any]]:
    with service.engine.connect() as conn:
        result = conn.execute(text("SELECT * FROM audit_log ORDER BY id"))
        return [dict(r._mapping) for r in result]


def last_id(service: Service) -> int:
    return rows(service)[-1]["id"]


def rewrite_from(service: Service, first: int, *, set_actor: str, unkeyed: bool) -> None:
    """Edit row ``first`` and recompute it and every later hash by the old unkeyed rule
    (what anyone with write access but no key can do), then move the head to match."""
    _recompute(service, first, None, set_actor=set_actor, unkeyed=unkeyed)


def _recompute(
    service: Service, first: int, upto: int | None, *, set_actor: str, unkeyed: bool = False
) -> None:
    with Session(service.engine) as session:
        prev = None
        for row in session.exec(select(AuditEntry).order_by(col(AuditEntry.id))).all():
            if row.id < first:
                prev = row.hash
                continue
            if upto is not None and row.id > upto:
                break
            if row.id == first:
                row.actor = set_actor
            assert prev is not None
            row.prev_hash = prev
            if unkeyed:
                row.key_id = "sha256"
            row.hash = audit.entry_hash(row)
            session.add(row)
            prev = row.hash
        if upto is None:
            head = session.get(AuditHead, 1)
            assert head is not None and prev is not None
            head.last_hash = prev
            session.add(head)
        session.commit()


def cut_tail(service: Service, keep: int) -> None:
    """Delete every row after ``keep`` and move the head back to it: a chain that is whole."""
    with service.engine.begin() as conn:
        kept = conn.execute(text("SELECT hash FROM audit_log WHERE id = :i"), {"i": keep}).one()
        conn.execute(text("DELETE FROM audit_log WHERE id > :i"), {"i": keep})
        conn.execute(
            text("UPDATE audit_head SET last_id = :i, last_hash = :h WHERE id = 1"),
            {"i": keep, "h": kept[0]},
        )


def test_every_new_row_is_keyed_and_verifies(service: Service) -> None:
    busy(service)
    key = load_key(service.settings)
    assert key is not None
    assert {r["key_id"] for r in rows(service)} == {key.key_id}
    with Session(service.engine) as session:
        assert verify(session, {key.key_id: key.secret}).complete
        without = verify(session, {})
    assert without.ok and not without.complete and without.missing_keys == [key.key_id]


def test_tail_deletion_passes_without_a_checkpoint_and_fails_with_one(
    service: Service, tmp_path: Path
) -> None:
    busy(service)
    checkpoint = tmp_path / "elsewhere" / "audit.checkpoint"
    taken = admin(service.db_url, "audit-checkpoint", "--out", str(checkpoint))
    assert taken.returncode == 0, taken.stderr
    assert stat.S_IMODE(checkpoint.stat().st_mode) == 0o600
    total = last_id(service)
    cut_tail(service, total - 3)

    plain = admin(service.db_url, "verify-audit")
    assert plain.returncode == 0, plain.stdout  # the chain alone cannot see it ...
    caught = admin(service.db_url, "verify-audit", "--checkpoint", str(checkpoint))
    assert caught.returncode == 3, caught.stdout + caught.stderr  # ... the checkpoint does
    assert f"rows {total - 2} to {total} were deleted from the end" in caught.stdout


def test_tail_replaced_by_new_rows_is_caught_by_the_checkpoint(service: Service) -> None:
    busy(service)
    with Session(service.engine) as session:
        checkpoint = Checkpoint.take(session, datetime.now(UTC))
    cut_tail(service, checkpoint.last_id - 2)
    service.login("sam", "wrong again")  # new rows, keyed, fill the gap
    service.login("sam", "and again")
    service.login("sam", "and once more")
    key = load_key(service.settings)
    assert key is not None
    with Session(service.engine) as session:
        assert verify(session, {key.key_id: key.secret}).complete
        report = verify(session, {key.key_id: key.secret}, checkpoint)
    assert not report.ok and report.broken_id == checkpoint.last_id
    assert "rewritten" in report.reason


@pytest.mark.parametrize("unkeyed", [False, True], ids=["same-key-id", "marked-unkeyed"])
def test_editing_a_row_and_recomputing_later_hashes_fails(service: Service, unkeyed: bool) -> None:
    busy(service)
    rewrite_from(service, 4, set_actor="mallory", unkeyed=unkeyed)
    result = admin(service.db_url, "verify-audit")
    assert result.returncode == 3, result.stdout
    assert "BROKEN at row 4" in result.stdout


def test_a_deleted_middle_row_fails(service: Service) -> None:
    busy(service)
    with service.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id = 5"))
    result = admin(service.db_url, "verify-audit")
    assert result.returncode == 3 and "row 5 is missing" in result.stdout


def test_without_the_key_it_says_it_cannot_check(service: Service) -> None:
    busy(service)
    result = admin(service.db_url, "verify-audit", drop=(TEST_KEY_ENV,))
    assert result.returncode == 4, result.stdout + result.stderr
    assert "CANNOT be fully checked" in result.stdout
    assert "FIELDCASE_AUDIT_KEY_FILE" in result.stdout


def test_rotation_verifies_across_with_both_keys(service: Service, tmp_path: Path) -> None:
    busy(service)
    new_key_file = tmp_path / "new.key"
    made = admin(service.db_url, "make-audit-key", "--out", str(new_key_file))
    assert made.returncode == 0, made.stderr
    assert stat.S_IMODE(new_key_file.stat().st_mode) == 0o600
    old_key_file = tmp_path / "old.key"
    old_key_file.write_text(os.environ[TEST_KEY_ENV])
    rotated = admin(
        service.db_url,
        "audit-checkpoint",
        "--out",
        str(tmp_path / "cp1"),
        "--new-key-file",
        str(new_key_file),
    )
    assert rotated.returncode == 0, rotated.stderr
    assert "FIELDCASE_AUDIT_KEY_FILE" in rotated.stdout

    # a service still holding the old key may not write: it is told plainly what to do
    before = last_id(service)
    refused = service.login("sam", "wrong password")
    assert refused.status_code == 503 and last_id(service) == before
    assert refused.headers["Retry-After"] == "60"
    assert "cannot keep its audit trail" in refused.json()["message"]
    new_key = read_key_file(new_key_file)
    audit.use_key(service.engine, new_key)  # the service restarted with the new key
    busy_again = service.login("sam", "wrong password")
    assert busy_again.status_code == 401
    with_new = {"FIELDCASE_AUDIT_KEY_FILE": str(new_key_file)}
    partial = admin(service.db_url, "verify-audit", env=with_new, drop=(TEST_KEY_ENV,))
    assert partial.returncode == 4, partial.stdout
    both = admin(
        service.db_url,
        "verify-audit",
        "--checkpoint",
        str(tmp_path / "cp1"),
        "--old-key-file",
        str(old_key_file),
        env=with_new,
        drop=(TEST_KEY_ENV,),
    )
    assert both.returncode == 0, both.stdout + both.stderr
    assert "intact" in both.stdout


def test_a_row_made_with_the_old_key_after_rotation_fails(service: Service, tmp_path: Path) -> None:
    busy(service)
    old = load_key(service.settings)
    assert old is not None
    new_file = tmp_path / "new.key"
    assert admin(service.db_url, "make-audit-key", "--out", str(new_file)).returncode == 0
    new = read_key_file(new_file)
    with Session(service.engine) as session:
        audit.rotate(session, new, at=datetime.now(UTC))
        session.commit()
    # someone holding only the old (perhaps leaked) key forges the next row with it
    with service.engine.begin() as conn:
        conn.execute(text("UPDATE audit_head SET key_id = :k WHERE id = 1"), {"k": old.key_id})
    service.login("sam", "wrong password")
    with Session(service.engine) as session:
        report = verify(session, {old.key_id: old.secret, new.key_id: new.secret})
    assert not report.ok and "rotation" in report.reason


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_upgrade_from_an_unkeyed_chain_verifies(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str
) -> None:
    url = _empty_db(request, kind, tmp_path)
    engine = make_engine(url, pool_size=1)
    config = alembic_config()
    before = ScriptDirectory.from_config(config).get_revision("0005_keyed_audit").down_revision
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, str(before))
        conn.commit()
    old_rows = _old_rule_rows(engine, 5)
    migrate(engine)  # the upgrade
    engine.dispose()

    svc = Service(service_settings(url))
    try:
        busy(svc)
        all_rows = rows(svc)
        assert [r["key_id"] for r in all_rows[:old_rows]] == ["sha256"] * old_rows
        assert all(r["key_id"] != "sha256" for r in all_rows[old_rows:])
        result = admin(url, "verify-audit")
        assert result.returncode == 0, result.stdout + result.stderr
        # an old row edited, and the old chain recomputed up to the upgrade point, is caught
        with svc.engine.begin() as conn:
            conn.execute(text("UPDATE audit_head SET keyed_from = 1000000 WHERE id = 1"))
        moved = admin(url, "verify-audit")
        assert moved.returncode == 3, moved.stdout
        with svc.engine.begin() as conn:
            conn.execute(
                text("UPDATE audit_head SET keyed_from = :k WHERE id = 1"), {"k": old_rows + 1}
            )
        _rewrite_old(svc, 2, old_rows)
        broken = admin(url, "verify-audit")
        assert broken.returncode == 3
        assert f"BROKEN at row {old_rows + 1}" in broken.stdout
    finally:
        svc.close()


def _empty_db(request: pytest.FixtureRequest, kind: str, tmp_path: Path) -> str:
    if kind == "postgres":
        cluster = request.getfixturevalue("pg_cluster")
        return str(cluster.create_database("fcold"))
    return f"sqlite:///{tmp_path / 'old.db'}"


def _old_rule_rows(engine: Any, count: int) -> int:
    """Rows written the way the service wrote them before the key: plain SHA-256."""
    prev = audit.GENESIS
    at = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    with engine.begin() as conn:
        for i in range(1, count + 1):
            row: dict[str, Any] = {
                "id": i,
                "at": at,
                "event": "login",
                "actor": "sam",
                "device_id": None,
                "address": "127.0.0.1",
                "record_kind": None,
                "record_id": None,
                "case_id": None,
                "detail": {},
                "prev_hash": prev,
            }
            row["hash"] = audit.entry_hash(row)
            conn.execute(
                text(
                    "INSERT INTO audit_log (id, at, event, actor, device_id, address, "
                    "record_kind, record_id, case_id, detail, prev_hash, hash) VALUES (:id, "
                    ":at, :event, :actor, :device_id, :address, :record_kind, :record_id, "
                    ":case_id, '{}', :prev_hash, :hash)"
                ),
                {**row, "at": at.replace(tzinfo=None) if engine.dialect.name == "sqlite" else at},
            )
            prev = row["hash"]
        conn.execute(
            text("UPDATE audit_head SET last_id = :i, last_hash = :h WHERE id = 1"),
            {"i": count, "h": prev},
        )
    return count


def _rewrite_old(service: Service, first: int, upto: int) -> None:
    _recompute(service, first, upto, set_actor="mallory")


@pytest.mark.postgres
def test_serve_on_postgresql_refuses_to_start_without_a_key(pg_url: str) -> None:
    result = server_cli(
        "serve",
        "--db",
        pg_url,
        "--port",
        "1",
        "--migrate",
        drop=(TEST_KEY_ENV, "FIELDCASE_AUDIT_KEY_FILE"),
    )
    assert result.returncode != 0
    assert "make-audit-key --out FILE" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_embedded_service_makes_its_own_key_beside_its_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(TEST_KEY_ENV)
    url = f"sqlite:///{tmp_path / 'data' / 'fieldcase-server.db'}"
    engine = make_engine(url, pool_size=1)
    migrate(engine)
    engine.dispose()
    svc = Service(service_settings(url))
    try:
        busy(svc)
        key_file = tmp_path / "data" / "fieldcase-server.audit-key"
        assert key_file.exists()
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        key = read_key_file(key_file)
        assert {r["key_id"] for r in rows(svc)} == {key.key_id}
        assert key.secret.hex() not in " ".join(str(v) for r in rows(svc) for v in r.values())
    finally:
        svc.close()


def test_a_lost_key_is_recorded_and_the_trail_goes_on(service: Service, tmp_path: Path) -> None:
    busy(service)
    before = last_id(service)
    new_file = tmp_path / "new.key"
    assert admin(service.db_url, "make-audit-key", "--out", str(new_file)).returncode == 0
    lost = admin(
        service.db_url,
        "audit-checkpoint",
        "--out",
        str(tmp_path / "cp"),
        "--new-key-file",
        str(new_file),
        "--old-key-lost",
        drop=(TEST_KEY_ENV,),
    )
    assert lost.returncode == 0, lost.stderr
    audit.use_key(service.engine, read_key_file(new_file))  # restarted with the new key
    assert service.login("sam", "wrong password").status_code == 401
    with_new = {"FIELDCASE_AUDIT_KEY_FILE": str(new_file)}
    result = admin(
        service.db_url,
        "verify-audit",
        "--checkpoint",
        str(tmp_path / "cp"),
        env=with_new,
        drop=(TEST_KEY_ENV,),
    )
    assert result.returncode == 4, result.stdout + result.stderr  # the old entries: unchecked
    assert f"recorded as lost at entry {before + 1}" in result.stdout
    # entries after the loss are still protected by the new key
    rewrite_from(service, before + 2, set_actor="mallory", unkeyed=False)
    broken = admin(service.db_url, "verify-audit", env=with_new, drop=(TEST_KEY_ENV,))
    assert broken.returncode == 3 and f"BROKEN at row {before + 2}" in broken.stdout


@pytest.mark.postgres
def test_admin_commands_on_postgresql_without_a_key_say_how_to_make_one(pg_url: str) -> None:
    for args in (("add-team", "Housing"), ("disable-user", "nobody")):
        result = admin(pg_url, *args, drop=(TEST_KEY_ENV,))
        assert result.returncode == 1, result.stderr
        assert "make-audit-key --out FILE" in result.stderr
        assert "Traceback" not in result.stderr
    listed = admin(pg_url, "list-users", drop=(TEST_KEY_ENV,))
    assert listed.returncode == 0  # reading needs no key
