"""Case commands: ``case new|edit|show``, ``cases``, ``note add``, ``visit add|done``,
``warning add``, ``document add|get``, ``today`` and ``history``.

The output is a contract IT scripts and tests rely on (docs/cli.md): ``case new`` prints the
reference alone; ``--json`` prints exactly the documented objects. The arguments are defined in
:mod:`app.cli.parser`; each command here takes them, unlocks the profile and returns the exit
code.
"""

from __future__ import annotations

import argparse
import functools
import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy.exc import SQLAlchemyError

from app.cli.cmd_profile import close_profile, open_profile
from app.core import CaseFilter, CaseSort, Casework, Handout, parse_assignments
from app.errors import FieldcaseError, UsageError
from app.store.errors import DiskFull, ProfileReadOnly, is_disk_full, is_read_only
from sync import words


def _with_work(
    action: Callable[[Casework, argparse.Namespace], int],
) -> Callable[[argparse.Namespace], int]:
    """The command ``action(work, args)`` as ``run(args)``: the profile unlocked around it, and
    a failure of the data file the core did not put in words said plainly."""

    @functools.wraps(action)
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
        return words.when(value)
    return words.day(value)


def _label(value: str | None) -> str:
    return "-" if value in (None, "") else str(value).replace("_", " ").capitalize()


# -------------------------------------------------------------------------------- case


@_with_work
def case_new(work: Casework, args: argparse.Namespace) -> int:
    fields = parse_assignments(args.set or [])
    print(work.create_case(args.type, args.person, fields))
    return 0


@_with_work
def case_edit(work: Casework, args: argparse.Namespace) -> int:
    changed = work.edit_case(args.ref, parse_assignments(args.set or []))
    if changed:
        print(f"Saved {args.ref.upper()}: changed {', '.join(changed)}.")
    else:
        print(f"Nothing changed on {args.ref.upper()}: the values were already set.")
    return 0


@_with_work
def case_show(work: Casework, args: argparse.Namespace) -> int:
    detail = work.get_case(args.ref)
    if args.json:
        _print_json(detail.to_json())
        return 0
    f, p = detail.fields, detail.person
    print(f"{detail.ref}  {work.case_types().get(detail.type, detail.type)}")
    print(f"{p['name']}" + (f", {p['address']}" if p["address"] else ""))
    for w in detail.warnings:
        print(f"  WARNING ({w.category}): {w.text}  id {w.id}")
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
        "Old systems' ids": detail.old_ids,
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
            print(f"  {d.name}  {words.size(d.size)}  added {_when(d.added_at)}")
    print(
        "\nAll changes have been sent."
        if detail.pending == 0
        else f"\n{words.plural(detail.pending, 'change')} on this laptop not yet sent."
    )
    return 0


@_with_work
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


@_with_work
def note_add(work: Casework, args: argparse.Namespace) -> int:
    note_id = work.add_note(args.ref, args.text, args.corrects)
    print(note_id)
    return 0


@_with_work
def visit_add(work: Casework, args: argparse.Namespace) -> int:
    visit_id = work.add_visit(args.ref, args.due, args.place, args.title, args.kind)
    print(visit_id)
    return 0


_OUTCOME_SAID = {
    "done": "Marked done.",
    "no_access": "Recorded: no access. Plan another visit when you can.",
    "not_in": "Recorded: not in. Plan another visit when you can.",
    "cancelled_by_person": "Recorded: cancelled by the person.",
    "cancelled_by_us": "Recorded: cancelled by us.",
}


@_with_work
def visit_done(work: Casework, args: argparse.Namespace) -> int:
    work.complete_visit(args.visit_id, args.note, args.outcome)
    print(_OUTCOME_SAID.get(args.outcome, "Marked done."))
    return 0


@_with_work
def warning_add(work: Casework, args: argparse.Namespace) -> int:
    print(work.add_warning(args.ref, args.text, args.category))
    return 0


@_with_work
def warning_retire(work: Casework, args: argparse.Namespace) -> int:
    work.retire_warning(args.warning_id)
    print("Retired. It no longer shows on the case; its history keeps who retired it and when.")
    return 0


@_with_work
def document_add(work: Casework, args: argparse.Namespace) -> int:
    print(work.add_document(args.ref, args.file))
    return 0


@_with_work
def document_get(work: Casework, args: argparse.Namespace) -> int:
    out = work.read_document(args.ref, args.name, args.out)
    print(f"Saved {args.name} to {out}.")
    return 0


@_with_work
def case_print(work: Casework, args: argparse.Namespace) -> int:
    notes = []
    for value in args.note or []:
        try:
            notes.append(UUID(value))
        except ValueError:
            raise UsageError(
                f"{value!r} is not a note's id. `fieldcase case show {args.ref}` lists them."
            ) from None
    choice = Handout(notes=notes, warnings=args.warnings, large_print=args.large_print)
    out = work.print_case(args.ref, args.pdf, choice)
    left = [] if args.warnings else ["warnings"]
    said = f" (left out: {', '.join(left)}; add --warnings to include them)" if left else ""
    print(f"Saved the printed record of {args.ref} to {out}{said}.")
    return 0


@_with_work
def today(work: Casework, args: argparse.Namespace) -> int:
    rows = work.my_day(team=args.team)
    if args.json:
        _print_json([r.to_json() for r in rows])
        return 0
    if not rows:
        print(
            "Nothing planned for today and nothing overdue"
            + ("." if args.team else " on your cases. See the team's with: fieldcase today --team")
        )
        return 0
    for r in rows:
        when = "Overdue, " + _when(r.due) if r.overdue else _when(r.due)
        worker = f"  ({r.assigned_to})" if args.team and r.assigned_to else ""
        print(f"{when}  {r.title}  {r.ref}  {r.person_name}  at {r.where or '-'}{worker}")
        for w in r.warnings:
            print(f"    WARNING: {w}")
    return 0


@_with_work
def history(work: Casework, args: argparse.Namespace) -> int:
    rows = work.audit(args.ref)
    if args.json:
        _print_json([r.to_json() for r in rows])
        return 0
    for r in rows:
        print(f"{_when(r.at)}  {r.actor}  {r.action} {r.record_kind}  {r.detail}".rstrip())
    return 0
