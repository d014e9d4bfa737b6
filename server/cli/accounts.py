"""Admin actions on teams, users and devices."""

from __future__ import annotations

import argparse
import uuid
from datetime import datetime, timedelta

from sqlalchemy import Engine, func
from sqlmodel import Session, select

from server import audit, crud, roles
from server.audit_key import AuditKeyError
from server.cli.common import CliError, Commands, ask_password, engine_of, settings_of
from server.core.config import Settings
from server.core.db import unit_of_work
from server.models import Device, DocumentContent, Record, Team, User
from server.records import moves
from sync import words
from sync.clock import Clock


def writer_engine(args: argparse.Namespace, settings: Settings | None = None) -> Engine:
    """The migrated engine of a command that writes audit entries, with the audit key
    checked first (a missing or wrong key is one plain line, before anything is changed)."""
    engine = engine_of(settings or settings_of(args))
    try:
        audit.require_key(engine)
    except AuditKeyError as err:
        raise CliError(str(err)) from err
    return engine


def cmd_add_team(args: argparse.Namespace, clock: Clock) -> int:
    engine = writer_engine(args)
    with unit_of_work(engine) as session:
        crud.add_team(session, args.name, clock=clock)
    print(f"Team {args.name!r} added.")
    return 0


def cmd_add_user(args: argparse.Namespace, clock: Clock) -> int:
    settings = settings_of(args)
    engine = writer_engine(args, settings)
    password = ask_password()
    with unit_of_work(engine) as session:
        crud.add_user(session, settings, args.name, args.team, args.role, password, clock=clock)
    print(f"User {args.name!r} added to {args.team!r} as {args.role}.")
    return 0


def cmd_list_users(args: argparse.Namespace, clock: Clock) -> int:
    engine = engine_of(settings_of(args))
    with Session(engine) as session:
        rows = session.exec(
            select(User, Team).join(Team, Team.id == User.team_id).order_by(User.username)  # type: ignore[arg-type]
        ).all()
    print(f"{'user':<24} {'team':<28} {'role':<11} status")
    for user, team in rows:
        status = "disabled" if user.disabled else "active"
        print(f"{user.username:<24} {team.name:<28} {user.role:<11} {status}")
    return 0


def cmd_reset_password(args: argparse.Namespace, clock: Clock) -> int:
    settings = settings_of(args)
    engine = writer_engine(args, settings)
    with unit_of_work(engine) as session:
        crud.require_user(session, args.name)
        crud.reset_password(session, settings, args.name, ask_password(), clock=clock)
    print(f"Password of {args.name!r} changed.")
    return 0


def cmd_disable_user(args: argparse.Namespace, clock: Clock) -> int:
    engine = writer_engine(args)
    with unit_of_work(engine) as session:
        crud.disable_user(session, args.name, clock=clock)
    print(f"User {args.name!r} disabled: they can no longer sign in or sync.")
    return 0


def cmd_set_role(args: argparse.Namespace, clock: Clock) -> int:
    engine = writer_engine(args)
    with unit_of_work(engine) as session:
        before, now = crud.set_role(session, args.name, args.role, clock=clock)
    if before == now:
        print(f"User {args.name!r} already has the role {now}: nothing changed.")
        return 0
    print(f"User {args.name!r} is now {now} (was {before}).")
    if not roles.allows(now, roles.Can.HOLD_CASES):
        print("Their laptops are refused at their next sync: this role holds no case records.")
    return 0


def cmd_move_user(args: argparse.Namespace, clock: Clock) -> int:
    engine = writer_engine(args)
    with unit_of_work(engine) as session:
        before, changed = moves.move_user(session, args.name, args.team, clock=clock)
    if before == args.team:
        print(f"User {args.name!r} is in {args.team} already: nothing changed.")
        return 0
    print(
        f"User {args.name!r} moved from {before} to {args.team}. At their next sync their "
        f"laptops send any waiting work, then {words.plural(changed, 'case')} change: "
        f"{before}'s leave, {args.team}'s arrive whole."
    )
    return 0


def cmd_list_devices(args: argparse.Namespace, clock: Clock) -> int:
    engine = engine_of(settings_of(args))
    with Session(engine) as session:
        rows = crud.list_devices(session, args.user)
    print(f"{'device id':<36}  {'user':<20} {'enrolled (UTC)':<18} {'last seen (UTC)':<18} status")
    for device, user in rows:
        enrolled = words.when_utc(device.enrolled_at).removesuffix(" UTC")
        seen = (
            words.when_utc(device.last_seen_at).removesuffix(" UTC")
            if device.last_seen_at
            else "never"
        )
        status = "revoked" if device.revoked_at else "active"
        print(f"{device.id!s:<36}  {user.username:<20} {enrolled:<18} {seen:<18} {status}")
    return 0


def cmd_revoke_device(args: argparse.Namespace, clock: Clock) -> int:
    engine = writer_engine(args)
    now = clock.now()
    with unit_of_work(engine) as session:
        if args.user:
            user = crud.require_user(session, args.user)
            devices = list(session.exec(select(Device).where(Device.user_id == user.id)).all())
        else:
            try:
                device_id = uuid.UUID(args.device_id or "")
            except ValueError as err:
                raise CliError(
                    "Give a device id (see `admin list-devices`) or --user NAME."
                ) from err
            found = session.get(Device, device_id)
            if found is None:
                raise CliError(f"There is no device {device_id}.")
            devices = [found]
        reports = []
        for device in devices:
            was_revoked = device.revoked_at
            crud.revoke_device(session, device, clock=clock)
            reports.append(revoke_report(session, device, was_revoked, now))
    print(
        f"{words.plural(len(devices), 'device')} revoked: they will wipe their local data on "
        "next contact."
    )
    for report in reports:
        print(report)
    return 0


def staged_from(session: Session, device: Device) -> tuple[int, int]:
    """Document content this device uploaded that no record claims yet: (files, bytes)."""
    claimed = select(Record.record_id).where(Record.record_id == DocumentContent.document_id)
    count, size = session.exec(
        select(func.count(), func.coalesce(func.sum(DocumentContent.received), 0)).where(
            DocumentContent.uploaded_by_device == device.id, ~claimed.exists()
        )
    ).one()
    return int(count), int(size)


def revoke_report(
    session: Session, device: Device, was_revoked: datetime | None, now: datetime
) -> str:
    """What IT should know about a revoked laptop: its last contact, that changes made on it
    since then will be lost when it wipes itself, and staged uploads the service holds."""
    head = f"- {device.name} ({device.code}, id {device.id})"
    if was_revoked is not None:
        return f"{head}: already revoked on {words.when_utc(was_revoked)}."
    if device.last_seen_at is None:
        line = (
            f"{head}: never synced. Anything made on it was never sent and will be lost when "
            "it wipes itself."
        )
    else:
        seen = device.last_seen_at
        line = (
            f"{head}: last synced {words.ago(seen, now)}, {words.when_utc(seen)}. It may hold "
            "changes made since then that never reached the service: they will be lost when "
            "it wipes itself."
        )
    files, size = staged_from(session, device)
    if files:
        line += (
            f" The service holds {files} document upload{'s' if files != 1 else ''} "
            f"({words.size(size)}) from it that no record claims yet."
        )
    return line


def cmd_link_sso(args: argparse.Namespace, clock: Clock) -> int:
    from server import sign_on  # with the provider's client: not for every command's start

    engine = writer_engine(args)
    try:
        with unit_of_work(engine) as session:
            user = sign_on.link(session, args.name, args.subject, clock=clock)
    except sign_on.LinkError as err:
        raise CliError(str(err)) from None
    print(
        f"User {user.username!r} is linked to the council account {args.subject}: they can "
        "sign in with it (their team and role then come from its app roles)."
    )
    return 0


def cmd_sync_directory(args: argparse.Namespace, clock: Clock) -> int:
    from server import sign_on

    settings = settings_of(args)
    engine = writer_engine(args, settings)
    with unit_of_work(engine) as session:
        gone = sign_on.disable_unseen(session, settings, clock=clock, dry_run=args.dry_run)
    days = words.plural(settings.sso_inactive_days, "day")
    if not gone:
        print(f"Every account linked to the council's sign-in was seen in the last {days}.")
        return 0
    verb = "Would end" if args.dry_run else "Ended"
    grace = words.duration(timedelta(hours=settings.sso_grace_hours))
    for leaver in gone:
        seen = words.when(leaver.last_seen) if leaver.last_seen else "never"
        print(
            f"{verb} the sign-ins of {leaver.username} (last vouched for by the council's "
            f"sign-in {seen}); their laptops are revoked and the account disabled in {grace}."
        )
        for name, contact in leaver.laptops:
            last = words.when(contact) if contact else "never"
            print(
                f"  laptop {name!r}: last in touch {last}; anything changed on it since is not "
                "on the service yet (it may still send it until then)."
            )
    return 0


def register(commands: Commands) -> None:
    add = commands.add
    add("add-team", cmd_add_team, "add a team").add_argument("name")
    p = add("add-user", cmd_add_user, "add a user (password from FIELDCASE_PASSWORD or a prompt)")
    p.add_argument("name")
    p.add_argument("--team", required=True)
    p.add_argument("--role", default="caseworker", choices=crud.ROLES)
    p = add("move-user", cmd_move_user, "move a user to another team (their laptops follow)")
    p.add_argument("name")
    p.add_argument("--team", required=True)
    p = add("set-role", cmd_set_role, "give a user another role (docs/roles.md)")
    p.add_argument("name")
    p.add_argument("role", choices=crud.ROLES)
    add("list-users", cmd_list_users, "list users")
    add("reset-password", cmd_reset_password, "set a user's password").add_argument("name")
    add("disable-user", cmd_disable_user, "stop a user signing in or syncing").add_argument("name")
    p = add("link-sso", cmd_link_sso, "link an account to its council sign-in (docs/sso.md)")
    p.add_argument("name")
    p.add_argument("subject", help="the provider's id of the person (Entra ID: object id)")
    p = add(
        "sync-directory",
        cmd_sync_directory,
        "disable accounts the council's sign-in has not vouched for lately (docs/sso.md)",
    )
    p.add_argument("--dry-run", action="store_true", help="say who, change nothing")
    add("list-devices", cmd_list_devices, "list enrolled laptops").add_argument("--user")
    p = add("revoke-device", cmd_revoke_device, "revoke a laptop (it wipes itself on next contact)")
    p.add_argument("device_id", nargs="?")
    p.add_argument("--user")
