"""Score every plausible pair of people with the linkage model (:mod:`server.linkage.model`)
on an embedded DuckDB, and keep the pairs likely to be the same person.

With enough people (:data:`MIN_TO_TRAIN`) the model's figures are trained on the council's
own data: the chance two random people match, then how often each level occurs among
unrelated people (random pairs), then how often among the same person (expectation
maximisation on pairs sharing a date of birth, and on pairs sharing a name). With fewer, the
figures shipped with Fieldcase (``prior.json``, trained on the made-up population of
:mod:`server.linkage.population`) are used as they are.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

from server.linkage.people import PersonRow, prepare

#: Fewer people than this and the shipped figures are used, not trained ones.
MIN_TO_TRAIN = 2000
#: Random pairs read to learn how often fields agree by chance.
U_PAIRS = 2_000_000
SEED = 14

log = logging.getLogger("fieldcase.server.linkage")


class LinkageUnavailable(RuntimeError):
    """Splink or DuckDB is not installed (the ``linkage`` extra)."""


@dataclass(frozen=True)
class Pair:
    """Two people who may be one: the shape ``duplicates find --json`` prints."""

    person_a: str
    person_b: str
    external_ids_a: list[str]
    external_ids_b: list[str]
    probability: float
    reasons: list[str]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _splink() -> Any:
    try:
        import splink  # noqa: F401  (the extra's presence)

        from server.linkage import model
    except ImportError as err:
        raise LinkageUnavailable(str(err)) from err
    return model


def train(linker: Any) -> None:
    """Train the model's figures on the people ``linker`` holds."""
    from splink import block_on

    training = linker.training
    training.estimate_probability_two_random_records_match(
        [block_on("first_name", "surname", "dob")], recall=0.7
    )
    training.estimate_u_using_random_sampling(max_pairs=U_PAIRS, seed=SEED)
    training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    training.estimate_parameters_using_expectation_maximisation(
        block_on("first_name_formal", "surname")
    )


class _SplinkNotes(logging.Handler):
    """Splink's notes as it trains and scores (a level of a comparison not seen in the data,
    a figure left as it was) go to the service's own log at INFO: the model's floors
    (:data:`server.linkage.model.M_FLOOR`) provide for them, and the person running ``find``
    is told of pairs, not of figures."""

    def emit(self, record: logging.LogRecord) -> None:
        log.info("splink: %s", " ".join(record.getMessage().split()))


@contextmanager
def _splink_notes() -> Iterator[None]:
    splink = logging.getLogger("splink")
    handler, propagate = _SplinkNotes(), splink.propagate
    splink.addHandler(handler)
    splink.propagate = False
    try:
        yield
    finally:
        splink.removeHandler(handler)
        splink.propagate = propagate


def _linker(columns: dict[str, list[Any]], parameters: dict[str, Any] | None) -> Any:
    import pyarrow as pa
    from splink import DuckDBAPI, Linker

    model = _splink()
    database = DuckDBAPI()
    table = database.register(pa.table(columns))
    return Linker(table, model.settings(parameters), log_level=None)


def _columns(people: Iterable[PersonRow]) -> tuple[dict[str, list[Any]], dict[str, list[str]]]:
    """The people as the model's columns, and each one's external ids."""
    columns: dict[str, list[Any]] = {}
    external: dict[str, list[str]] = {}
    for person in people:
        for name, value in prepare(person).items():
            columns.setdefault(name, []).append(value)
        external[person.person_id] = list(person.external_ids)
    return columns, external


def find_pairs(
    people: Iterable[PersonRow],
    *,
    threshold: float | None = None,
    trained: bool | None = None,
) -> list[Pair]:
    """The pairs of ``people`` at or above ``threshold`` (the model's default when None),
    most likely first. ``trained``: train the figures on these people (default: when there
    are at least :data:`MIN_TO_TRAIN`), else use the shipped ones."""
    model = _splink()
    limit = model.DEFAULT_THRESHOLD if threshold is None else threshold
    columns, external = _columns(people)
    if len(external) < 2:
        return []
    train_here = len(external) >= MIN_TO_TRAIN if trained is None else trained
    with _splink_notes():
        linker = _linker(columns, None if train_here else model.prior())
        if train_here:
            train(linker)
        scored = linker.inference.predict(threshold_match_probability=limit)
        rows = scored.as_record_list()
    pairs = []
    for row in rows:
        a, b = sorted((str(row["unique_id_l"]), str(row["unique_id_r"])))
        pairs.append(
            Pair(
                person_a=a,
                person_b=b,
                external_ids_a=external[a],
                external_ids_b=external[b],
                probability=round(float(row["match_probability"]), 6),
                reasons=model.reasons(row),
            )
        )
    scored.drop_table_from_database_and_remove_from_cache()
    pairs.sort(key=lambda pair: (-pair.probability, pair.person_a, pair.person_b))
    log.info("scored %d people: %d pairs at or above %.2f", len(external), len(pairs), limit)
    return pairs


def trained_parameters(people: Iterable[PersonRow]) -> dict[str, Any]:
    """The model's figures trained on ``people`` (what ``prior.json`` holds)."""
    model = _splink()
    with _splink_notes():
        linker = _linker(_columns(people)[0], None)
        train(linker)
        return model.parameters_of(linker.misc.save_model_to_json())
