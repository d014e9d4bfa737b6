"""``fieldcase-server``: run the central service and administer it.

    fieldcase-server --version
    fieldcase-server serve [--db URL] [--host 127.0.0.1] [--port 8750] [--workers N]
                           [--tls-cert FILE --tls-key FILE] [--migrate]
    fieldcase-server migrate [--db URL] [--sql]
    fieldcase-server admin add-team NAME [--db URL]
    fieldcase-server admin add-user NAME --team TEAM [--role caseworker|manager|governance|admin]
    fieldcase-server admin set-role NAME caseworker|manager|governance|admin
    fieldcase-server admin list-users | reset-password NAME | disable-user NAME
    fieldcase-server admin list-devices [--user NAME]
    fieldcase-server admin link-sso NAME SUBJECT | sync-directory [--dry-run]
    fieldcase-server admin assign REF --to USER
    fieldcase-server admin move-user NAME --team TEAM
    fieldcase-server admin hold REF --reason TEXT --officer NAME | release REF --officer NAME
    fieldcase-server admin holds
    fieldcase-server admin erase-case REF --reason TEXT --officer NAME
    fieldcase-server admin erase-person ID --reason TEXT --officer NAME
    fieldcase-server admin retention show | run [--dry-run] [--yes] --officer NAME
    fieldcase-server admin import --mapping MAPPING.toml FILE [--dry-run]
    fieldcase-server admin duplicates find [--json] | list [--json]
    fieldcase-server admin duplicates merge KEEP OTHER | split MERGE_ID | not-same A B
                                      --reason TEXT --officer NAME
    fieldcase-server admin revoke-device DEVICE_ID | --user NAME
    fieldcase-server admin verify-audit | audit --case REF | audit --user NAME
    fieldcase-server admin check-records [--quarantine] | problems [--limit N]
    fieldcase-server demo [--db URL]

The database comes from ``--db``, else env ``FIELDCASE_DB_URL``, else an SQLite file in the
user data folder. ``serve`` refuses a database whose schema is not up to date (``migrate``, or
``serve --migrate``, brings it up to date); ``admin`` and ``demo`` bring it up to date
themselves. Passwords come from env
``FIELDCASE_PASSWORD`` or a prompt.

Each module in :data:`ADMIN_MODULES` has ``register(commands: Commands)`` adding its admin
actions; a handler is ``func(args, clock) -> exit code``.

Every failure is one plain line on stderr, with the exit codes of :mod:`server.cli.common`
(docs/server-deployment.md): a database that cannot be used says which and why; anything
unexpected names an incident in the service's log file, where its traceback is (no values).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from sqlalchemy.exc import DBAPIError

from server import crud
from server.cli import serve
from server.cli.common import (
    EXIT_PROBLEM,
    EXIT_STOPPED,
    EXIT_UNEXPECTED,
    CliError,
    Commands,
    database_problem,
    report_unexpected,
    settings_of,
)
from sync.clock import Clock, SystemClock
from sync.errors import FieldcaseError
from sync.terminal import interrupt_stops
from sync.version import VERSION

ADMIN_MODULES: tuple[str, ...] = (
    "server.cli.accounts",  # teams, users, devices
    "server.cli.cases",  # assign
    "server.cli.governance",  # holds, erasure
    "server.cli.subject_access",  # subject-access, sar-log
    "server.cli.imports",  # import
    "server.cli.duplicates",  # duplicates find | list | merge | split | not-same
    "server.cli.audit_trail",  # verify-audit
    "server.cli.records",  # check-records [--quarantine], problems
)

log = logging.getLogger("fieldcase.server.cli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fieldcase-server", description="The Fieldcase central service."
    )
    parser.add_argument("--version", action="version", version=f"fieldcase-server {VERSION}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve.register(sub)
    admin = sub.add_parser("admin", help="administer teams, users, devices, cases, audit")
    commands = Commands(admin.add_subparsers(dest="admin_command", metavar="ACTION"))
    for name in ADMIN_MODULES:
        importlib.import_module(name).register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        interrupt_stops()  # Ctrl-C is "Stopped." (exit 130), however this was started
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        parser = build_parser()
        args = parser.parse_args(argv)
    except KeyboardInterrupt:  # before the command began (a Ctrl-C held back till now)
        return _say("Stopped.", EXIT_STOPPED)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    clock = SystemClock()  # the command line's one clock, passed to everything it runs
    try:
        return int(func(args, clock))
    except FieldcaseError as err:  # CliError, or any of the service's own plain errors
        return _say(err.message, err.exit_code)
    except crud.AdminError as err:
        return _say(str(err), EXIT_PROBLEM)
    except KeyboardInterrupt:
        return _say("Stopped.", EXIT_STOPPED)
    except Exception as err:
        return _plain(err, args, clock)


def _say(line: str, code: int) -> int:
    print(line, file=sys.stderr)
    return code


def _plain(err: Exception, args: argparse.Namespace, clock: Clock) -> int:
    """A database problem met after the engine was made (a server gone away mid-command) in
    its own words; anything else as an incident in the log."""
    problem = None
    if isinstance(err, DBAPIError):
        try:
            problem = database_problem(err, settings_of(args).db_url)
        except CliError as bad:
            problem = bad
    if problem is not None:
        return _say(problem.message, problem.exit_code)
    return _say(report_unexpected(err, clock), EXIT_UNEXPECTED)
