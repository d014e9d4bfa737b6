"""Admin actions on cases."""

from __future__ import annotations

import argparse

from sqlmodel import Session

from server import crud
from server.cli.common import CliError, Commands, engine_of, settings_of
from server.core.db import unit_of_work
from server.models import Record
from server.records import holds
from server.records.changelog import Pending, finalize
from server.records.push import service_change
from server.records.scope import find_case_by_ref
from sync import words
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


def cmd_hold(args: argparse.Namespace, clock: Clock) -> int:
    engine = engine_of(settings_of(args))
    try:
        with unit_of_work(engine) as session:
            placed = holds.place(session, args.ref, args.reason, by="admin", clock=clock)
    except holds.HoldError as err:
        raise CliError(str(err)) from None
    if placed:
        print(f"Case {args.ref} is held: it will not be erased until the hold is released.")
    else:
        print(f"Case {args.ref} was already held: nothing changed (see `admin holds`).")
    return 0


def cmd_release(args: argparse.Namespace, clock: Clock) -> int:
    engine = engine_of(settings_of(args))
    try:
        with unit_of_work(engine) as session:
            was = holds.release(session, args.ref, by="admin", clock=clock)
    except holds.HoldError as err:
        raise CliError(str(err)) from None
    print(
        f"Case {args.ref} is no longer held (held since {words.when_utc(was.placed_at)} by "
        f"{was.placed_by}: {was.reason})."
    )
    return 0


def cmd_holds(args: argparse.Namespace, clock: Clock) -> int:
    engine = engine_of(settings_of(args))
    with Session(engine) as session:
        rows = holds.all_holds(session)
    if not rows:
        print("No case is held.")
        return 0
    print(f"{'case':<20} {'held since (UTC)':<18} {'by':<16} reason")
    for hold in rows:
        since = words.when_utc(hold.placed_at).removesuffix(" UTC")
        print(f"{hold.ref or str(hold.case_id):<20} {since:<18} {hold.placed_by:<16} {hold.reason}")
    return 0


def register(commands: Commands) -> None:
    p = commands.add("hold", cmd_hold, "put a legal hold on a case: it is never erased meanwhile")
    p.add_argument("ref")
    p.add_argument("--reason", required=True)
    commands.add("release", cmd_release, "release a case's legal hold").add_argument("ref")
    commands.add("holds", cmd_holds, "list the cases under a legal hold")
    p = commands.add("assign", cmd_assign, "move a case to a user and their team")
    p.add_argument("ref")
    p.add_argument("--to", required=True, metavar="USER")
