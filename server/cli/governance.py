"""Records management from the command line: legal holds and erasure. Each action is run for
a governance officer named with ``--officer`` (their account must have that role: see
docs/roles.md), who is recorded in the audit trail."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlmodel import Session

from server.cli.common import (
    CliError,
    Commands,
    engine_of,
    officer_option,
    person_id,
    settings_of,
)
from server.core.db import unit_of_work
from server.records import erasure, holds, retention
from server.records.governance import officer
from server.roles import Can
from sync import words
from sync.clock import Clock

T = TypeVar("T")


@contextmanager
def _as_officer(args: argparse.Namespace, can: Can) -> Iterator[tuple[Session, str]]:
    """One unit of work, for the officer the command names (refused unless they may ``can``)."""
    with unit_of_work(engine_of(settings_of(args))) as session:
        yield session, officer(session, args.officer, can)


def _run(args: argparse.Namespace, can: Can, action: Callable[[Session, str], T]) -> T:
    with _as_officer(args, can) as (session, by):
        return action(session, by)


def cmd_hold(args: argparse.Namespace, clock: Clock) -> int:
    placed = _run(
        args, Can.HOLD, lambda s, by: holds.place(s, args.ref, args.reason, by=by, clock=clock)
    )
    if placed:
        print(f"Case {args.ref} is held: it will not be erased until the hold is released.")
    else:
        print(f"Case {args.ref} was already held: nothing changed (see `admin holds`).")
    return 0


def cmd_release(args: argparse.Namespace, clock: Clock) -> int:
    was = _run(args, Can.HOLD, lambda s, by: holds.release(s, args.ref, by=by, clock=clock))
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


def _said(erased: erasure.Erased) -> str:
    return (
        f"{erased.ref}: {words.plural(erased.records, 'record')}, "
        f"{words.plural(erased.documents, 'document')}"
    )


def cmd_erase_case(args: argparse.Namespace, clock: Clock) -> int:
    erased = _run(
        args,
        Can.ERASE,
        lambda s, by: erasure.erase_case(s, args.ref, reason=args.reason, by=by, clock=clock),
    )
    print(
        f"Erased case {_said(erased)}. Laptops remove it at their next sync; the audit trail "
        "keeps only the reference, the reason and your name."
    )
    return 0


def cmd_erase_person(args: argparse.Namespace, clock: Clock) -> int:
    person = person_id(args.person_id)
    erased = _run(
        args,
        Can.ERASE,
        lambda s, by: erasure.erase_person(s, person, reason=args.reason, by=by, clock=clock),
    )
    print(f"Erased {words.plural(len(erased), 'case')} about the person {person}:")
    for one in erased:
        print(f"  {_said(one)}")
    print("Laptops remove them at their next sync.")
    return 0


def _print_due(report: retention.RunReport, today: str) -> None:
    if not report.due:
        print(f"Nothing is due for erasure on {today}.")
        return
    print(f"Due for erasure on {today}:")
    for item in report.due:
        line = f"  {item.ref or item.case_id}  {item.rule} (due {item.due_on.isoformat()})"
        if item.hold is not None:
            line += f"  HELD, kept: {item.hold.reason} ({item.hold.placed_by})"
        print(line)


def cmd_retention(args: argparse.Namespace, clock: Clock) -> int:
    settings = settings_of(args)
    schedule = retention.load_schedule(args.schedule or settings.retention_file)
    if args.action == "show":
        print(f"The retention schedule ({schedule.source}):")
        for rule in schedule.rules:
            print(f"  {rule}")
        print("Case types with no rule are kept.")
        return 0
    if not args.officer:
        raise CliError("Name the governance officer running the schedule: --officer NAME.")
    today = clock.now().date().isoformat()
    dry_run = args.dry_run or not args.yes
    report = _run(
        args,
        Can.RETENTION,
        lambda s, by: retention.run(s, schedule, by=by, clock=clock, dry_run=dry_run),
    )
    _print_due(report, today)
    kept = len(report.held)
    due_now = len(report.due) - kept
    if args.dry_run:
        print(f"{words.plural(due_now, 'case')} would be erased; nothing was (a dry run).")
        return 0
    if not args.yes:
        if due_now == 0:
            return 0
        raise CliError(
            f"This would erase {words.plural(due_now, 'case')} for good, so nothing was "
            "erased. Check the list, then run again with --yes."
        )
    print(
        f"Erased {words.plural(len(report.erased), 'case')}"
        + (f"; {kept} held and kept" if kept else "")
        + ". Laptops remove them at their next sync."
    )
    return 0


def register(commands: Commands) -> None:
    p = commands.add("hold", cmd_hold, "put a legal hold on a case: it is never erased meanwhile")
    p.add_argument("ref")
    p.add_argument("--reason", required=True)
    officer_option(p)
    p = commands.add("release", cmd_release, "release a case's legal hold")
    p.add_argument("ref")
    officer_option(p)
    commands.add("holds", cmd_holds, "list the cases under a legal hold")
    p = commands.add(
        "erase-case", cmd_erase_case, "erase a case on request (it leaves every laptop too)"
    )
    p.add_argument("ref")
    p.add_argument("--reason", required=True, help="the request, e.g. its reference number")
    officer_option(p)
    p = commands.add(
        "erase-person", cmd_erase_person, "erase every case about a person, on request"
    )
    p.add_argument("person_id", metavar="ID")
    p.add_argument("--reason", required=True, help="the request, e.g. its reference number")
    officer_option(p)
    p = commands.add(
        "retention", cmd_retention, "run the retention schedule (run) or print it (show)"
    )
    p.add_argument("action", choices=["run", "show"])
    p.add_argument("--dry-run", action="store_true", help="list what is due; erase nothing")
    p.add_argument("--yes", action="store_true", help="erase what is due (for good)")
    p.add_argument("--schedule", metavar="FILE", help="default: FIELDCASE_RETENTION_FILE")
    p.add_argument("--officer", metavar="NAME", help="the governance officer running it")
