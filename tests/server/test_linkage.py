"""Finding the same person twice (issue 14): the made-up population is as the issue pins it
down, and the linkage model finds its pairs (at least 0.95 precision at 0.90 recall at the
default threshold), says why in plain words, and keeps relatives at one address apart."""

from __future__ import annotations

import logging
from collections import Counter

import pytest

from server.linkage.find import find_pairs
from server.linkage.model import DEFAULT_THRESHOLD
from server.linkage.names import NICKNAMES
from server.linkage.people import PersonRow, postcode_of, prepare, street_of, swapped
from server.linkage.population import make_population


def _scores(pairs, truth) -> tuple[float, float]:
    found = {frozenset((pair.person_a, pair.person_b)) for pair in pairs}
    right = len(found & truth)
    return right / max(len(found), 1), right / len(truth)


def test_the_population_has_the_differences_the_issue_names() -> None:
    population = make_population(50_000, seed=3)
    assert len(population.people) == 50_000
    sources = Counter(entry.person.key for entry in population.entries)
    in_two_or_more = sum(1 for count in sources.values() if count >= 2) / 50_000
    assert 0.28 < in_two_or_more < 0.32
    truth = {person.key: person for person in population.people}
    counts: Counter[str] = Counter()
    later: set[int] = set()
    for entry in population.entries:
        real, said = truth[entry.person.key], entry.person
        first_seen = entry.person.key not in later
        later.add(entry.person.key)
        nickname = said.first.lower() in NICKNAMES.get(real.first.lower(), ())
        counts["nickname"] += nickname
        counts["typo"] += not nickname and (said.first, said.surname) != (real.first, real.surname)
        counts["swapped"] += said.born == swapped_date(real.born)
        counts["no phone"] += not said.phone
        if not first_seen:
            counts["later"] += 1
            home, real_home = said.home, real.home
            counts["moved"] += (home.house, home.town) != (real_home.house, real_home.town)
    entries = len(population.entries)
    assert 0.08 < counts["typo"] / entries < 0.12
    assert 0.08 < counts["nickname"] / entries < 0.12
    assert 0.04 < counts["swapped"] / entries < 0.07
    assert 0.27 < counts["no phone"] / entries < 0.34
    assert 0.12 < counts["moved"] / counts["later"] < 0.18
    # hard non-matches: relatives at one address, and namesakes born on another day
    homes = Counter((p.surname, p.home) for p in population.people)
    assert sum(n - 1 for n in homes.values() if n > 1) / 50_000 > 0.04
    names = Counter((p.first, p.surname) for p in population.people)
    assert sum(n - 1 for n in names.values() if n > 1) / 50_000 > 0.02


def swapped_date(born):
    try:
        return born.replace(month=born.day, day=born.month) if born.day != born.month else None
    except ValueError:
        return None


def test_duplicates_are_found_with_the_precision_and_recall_asked_for(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The issue's test: 50,000 people in three systems; at the default threshold at least
    0.95 precision at 0.90 recall (the model trained on the data, as on a real merger).
    Splink's notes while training go to the service's log, never to the person's screen."""
    population = make_population(50_000, seed=14)
    with caplog.at_level(logging.INFO):
        pairs = find_pairs(population.person_rows())
    assert not [r for r in caplog.records if r.name.startswith("splink")]
    notes = [r for r in caplog.records if r.getMessage().startswith("splink: ")]
    assert notes and all(r.levelno == logging.INFO for r in notes)
    assert all(pair.probability >= DEFAULT_THRESHOLD for pair in pairs)
    precision, recall = _scores(pairs, population.true_pairs())
    print(f"precision {precision:.4f}, recall {recall:.4f} at {DEFAULT_THRESHOLD}")
    assert precision >= 0.95
    assert recall >= 0.90


def test_the_shipped_figures_find_a_small_councils_pairs() -> None:
    """Too few people to train on: the figures shipped with Fieldcase are used, and hold on
    a population they were not trained on."""
    population = make_population(1500, seed=99)
    pairs = find_pairs(population.person_rows())
    precision, recall = _scores(pairs, population.true_pairs())
    assert precision >= 0.95
    assert recall >= 0.90


def _row(person_id: str, name: str, born: str | None, address: str, phone: str = "") -> PersonRow:
    return PersonRow(person_id, name, born, address, phone, (f"old:{person_id}",))


def test_bob_at_mill_ln_is_robert_at_mill_lane_and_says_why() -> None:
    home, phone = "4 Mill Lane, Dorchester, DT1 1AA", "01305 123456"
    people = [
        _row("a", "Robert Smith", "1950-03-07", home, phone),
        _row("b", "Bob Smith", "1950-07-03", "4 Mill Ln, DT1 1AA"),
        _row("c", "Margaret Smith", "1953-11-21", home, phone),
        _row("d", "Robert Smith", "1988-01-30", "12 High Street, Weymouth, DT4 7BB"),
    ]
    pairs = find_pairs(people, threshold=0.5)
    assert [(p.person_a, p.person_b) for p in pairs] == [("a", "b")]
    (pair,) = pairs
    assert pair.external_ids_a == ["old:a"] and pair.external_ids_b == ["old:b"]
    assert 0.5 <= pair.probability <= 1
    assert "first names are the same name in short and long form" in pair.reasons
    assert "date of birth with day and month swapped" in pair.reasons
    assert "same address" in pair.reasons


def test_people_are_prepared_for_comparison() -> None:
    assert postcode_of("4 Mill Lane, Dorchester, dt1  1aa") == "DT1 1AA"
    assert postcode_of("no postcode here") is None
    assert street_of("Flat 2, 4 Mill Ln., Dorchester, DT1 1AA") == "flat 2"
    assert street_of("4 Mill Ln., Dorchester, DT1 1AA") == "4 mill lane"
    assert swapped("1950-03-07") == "1950-07-03"
    assert swapped("1950-03-25") is None and swapped("1950-03-03") is None
    prepared = prepare(_row("x", "  Siân  O'Neill ", "not a date", "", "+44 (0)1305 123-456"))
    assert prepared["first_name"] == "sian" and prepared["surname"] == "oneill"
    assert prepared["dob"] is None and prepared["phone"] == "1305123456"
    assert prepare(_row("y", "Bob Jones", None, ""))["first_name_formal"] == "robert"
    assert prepare(_row("z", "Cher", None, ""))["surname"] is None


def test_fewer_than_two_people_have_no_pairs() -> None:
    assert find_pairs([]) == []
    assert find_pairs([_row("a", "Ann Lee", "1960-01-01", "1 Oak Road")]) == []
