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
