"""The record linkage model: which pairs of people are compared, how each field is compared,
and the plain-English reason each comparison gives.

The settings are Splink's, built only from its library of comparisons and blocking rules
(no SQL of our own but column equalities), so the same model runs on DuckDB, embedded (the
default), or on Spark for a merger beyond one machine (docs/import.md, "Beyond one machine").

Every comparison is of columns :func:`server.linkage.people.prepare` makes:

- first name: the same, a short form of the same name ("Bob", "Robert"), nearly the same
  (a typo), or different;
- surname: the same, nearly the same, or different;
- date of birth: the same, the day and month swapped, one digit different, or different;
- street line and postcode: the same, nearly the same street, the same postcode sector;
- phone: the same or different.

Splink is imported here, and this module only where duplicates are looked for
(:mod:`server.linkage.find`): Splink and DuckDB are the ``linkage`` extra.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import SettingsCreator, block_on

#: A pair at or above this match probability goes to the review queue.
DEFAULT_THRESHOLD = 0.9

#: Pairs compared: people who share any of these (blocking rules). Each is cheap on its own;
#: together they let through a pair that differs in any one or two fields.
BLOCKING = (
    ("dob",),
    ("first_name_formal", "surname"),
    ("surname", "postcode"),
    ("phone",),
    ("surname", "street"),
)


#: comparison output name -> the words of each level, from the top (gamma n) down to the
#: last before "else" (gamma 1); gamma 0 (else) and -1 (null) are below.
REASONS: dict[str, dict[int, str]] = {
    "first_name": {
        4: "same first name",
        3: "first names are the same name in short and long form",
        2: "first names one letter apart",
        1: "first names a little alike",
        0: "different first names",
    },
    "surname": {
        3: "same surname",
        2: "surnames one letter apart",
        1: "surnames a little alike",
        0: "different surnames",
    },
    "dob": {
        3: "same date of birth",
        2: "date of birth with day and month swapped",
        1: "dates of birth one digit apart",
        0: "different dates of birth",
    },
    "home": {
        7: "same address and phone number",
        6: "same address",
        5: "same phone number, different address",
        4: "same street address, different postcode",
        3: "street addresses nearly the same",
        2: "same postcode, different street address",
        1: "same postcode sector",
        0: "different address and phone number",
    },
}


#: A model's figures: the chance two people picked at random are the same person, and per
#: comparison the (m, u) of each level from the top down (the "nothing to compare" level has
#: none). :data:`PRIOR` is the one shipped, trained on the made-up population.
Parameters = dict[str, Any]
PRIOR_FILE = Path(__file__).with_name("prior.json")
#: The least m and u a model keeps: a level the training data never showed among the same
#: person (say, a mistyped house number) counts against a pair, but never beyond all other
#: evidence (about 10 bits at most).
M_FLOOR = 0.001
U_FLOOR = 0.000001


def _name(column: str, *, formal: str | None = None) -> list[Any]:
    """Exact; the same formal name (first names); one letter out; alike; different."""
    levels = [cll.NullLevel(column), cll.ExactMatchLevel(column)]
    if formal:
        levels.append(cll.ExactMatchLevel(formal))
    return [*levels, cll.DamerauLevenshteinLevel(column, 1), cll.JaroWinklerLevel(column, 0.88)]


def _dob() -> list[Any]:
    return [
        cll.NullLevel("dob"),
        cll.ExactMatchLevel("dob"),
        cll.ColumnsReversedLevel("dob", "dob_swapped"),
        cll.DamerauLevenshteinLevel("dob", 1),
    ]


def _home() -> list[Any]:
    """Street line, postcode and phone as one comparison: a household shares its address and
    often its landline, so counting them apart would count one fact (living together) two or
    three times, and make relatives at one address look like one person."""
    # the same street line, and the same postcode unless one of them has none
    postcode = cll.Or(cll.ExactMatchLevel("postcode"), cll.NullLevel("postcode"))
    address = cll.And(cll.ExactMatchLevel("street"), postcode)
    return [
        cll.And(cll.NullLevel("street"), cll.NullLevel("postcode"), cll.NullLevel("phone")),
        cll.And(address, cll.ExactMatchLevel("phone")),
        address,
        cll.ExactMatchLevel("phone"),
        # rare in any council's data (a street of the same name in another town, or a
        # postcode mistyped): a starting m the training keeps when it sees none
        cll.ExactMatchLevel("street").configure(m_probability=0.01),
        cll.JaroWinklerLevel("street", 0.9),
        cll.ExactMatchLevel("postcode").configure(m_probability=0.01),
        cll.ExactMatchLevel("postcode_sector"),
    ]


COMPARISONS: dict[str, Any] = {
    "first_name": lambda: _name("first_name", formal="first_name_formal"),
    "surname": lambda: _name("surname"),
    "dob": _dob,
    "home": _home,
}


def _comparison(name: str, figures: list[list[float]] | None) -> Any:
    levels = [*COMPARISONS[name](), cll.ElseLevel()]
    if figures is not None:
        if len(figures) != len(levels) - 1:
            raise ValueError(f"the model's {name} has {len(figures)} levels, not {len(levels) - 1}")
        for level, (m, u) in zip(levels[1:], figures, strict=True):
            level.configure(m_probability=m, u_probability=u)
    return cl.CustomComparison(comparison_levels=levels, output_column_name=name)


def settings(parameters: Parameters | None = None) -> SettingsCreator:
    """The model: every person against every other, whatever system they came from; with
    ``parameters``, its figures set (else to be trained on the data)."""
    figures = parameters["comparisons"] if parameters else {}
    extra = (
        {"probability_two_random_records_match": parameters["probability_two_random_records_match"]}
        if parameters
        else {}
    )
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[_comparison(name, figures.get(name)) for name in COMPARISONS],
        blocking_rules_to_generate_predictions=[block_on(*rule) for rule in BLOCKING],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=True,
        **extra,
    )


def parameters_of(model: dict[str, Any]) -> Parameters:
    """A trained model's figures (from Splink's saved settings) as :data:`Parameters`."""
    comparisons = {}
    for comparison in model["comparisons"]:
        levels = [
            level for level in comparison["comparison_levels"] if not level.get("is_null_level")
        ]
        comparisons[comparison["output_column_name"]] = [
            [
                max(level.get("m_probability") or 0, M_FLOOR),
                max(level.get("u_probability") or 0, U_FLOOR),
            ]
            for level in levels
        ]
    return {
        "probability_two_random_records_match": model["probability_two_random_records_match"],
        "comparisons": comparisons,
    }


def prior() -> Parameters:
    """The figures shipped with Fieldcase, for a service with too few people to train on."""
    return cast(Parameters, json.loads(PRIOR_FILE.read_text(encoding="utf-8")))


def reasons(row: dict[str, Any]) -> list[str]:
    """A scored pair's reasons in plain English, strongest first: what agrees, then what
    differs (a comparison with nothing on one side says nothing)."""
    agree: list[str] = []
    differ: list[str] = []
    for name, words in REASONS.items():
        gamma = row.get(f"gamma_{name}")
        if gamma is None or gamma < 0 or gamma not in words:
            continue
        (differ if gamma == 0 else agree).append(words[gamma])
    return agree + differ
