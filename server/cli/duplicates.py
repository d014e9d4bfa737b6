"""``fieldcase-server admin duplicates``: find the people recorded more than once, review the
pairs, merge two records of one person, and undo a merge.

    admin duplicates find [--json] [--threshold P]
    admin duplicates list [--json] [--limit N]
    admin duplicates merge KEEP OTHER --reason TEXT --officer NAME
    admin duplicates split MERGE_ID --reason TEXT --officer NAME
    admin duplicates not-same A B --reason TEXT --officer NAME

Finding needs the ``linkage`` extra (Splink and DuckDB); the rest do not.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from typing import Any

from sqlmodel import Session

from server import crud
from server.cli.common import CliError, Commands, engine_of, officer_option, person_id, settings_of
from server.core.db import unit_of_work
from server.linkage import queue, review
from server.linkage.find import LinkageUnavailable, find_pairs
from server.linkage.people import people_by_id, read_people
from server.models import DuplicatePair, PersonMerge
from server.records import people
from server.records.governance import officer
from server.roles import Can
from sync import words
from sync.clock import Clock

NEEDS_EXTRA = (
    "Finding duplicate people needs Fieldcase's linkage extra (Splink and DuckDB), which is "
    "not installed here: install it with pip install 'fieldcase[linkage]' and run this again."
)


def _threshold(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 < number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a probability between 0 and 1")
    return number


def cmd_find(args: argparse.Namespace, clock: Clock) -> int:
    engine = engine_of(settings_of(args))
    with Session(engine) as session:
        people = list(read_people(session))
    if not args.json:
        print(f"Comparing {words.plural(len(people), 'person', 'people')}...", file=sys.stderr)
    try:
        pairs = find_pairs(people, threshold=args.threshold)
    except LinkageUnavailable as err:
        raise CliError(NEEDS_EXTRA, detail=str(err)) from None
    with unit_of_work(engine) as session:
        done = queue.queue(session, pairs, at=clock.now(), by="admin")
    if args.json:
        json.dump([pair.as_json() for pair in pairs], sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    print(
        f"{words.plural(len(pairs), 'pair')} of people may be the same person: "
        f"{done.new} new to review, {done.again} already waiting"
        + (f", {done.not_same} said before not to be the same person" if done.not_same else "")
        + (f", {done.merged} already merged" if done.merged else "")
        + "."
    )
    if done.new or done.again:
        print(
            "Review them in Fieldcase's Possible duplicates window (team managers and governance "
            "officers), or list them with `fieldcase-server admin duplicates list`."
        )
    return 0


def _described(people: dict[str, Any], person: str) -> str:
    row = people.get(person)
    if row is None:
        return f"{person} (no longer held)"
    born = f", born {row.date_of_birth}" if row.date_of_birth else ""
    ids = f" [{', '.join(row.external_ids)}]" if row.external_ids else ""
    return f"{row.name or 'no name'}{born}, {row.address or 'no address'}{ids} ({person})"


def cmd_list(args: argparse.Namespace, clock: Clock) -> int:
    engine = engine_of(settings_of(args))
    with Session(engine) as session:
        pairs = queue.waiting(session, limit=args.limit)
        people = people_by_id(
            session, {str(p.person_a) for p in pairs} | {str(p.person_b) for p in pairs}
        )
    if args.json:
        json.dump(
            [_pair_json(pair, people) for pair in pairs], sys.stdout, indent=1, ensure_ascii=False
        )
        sys.stdout.write("\n")
        return 0
    if not pairs:
        print("No possible duplicates are waiting for review.")
        return 0
    for pair in pairs:
        print(f"{pair.probability:.0%} likely the same person: {'; '.join(pair.reasons)}")
        print(f"  {_described(people, str(pair.person_a))}")
        print(f"  {_described(people, str(pair.person_b))}")
    return 0


def _pair_json(pair: DuplicatePair, people: dict[str, Any]) -> dict[str, Any]:
    a, b = people.get(str(pair.person_a)), people.get(str(pair.person_b))
    return {
        "person_a": str(pair.person_a),
        "person_b": str(pair.person_b),
        "external_ids_a": list(a.external_ids) if a else [],
        "external_ids_b": list(b.external_ids) if b else [],
        "probability": pair.probability,
        "reasons": pair.reasons,
    }


def _reviewer(session: Session, name: str, *people_ids: uuid.UUID) -> str:
    """The account ``name``, when it may review duplicates and decide about these people (a
    team manager: only when one of them is about their team's cases)."""
    by = officer(session, name, Can.REVIEW_DUPLICATES)
    if people_ids:  # (none: no such merge, said next)
        user = crud.require_user(session, name)
        review.refuse_not_theirs(session, user.role, crud.team_name(session, user), *people_ids)
    return by


def cmd_not_same(args: argparse.Namespace, clock: Clock) -> int:
    with unit_of_work(engine_of(settings_of(args))) as session:
        by = _reviewer(session, args.officer, args.a, args.b)
        queue.not_same(session, args.a, args.b, reason=args.reason, by=by, at=clock.now())
    print(
        f"Noted: {args.a} and {args.b} are not the same person; they will not be suggested again."
    )
    return 0


def cmd_merge(args: argparse.Namespace, clock: Clock) -> int:
    with unit_of_work(engine_of(settings_of(args))) as session:
        by = _reviewer(session, args.officer, args.keep, args.other)
        merge = people.merge_people(
            session, args.keep, args.other, reason=args.reason, by=by, clock=clock
        )
        merge_id, moved = merge.id, len(merge.moved)
    print(f"Merge id: {merge_id}")
    print(
        f"{args.other} is merged into {args.keep}: "
        f"{words.plural(moved, 'case or warning', 'cases and warnings')} moved to the kept "
        "person. Laptops show one person from their next sync. To undo it: "
        f"`fieldcase-server admin duplicates split {merge_id} --reason TEXT --officer NAME`."
    )
    return 0


def cmd_split(args: argparse.Namespace, clock: Clock) -> int:
    with unit_of_work(engine_of(settings_of(args))) as session:
        merge_row = session.get(PersonMerge, args.merge_id)
        both = (merge_row.kept_id, merge_row.merged_id) if merge_row is not None else ()
        by = _reviewer(session, args.officer, *both)
        merge = people.split_merge(session, args.merge_id, reason=args.reason, by=by, clock=clock)
        merged, kept = merge.merged_id, merge.kept_id
    print(
        f"Merge {args.merge_id} is undone: {merged} is a person of their own again, apart from "
        f"{kept}, and the pair is back in the review queue."
    )
    return 0


def _merge_id(value: str) -> int:
    if not value.isdigit() or len(value) > 12:
        raise argparse.ArgumentTypeError(f"{value!r} is not a merge id (a number, like 7)")
    return int(value)


def register(commands: Commands) -> None:
    group = commands.group("duplicates", "find, review, merge and split duplicate people")
    p = group.add("find", cmd_find, "score every plausible pair of people; queue the likely ones")
    p.add_argument("--json", action="store_true", help="print the pairs as JSON")
    p.add_argument(
        "--threshold",
        type=_threshold,
        default=None,
        metavar="P",
        help="the least match probability to keep (default 0.9)",
    )
    p = group.add("list", cmd_list, "list the pairs waiting for review, most likely first")
    p.add_argument("--json", action="store_true", help="print the pairs as JSON")
    p.add_argument("--limit", type=int, default=None, metavar="N")
    p = group.add("merge", cmd_merge, "merge OTHER into KEEP (prints the merge's id)")
    p.add_argument("keep", type=person_id, metavar="KEEP")
    p.add_argument("other", type=person_id, metavar="OTHER")
    p.add_argument("--reason", required=True, help="why they are the same person")
    officer_option(p)
    p = group.add("split", cmd_split, "undo a merge, by the id `merge` printed")
    p.add_argument("merge_id", type=_merge_id, metavar="MERGE_ID")
    p.add_argument("--reason", required=True, help="why the merge is undone")
    officer_option(p)
    p = group.add("not-same", cmd_not_same, "say two people are not the same person")
    p.add_argument("a", type=person_id, metavar="A")
    p.add_argument("b", type=person_id, metavar="B")
    p.add_argument("--reason", required=True)
    officer_option(p)
