"""Merge and split end to end (issue 14), with a real ``fieldcase-server serve`` and two real
encrypted laptops of two teams: North's laptop holds Robert Smith, South's holds Bob Smith,
the same man. South's laptop is offline when a governance officer merges Bob into Robert, and
has changed Bob's phone meanwhile. When it syncs, its edit reaches Robert (never lost), its
case shows one person, Robert, with North's risk warning and North's name beside it, and Bob
never comes back; North's laptop sees the phone South recorded. Splitting the merge brings
Bob back on South's laptop."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from sqlmodel import Session, select

from app.store.models import Person
from tests.support.server import ServerProcess, admin
from tests.sync.helpers import Laptop, add_users, enrol_laptop, unique

POOL_TEAMS = 0


def _person(
    laptop: Laptop, ref: str
) -> tuple[str, dict[str, object], list[tuple[str, str | None]]]:
    detail = laptop.work.get_case(ref, record_view=False)
    warnings = [(w.text, w.held_by) for w in detail.warnings]
    return str(detail.person_id), detail.person, warnings


def test_merge_and_split_reach_two_laptops_one_offline_with_an_edit(
    service: ServerProcess, tmp_path: Path, laptops: Callable[..., list[Laptop]]
) -> None:
    north, south = unique("North"), unique("South")
    nina, sol, gus = unique("nina"), unique("sol"), unique("gus")
    add_users(
        service.db_url,
        [
            (nina, north, "caseworker"),
            (sol, south, "caseworker"),
            (gus, unique("gov"), "governance"),
        ],
    )
    a = enrol_laptop(tmp_path / "north", service.url, nina)
    b = enrol_laptop(tmp_path / "south", service.url, sol)
    try:
        ref_a = a.work.create_case("adult_social_care", "Robert Smith", {})
        a.work.add_warning(ref_a, "Aggressive dog: visit in pairs", "risk")
        a.work.add_warning(ref_a, "Key safe by the back door", "access")
        ref_b = b.work.create_case("housing_repair", "Bob Smith", {})
        a.sync()
        b.sync()
        robert, _, _ = _person(a, ref_a)
        bob, _, _ = _person(b, ref_b)

        # South's laptop, offline, records Bob's new phone
        b.work.edit_case(ref_b, {"person.phone": "07700 900123"})

        merged = admin(
            service.db_url, "duplicates", "merge", robert, bob,
            "--reason", "Same man: same date of birth and address", "--officer", gus,
        )  # fmt: skip
        assert merged.returncode == 0, merged.stderr
        found = re.search(r"^Merge id: (\d+)$", merged.stdout, re.MULTILINE)
        assert found, merged.stdout
        merge_id = found.group(1)

        report = b.sync()
        assert report.completed and report.rejected == 0, report
        person_id, person, warnings = _person(b, ref_b)
        assert person_id == robert
        assert person["name"] == "Robert Smith"
        assert person["phone"] == "07700 900123"  # South's offline edit, on the kept person
        assert ("Aggressive dog: visit in pairs", north) in warnings
        assert all("Key safe" not in text for text, _ in warnings)  # not a risk warning
        assert b.work.pending_count() == 0
        names = [row.person_name for row in b.work.list_cases()]
        assert "Bob Smith" not in names

        a.sync()
        _, person, warnings = _person(a, ref_a)
        assert person["phone"] == "07700 900123"
        assert ("Aggressive dog: visit in pairs", None) in warnings  # North's own

        split = admin(
            service.db_url, "duplicates", "split", merge_id,
            "--reason", "Father and son after all", "--officer", gus,
        )  # fmt: skip
        assert split.returncode == 0, split.stderr
        assert b.sync().completed
        person_id, person, warnings = _person(b, ref_b)
        assert person_id == bob and person["name"] == "Bob Smith"
        assert warnings == []
        # Robert is North's again: South's laptop keeps nothing of him
        with Session(b.profile.engine) as session:
            held = {str(row) for row in session.exec(select(Person.id)).all()}
        assert robert not in held and bob in held
    finally:
        a.close()
        b.close()
