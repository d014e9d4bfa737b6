"""Records the laptops cannot store, already in the service's database (stored before the
service checked records), never wedge a team: ``fieldcase sync`` finishes, says so in one
plain line, stores the good records around them, doctor counts them, the service hears of
each once, and a colleague's fresh ``enrol`` works. On SQLite and on PostgreSQL.

The data file's own troubles (a full disk, a read-only file) stop the sync with their own
message instead, and set nothing aside."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import event, text

from app import online
from app.store import set_aside
from app.store.profile import Profile
from app.store.sync_adapter import StoreStopped
from tests.support.pg import pg_cluster  # noqa: F401  (registers the fixture)
from tests.support.profile import run_cli_inprocess
from tests.support.server import TEST_PASSWORD, ServerProcess, served_per_database
from tests.sync.helpers import Laptop, add_users, enrol_laptop, unique
from tests.sync.service_rows import call

PERSONAL = ("Pat Morgan", "Sam Lee", "Kim Ode", "boiler", "FC-")


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """A real ``fieldcase-server serve`` on SQLite or on PostgreSQL."""
    with served_per_database(request, tmp_path_factory, "setaside") as srv:
        yield srv


def cli(args: list[str], profile: Path) -> tuple[int, str, str]:
    result = run_cli_inprocess(args, profile, password=TEST_PASSWORD)
    return result.returncode, result.out, result.stderr.strip()


def doctor_count(profile: Path) -> dict[str, Any]:
    _code, out, err = cli(["doctor", "--json"], profile)
    assert out, err
    return next(c for c in json.loads(out)["checks"] if c["key"] == "set_aside")


def aside(profile_dir: Path) -> dict[str, str]:
    with (
        Profile.open(profile_dir, TEST_PASSWORD, backup=False) as profile,
        profile.engine.connect() as conn,
    ):
        return {str(row.record_id): row.reason_code for row in set_aside.listing(conn)}


def test_records_the_laptops_cannot_store_never_wedge_the_team(
    served: ServerProcess, tmp_path: Path
) -> None:
    team = unique("team")
    ann, cat, bea = unique("ann"), unique("cat"), unique("bea")
    add_users(served.db_url, [(u, team, "caseworker") for u in (ann, cat, bea)])
    a = enrol_laptop(tmp_path / "ann", served.url, ann)
    c = enrol_laptop(tmp_path / "cat", served.url, cat)
    ref1 = a.work.create_case("housing_repair", "Pat Morgan", {"summary": "Broken boiler"})
    ref2 = a.work.create_case("housing_repair", "Sam Lee", {})
    ref3 = a.work.create_case("carer_support", "Kim Ode", {})
    kept_note = a.work.add_note(ref1, "Boiler engineer booked")
    no_author = a.work.add_note(ref1, "Spoke to the landlord")
    bad_time = a.work.add_note(ref1, "Second visit")
    a.sync()
    ids = {ref: str(a.case_id(ref)) for ref in (ref1, ref2, ref3)}
    a.close()

    # poison, written straight into the service's database
    db = served.db_url
    poisoned = {
        str(no_author): call("rewrite", db, str(no_author), {"author": None}),
        str(bad_time): call("rewrite", db, str(bad_time), {"written_at": "notadate"}),
        ids[ref2]: call("rewrite", db, ids[ref2], {"ref": ref1}),  # a reference taken
        ids[ref3]: call("rewrite", db, ids[ref3], {"priority": 42}),
    }
    assert set(poisoned.values()) == {2}
    # cat's laptop pulls them, sets them aside and carries on; then adds good work around them
    assert c.sync().set_aside == 4
    cat_note = c.work.add_note(UUID(ids[ref1]), "Cat's visit: all fine")
    assert c.sync().set_aside == 0
    c.close()

    code, out, err = cli(["sync"], a.folder)
    assert code == 0, err
    assert "4 updates from the service could not be stored; IT has been told." in out
    assert err == ""
    code, shown, err = cli(["case", "show", ref1, "--json"], a.folder)
    assert code == 0, err
    notes = {n["id"]: n for n in json.loads(shown)["notes"]}
    assert str(cat_note) in notes and str(kept_note) in notes  # the good records arrived
    expected = {
        str(no_author): set_aside.MISSING,
        str(bad_time): set_aside.WRONG_TYPE,
        ids[ref2]: set_aside.DUPLICATE,
        ids[ref3]: set_aside.WRONG_TYPE,
    }
    found = aside(a.folder)
    assert set(found) == set(expected)
    for record_id, code in found.items():  # (the shared record rules may refuse it first)
        assert code in (expected[record_id], set_aside.BROKEN_RULE), (record_id, code)

    check = doctor_count(a.folder)
    assert check["status"] == "Problem" and check["facts"] == {"set_aside": 4}
    assert check["message"].startswith("4 updates from the service could not be stored")

    # the service heard of each, once, with ids and reason codes only
    events = call("set_aside_events", db, ann)
    assert sorted(e["record_id"] for e in events) == sorted(poisoned)
    assert {e["event"] for e in events} == {"laptop_set_aside"}
    assert all(e["detail"]["detail"] in aside(a.folder).values() for e in events)
    assert not any(word in json.dumps(events) for word in PERSONAL)

    # the next sync is clean: nothing new to say, nothing reported again, no wedge
    code, out, err = cli(["sync"], a.folder)
    assert code == 0, err
    assert "could not be stored" not in out
    assert len(call("set_aside_events", db, ann)) == 4

    # a colleague's fresh enrol of the same team works, and gets the good records
    code, out, err = cli(["enrol", "--server", served.url, "--user", bea], tmp_path / "bea")
    assert code == 0, err
    assert "4 updates from the service could not be stored; IT has been told." in out
    code, shown, err = cli(["case", "show", ref1, "--json"], tmp_path / "bea")
    assert code == 0, err
    assert {str(cat_note), str(kept_note)} <= {n["id"] for n in json.loads(shown)["notes"]}
    assert set(aside(tmp_path / "bea")) == set(poisoned)

    # a later good version replaces the set-aside one on every laptop
    call("rewrite", db, str(no_author), {"author": ann})
    code, out, err = cli(["sync"], a.folder)
    assert code == 0 and "could not be stored" not in out, err
    assert str(no_author) not in aside(a.folder)
    code, shown, _ = cli(["case", "show", ref1, "--json"], a.folder)
    assert {n["id"]: n for n in json.loads(shown)["notes"]}[str(no_author)]["author"] == ann


@pytest.fixture
def one_laptop(served: ServerProcess, tmp_path: Path) -> Iterator[tuple[Laptop, Laptop]]:
    team = unique("team")
    users = [unique("dee"), unique("eve")]
    add_users(served.db_url, [(u, team, "caseworker") for u in users])
    laptops = [enrol_laptop(tmp_path / u, served.url, u) for u in users]
    yield laptops[0], laptops[1]
    for laptop in laptops:
        laptop.close()


def _stopped_by(laptop: Laptop, pragma: str) -> StoreStopped:
    """Sync while every new connection of the profile runs ``pragma``."""
    profile = laptop.profile

    def _apply(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(pragma)

    event.listen(profile.engine, "connect", _apply)
    profile.engine.dispose()
    try:
        with pytest.raises(StoreStopped) as caught:
            online.sync(profile)
    finally:
        event.remove(profile.engine, "connect", _apply)
        profile.engine.dispose()
    return caught.value


def test_a_full_disk_or_read_only_file_stops_the_sync_and_sets_nothing_aside(
    served: ServerProcess, one_laptop: tuple[Laptop, Laptop]
) -> None:
    dee, eve = one_laptop
    refs = [
        eve.work.create_case("housing_repair", f"Person {n}", {"summary": "y" * 900})
        for n in range(40)
    ]
    eve.sync()
    before = dee.store.cursor()
    with dee.profile.engine.connect() as conn:
        pages = conn.execute(text("PRAGMA page_count")).scalar_one()

    full = _stopped_by(dee, f"PRAGMA max_page_count = {pages}")
    assert full.message.startswith("The disk is full")
    assert full.exit_code == 5
    read_only = _stopped_by(dee, "PRAGMA query_only = ON")
    assert "read-only" in read_only.message

    assert dee.store.cursor() == before
    assert dee.store.set_aside_count() == 0
    report = online.sync(dee.profile)  # the trouble gone, all of it arrives
    assert report.set_aside == 0 and report.received >= 80
    assert sorted(dee.work.refs()) == sorted(refs)
    assert call("set_aside_events", served.db_url, dee.user) == []
