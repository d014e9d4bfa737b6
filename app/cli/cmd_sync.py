"""Sync commands: ``enrol``, ``sync``, ``conflicts`` (and ``conflicts resolve``), ``recover``.

    fieldcase enrol --server https://fieldcase.example.gov.uk --user ajones
    fieldcase enrol --server https://fieldcase.example.gov.uk --sso
    fieldcase sync
    fieldcase conflicts [--json]
    fieldcase conflicts resolve ID --keep mine|theirs
    fieldcase conflicts resolve ID --value TEXT
    fieldcase recover
    fieldcase sign-in

Exit codes (docs/cli.md): 0 done; 1 a plain problem; 5 sync could not finish (nothing lost,
try again); 6 this laptop was removed by IT (its data was erased); 7 Fieldcase must be updated.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path
from typing import Any

from app import device_file, online
from app.cli.cmd_profile import (
    NEW_PASSWORD_ENV,
    PASSWORD_ENV,
    clock_of,
    new_password,
    open_profile,
    password,
    profile_dir,
)
from app.core import clashes
from app.errors import UsageError
from app.logs import setup_logging
from app.site import load_site_config
from app.site import server_url as site_server_url
from sync import words
from sync.engine import SyncProgress


def _progress(args: argparse.Namespace) -> Any:
    if not getattr(args, "verbose", False):
        return None

    def show(update: SyncProgress) -> None:
        print(update.message, file=sys.stderr)

    return show


def cmd_enrol(args: argparse.Namespace) -> int:
    setup_logging()
    site = load_site_config()
    server = site_server_url(args.server, site)
    if not server:
        raise UsageError(
            "Give the service's address, for example: fieldcase enrol --server "
            "https://fieldcase.example.gov.uk --user ajones"
        )
    folder = profile_dir(args)
    if args.sso:
        result = _enrol_sso(args, folder, server, site)
    else:
        secret = password("Your Fieldcase password: ")
        result = online.enrol(
            folder,
            server,
            args.user,
            secret,
            site=site,
            device_name=args.device_name,
            progress=_progress(args),
            clock=clock_of(args),
        )
    print(f"This laptop is now enrolled for {result.username} (device {result.device_id}).")
    if result.report is not None:
        print(result.report.summary())
        return 0
    print(
        f"Your cases could not be fetched yet: {result.sync_problem} Run `fieldcase sync` later.",
        file=sys.stderr,
    )
    return 3


def _browser(url: str) -> None:
    """The council's sign-in page in the system browser, its address printed too."""
    import webbrowser

    print(
        "Sign in with your council account in the browser. If no browser opens, go to this "
        f"address:\n{url}",
        file=sys.stderr,
        flush=True,
    )
    # on a thread of its own: a browser command that stays until the browser is closed
    # (BROWSER=lynx) must not keep Fieldcase from hearing the provider's answer
    threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()


def _enrol_sso(args: argparse.Namespace, folder: Path, server: str, site: Any) -> Any:
    """``enrol --sso``: this laptop's own password first (it alone unlocks the cases, offline
    as online), then the council's sign-in page in the browser."""
    local = new_password(
        PASSWORD_ENV, "Choose this laptop's password (it unlocks your cases, also offline): "
    )

    return online.enrol_sso(
        folder,
        server,
        local,
        _browser,
        site=site,
        device_name=args.device_name,
        progress=_progress(args),
        clock=clock_of(args),
    )


def cmd_sync(args: argparse.Namespace) -> int:
    site = load_site_config()
    with open_profile(args) as profile:
        report = online.sync(profile, site=site, progress=_progress(args))
    print(report.summary())
    return 0


def cmd_sign_in(args: argparse.Namespace) -> int:
    """``sign-in``: a laptop enrolled by single sign-on whose sign-in ran out signs in again
    with the council's account in the browser (the profile's own password opens it first)."""
    site = load_site_config()
    with open_profile(args) as profile:
        online.sign_in_again(profile, _browser, site=site)
        print("Signed in again with your council account. Syncing...", flush=True)
        report = online.sync(profile, site=site, progress=_progress(args))
    print(report.summary())
    return 0


def cmd_conflicts(args: argparse.Namespace) -> int:
    with open_profile(args) as profile:
        found = clashes.clashes(profile)
        settled = clashes.settled_by_others(profile) if args.settled else []
    if args.settled:
        return _print_settled(settled, as_json=args.json)
    if args.json:
        print(json.dumps([c.as_json() for c in found], indent=2, ensure_ascii=False))
        return 0
    if not found:
        print("No clashes are waiting for a decision.")
        return 0
    for clash in found:
        print(
            f"{clash.id}  {clash.ref}  {clash.field}: yours {clash.mine!r}, "
            f"theirs {clash.theirs!r} ({clash.changed_by}, "
            f"{words.when(clash.changed_at)})"
        )
    print("Settle one with: fieldcase conflicts resolve ID --keep mine|theirs (or --value TEXT).")
    return 0


def _print_settled(settled: list[clashes.SettledClash], *, as_json: bool) -> int:
    """Clashes someone else settled lately: the first decision settles one for everyone."""
    if as_json:
        print(json.dumps([c.as_json() for c in settled], indent=2, ensure_ascii=False))
        return 0
    if not settled:
        print(f"No one else settled a clash in the last {clashes.SETTLED_SHOWN_DAYS} days.")
        return 0
    for item in settled:
        when = f", {words.when(item.settled_at)}" if item.settled_at else ""
        yours = ""
        if item.made_one_side:
            yours = "; yours was kept" if item.mine_kept else f"; yours {item.mine!r} was not kept"
        print(
            f"{item.id}  {item.ref}  {item.field}: {item.settled_by} chose {item.chosen!r}"
            f"{when}{yours}"
        )
    return 0


def cmd_resolve(args: argparse.Namespace) -> int:
    with open_profile(args) as profile:
        clash = clashes.resolve_clash(profile, args.id, keep=args.keep, value=args.value)
    print(
        f"Settled the clash on {clash.ref or 'the case'} ({clash.field}). It will reach "
        "everyone at the next sync."
    )
    return 0


def cmd_recover(args: argparse.Namespace) -> int:
    setup_logging()
    site = load_site_config()
    folder = profile_dir(args)
    # a laptop enrolled by single sign-on recovers the same way, unless a user name is given
    by_sso = args.sso or (args.user is None and device_file.enrolled_by_sso(folder))
    account = None if by_sso else password("Your account password (as your IT team set it): ")
    fresh = new_password(NEW_PASSWORD_ENV, "Choose a new password for this laptop: ")
    if account is None:
        opened = online.recover_sso(folder, fresh, _browser, site=site, clock=clock_of(args))
    else:
        opened = online.recover(
            folder, account, fresh, username=args.user, site=site, clock=clock_of(args)
        )
    opened.close()
    print("Your profile is open again with the new password. Nothing on this laptop was lost.")
    return 0
