"""Profile commands: ``init``, ``passwd``, ``backups``, ``restore``; and the helpers every
command uses to find the profile folder and the password.

The arguments are defined in :mod:`app.cli.parser`. Passwords come from env
``FIELDCASE_PASSWORD`` (``FIELDCASE_NEW_PASSWORD`` for the new one in ``passwd``) or, when
those are not set, a prompt that does not echo.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from app.errors import FieldcaseError, UsageError
from app.logs import setup_logging
from app.paths import resolve_profile_dir
from app.store.profile import Profile, list_backups
from sync import words
from sync.clock import Clock, SystemClock
from sync.terminal import ask_hidden

PASSWORD_ENV = "FIELDCASE_PASSWORD"  # noqa: S105 - the name of a variable, not a password
NEW_PASSWORD_ENV = "FIELDCASE_NEW_PASSWORD"  # noqa: S105


def profile_dir(args: argparse.Namespace) -> Path:
    return resolve_profile_dir(getattr(args, "profile", None))


def clock_of(args: argparse.Namespace) -> Clock:
    """The command's one clock (made by ``main``)."""
    clock: Clock | None = getattr(args, "clock", None)
    return clock or SystemClock()


def password(prompt: str = "Password: ", env: str = PASSWORD_ENV) -> str:
    """The password from ``env``, else typed at a prompt (never echoed)."""
    value = os.environ.get(env)
    if value is not None:
        return value
    if not sys.stdin.isatty():
        raise UsageError(
            f"Fieldcase needs the profile's password: set {env}, or run this in a terminal "
            "to type it."
        )
    return ask_hidden(prompt)


def new_password(env: str, prompt: str) -> str:
    value = os.environ.get(env)
    if value is not None:
        return value
    first = password(prompt, env)
    again = ask_hidden("Type it again: ")
    if first != again:
        raise UsageError("The two passwords are not the same. Nothing was changed; try again.")
    return first


def open_profile(args: argparse.Namespace) -> Profile:
    """Unlock the profile the command line names (logging set up first)."""
    setup_logging()
    folder = profile_dir(args)
    return Profile.open(folder, password(), clock=clock_of(args))


def close_profile(profile: Profile) -> None:
    """Close (waiting for the automatic backup) and mention a backup that failed."""
    profile.close()
    if profile.backup_problem:
        print(profile.backup_problem, file=sys.stderr)


# ----------------------------------------------------------------------------- commands


def cmd_init(args: argparse.Namespace) -> int:
    from app.site import load_site_config

    setup_logging()
    site = load_site_config()
    folder = profile_dir(args)
    secret = new_password(PASSWORD_ENV, "Choose a password for this profile: ")
    with Profile.create(
        folder, secret, user=args.user, team=args.team or "", site=site, clock=clock_of(args)
    ) as prof:
        print(f"Created a profile for {prof.user} in {folder}.")
    return 0


def cmd_passwd(args: argparse.Namespace) -> int:
    from app.site import load_site_config

    setup_logging()
    site = load_site_config()
    folder = profile_dir(args)
    old = password("Current password: ")
    new = new_password(NEW_PASSWORD_ENV, "New password: ")
    from app import vault

    vault.change_password(folder, old, new, min_password_length=site.min_password_length)
    print("Password changed. Use the new password from now on.")
    return 0


def cmd_backups(args: argparse.Namespace) -> int:
    folder = profile_dir(args)
    backups = list_backups(folder)
    if getattr(args, "json", False):
        import json

        print(
            json.dumps(
                [
                    {
                        "name": b.name,
                        "made_at": b.made_at.isoformat(),
                        "size": b.size,
                        "documents": b.documents,
                    }
                    for b in backups
                ],
                indent=2,
            )
        )
        return 0
    if not backups:
        print("There are no backups yet. One is made each time the profile is unlocked.")
        return 0
    for b in backups:
        documents = f", {words.plural(b.documents, 'document')}" if b.documents else ""
        print(f"{b.name}  made {words.when(b.made_at)}  {words.size(b.size)}{documents}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    setup_logging()
    folder = profile_dir(args)
    secret = password()
    restored = Profile.restore(folder, secret, args.backup, clock=clock_of(args))
    chosen = args.backup or "the newest backup"
    print(f"Restored {chosen}.")
    if restored.aside is not None:
        print(f"The data file it replaced was kept as {restored.aside.name}.")
    if restored.documents:
        print(f"Put back {words.plural(restored.documents, 'document')} from the backup.")
    print(_fresh_references(folder, secret, clock_of(args)))
    return 0


def _fresh_references(folder: Path, secret: str, clock: Clock) -> str:
    """The reserved case reference numbers in a backup may have been used since it was made:
    they were dropped; fetch fresh ones now when the service can be reached."""
    from app import online
    from app.site import load_site_config

    with Profile.open(folder, secret, backup=False, clock=clock) as prof:
        if not online.server_url_of(prof):
            return "Cases you make from now on get references that cannot clash with earlier ones."
        if online.fresh_ref_blocks(prof, site=load_site_config()):
            return (
                "Fetched fresh case reference numbers from the service (those in the backup may "
                "have been used since). Sync to fetch what the backup lacks."
            )
    return (
        "The service could not be reached. Cases you make before the next sync get a temporary "
        "reference that cannot clash; sync when you are online to fetch what the backup lacks."
    )


__all__ = [
    "FieldcaseError",
    "close_profile",
    "open_profile",
    "password",
    "profile_dir",
]
