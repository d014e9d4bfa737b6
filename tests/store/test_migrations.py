"""Schema migrations: an old profile upgrades and reads correctly; models match the newest
migration."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import SQLModel

import app.store.models
import app.store.tables
from app import vault
from app.core import CaseSort, Casework
from app.store import db, migrate
from app.store.profile import Profile, list_backups
from tests.store.make_v1_profile import V1, V1_CASES, build_v1_profile
from tests.support.profile import PASSWORD

assert app.store.models and app.store.tables  # both put their tables on the metadata


def diffs(conn: object) -> list[object]:
    context = MigrationContext.configure(
        conn,  # type: ignore[arg-type]
        opts={"include_name": migrate.include_name, "compare_type": True},
    )
    return list(compare_metadata(context, SQLModel.metadata))


def test_there_is_a_second_version() -> None:
    assert migrate.head_revision() != V1
    assert {V1, migrate.head_revision()} <= migrate.known_revisions()


def test_models_and_newest_migration_agree(profile: Profile) -> None:
    with profile.engine.connect() as conn:
        assert migrate.current_revision(conn) == migrate.head_revision()
        assert diffs(conn) == []


def test_the_comparison_sees_a_difference(profile_dir: Path) -> None:
    build_v1_profile(profile_dir, PASSWORD)
    engine = db.make_engine(profile_dir / db.DB_FILE, vault.unlock(profile_dir, PASSWORD))
    try:
        with engine.connect() as conn:
            found = diffs(conn)
    finally:
        engine.dispose()
    assert any("sort_name" in repr(d) for d in found), found


def test_a_v1_profile_upgrades_and_reads_correctly(profile_dir: Path) -> None:
    made = build_v1_profile(profile_dir, PASSWORD)
    with Profile.open(profile_dir, PASSWORD) as profile:
        with profile.engine.connect() as conn:
            assert migrate.current_revision(conn) == migrate.head_revision()
            keys = dict(conn.execute(text("SELECT name, sort_name FROM people")).all())
        # the data migration filled the new column from the names already there
        assert keys == {
            "Pat Morgan": "morgan pat",
            "Siân O'Neill": "oneill sian",
            "Ann Zeller": "zeller ann",
            "bob adams": "adams bob",
        }
        work = Casework(profile)
        by_name = [r.person_name for r in work.list_cases(sort=CaseSort.NAME)]
        assert by_name == ["bob adams", "Pat Morgan", "Siân O'Neill", "Ann Zeller"]
        for name, ref, summary, note in V1_CASES:
            detail = work.get_case(ref)
            assert detail.id == made[ref]
            assert detail.version == 5
            assert detail.person["name"] == name
            assert detail.fields["summary"] == summary
            assert [n.text for n in detail.notes] == [note]
            assert detail.pending == 1
            # the full-text index (and its triggers) survived the upgrade
            assert [r.ref for r in work.list_cases(note.split()[0])] == [ref]
        # new writes work on the upgraded schema and keep the sort key
        ref = work.create_case("carer_support", "Cy Able", {})
        assert work.list_cases(sort=CaseSort.NAME)[0].ref == ref
    # the backup made on unlock holds the profile as it was, before the upgrade
    backup = list_backups(profile_dir)[0]
    engine = db.make_engine(backup.path, vault.unlock(profile_dir, PASSWORD))
    try:
        with engine.connect() as conn:
            assert migrate.current_revision(conn) == V1
    finally:
        engine.dispose()


def test_the_written_down_revisions_are_alembics() -> None:
    """Opening a profile compares against ``migrate.REVISIONS`` without loading Alembic; the
    list must be exactly the scripts Alembic runs, in order."""
    assert list(migrate.REVISIONS) == migrate.alembic_revisions()


def test_the_search_index_without_prefix_indexes_finds_the_same(profile: Profile) -> None:
    """Schema v8 drops the index's two- and three-letter prefix entries: every prefix typed
    finds the same cases as before, in the same order."""
    from alembic import command

    work = Casework(profile)
    people = ["Smith Ada", "Smyth Bo", "Ola Smart", "Rhys Owen", "Owena Price", "Siân Oakes"]
    for n, name in enumerate(people):
        work.create_case("housing_repair", name, {"summary": f"Roof leak number {n} at home"})
    typed = ["sm", "smi", "sma", "ow", "owe", "si", "sia", "ro", "lea", "r", "oak", "home 3"]

    def answers() -> list[list[str]]:
        return [[row.ref for row in work.list_cases(search)] for search in typed]

    def fts_sql() -> str:
        with profile.engine.connect() as conn:
            return str(
                conn.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE name = 'search_fts'"
                ).scalar_one()
            )

    assert "prefix" not in fts_sql()
    now = answers()
    assert all(now[:3]) and all(now[3:6]) and now[-1]
    with profile.engine.begin() as conn:
        command.downgrade(migrate.alembic_config(conn), "0007")
    assert "prefix = '2 3'" in fts_sql()
    before = answers()
    with profile.engine.begin() as conn:
        command.upgrade(migrate.alembic_config(conn), "head")
    assert "prefix" not in fts_sql()
    assert answers() == before == now


def test_a_case_is_found_by_its_persons_old_system_ids(profile: Profile) -> None:
    """Schema v11: a case's search document holds its person's old systems' ids, kept in step
    as they arrive or change (a pulled person, a merge on the service); going back to v10
    leaves a working index without them."""
    from alembic import command

    work = Casework(profile)
    ref = work.create_case("housing_repair", "Pat Morgan", {"summary": "Roof leak"})
    work.create_case("housing_repair", "Ada Smith", {"summary": "Damp"})

    def found(search: str) -> list[str]:
        return [row.ref for row in work.list_cases(search)]

    def person_old_ids(value: str) -> None:  # as a pulled person writes it
        with profile.engine.begin() as conn:
            conn.execute(
                text("UPDATE people SET external_ids = :v WHERE name = 'Pat Morgan'"), {"v": value}
            )

    assert found("C0001234") == []
    person_old_ids("west_dorset_carefirst:C0001234")
    assert found("C0001234") == found("c000") == found("carefirst") == [ref]
    person_old_ids("west_dorset_carefirst:C0001234\nnorth_dorset:P-88121")
    assert found("P-88121") == found("morgan") == [ref]
    with profile.engine.begin() as conn:  # a case changing person keeps the person's ids
        conn.execute(
            text("UPDATE cases SET summary = 'Roof leak again' WHERE ref = :r"), {"r": ref}
        )
    assert found("P-88121") == found("again") == [ref]
    assert found("88121 damp") == []
    with profile.engine.begin() as conn:
        command.downgrade(migrate.alembic_config(conn), "0010")
    assert found("morgan") == [ref]
    with profile.engine.begin() as conn:
        command.upgrade(migrate.alembic_config(conn), "head")
    assert found("morgan") == found("again") == [ref]
