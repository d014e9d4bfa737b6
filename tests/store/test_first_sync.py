"""The search index on a first sync (app/store/first_sync.py): paused while an empty profile
is filled, built once at the pull's end with the same documents the triggers write, and never
left paused by a first sync that stopped half way."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine

from app.core import Casework
from app.store import first_sync
from app.store.profile import Profile
from app.store.sync_adapter import SyncAdapter
from server.records import realistic
from sync.protocol import PullResponse, RecordState
from tests.support.profile import make_profile

AT = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def pages(count: int, per_page: int, *, seed: int = 3) -> list[PullResponse]:
    """A first sync of ``count`` generated cases, ``per_page`` cases a page."""
    out: list[PullResponse] = []
    batch: list[RecordState] = []
    bundles = list(realistic.cases(count, seed=seed, first_ref=500))
    for n, bundle in enumerate(bundles, start=1):
        for record in bundle.records():
            batch.append(
                RecordState(
                    kind=record.kind,
                    record_id=record.record_id,
                    case_id=bundle.case_id,
                    version=1,
                    fields=record.fields,
                    updated_at=AT,
                    updated_by="sam.okafor",
                )
            )
        if n % per_page == 0 or n == count:
            out.append(
                PullResponse(records=batch, next_cursor=f"c1.{n}", more=n < count, server_time=AT)
            )
            batch = []
    return out


def documents(conn: Connection) -> dict[str, tuple[int, frozenset[str]]]:
    """Every search document: record id -> (its number, the words the index holds for it)."""
    conn.exec_driver_sql(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.words"
        " USING fts5vocab('main', 'search_fts', 'instance')"
    )
    words: dict[int, set[str]] = {}
    for term, doc in conn.exec_driver_sql("SELECT term, doc FROM temp.words"):
        words.setdefault(int(doc), set()).add(str(term))
    rows = conn.exec_driver_sql("SELECT record_id, doc_id FROM search_doc").fetchall()
    return {str(r): (int(d), frozenset(words.get(int(d), ()))) for r, d in rows}


def indexes(conn: Connection) -> set[str]:
    """Every index's and trigger's definition (the automatic indexes of primary keys and unique
    columns too)."""
    rows = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type IN ('index', 'trigger')"
    )
    return {f"{name}: {sql}" for name, sql in rows}


def in_order(docs: dict[str, tuple[int, str]]) -> list[str]:
    return [record_id for record_id, _ in sorted(docs.items(), key=lambda item: item[1][0])]


def count(conn: Connection, table: str) -> int:
    return int(conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one())


def note_word_and_name(first: PullResponse) -> tuple[str, str]:
    note = next(r for r in first.records if r.kind.value == "note")
    person = next(r for r in first.records if r.kind.value == "person")
    word = max(str(note.fields["text"]).split(), key=len).strip(".,;:")
    return word, str(person.fields["name"]).split()[-1]


def test_a_first_sync_writes_the_index_once_at_its_end(tmp_path: Path, password: str) -> None:
    sync = pages(12, 5)
    with make_profile(tmp_path / "p", password=password) as profile:
        with profile.engine.connect() as conn:
            fresh = indexes(conn)
        adapter = SyncAdapter(profile)
        for page in sync[:-1]:
            adapter.apply_page(page)
            with profile.engine.connect() as conn:
                assert first_sync.is_paused(conn)
                assert count(conn, "search_doc") == 0  # nothing written record by record
                missing = {i.split(":")[0] for i in fresh - indexes(conn)}
                # the tables' own indexes and the search triggers wait too; their keys and
                # unique columns do not
                assert {"ix_notes_case_id", "ix_people_sort_name", "ix_cases_status"} <= missing
                assert {"search_notes_ai", "search_cases_ai", "search_people_au"} <= missing
                assert "ix_search_doc_case_id" in missing
                assert not any(name.startswith("sqlite_autoindex") for name in missing)
        adapter.apply_page(sync[-1])
        with profile.engine.connect() as conn:
            assert not first_sync.is_paused(conn)
            assert indexes(conn) == fresh  # every index made again, as it was
            docs = documents(conn)
            assert len(docs) == count(conn, "cases") + count(conn, "notes") == 12 * 4
        word, surname = note_word_and_name(sync[0])
        work = Casework(profile)
        assert work.list_cases(search=word), word
        assert work.list_cases(search=surname), surname


def test_the_built_index_is_the_one_the_triggers_write(tmp_path: Path, password: str) -> None:
    """The same pulls into a profile that already holds a case (so the triggers write the
    index as records arrive) and into an empty one (built at the end): the same documents,
    with the same words, a case before its notes and the cases in the order they arrived."""
    sync = pages(9, 4)
    with make_profile(tmp_path / "a", password=password) as built:
        for page in sync:
            SyncAdapter(built).apply_page(page)
        with built.engine.connect() as conn:
            fresh = documents(conn)
    with make_profile(tmp_path / "b", password=password) as kept:
        work = Casework(kept)
        ref = work.create_case("housing_repair", "Ada Lovelace", {"summary": "Leaking roof"})
        own = work.list_cases(search=ref)[0].case_id.hex
        with kept.engine.connect() as conn:
            assert not first_sync.pause_if_empty(conn)  # not empty: the triggers write
        for page in sync:
            SyncAdapter(kept).apply_page(page)
        with kept.engine.connect() as conn:
            by_trigger = documents(conn)
        with kept.engine.begin() as conn:
            first_sync.build(conn)
            rebuilt = documents(conn)
    by_trigger = {k: v for k, v in by_trigger.items() if k != own}
    rebuilt_own = rebuilt.pop(own)
    assert "lovelace" in rebuilt_own[1] and "leaking" in rebuilt_own[1]
    assert {k: words for k, (_, words) in by_trigger.items()} == {
        k: words for k, (_, words) in fresh.items()
    }
    assert {k: words for k, (_, words) in rebuilt.items()} == {
        k: words for k, (_, words) in fresh.items()
    }
    # cases in the order they arrived, and notes likewise (the triggers number a page's cases
    # before its notes, the rebuild all cases before all notes: either way, newest first)
    cases = {str(r.record_id.hex) for page in sync for r in page.records if r.kind.value == "case"}
    for wanted in (cases, set(fresh) - cases):
        orders = [
            [k for k in in_order(docs) if k in wanted] for docs in (by_trigger, fresh, rebuilt)
        ]
        assert orders[0] == orders[1] == orders[2]


def test_a_stopped_first_sync_gets_its_index_when_the_profile_opens(
    tmp_path: Path, password: str
) -> None:
    sync = pages(6, 3)
    folder = tmp_path / "p"
    with make_profile(folder, password=password) as profile:
        SyncAdapter(profile).apply_page(sync[0])  # the laptop is shut before the rest came
        with profile.engine.connect() as conn:
            assert first_sync.is_paused(conn)
    with make_profile(tmp_path / "fresh", password=password) as other, other.engine.connect() as c:
        fresh = indexes(c)
    with Profile.open(folder, password) as profile:
        with profile.engine.connect() as conn:
            assert not first_sync.is_paused(conn)
            assert indexes(conn) == fresh
            assert len(documents(conn)) == 3 * 4
        word, _ = note_word_and_name(sync[0])
        assert Casework(profile).list_cases(search=word)
        # the rest of the pull then goes through the triggers
        for page in sync[1:]:
            SyncAdapter(profile).apply_page(page)
        with profile.engine.connect() as conn:
            assert not first_sync.is_paused(conn)
            assert len(documents(conn)) == 6 * 4


def test_changes_made_during_the_pause_are_in_the_index(tmp_path: Path, password: str) -> None:
    """A case created and a pulled name corrected while the index is paused: the index built
    at the end has both as they now are."""
    sync = pages(4, 2)
    with make_profile(tmp_path / "p", password=password) as profile:
        adapter = SyncAdapter(profile)
        adapter.apply_page(sync[0])
        ref = Casework(profile).create_case(
            "housing_repair", "Grace Hopper", {"summary": "Broken boiler"}
        )
        person = next(r for r in sync[0].records if r.kind.value == "person")
        renamed = person.model_copy(
            update={"version": 2, "fields": {**person.fields, "name": "Quentin Zebedee"}}
        )
        adapter.apply_page(sync[1].model_copy(update={"records": [*sync[1].records, renamed]}))
        for page in sync[2:]:
            adapter.apply_page(page)
        work = Casework(profile)
        assert [row.ref for row in work.list_cases(search="Hopper")] == [ref]
        assert len(work.list_cases(search="Zebedee")) == 1
        assert not work.list_cases(search=str(person.fields["name"]).split()[-1] + "x")


def test_going_back_to_schema_3_builds_a_paused_index(tmp_path: Path, password: str) -> None:
    """An older Fieldcase never builds a paused index: going back builds it first."""
    from alembic import command

    from app.store import migrate

    sync = pages(4, 2)
    with make_profile(tmp_path / "p", password=password) as profile:
        SyncAdapter(profile).apply_page(sync[0])
        with profile.engine.begin() as conn:
            assert first_sync.is_paused(conn)
            command.downgrade(migrate.alembic_config(conn), "0003")
        with profile.engine.connect() as conn:
            assert migrate.current_revision(conn) == "0003"
            assert not first_sync.is_paused(conn)
            triggers = conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'search_%'"
            ).fetchall()
            assert len(triggers) == 8 and not any("search_paused" in t for (t,) in triggers)
            names = {i.split(":")[0] for i in indexes(conn)}
            assert {"ix_notes_case_id", "ix_people_sort_name", "ix_visits_status_due"} <= names
            found = conn.exec_driver_sql(
                "SELECT count(*) FROM search_fts WHERE search_fts MATCH ?",
                (note_word_and_name(sync[0])[0],),
            ).scalar_one()
            assert found >= 1
            assert count(conn, "search_doc") == 2 * 4


def test_search_works_while_a_first_sync_builds_the_index(tmp_path: Path, password: str) -> None:
    sync = pages(6, 3)
    with make_profile(tmp_path / "p", password=password) as profile:
        SyncAdapter(profile).apply_page(sync[0])
        with profile.engine.connect() as conn:
            assert first_sync.is_paused(conn)
        word, surname = note_word_and_name(sync[0])
        work = Casework(profile)
        by_note, by_name = work.list_cases(word), work.list_cases(surname)
        assert by_note and by_name
        assert work.count_cases(word) == len(by_note)
        assert work.list_cases(f"{surname} zzqx") == []  # every word must match
        for page in sync[1:]:
            SyncAdapter(profile).apply_page(page)
        with profile.engine.connect() as conn:
            assert not first_sync.is_paused(conn)
        assert {r.ref for r in by_note} <= {r.ref for r in work.list_cases(word)}


def test_a_paused_profile_is_built_before_its_schema_is_upgraded(
    tmp_path: Path, password: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first sync stopped by an older Fieldcase: the newer one builds the paused indexes and
    triggers before it migrates, so no migration meets a schema with pieces missing."""
    from alembic import command

    from app.store import migrate

    folder = tmp_path / "p"
    with make_profile(folder, password=password) as profile:
        SyncAdapter(profile).apply_page(pages(4, 2)[0])
        with profile.engine.begin() as conn:
            command.downgrade(migrate.alembic_config(conn), "0006")
            assert first_sync.is_paused(conn)
    seen: list[bool] = []
    upgrade = migrate.upgrade

    def watched(engine: Engine, revision: str = "head") -> str | None:
        with engine.connect() as conn:
            seen.append(first_sync.is_paused(conn))
        return upgrade(engine, revision)

    monkeypatch.setattr(migrate, "upgrade", watched)
    with Profile.open(folder, password) as profile, profile.engine.connect() as conn:
        assert migrate.current_revision(conn) == migrate.head_revision()
        assert not first_sync.is_paused(conn)
        assert count(conn, "search_doc") == 2 * 4
    assert seen == [False]


def test_nulls_and_booleans_are_bound_through_adapters_of_their_own(
    tmp_path: Path, password: str
) -> None:
    """The driver's slow way for a value not exactly an int, float, str or bytes (two failing
    attribute look-ups a value) is never taken for None and booleans: they have adapters,
    and are stored as NULL and 0/1."""
    import sqlcipher3.dbapi2 as sqlcipher

    for value in (None, True):
        assert (type(value), sqlcipher.PrepareProtocol) in sqlcipher.adapters
    with make_profile(tmp_path / "p", password=password) as profile, profile.engine.begin() as c:
        c.exec_driver_sql("CREATE TEMP TABLE t (a, b, c)")
        c.exec_driver_sql("INSERT INTO t VALUES (?, ?, ?)", (None, True, False))
        row = c.exec_driver_sql("SELECT typeof(a), b, typeof(b), c FROM t").one()
    assert tuple(row) == ("null", 1, "integer", 0)
