"""The ``fieldcase`` command line as argparse sees it: every command, option and help text.

Building it imports nothing a command needs to do its work (no store, core, vault, sync
engine, HTTP client, pydantic or Qt), so ``fieldcase --version`` and ``--help`` answer at once
and a command loads only its own modules. Each command names the function that runs it as a
``"module:function"`` string (``func``); :func:`app.cli.main.main` imports that module only
when the command is chosen. The function takes the parsed arguments and returns the exit code.

The choices and field names below are the core's own (``CaseStatus``, ``Priority``,
``CaseSort``, ``SETTABLE_FIELDS``), written out so that the parser does not load the core:
tests/cli/test_cli_imports.py fails when they drift apart.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from app import __version__
from app.errors import UsageError

#: The modules that run the commands (each named in a ``func`` below); nothing imports them
#: until their command is chosen.
COMMAND_MODULES: tuple[str, ...] = (
    "app.cli.cmd_profile",  # init, passwd, backups, restore
    "app.cli.cmd_cases",  # case, cases, note, visit, warning, document, today, history
    "app.cli.cmd_doctor",  # doctor
    "app.cli.cmd_policy",  # policy check
    "app.cli.cmd_sync",  # enrol, sync, conflicts, recover
)

PASSWORD_ENV = "FIELDCASE_PASSWORD"  # noqa: S105 - the name of a variable, not a password

#: app.domain.enums.CaseStatus, Priority and app.core.CaseSort, in their order.
CASE_STATUSES = ("open", "in_progress", "waiting", "closed")
PRIORITIES = ("low", "normal", "high", "urgent")
CASE_SORTS = ("best", "name", "ref", "next_review", "priority", "status")
#: app.core.fields.SETTABLE_FIELDS, in its order.
SETTABLE_FIELDS = (
    "type",
    "summary",
    "status",
    "priority",
    "next_review",
    "team",
    "assigned_to",
    "opened_on",
    "closed_on",
    "person.name",
    "person.date_of_birth",
    "person.address",
    "person.phone",
    "person.preferred_contact",
    "person.language",
    "person.access_needs",
)


def _runs(parser: argparse.ArgumentParser, module: str, function: str) -> None:
    """``parser``'s command is run by ``module.function(args)`` (imported when chosen)."""
    parser.set_defaults(func=f"app.cli.{module}:{function}")


def _need_subcommand(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    def fail(args: argparse.Namespace) -> int:
        raise UsageError(f"Say what to do: {parser.format_usage().strip()}")

    return fail


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fieldcase",
        description="Fieldcase: offline-first, encrypted casework for field staff.",
    )
    parser.add_argument("--version", action="version", version=f"Fieldcase {__version__}")
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="profile folder (default: env FIELDCASE_PROFILE, else your user data folder)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _profile_commands(sub)
    _case_commands(sub)
    _doctor_command(sub)
    _sync_commands(sub)
    return parser


# ----------------------------------------------------------------- profile (cmd_profile)


def _profile_commands(sub: Any) -> None:
    p = sub.add_parser("init", help="make a new local profile")
    p.add_argument("--user", required=True, metavar="NAME", help="your user name")
    p.add_argument("--team", default="", metavar="TEAM", help="your team's name")
    _runs(p, "cmd_profile", "cmd_init")

    p = sub.add_parser(
        "passwd",
        help="change the profile's password (env FIELDCASE_PASSWORD, FIELDCASE_NEW_PASSWORD)",
    )
    _runs(p, "cmd_profile", "cmd_passwd")

    p = sub.add_parser("backups", help="list the encrypted backups of the profile")
    p.add_argument("--json", action="store_true", help="print JSON")
    _runs(p, "cmd_profile", "cmd_backups")

    p = sub.add_parser(
        "restore", help="put a backup in place of the data file (the old file is kept aside)"
    )
    p.add_argument("backup", nargs="?", metavar="BACKUP", help="backup name (default: newest)")
    _runs(p, "cmd_profile", "cmd_restore")


# --------------------------------------------------------------------- cases (cmd_cases)


def _set_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set",
        action="append",
        metavar="FIELD=VALUE",
        help="set a field; fields: " + ", ".join(SETTABLE_FIELDS),
    )


def _case_commands(sub: Any) -> None:
    case = sub.add_parser("case", help="create, change and show one case")
    case.set_defaults(func=_need_subcommand(case))
    case_sub = case.add_subparsers(dest="case_command", metavar="ACTION")

    p = case_sub.add_parser("new", help="create a case; prints its reference")
    p.add_argument("--type", required=True, metavar="TYPE", help="case type code")
    p.add_argument("--person", required=True, metavar="NAME", help="the person's full name")
    _set_option(p)
    _runs(p, "cmd_cases", "case_new")

    p = case_sub.add_parser("edit", help="change case or person fields")
    p.add_argument("ref", metavar="REF")
    _set_option(p)
    _runs(p, "cmd_cases", "case_edit")

    p = case_sub.add_parser("show", help="show a case")
    p.add_argument("ref", metavar="REF")
    p.add_argument("--json", action="store_true", help="print JSON")
    _runs(p, "cmd_cases", "case_show")

    p = case_sub.add_parser("print", help="a printed record to hand the person (a PDF), offline")
    p.add_argument("ref", metavar="REF")
    p.add_argument("--pdf", required=True, metavar="FILE", help="where to save the PDF")
    p.add_argument(
        "--note", action="append", metavar="ID", help="a note to include (repeat for several)"
    )
    p.add_argument("--warnings", action="store_true", help="include the warnings")
    p.add_argument("--large-print", action="store_true", help="larger text")
    _runs(p, "cmd_cases", "case_print")

    p = sub.add_parser("cases", help="list and search cases")
    p.add_argument(
        "--search", metavar="TEXT", help="words to find in names, refs, summaries, notes"
    )
    p.add_argument("--status", choices=list(CASE_STATUSES))
    p.add_argument("--priority", choices=list(PRIORITIES))
    p.add_argument("--type", metavar="TYPE")
    p.add_argument("--sort", default="name", choices=list(CASE_SORTS), help="order (default name)")
    p.add_argument("--limit", type=int, default=200, metavar="N", help="at most N (default 200)")
    p.add_argument("--json", action="store_true", help="print JSON")
    _runs(p, "cmd_cases", "cases_list")

    _record_commands(sub)

    p = sub.add_parser("today", help="today's and overdue visits and tasks on your cases")
    p.add_argument("--team", action="store_true", help="on every case here, not only yours")
    p.add_argument("--json", action="store_true", help="print JSON")
    _runs(p, "cmd_cases", "today")

    p = sub.add_parser("history", help="what was done to a case on this laptop")
    p.add_argument("ref", metavar="REF")
    p.add_argument("--json", action="store_true", help="print JSON")
    _runs(p, "cmd_cases", "history")


def _record_commands(sub: Any) -> None:
    """``note``, ``visit``, ``warning`` and ``document``: things added to one case."""
    note = sub.add_parser("note", help="add a note to a case")
    note.set_defaults(func=_need_subcommand(note))
    note_sub = note.add_subparsers(dest="note_command", metavar="ACTION")
    p = note_sub.add_parser("add", help="add a note (or a correction of one); prints its id")
    p.add_argument("ref", metavar="REF")
    p.add_argument("--text", required=True, metavar="TEXT")
    p.add_argument("--corrects", metavar="NOTE_ID", help="id of the note this one corrects")
    _runs(p, "cmd_cases", "note_add")

    visit = sub.add_parser("visit", help="plan and complete visits")
    visit.set_defaults(func=_need_subcommand(visit))
    visit_sub = visit.add_subparsers(dest="visit_command", metavar="ACTION")
    p = visit_sub.add_parser("add", help="plan a visit; prints its id")
    p.add_argument("ref", metavar="REF")
    p.add_argument("--due", required=True, metavar="WHEN", help="2026-12-01T10:30 or 2026-12-01")
    p.add_argument("--place", required=True, metavar="TEXT")
    p.add_argument("--title", default="Visit", metavar="TEXT")
    p.add_argument("--kind", default="visit", choices=["visit", "task"])
    _runs(p, "cmd_cases", "visit_add")
    p = visit_sub.add_parser("done", help="say what came of a visit (it was done, or why not)")
    p.add_argument("visit_id", metavar="VISIT_ID")
    p.add_argument("--note", metavar="TEXT", help="also write this note, in the same step")
    p.add_argument(
        "--outcome",
        default="done",
        metavar="OUTCOME",
        help="done (the default), no_access, not_in, cancelled_by_person, cancelled_by_us",
    )
    _runs(p, "cmd_cases", "visit_done")

    warning = sub.add_parser("warning", help="add or retire a warning about the case's person")
    warning.set_defaults(func=_need_subcommand(warning))
    warning_sub = warning.add_subparsers(dest="warning_command", metavar="ACTION")
    p = warning_sub.add_parser("add", help="add a warning; prints its id")
    p.add_argument("ref", metavar="REF")
    p.add_argument("--text", required=True, metavar="TEXT")
    p.add_argument(
        "--category", default="risk", metavar="CATEGORY", help="risk|access|health|other"
    )
    _runs(p, "cmd_cases", "warning_add")
    p = warning_sub.add_parser("retire", help="a warning that no longer applies stops showing")
    p.add_argument("warning_id", metavar="WARNING_ID", help="its id, or its first 8 characters")
    _runs(p, "cmd_cases", "warning_retire")

    document = sub.add_parser("document", help="add and read encrypted documents")
    document.set_defaults(func=_need_subcommand(document))
    document_sub = document.add_subparsers(dest="document_command", metavar="ACTION")
    p = document_sub.add_parser("add", help="encrypt a file into the case; prints its id")
    p.add_argument("ref", metavar="REF")
    p.add_argument("file", metavar="FILE")
    _runs(p, "cmd_cases", "document_add")
    p = document_sub.add_parser("get", help="decrypt a document into a file")
    p.add_argument("ref", metavar="REF")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--out", required=True, metavar="FILE")
    _runs(p, "cmd_cases", "document_get")


# ------------------------------------------------------------------- doctor (cmd_doctor)


def _doctor_command(sub: Any) -> None:
    parser = sub.add_parser(
        "doctor",
        help="check this laptop (site policy, profile, service, certificate, clock, disk)",
        description=(
            "Check this laptop and explain what is wrong and what to do. Prints nothing "
            "personal. The profile's integrity, the device id and the changes waiting to be "
            f"sent need the password: set {PASSWORD_ENV} or use --unlock."
        ),
    )
    parser.add_argument(
        "--unlock",
        action="store_true",
        help="ask for the profile password to check integrity, device id and waiting changes",
    )
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    _runs(parser, "cmd_doctor", "run")

    policy = sub.add_parser("policy", help="for IT: check a site policy before deploying it")
    policy.set_defaults(func=_need_subcommand(policy))
    inner = policy.add_subparsers(metavar="ACTION")
    p = inner.add_parser(
        "check",
        help="check a site.toml and/or registry exports (.reg) and show the settings they make",
        description=(
            "Check a site policy meant for laptops: a site.toml, registry exports (.reg) of "
            "HKLM\\SOFTWARE\\Policies\\Fieldcase (Group Policy) or HKLM\\SOFTWARE\\Fieldcase "
            "(the MSI), or both. Prints the settings a laptop would use and where each comes "
            "from; exit code 78 and the problem when any of them is wrong."
        ),
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="a site.toml or a .reg export")
    p.add_argument("--json", action="store_true", help="print the settings as JSON")
    _runs(p, "cmd_policy", "check_policy")


# ------------------------------------------------------------------------ sync (cmd_sync)


def _sync_commands(sub: Any) -> None:
    enrol = sub.add_parser("enrol", help="set this laptop up with the central service")
    enrol.add_argument("--server", metavar="URL", help="the service's address (or site config)")
    who = enrol.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", metavar="NAME", help="your user name (a password sign-in)")
    who.add_argument(
        "--sso",
        action="store_true",
        help="sign in with your council account in the browser, then choose this laptop's password",
    )
    enrol.add_argument("--device-name", metavar="TEXT", help="a name for this laptop")
    enrol.add_argument("-v", "--verbose", action="store_true", help="show progress")
    _runs(enrol, "cmd_sync", "cmd_enrol")

    sync = sub.add_parser("sync", help="send your changes and fetch your colleagues'")
    sync.add_argument("-v", "--verbose", action="store_true", help="show progress")
    _runs(sync, "cmd_sync", "cmd_sync")

    sign_in = sub.add_parser(
        "sign-in",
        help="sign in again with your council account when sync says your sign-in ran out",
    )
    sign_in.add_argument("-v", "--verbose", action="store_true", help="show progress")
    _runs(sign_in, "cmd_sync", "cmd_sign_in")

    conflicts = sub.add_parser("conflicts", help="list clashes waiting for your decision")
    conflicts.add_argument("--json", action="store_true", help="print JSON")
    conflicts.add_argument(
        "--settled",
        action="store_true",
        help="list the clashes someone else settled in the last 30 days instead",
    )
    _runs(conflicts, "cmd_sync", "cmd_conflicts")
    inner = conflicts.add_subparsers(dest="conflicts_command", metavar="resolve")
    resolve = inner.add_parser("resolve", help="settle one clash")
    resolve.add_argument("id", metavar="ID", help="the clash's id (or its first characters)")
    group = resolve.add_mutually_exclusive_group(required=True)
    group.add_argument("--keep", choices=("mine", "theirs"))
    group.add_argument("--value", metavar="TEXT", help="a new value instead of either")
    _runs(resolve, "cmd_sync", "cmd_resolve")

    recover = sub.add_parser(
        "recover", help="open your profile again after a forgotten password (online)"
    )
    recover.add_argument("--user", metavar="NAME", help="your user name (default: enrolled one)")
    recover.add_argument(
        "--sso",
        action="store_true",
        help="prove who you are with your council account in the browser (the default for a "
        "laptop enrolled with --sso)",
    )
    _runs(recover, "cmd_sync", "cmd_recover")
