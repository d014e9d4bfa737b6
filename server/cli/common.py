"""What every ``fieldcase-server`` command shares: settings, the migrated engine, the password
prompt, the plain-English error, and :func:`Commands.add` to register an admin action.

Exit codes (docs/server-deployment.md, "Exit codes"): :data:`EXIT_PROBLEM` and the others
below. A database that cannot be used (not running, wrong host or port, unknown role or
database, wrong password, a read-only folder for the SQLite file) is :func:`database_problem`'s
one plain line; :func:`report_unexpected` writes anything else to the service's log file.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from platformdirs import user_log_dir
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from server.core.config import APP_NAME, Settings
from server.core.db import (
    DatabaseEncodingError,
    SchemaState,
    make_engine,
    migrate,
    schema_state,
)
from sync.clock import Clock
from sync.errors import FieldcaseError, traceback_without_content
from sync.terminal import ask_hidden

Handler = Callable[[argparse.Namespace, Clock], int]

log = logging.getLogger("fieldcase.server.cli")

EXIT_PROBLEM = 1  # a plain problem with what was asked (unknown user, passwords differ, ...)
EXIT_USAGE = 2  # the command line or the database address is wrong
EXIT_UNAVAILABLE = 69  # the database cannot be reached: start it or fix host/port; try again
EXIT_UNEXPECTED = 70  # something unexpected: one line, the details in the service's log
EXIT_REFUSED = 77  # the database refused: unknown role, wrong password, no permission
EXIT_CONFIG = 78  # the database named does not exist, or a setting is not valid
EXIT_STOPPED = 130  # Ctrl-C

LOG_FILE = "fieldcase-server.log"
LOG_DIR_ENV = "FIELDCASE_LOG_DIR"


class CliError(FieldcaseError):
    """A plain-English problem to print (exit status 1 unless ``exit_code`` says another)."""

    def __init__(self, message: str, *, exit_code: int = EXIT_PROBLEM, detail: str = "") -> None:
        super().__init__(message, detail=detail)
        self.exit_code = exit_code


def settings_of(args: argparse.Namespace) -> Settings:
    try:
        return Settings.from_env(db_url=getattr(args, "db", None))
    except ValidationError as err:
        names = ", ".join(sorted({str(e["loc"][0]) for e in err.errors() if e.get("loc")}))
        raise CliError(
            f"A setting of the service is not valid ({names}): check its FIELDCASE_ "
            "environment variable (docs/server-deployment.md lists them).",
            exit_code=EXIT_CONFIG,
        ) from None


def engine_of(settings: Settings, *, migrate_schema: bool = True) -> Engine:
    """The engine, with the schema brought up to date (unless ``migrate_schema`` is False:
    then only connected to, and :func:`schema_of` says where its schema stands); a database
    that cannot be used is one plain line (:class:`CliError`), never a traceback."""
    try:
        engine = make_engine(settings.db_url, pool_size=2)
    except (ArgumentError, NoSuchModuleError, ImportError, ValueError) as err:
        raise _bad_address(type(err).__name__) from None
    except OSError as err:  # the SQLite file's folder cannot be made
        problem = database_problem(err, settings.db_url)
        if problem is None:
            raise
        raise problem from None
    with _plainly(engine, settings.db_url):
        if migrate_schema:
            migrate(engine)
        else:
            schema_state(engine)  # connects: a database that cannot be used is said here
    return engine


@contextmanager
def _plainly(engine: Engine, db_url: str) -> Iterator[None]:
    """A database that cannot be used, met in the block: the engine closed, one plain line."""
    try:
        yield
    except Exception as err:
        engine.dispose()
        problem = database_problem(err, db_url)
        if problem is None:
            raise
        raise problem from None


def schema_of(engine: Engine, db_url: str) -> SchemaState:
    """Where the database's schema stands; one plain line when the database was migrated by
    a newer version of the service than this one."""
    with _plainly(engine, db_url):
        state = schema_state(engine)
    if state.newer:
        engine.dispose()
        raise CliError(
            f"The database was brought up to date by a newer version of Fieldcase's service "
            f"(its schema is at {state.current}; this version knows up to {state.head}). "
            "Install the newer version, or restore the database from before it.",
            exit_code=EXIT_CONFIG,
        )
    return state


def migrate_plainly(engine: Engine, db_url: str) -> None:
    """Run the pending migrations; a database that refuses (a role that may not change the
    schema) is one plain line."""
    with _plainly(engine, db_url):
        migrate(engine)


def _bad_address(detail: str) -> CliError:
    return CliError(
        "The database address (--db or FIELDCASE_DB_URL) is not one Fieldcase can use. Write "
        "it like postgresql://USER@HOST:5432/DATABASE or sqlite:////path/to/fieldcase.db.",
        exit_code=EXIT_USAGE,
        detail=detail,
    )


def _where(url: URL) -> str:
    """The database as a person names it: never the password."""
    if url.get_backend_name() == "sqlite":
        return f"the database file {url.database}"
    host = url.host or "localhost"
    port = f":{url.port}" if url.port else ""
    return f'the database "{url.database}" on {host}{port}'


#: PostgreSQL's words (and SQLSTATE codes) for each way a connection to the database fails.
_REFUSED = ("password authentication failed", "no password supplied", "28p01", "28000")
_UNREACHABLE = (
    "connection refused",
    "could not connect",
    "failed to resolve host",
    "could not translate host name",
    "name or service not known",
    "timeout expired",
    "connection timed out",
    "no route to host",
    "network is unreachable",
    "no such file or directory",  # a Unix socket that is not there: the server is not running
    "the database system is starting up",
    "the database system is shutting down",
)


def database_problem(err: BaseException, db_url: str) -> CliError | None:
    """The plain line for a database that cannot be used, or None for any other error."""
    try:
        url = make_url(db_url)
    except (ArgumentError, ValueError):
        return _bad_address("unparsable URL")
    if isinstance(err, DatabaseEncodingError):
        return CliError(
            f'The database "{url.database}" on {url.host or "localhost"} keeps text in the '
            f"{err.encoding} encoding; Fieldcase needs UTF8, so that names and notes in every "
            "language are kept as written. Create it again with ENCODING 'UTF8' (createdb -E "
            "UTF8 -T template0), then run fieldcase-server migrate.",
            exit_code=EXIT_CONFIG,
            detail=f"server_encoding {err.encoding}",
        )
    orig: BaseException = (err.orig if isinstance(err, DBAPIError) else None) or err
    text = f"{orig} {getattr(orig, 'sqlstate', '') or ''}".lower()
    if url.get_backend_name() == "sqlite":
        return _sqlite_problem(orig, text, url)
    return _server_problem(text, url, detail=type(orig).__name__)


def _sqlite_problem(orig: BaseException, text: str, url: URL) -> CliError | None:
    if (
        isinstance(orig, OSError)
        or "readonly database" in text
        or "unable to open database file" in text
    ):
        folder = Path(url.database or ".").expanduser().parent
        return CliError(
            f"The service cannot write {_where(url)}: its folder {folder} is read-only or "
            "missing for this user. Make it writable by the service's user, then try again.",
            exit_code=EXIT_REFUSED,
            detail=type(orig).__name__,
        )
    return None


def _server_problem(text: str, url: URL, *, detail: str) -> CliError | None:
    user = url.username or "(none given)"
    where = _where(url)
    if ('role "' in text and "does not exist" in text) or any(w in text for w in _REFUSED):
        return CliError(
            f'The database server refused the sign-in of user "{user}" to {where}: the user '
            "does not exist or the password is wrong. Fix them in --db or FIELDCASE_DB_URL (or "
            "ask your database administrator).",
            exit_code=EXIT_REFUSED,
            detail=detail,
        )
    if ('database "' in text and "does not exist" in text) or "3d000" in text:
        return CliError(
            f'There is no database called "{url.database}" on {url.host or "localhost"}. '
            "Create it (createdb) or fix the name in --db or FIELDCASE_DB_URL.",
            exit_code=EXIT_CONFIG,
            detail=detail,
        )
    if "permission denied" in text or "42501" in text:
        return CliError(
            f'The database user "{user}" may not change {where}. Ask your database '
            "administrator to make it the owner of the database.",
            exit_code=EXIT_REFUSED,
            detail=detail,
        )
    if any(word in text for word in _UNREACHABLE):
        return CliError(
            f"Could not reach {where}: check that PostgreSQL is running there and that the "
            "host and port in --db or FIELDCASE_DB_URL are right, then try again.",
            exit_code=EXIT_UNAVAILABLE,
            detail=detail,
        )
    return None


def service_log_path() -> Path:
    """Where the command line writes what it did not expect (env FIELDCASE_LOG_DIR, else the
    service's user log folder)."""
    folder = os.environ.get(LOG_DIR_ENV) or user_log_dir(APP_NAME, appauthor=False)
    return Path(folder).expanduser() / LOG_FILE


def report_unexpected(err: BaseException, clock: Clock) -> str:
    """Write ``err``'s traceback (every message left out: no values, no case content) to the
    service's log under a new incident id; return the one line to print."""
    incident = secrets.token_hex(4)
    path = service_log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            handle.write(
                f"{clock.now().isoformat()} incident {incident}: unexpected "
                f"{type(err).__name__}\n"
                f"{traceback_without_content(err)}\n"
            )
        where = f"the log {path}"
    except OSError:
        log.error("incident %s: unexpected %s", incident, type(err).__name__)
        where = f"the service's log (its file {path} could not be written)"
    return (
        "The command met a problem it did not expect and stopped. Please tell whoever looks "
        f"after Fieldcase: incident {incident}, in {where}."
    )


def ask_password(confirm: bool = True) -> str:
    env = os.environ.get("FIELDCASE_PASSWORD")
    if env:
        return env
    if not sys.stdin.isatty():
        raise CliError("Set FIELDCASE_PASSWORD or run this in a terminal to type the password.")
    first = ask_hidden("New password: ")
    if confirm and ask_hidden("Type it again: ") != first:
        raise CliError("The two passwords differ. Nothing was changed; try again.")
    return first


def add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db", metavar="URL", help="database URL (default: env FIELDCASE_DB_URL or a local file)"
    )


class Commands:
    """The ``admin`` sub-commands: each module's ``register(commands)`` adds its actions."""

    def __init__(self, sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        self.sub = sub

    def add(self, name: str, func: Handler, help_text: str) -> argparse.ArgumentParser:
        parser = self.sub.add_parser(name, help=help_text)
        add_db_option(parser)
        parser.set_defaults(func=func)
        return parser

    def group(self, name: str, help_text: str) -> Commands:
        """``admin NAME ACTION ...``: actions that belong together (``duplicates find``)."""
        parser = self.sub.add_parser(name, help=help_text)
        return Commands(
            parser.add_subparsers(dest=f"{name}_action", metavar="ACTION", required=True)
        )


def officer_option(parser: argparse.ArgumentParser) -> None:
    """``--officer NAME``: the governance officer a records-management command runs for."""
    parser.add_argument(
        "--officer",
        required=True,
        metavar="NAME",
        help="the governance officer doing this (recorded in the audit trail)",
    )


def person_id(value: str) -> uuid.UUID:
    """A person id given on the command line (refused in plain words)."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise CliError(
            f"{value!r} is not a person id (it looks like 3f2b9c1e-8a4d-4f6b-9e2a-1c5d7b8e9f00)."
        ) from None
