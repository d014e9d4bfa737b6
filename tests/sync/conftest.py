"""Fixtures of the sync tests: one real ``fieldcase-server serve`` (SQLite) shared by the test
modules a test worker runs (each module has teams and users of its own, so none sees
another's cases; a module that needs a service of its own makes one), fresh users and teams
per test, real encrypted laptop profiles."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.server import ServerProcess, running_server, sqlite_url
from tests.sync.helpers import Laptop, add_users, enrol_laptop, new_team_users, unique


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    db = sqlite_url(tmp_path_factory.mktemp("service"))
    with running_server(db) as srv:
        yield srv


TEAM_SIZE = 4


#: Teams made at once when a service has none left to hand out (adding users costs a process
#: start, so the modules a worker runs share a few of those).
TEAMS_AT_ONCE = 24


@pytest.fixture(scope="session")
def spare_teams() -> dict[str, list[list[str]]]:
    """Teams of workers made but not yet handed out, by the service's database."""
    return {}


@pytest.fixture(scope="module")
def team_pool(
    service: ServerProcess, request: pytest.FixtureRequest, spare_teams: dict[str, list[list[str]]]
) -> list[list[str]]:
    """Fresh teams of workers for a test module (each team is used by one module alone); a
    module says how many it needs with ``POOL_TEAMS`` (default 4)."""
    count = int(getattr(request.module, "POOL_TEAMS", 4))
    spare = spare_teams.setdefault(service.db_url, [])
    if len(spare) < count:
        more = max(count - len(spare), TEAMS_AT_ONCE)
        teams = [
            (unique("team"), [unique("worker") for _ in range(TEAM_SIZE)]) for _ in range(more)
        ]
        add_users(service.db_url, [(u, team, "caseworker") for team, users in teams for u in users])
        spare.extend(users for _team, users in teams)
    taken, spare[:] = spare[:count], spare[count:]
    return taken


@pytest.fixture
def laptops(
    service: ServerProcess, team_pool: list[list[str]], tmp_path: Path
) -> Iterator[Callable[..., list[Laptop]]]:
    """``make(n, url=None) -> [Laptop]``: n laptops of n workers in one fresh team."""
    made: list[Laptop] = []

    def make(count: int, url: str | None = None) -> list[Laptop]:
        if count <= TEAM_SIZE and team_pool:
            users = team_pool.pop()[:count]
        else:
            _team, users = new_team_users(service.db_url, count)
        out = []
        for n, user in enumerate(users):
            laptop = enrol_laptop(tmp_path / f"laptop{len(made) + n}", url or service.url, user)
            out.append(laptop)
        made.extend(out)
        return out

    yield make
    for laptop in made:
        laptop.close()
