"""Seed a service database with many cases for one worker (run as its own process: the
service's tables cannot share a process with the laptop's).

    python -m tests.ui.seed_server DB_URL TEAM USER PASSWORD COUNT
"""

from __future__ import annotations

import random
import sys

from sqlmodel import Session


def seed(db_url: str, team: str, user: str, password: str, count: int) -> None:
    from server import crud, demo
    from server.core.config import Settings
    from server.core.db import make_engine, migrate
    from server.records.seeding import bulk_insert
    from sync.clock import SystemClock

    settings = Settings.from_env(db_url=db_url)
    engine = make_engine(db_url, pool_size=1)
    migrate(engine)
    clock = SystemClock()
    today = clock.now().date()
    with Session(engine) as session:
        if crud.get_team(session, team) is None:
            crud.add_team(session, team, clock=clock)
        if crud.get_user(session, user) is None:
            crud.add_user(session, settings, user, team, "caseworker", password, clock=clock)
        session.commit()
    with Session(engine) as session:
        rows = demo.generate_cases(
            random.Random(7),
            team,
            [user],
            demo.TEAMS["Adult Social Care North"][0],
            count,
            1,
            today,
        )
        bulk_insert(session, rows, by="seed", clock=clock)
        session.commit()
    engine.dispose()


if __name__ == "__main__":
    db_url, team, user, password, count = sys.argv[1:6]
    seed(db_url, team, user, password, int(count))
