"""Entry point of the ``fieldcase`` command.

The arguments are read first, by a parser that loads none of the commands' work
(:mod:`app.cli.parser`); only then is the chosen command's module imported (one of the
``app.cli.cmd_*`` modules in :data:`COMMAND_MODULES`, named by the ``"module:function"`` string
the parser left in ``args.func``), so ``fieldcase --version`` loads no store, core, sync engine
or HTTP client, and ``fieldcase cases`` none of the sync or doctor code. ``func(args) -> int``
returns the exit code.

Errors a person can cause are raised as :class:`app.errors.FieldcaseError` and printed here,
in one place, as a plain-English line on stderr. So is everything else (docs/cli.md, exit
codes): a read-only profile or a full disk has its own line; Ctrl-C stops with 130 (even when
the command was started with Ctrl-C ignored, as a shell's background job is); a reader that goes
away (``fieldcase case show REF | head -8``) ends the command quietly with 141; anything
unexpected prints one sentence naming the log file and a short incident id, exits 70, and its
traceback goes to the log with every message left out (no case content).

With no command, ``fieldcase [--profile DIR]`` opens the window, as the installed bundle does
(:func:`open_window`); Qt is imported only then, so the commands never load it.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from app.cli.parser import COMMAND_MODULES, build_parser
from app.errors import FieldcaseError
from sync.clock import Clock, SystemClock
from sync.terminal import interrupt_stops

__all__ = ["COMMAND_MODULES", "build_parser", "command_of", "main", "open_window"]

Command = Callable[[argparse.Namespace], int]

log = logging.getLogger("fieldcase.cli")

#: docs/cli.md: something Fieldcase did not expect (sysexits' EX_SOFTWARE); the reader of the
#: output went away (128 + SIGPIPE, as a command stopped by the broken pipe would end); stopped.
EXIT_UNEXPECTED = 70
EXIT_READER_GONE = 141
EXIT_STOPPED = 130
STOPPED = "Stopped. Nothing you saved has been lost."


def command_of(args: argparse.Namespace) -> Command:
    """The function that runs the chosen command, its module imported now (no command: the
    window)."""
    func: Command | str | None = getattr(args, "func", None)
    if func is None:
        return open_window
    if isinstance(func, str):
        module, _, name = func.partition(":")
        found: Command = getattr(importlib.import_module(module), name)
        return found
    return func


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


def _reader_gone() -> int:
    """The program reading our output closed it (``| head``): send whatever is still buffered
    nowhere, so that Python's own flush at exit does not fail again, and stop quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # stdout is not a real file (tests)
        pass
    return EXIT_READER_GONE


def _say(line: str) -> None:
    with contextlib.suppress(OSError, ValueError):  # nobody is reading stderr either
        print(line, file=sys.stderr)


def _as_plain(err: Exception, args: argparse.Namespace | None) -> FieldcaseError | None:
    """Our own error for a failure that has a plain line of its own: a read-only profile
    folder or a full disk (wherever in the command they were met)."""
    from app.paths import resolve_profile_dir
    from app.store.errors import DiskFull, ProfileReadOnly, is_disk_full, is_read_only

    if is_disk_full(err):
        return DiskFull(detail=type(err).__name__)
    if not is_read_only(err):
        return None
    folder = None
    try:
        folder = resolve_profile_dir(getattr(args, "profile", None))
    except Exception:  # the line is still right without the folder
        log.info("could not name the profile folder for the read-only message")
    if isinstance(err, OSError) and isinstance(err.filename, str) and folder is not None:
        path, home = Path(err.filename).absolute(), folder.absolute()
        if path != home and home not in path.parents:  # not the profile: say which file
            return FieldcaseError(
                f"Fieldcase may not use {path} ({err.strerror}). Check that this user may read "
                "and write it, then try again.",
                detail=type(err).__name__,
            )
    return ProfileReadOnly(folder, detail=type(err).__name__)


def _unexpected(err: BaseException) -> int:
    """One sentence and the log reference; the traceback (no messages) to the log."""
    from app.logs import LOG_FILE, log_incident, new_incident_id, setup_logging

    incident = new_incident_id()
    try:
        path = setup_logging()
        log_incident(log, err, incident)
        where = f"the log {path}"
    except Exception:  # the log itself failed: still say one line
        where = f"the log ({LOG_FILE}), which could not be written"
    _say(
        f"Fieldcase met a problem it did not expect, so the command stopped; nothing you saved "
        f"has been lost. Please tell your IT team: incident {incident}, in {where}."
    )
    return EXIT_UNEXPECTED


def _fail(err: FieldcaseError) -> int:
    if err.detail:
        log.info("command failed: %s", err.detail)
    _say(err.message)
    return err.exit_code


def main(argv: Sequence[str] | None = None, *, clock: Clock | None = None) -> int:
    """Run one command (no command: the window). Its one clock is made here (a test passes its
    own) and handed down as ``args.clock``: nothing below reads the system's time directly."""
    args: argparse.Namespace | None = None
    try:
        interrupt_stops()  # a Ctrl-C held back until now is "Stopped." too
        parser = build_parser()
        args = parser.parse_args(argv)
        args.clock = clock or SystemClock()
        code = int(command_of(args)(args) or 0)
        sys.stdout.flush()  # a reader that went away is found here, not at exit
        return code
    except FieldcaseError as err:
        return _fail(err)
    except KeyboardInterrupt:
        _say(STOPPED)
        return EXIT_STOPPED
    except BrokenPipeError:
        return _reader_gone()
    except Exception as err:  # the one place that puts any failure in words
        plain = _as_plain(err, args)
        if plain is not None:
            return _fail(plain)
        return _unexpected(err)


if __name__ == "__main__":
    sys.exit(main())
