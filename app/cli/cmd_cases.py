"""Case commands: ``case new|edit|show``, ``cases``, ``note add``, ``visit add|done``,
``warning add``, ``document add|get``, ``today`` and ``history``.

The output is a contract IT scripts and tests rely on (docs/cli.md): ``case new`` prints the
reference alone; ``--json`` prints exactly the documented objects.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from app.cli.cmd_profile import close_profile, open_profile
from app.core import CaseFilter, CaseSort, Casework, parse_assignments
from app.core.fields import SETTABLE_FIELDS
from app.domain.enums import CaseStatus, Priority
from app.errors import FieldcaseError, UsageError
from app.store.errors import DiskFull, ProfileReadOnly, is_disk_full, is_read_only
from app.store.profile import describe_time


def _with_work(action: Callable[[Casework, argparse.Namespace], int]) -> Callable[..., int]:
    def run(args: argparse.Namespace) -> int:
        profile = open_profile(args)
        try:
            return action(Casework(profile), args)
        except SQLAlchemyError as err:  # anything the core did not already put in words
            if is_read_only(err):
                raise ProfileReadOnly(profile.profile_dir, detail=type(err).__name__) from err
            if is_disk_full(err):
                raise DiskFull(detail=type(err).__name__) from err
            raise FieldcaseError(
                "Fieldcase could not read or write this profile's data file, so the command "
                "stopped and nothing was changed. Try again; if it happens again, restore the "
                "last backup with `fieldcase restore`, or contact your IT team.",
                detail=type(err).__name__,
            ) from err
        finally:
            close_profile(profile)

    return run


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def _when(value: datetime | date | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return describe_time(value)
    return value.strftime("%d %b %Y").lstrip("0")


def _label(value: str | None) -> str:
    return "-" if value in (None, "") else str(value).replace("_", " ").capitalize()


# -------------------------------------------------------------------------------- case


def case_new(work: Casework, args: argparse.Namespace) -> int:
    fields = parse_assignments(args.set or [])
    print(work.create_case(args.type, args.person, fields))
    return 0


def case_edit(work: Casework, args: argparse.Namespace) -> int:
    changed = work.edit_case(args.ref, parse_assignments(args.set or []))
    if changed:
        print(f"Saved {args.ref.upper()}: changed {', '.join(changed)}.")
    else:
        print(f"Nothing changed on {args.ref.upper()}: the values were already set.")
    return 0


def case_show(work: Casework, args: argparse.Namespace) -> int:
    detail = work.get_case(args.ref)
    if args.json:
        _print_json(detail.to_json())
        return 0
    f, p = detail.fields, detail.person
    print(f"{detail.ref}  {work.case_types().get(detail.type, detail.type)}")
    print(f"{p['name']}" + (f", {p['address']}" if p["address"] else ""))
    for w in detail.warnings:
        print(f"  WARNING ({w.category}): {w.text}")
    print(
        f"Status: {_label(f['status'])}   Priority: {_label(f['priority'])}   "
        f"Next review: {_when(f['next_review'])}   Assigned: {f['assigned_to'] or '-'}"
    )
    if f["summary"]:
        print(f"Summary: {f['summary']}")
    extra = {
        "Date of birth": _when(p["date_of_birth"]) if p["date_of_birth"] else "",
        "Phone": p["phone"],
        "Preferred contact": _label(p["preferred_contact"]) if p["preferred_contact"] else "",
        "Language": p["language"],
        "Access needs": p["access_needs"],
    }
    for key, value in extra.items():
        if value:
            print(f"{key}: {value}")
    if detail.visits:
        print("\nVisits and tasks:")
        for v in detail.visits:
            print(f"  {_when(v.due)}  {v.title} at {v.place or '-'}  ({v.status})  id {v.id}")
    if detail.notes:
        print("\nNotes:")
        for n in detail.notes:
            tag = "  [correction]" if n.corrects else ""
            tag += "  [corrected later]" if n.corrected_by else ""
            print(f"  {_when(n.at)}  {n.author}{tag}  id {n.id}")
            for line in n.text.splitlines() or [""]:
                print(f"    {line}")
    if detail.documents:
        print("\nDocuments:")
        for d in detail.documents:
            print(f"  {d.name}  {d.size} bytes  added {_when(d.added_at)}")
    print(
        "\nAll changes have been sent."
        if detail.pending == 0
        else f"\n{detail.pending} change(s) on this laptop not yet sent."
    )
    return 0


def cases_list(work: Casework, args: argparse.Namespace) -> int:
    filters = CaseFilter(status=args.status, priority=args.priority, type=args.type)
    rows = work.list_cases(args.search, filters, CaseSort(args.sort), 0, args.limit)
    if args.json:
        _print_json([row.to_json() for row in rows])
        return 0
    if not rows:
        print("No cases match." if args.search else "There are no cases on this laptop yet.")
        return 0
    for r in rows:
        flag = " !" if r.warnings else "  "
        print(
            f"{r.ref:<18}{flag} {r.person_name[:28]:<28}  {_label(r.status):<12}"
            f" {_label(r.priority):<8}  next visit {_when(r.next_visit)}"
        )
    total = work.count_cases(args.search, filters)
    if total > len(rows):
        print(f"(showing {len(rows)} of {total}; use --limit to see more)")
    return 0


# --------------------------------------------------------------------- notes, visits ...


def note_add(work: Casework, args: argparse.Namespace) -> int:
    note_id = work.add_note(args.ref, args.text, args.corrects)
    print(note_id)
    return 0


def visit_add(work: Casework, args: argparse.Namespace) -> int:
    visit_id = work.add_visit(args.ref, args.due, args.place, args.title, args.kind)
    print(visit_id)
    return 0


def visit_done(work: Casework, args: argparse.Namespace) -> int:
    work.complete_visit(args.visit_id, args.note)
    print("Marked done.")
    return 0


def warning_add(work: Casework, args: argparse.Namespace) -> int:
    print(work.add_warning(args.ref, args.text, args.category))
    return 0


def document_add(work: Casework, args: argparse.Namespace) -> int:
    print(work.add_document(args.ref, args.file))
    return 0


def document_get(work: Casework, args: argparse.Namespace) -> int:
    out = work.read_document(args.ref, args.name, args.out)
    print(f"Saved {args.name} to {out}.")
    return 0


def today(work: Casework, args: argparse.Namespace) -> int:
    rows = work.my_day()
    if args.json:
        _print_json([r.to_json() for r in rows])
        return 0
    if not rows:
        print("Nothing planned for today.")
        return 0
    for r in rows:
        when = "Overdue, " + _when(r.due) if r.overdue else _when(r.due)
        print(f"{when}  {r.title}  {r.ref}  {r.person_name}  at {r.place or '-'}")
        for w in r.warnings:
            print(f"    WARNING: {w}")
    return 0


def history(work: Casework, args: argparse.Namespace) -> int:
    rows = work.audit(args.ref)
    if args.json:
        _print_json([r.to_json() for r in rows])
        return 0
    for r in rows:
        print(f"{_when(r.at)}  {r.actor}  {r.action} {r.record_kind}  {r.detail}".rstrip())
    return 0


# ------------------------------------------------------------------------------ parser


def _set_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set",
        action="append",
        metavar="FIELD=VALUE",
        help="set a field; fields: " + ", ".join(SETTABLE_FIELDS),
    )


def _need_subcommand(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    def fail(args: argparse.Namespace) -> int:
        raise UsageError(f"Say what to do: {parser.format_usage().strip()}")

    return fail


def register(sub: Any) -> None:
    case = sub.add_parser("case", help="create, change and show one case")
    case.set_defaults(func=_need_subcommand(case))
    case_sub = case.add_subparsers(dest="case_command", metavar="ACTION")

    p = case_sub.add_parser("new", help="create a case; prints its reference")
    p.add_argument("--type", required=True, metavar="TYPE", help="case type code")
    p.add_argument("--person", required=True, metavar="NAME", help="the person's full name")
    _set_option(p)
    p.set_defaults(func=_with_work(case_new))

    p = case_sub.add_parser("edit", help="change case or person fields")
    p.add_argument("ref", metavar="REF")
    _set_option(p)
    p.set_defaults(func=_with_work(case_edit))

    p = case_sub.add_parser("show", help="show a case")
    p.add_argument("ref", metavar="REF")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_with_work(case_show))

    p = sub.add_parser("cases", help="list and search cases")
    p.add_argument(
        "--search", metavar="TEXT", help="words to find in names, refs, summaries, notes"
    )
    p.add_argument("--status", choices=[s.value for s in CaseStatus])
    p.add_argument("--priority", choices=[p.value for p in Priority])
    p.add_argument("--type", metavar="TYPE")
    p.add_argument(
        "--sort", default="name", choices=[s.value for s in CaseSort], help="order (default name)"
    )
    p.add_argument("--limit", type=int, default=200, metavar="N", help="at most N (default 200)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_with_work(cases_list))

    note = sub.add_parser("note", help="add a note to a case")
    note.set_defaults(func=_need_subcommand(note))
    note_sub = note.add_subparsers(dest="note_command", metavar="ACTION")
    p = note_sub.add_parser("add", help="add a note (or a correction of one); prints its id")
    p.add_argument("ref", metavar="REF")
    p.add_argument("--text", required=True, metavar="TEXT")
    p.add_argument("--corrects", metavar="NOTE_ID", help="id of the note this one corrects")
    p.set_defaults(func=_with_work(note_add))

    visit = sub.add_parser("visit", help="plan and complete visits")
    visit.set_defaults(func=_need_subcommand(visit))
    visit_sub = visit.add_subparsers(dest="visit_command", metavar="ACTION")
    p = visit_sub.add_parser("add", help="plan a visit; prints its id")
    p.add_argument("ref", metavar="REF")
    p.add_argument("--due", required=True, metavar="WHEN", help="2026-12-01T10:30 or 2026-12-01")
    p.add_argument("--place", required=True, metavar="TEXT")
    p.add_argument("--title", default="Visit", metavar="TEXT")
    p.add_argument("--kind", default="visit", choices=["visit", "task"])
    p.set_defaults(func=_with_work(visit_add))
    p = visit_sub.add_parser("done", help="mark a visit done")
    p.add_argument("visit_id", metavar="VISIT_ID")
    p.add_argument("--note", metavar="TEXT", help="also write this note, in the same step")
    p.set_defaults(func=_with_work(visit_done))

    warning = sub.add_parser("warning", help="add a warning about the case's person")
    warning.set_defaults(func=_need_subcommand(warning))
    warning_sub = warning.add_subparsers(dest="warning_command", metavar="ACTION")
    p = warning_sub.add_parser("add", help="add a warning; prints its id")
    p.add_argument("ref", metavar="REF")
    p.add_argument("--text", required=True, metavar="TEXT")
    p.add_argument(
        "--category", default="risk", metavar="CATEGORY", help="risk|access|health|other"
    )
    p.set_defaults(func=_with_work(warning_add))

    document = sub.add_parser("document", help="add and read encrypted documents")
    document.set_defaults(func=_need_subcommand(document))
    document_sub = document.add_subparsers(dest="document_command", metavar="ACTION")
    p = document_sub.add_parser("add", help="encrypt a file into the case; prints its id")
    p.add_argument("ref", metavar="REF")
    p.add_argument("file", metavar="FILE")
    p.set_defaults(func=_with_work(document_add))
    p = document_sub.add_parser("get", help="decrypt a document into a file")
    p.add_argument("ref", metavar="REF")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--out", required=True, metavar="FILE")
    p.set_defaults(func=_with_work(document_get))

    p = sub.add_parser("today", help="today's and overdue visits and tasks")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_with_work(today))

    p = sub.add_parser("history", help="what was done to a case on this laptop")
    p.add_argument("ref", metavar="REF")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_with_work(history))
