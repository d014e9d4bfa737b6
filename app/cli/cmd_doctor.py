"""``fieldcase doctor``: check this laptop and explain, in plain English, what is wrong.

Prints nothing personal, so a caseworker can read it aloud to the help desk. Exit code 0 when
all is well, 1 when any check found a problem. ``--json`` prints the same findings for
scripts (fleet tools, the help desk's own checks).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from app.cli.cmd_profile import clock_of
from app.doctor.checks import render_text, run_checks
from app.errors import UsageError
from app.logs import setup_logging
from app.paths import resolve_profile_dir

PASSWORD_ENV = "FIELDCASE_PASSWORD"  # noqa: S105 (the name of the variable, not a password)


def _password(args: argparse.Namespace) -> str | None:
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env:
        return from_env
    if not args.unlock:
        return None
    if not sys.stdin.isatty():
        raise UsageError(
            f"--unlock asks for the password, but this is not a terminal. Set {PASSWORD_ENV} "
            "instead."
        )
    from sync.terminal import ask_hidden

    return ask_hidden("Profile password (not shown): ")


def run(args: argparse.Namespace) -> int:
    setup_logging()
    folder = resolve_profile_dir(getattr(args, "profile", None))
    report = run_checks(folder, password=_password(args), clock=clock_of(args))
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print(render_text(report))
    return 0 if report.ok else 1
