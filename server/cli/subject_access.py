"""Subject access from the command line: ``admin subject-access`` finds a person across every
team (by id, or by name and date of birth), logs the request (``--received``) and writes their
record as a ZIP (``--out``); ``admin sar-log`` lists the requests still to answer. Run for a
governance officer named with ``--officer``."""

from __future__ import annotations

import argparse
import uuid
from datetime import date
from pathlib import Path

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
from server.records import sar_export, sar_log, subject_access
from server.records.governance import officer
from server.records.subject_access import PersonMatch
from server.roles import Can
from sync import words
from sync.clock import Clock
from sync.files import write_private


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CliError(f"{option} {value!r} is not a date: write it as YYYY-MM-DD.") from None


def _said(match: PersonMatch) -> str:
    born = words.day(date.fromisoformat(match.date_of_birth)) if match.date_of_birth else "no"
    born += " date of birth" if born == "no" else ""
    cases = ", ".join(match.refs) or "no case"
    teams = ", ".join(match.teams)
    return f"  {match.person_id}  {match.name}, born {born}: {cases}" + (
        f" ({teams})" if teams else ""
    )


def _people(session: Session, args: argparse.Namespace) -> list[uuid.UUID]:
    """The person ids the request covers, saying who they are and who else may be them."""
    if args.person_id:
        chosen = [person_id(value) for value in args.person_id]
        found = [subject_access.describe(session, p) for p in chosen]
        possible: dict[uuid.UUID, PersonMatch] = {}
        for match in found:
            if match.date_of_birth:
                near = subject_access.find_people(
                    session, match.name, date.fromisoformat(match.date_of_birth)
                )
                for other in near.exact + near.possible:
                    possible.setdefault(other.person_id, other)
    else:
        if not args.name or not args.date_of_birth:
            raise CliError(
                "Name the person: --person-id ID, or --name NAME with --date-of-birth YYYY-MM-DD."
            )
        matches = subject_access.find_people(
            session, args.name, _day(args.date_of_birth, "--date-of-birth")
        )
        found = matches.exact
        chosen = [m.person_id for m in found]
        possible = {m.person_id: m for m in matches.possible}
    print("The request covers:")
    for match in found:
        print(_said(match))
    others = [m for pid, m in sorted(possible.items()) if pid not in chosen]
    if others:
        print("Possible matches, NOT included (add --person-id ID for each that is them):")
        for match in others:
            print(_said(match))
    if not chosen:
        raise CliError(
            f"No person called {args.name!r} and born on {args.date_of_birth} is on the "
            "service."
            + (" Check the possible matches above." if others else " Check the spelling.")
        )
    return chosen


def cmd_subject_access(args: argparse.Namespace, clock: Clock) -> int:
    settings = settings_of(args)
    received = _day(args.received, "--received") if args.received else None
    review = sar_export.read_review(args.review) if args.review else sar_export.Review()
    if args.out is not None and not args.person_id:
        raise CliError(
            "Say whose record to export by id: search with --name and --date-of-birth first, "
            "then export with --person-id for each record that is them."
        )
    if args.out is not None and not args.out.parent.is_dir():
        raise CliError(f"There is no folder {args.out.parent}. Choose where to save the ZIP.")
    engine = engine_of(settings)
    with unit_of_work(engine) as session:  # the request is logged whatever happens next
        by = officer(session, args.officer, Can.SUBJECT_ACCESS)
        people = _people(session, args)
        logged = (
            sar_log.log_request(session, people, received=received, by=by, clock=clock)
            if received is not None
            else None
        )
    if logged is not None:
        request, new = logged
        print(
            f"{'Logged' if new else 'Already in the log:'} the request "
            f"{sar_log.reference(request)}, received {words.day(request.received_on)}: "
            f"the answer is due by {words.day(request.due_on)}."
        )
    if args.out is None:
        if received is None:
            print("Nothing was exported: add --out FILE.zip to write their record.")
        return 0
    with unit_of_work(engine) as session:
        export = sar_export.prepare(
            session,
            people,
            review,
            council=settings.council_name or settings.service_name,
            by=by,
            device_id=None,
            clock=clock,
            final=args.final,
            large_print=args.large_print,
        )
        try:
            write_private(
                args.out,
                lambda handle: sar_export.write_zip(session, export.gathered, export.pdf, handle),
            )
        except OSError as err:
            raise CliError(
                f"The export could not be written as {args.out} ({err.strerror or err}). "
                "Nothing was recorded as exported; choose another place and run it again."
            ) from None
    data = export.gathered.data
    print(
        f"Wrote {args.out}: record.json, record.pdf and "
        f"{words.plural(len(export.gathered.documents), 'document')}, from "
        f"{words.plural(len(data['cases']), 'case')}; "
        f"{words.plural(len(data['withheld']), 'item')} withheld."
    )
    if not args.final:
        print(
            "This is a draft for review (its PDF says so on every page): check it, withhold "
            "what must be (--review FILE.toml), then make the one to send with --final."
        )
    for reference in export.answered:
        print(f"The request {reference} is marked answered.")
    print(
        "The file holds personal data: keep it safe, send the final one securely, and delete "
        "your copies once the request is closed."
    )
    return 0


def cmd_sar_log(args: argparse.Namespace, clock: Clock) -> int:
    with Session(engine_of(settings_of(args))) as session:
        requests = sar_log.all_requests(session) if args.all else sar_log.open_requests(session)
    today = clock.now().date()
    if not requests:
        print(
            "No subject access request is waiting for an answer."
            if not args.all
            else "No subject access request is in the log."
        )
        return 0
    print(f"{'request':<10} {'received':<12} {'due':<12} {'standing':<22} {'logged by':<14} people")
    for request in requests:
        print(
            f"{sar_log.reference(request):<10} {words.day(request.received_on):<12} "
            f"{words.day(request.due_on):<12} {sar_log.standing(request, today).words:<22} "
            f"{request.logged_by:<14} {', '.join(request.person_ids)}"
        )
    return 0


def register(commands: Commands) -> None:
    p = commands.add(
        "subject-access",
        cmd_subject_access,
        "find a person across every team, log their request, export their record (ZIP)",
    )
    who = p.add_argument_group("the person (by id, or by name and date of birth)")
    who.add_argument(
        "--person-id", action="append", metavar="ID", help="a person id (repeat for more)"
    )
    who.add_argument("--name", metavar="NAME")
    who.add_argument("--date-of-birth", metavar="YYYY-MM-DD")
    p.add_argument("--received", metavar="YYYY-MM-DD", help="log the request, received that day")
    p.add_argument("--out", type=_path, metavar="FILE.zip", help="write their record here")
    p.add_argument(
        "--review", type=_path, metavar="FILE.toml", help="notes and documents to withhold"
    )
    p.add_argument("--large-print", action="store_true", help="the PDF in large print")
    p.add_argument(
        "--final",
        action="store_true",
        help="the export to send (without it, a draft for review); marks the request answered",
    )
    officer_option(p)
    p = commands.add("sar-log", cmd_sar_log, "list the subject access requests to answer")
    p.add_argument("--all", action="store_true", help="the answered ones too")


def _path(value: str) -> Path:
    return Path(value).expanduser()
