"""Admin actions on cases."""

from __future__ import annotations

import argparse

from server import crud
from server.cli.common import CliError, Commands, engine_of, settings_of
from server.core.db import unit_of_work
from server.models import Record
from server.records.changelog import Pending, finalize
from server.records.push import service_change
from server.records.scope import find_case_by_ref
from sync.clock import Clock


def cmd_assign(args: argparse.Namespace, clock: Clock) -> int:
    engine = engine_of(settings_of(args))
    with unit_of_work(engine) as session:
        user = crud.require_user(session, args.to)
        team = crud.team_name(session, user)
        scope = find_case_by_ref(session, args.ref)
        if scope is None:
            raise CliError(f"There is no case with reference {args.ref!r}.")
        record = session.get(Record, scope.case_id)
        if record is None:  # pragma: no cover - scope rows are written with their case
            raise CliError(f"The case {args.ref!r} has no record.")
        pending = Pending()
        service_change(
            session,
            record,
            {"team": team, "assigned_to": user.username},
            "admin",
            pending,
            clock=clock,
        )
        finalize(session, pending, at=clock.now())
    print(f"Case {args.ref} assigned to {args.to} ({team}).")
    return 0


def register(commands: Commands) -> None:
    p = commands.add("assign", cmd_assign, "move a case to a user and their team")
    p.add_argument("ref")
    p.add_argument("--to", required=True, metavar="USER")
