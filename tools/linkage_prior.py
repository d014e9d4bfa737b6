"""Make the linkage model's shipped figures (server/linkage/prior.json): the model trained on
the made-up population (server/linkage/population.py). Run again when the model's comparisons
change; tests/server/test_linkage.py checks the figures still find the population's pairs.

    .venv/bin/python -m tools.linkage_prior
"""

from __future__ import annotations

import json

from server.linkage.find import trained_parameters
from server.linkage.model import PRIOR_FILE
from server.linkage.population import make_population


def main() -> None:
    population = make_population(50_000, seed=1)
    figures = trained_parameters(population.person_rows())
    PRIOR_FILE.write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {PRIOR_FILE}")


if __name__ == "__main__":
    main()
