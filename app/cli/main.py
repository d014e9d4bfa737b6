"""Entry point of the ``fieldcase`` command.

Each ``app.cli.cmd_*`` module listed in :data:`COMMAND_MODULES` exposes
``register(subparsers: argparse._SubParsersAction) -> None`` and sets ``func`` on each parser it
adds with ``parser.set_defaults(func=...)``; ``func(args) -> int`` returns the exit code.
Errors a person can cause are raised as :class:`app.errors.FieldcaseError` and printed here,
in one place, as a plain-English line on stderr.

With no command, ``fieldcase [--profile DIR]`` opens the window, as the installed bundle does
(:func:`open_window`); Qt is imported only then, so the commands never load it.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from app import __version__
from app.errors import FieldcaseError
from sync.clock import Clock, SystemClock

COMMAND_MODULES: tuple[str, ...] = (
    "app.cli.cmd_profile",  # init, passwd, backups, restore
    "app.cli.cmd_cases",  # case, cases, note, visit, warning, document
    "app.cli.cmd_doctor",  # doctor
    "app.cli.cmd_sync",  # enrol, sync, conflicts, recover
)

log = logging.getLogger("fieldcase.cli")


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
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def open_window(args: argparse.Namespace) -> int:
    """The desktop window for ``--profile`` (else env FIELDCASE_PROFILE, else the user data
    folder); with no screen to show it on, one line saying so and exit code 1."""
    from app.ui.screen import NO_SCREEN, has_screen

    if not has_screen():
        print(NO_SCREEN, file=sys.stderr)
        return 1
    from app.ui import app as window

    # leave() ends the process once the window has closed and everything is saved: Python's
    # own teardown of Qt objects can crash (see app.ui.app.leave)
    code = window.main([args.profile] if args.profile else [])
    window.leave(code)
    return code


def main(argv: Sequence[str] | None = None, *, clock: Clock | None = None) -> int:
    """Run one command (no command: the window). Its one clock is made here (a test passes its
    own) and handed down as ``args.clock``: nothing below reads the system's time directly."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.clock = clock or SystemClock()
    func = getattr(args, "func", None) or open_window
    try:
        return int(func(args) or 0)
    except FieldcaseError as err:
        if err.detail:
            log.info("command failed: %s", err.detail)
        print(err.message, file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("Stopped. Nothing you saved has been lost.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
