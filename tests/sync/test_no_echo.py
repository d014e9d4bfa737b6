"""A laptop is not sent back what it pushed itself, unless the service's record is not what
the laptop holds (another device wrote it, or the change met a clash): against a real
``fieldcase-server serve`` on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.pg import pg_cluster  # noqa: F401  (registers the fixture)
from tests.support.server import ServerProcess, served_per_database
from tests.sync.helpers import add_users, enrol_laptop
from tests.sync.service_rows import call


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    with served_per_database(request, tmp_path_factory, "noecho") as srv:
        add_users(srv.db_url, [("sam", "Echo", "caseworker"), ("kim", "Echo", "caseworker")])
        yield srv


def test_own_pushes_do_not_come_back_but_others_writes_do(
    service: ServerProcess, tmp_path: Path
) -> None:
    sam = enrol_laptop(tmp_path / "sam", service.url, "sam")
    kim = enrol_laptop(tmp_path / "kim", service.url, "kim")
    try:
        refs = [sam.work.create_case("housing_repair", f"Person {n}") for n in range(3)]
        for ref in refs:
            sam.work.add_note(ref, "Seen at home.")
        first = sam.sync()
        assert first.completed and first.pushed >= 9
        assert first.received == 0, first  # its own cases, people and notes: not sent back
        again = sam.sync()
        assert again.received == 0 and again.pushed == 0
        # a new version written some other way (IT by hand, an older service) is sent
        third = str(sam.case_id(refs[2]))
        assert call("rewrite", service.db_url, third, {"summary": "By hand"}) == 2
        assert sam.sync().received == 1

        # the colleague gets everything, and her edit reaches sam
        assert kim.sync().received >= 9
        kim.work.edit_case(refs[0], {"summary": "Boiler fixed."})
        assert kim.sync().completed
        back = sam.sync()
        assert back.received == 1, back
        assert sam.state() == kim.state()

        # both edit the same case offline: the second push is merged on a newer version, so
        # the service's record is not what its laptop holds, and it comes back
        sam.work.edit_case(refs[1], {"summary": "Sam's words."})
        kim.work.edit_case(refs[1], {"priority": "high"})
        assert kim.sync().completed
        merged = sam.sync()
        assert merged.received >= 1, merged
        assert kim.sync().completed
        assert sam.state() == kim.state()
        case = sam.state()[("case", sam.case_id(refs[1]))]
        assert case["summary"] == "Sam's words." and case["priority"] == "high"
    finally:
        sam.close()
        kim.close()
