"""What every ``fieldcase-server`` command shares: settings, the migrated engine, the password
prompt, the plain-English error, and :func:`Commands.add` to register an admin action."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable

from sqlalchemy import Engine

from server.core.config import Settings
from server.core.db import make_engine, migrate
from sync.clock import Clock

Handler = Callable[[argparse.Namespace, Clock], int]


class CliError(Exception):
    """A plain-English problem to print (exit status 1)."""


def settings_of(args: argparse.Namespace) -> Settings:
    return Settings.from_env(db_url=getattr(args, "db", None))


def engine_of(settings: Settings) -> Engine:
    engine = make_engine(settings.db_url, pool_size=2)
    migrate(engine)
    return engine


def ask_password(confirm: bool = True) -> str:
    env = os.environ.get("FIELDCASE_PASSWORD")
    if env:
        return env
    if not sys.stdin.isatty():
        raise CliError("Set FIELDCASE_PASSWORD or run this in a terminal to type the password.")
    first = getpass.getpass("New password: ")
    if confirm and getpass.getpass("Type it again: ") != first:
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
