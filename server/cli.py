"""``fieldcase-server``: run the central service and administer it.

    fieldcase-server serve [--db URL] [--host 127.0.0.1] [--port 8750] [--workers N]
                           [--tls-cert FILE --tls-key FILE]
    fieldcase-server admin add-team NAME [--db URL]
    fieldcase-server admin add-user NAME --team TEAM [--role caseworker|manager|admin]
    fieldcase-server admin list-users | reset-password NAME | disable-user NAME
    fieldcase-server admin list-devices [--user NAME]
    fieldcase-server admin assign REF --to USER
    fieldcase-server admin revoke-device DEVICE_ID | --user NAME
    fieldcase-server admin verify-audit
    fieldcase-server demo [--db URL]

The database comes from ``--db``, else env ``FIELDCASE_DB_URL``, else an SQLite file in the
user data folder; it is created and migrated when new. Passwords come from env
``FIELDCASE_PASSWORD`` or a prompt.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
import uuid
from collections.abc import Callable, Sequence

from sqlalchemy import Engine
from sqlmodel import Session, select

from server import audit, crud
from server.core.config import Settings
from server.core.db import make_engine, migrate, unit_of_work
from server.models import Device, Record, Team, User
from server.records.changelog import Pending, finalize
from server.records.push import service_change
from server.records.scope import find_case_by_ref
from sync.clock import Clock, SystemClock

log = logging.getLogger("fieldcase.server.cli")


class CliError(Exception):
    """A plain-English problem to print (exit status 1)."""


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(db_url=getattr(args, "db", None))


def _engine(settings: Settings) -> Engine:
    engine = make_engine(settings.db_url, pool_size=2)
    migrate(engine)
    return engine


def _password(confirm: bool = True) -> str:
    env = os.environ.get("FIELDCASE_PASSWORD")
    if env:
        return env
    if not sys.stdin.isatty():
        raise CliError("Set FIELDCASE_PASSWORD or run this in a terminal to type the password.")
    first = getpass.getpass("New password: ")
    if confirm and getpass.getpass("Type it again: ") != first:
        raise CliError("The two passwords differ. Nothing was changed; try again.")
    return first


# ------------------------------------------------------------------------------ serve


def cmd_serve(args: argparse.Namespace, clock: Clock) -> int:
    import uvicorn

    settings = _settings(args)
    if bool(args.tls_cert) != bool(args.tls_key):
        raise CliError("Give both --tls-cert and --tls-key, or neither.")
    engine = _engine(settings)
    engine.dispose()
    os.environ["FIELDCASE_DB_URL"] = settings.db_url  # for the worker processes
    print(
        f"Fieldcase central service on {'https' if args.tls_cert else 'http'}://"
        f"{args.host}:{args.port} ({engine.dialect.name}, {args.workers} worker(s))",
        flush=True,
    )
    uvicorn.run(
        "server.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers if args.workers > 1 else None,
        ssl_certfile=args.tls_cert,
        ssl_keyfile=args.tls_key,
        log_level=args.log_level,
        proxy_headers=True,
        forwarded_allow_ips=os.environ.get("FIELDCASE_TRUSTED_PROXIES", "127.0.0.1"),
        # a busy worker answers the supervisor's ping late; never kill it mid-request for that
        timeout_worker_healthcheck=120,
    )
    return 0


# ------------------------------------------------------------------------------ admin


def cmd_add_team(args: argparse.Namespace, clock: Clock) -> int:
    engine = _engine(_settings(args))
    with unit_of_work(engine) as session:
        crud.add_team(session, args.name, clock=clock)
    print(f"Team {args.name!r} added.")
    return 0


def cmd_add_user(args: argparse.Namespace, clock: Clock) -> int:
    settings = _settings(args)
    engine = _engine(settings)
    password = _password()
    with unit_of_work(engine) as session:
        crud.add_user(session, settings, args.name, args.team, args.role, password, clock=clock)
    print(f"User {args.name!r} added to {args.team!r} as {args.role}.")
    return 0


def cmd_list_users(args: argparse.Namespace, clock: Clock) -> int:
    engine = _engine(_settings(args))
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
    settings = _settings(args)
    engine = _engine(settings)
    with unit_of_work(engine) as session:
        crud.require_user(session, args.name)
        crud.reset_password(session, settings, args.name, _password(), clock=clock)
    print(f"Password of {args.name!r} changed.")
    return 0


def cmd_disable_user(args: argparse.Namespace, clock: Clock) -> int:
    engine = _engine(_settings(args))
    with unit_of_work(engine) as session:
        crud.disable_user(session, args.name, clock=clock)
    print(f"User {args.name!r} disabled: they can no longer sign in or sync.")
    return 0


def cmd_list_devices(args: argparse.Namespace, clock: Clock) -> int:
    engine = _engine(_settings(args))
    with Session(engine) as session:
        rows = crud.list_devices(session, args.user)
    print(f"{'device id':<36}  {'user':<20} {'enrolled':<17} {'last seen':<17} status")
    for device, user in rows:
        seen = device.last_seen_at.strftime("%Y-%m-%d %H:%M") if device.last_seen_at else "never"
        status = "revoked" if device.revoked_at else "active"
        print(
            f"{device.id!s:<36}  {user.username:<20} "
            f"{device.enrolled_at:%Y-%m-%d %H:%M} {seen:<17} {status}"
        )
    return 0


def cmd_assign(args: argparse.Namespace, clock: Clock) -> int:
    engine = _engine(_settings(args))
    with unit_of_work(engine) as session:
        user = crud.require_user(session, args.to)
        team = crud.team_name(session, user)
        scope = find_case_by_ref(session, args.ref)
        if scope is None:
            raise CliError(f"There is no case with reference {args.ref!r}.")
        record = session.get(Record, scope.case_id)
        if record is None:  # pragma: no cover - scope rows are written with their case
            raise CliError(f"The case {args.ref!r} has no record.")
        pending = Pending()
        service_change(
            session,
            record,
            {"team": team, "assigned_to": user.username},
            "admin",
            pending,
            clock=clock,
        )
        finalize(session, pending, at=clock.now())
    print(f"Case {args.ref} assigned to {args.to} ({team}).")
    return 0


def cmd_revoke_device(args: argparse.Namespace, clock: Clock) -> int:
    engine = _engine(_settings(args))
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
        for device in devices:
            crud.revoke_device(session, device, clock=clock)
    print(f"{len(devices)} device(s) revoked: they will wipe their local data on next contact.")
    return 0


def cmd_verify_audit(args: argparse.Namespace, clock: Clock) -> int:
    engine = _engine(_settings(args))
    with Session(engine) as session:
        report = audit.verify(session)
    if report.ok:
        print(f"The audit trail is intact ({report.checked} entries checked).")
        return 0
    print(
        f"The audit trail is BROKEN at row {report.broken_id}: {report.reason}. "
        f"{report.checked} entries before it are intact. Keep a copy of the database and "
        "investigate.",
    )
    return 3


def cmd_demo(args: argparse.Namespace, clock: Clock) -> int:
    from server import demo

    settings = _settings(args)
    engine = _engine(settings)
    demo.seed_and_print(engine, settings, clock)
    return 0


# ------------------------------------------------------------------------------ parser


def _db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db", metavar="URL", help="database URL (default: env FIELDCASE_DB_URL or a local file)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fieldcase-server", description="The Fieldcase central service."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the service")
    _db(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8750)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--tls-cert", metavar="FILE")
    serve.add_argument("--tls-key", metavar="FILE")
    serve.add_argument("--log-level", default="warning")
    serve.set_defaults(func=cmd_serve)

    demo = sub.add_parser("demo", help="seed a demo council and print its sign-ins")
    _db(demo)
    demo.set_defaults(func=cmd_demo)

    admin = sub.add_parser("admin", help="administer teams, users, devices, cases, audit")
    asub = admin.add_subparsers(dest="admin_command", metavar="ACTION")

    def add(
        name: str, func: Callable[[argparse.Namespace, Clock], int], help_text: str
    ) -> argparse.ArgumentParser:
        p = asub.add_parser(name, help=help_text)
        _db(p)
        p.set_defaults(func=func)
        return p

    add("add-team", cmd_add_team, "add a team").add_argument("name")
    p = add("add-user", cmd_add_user, "add a user (password from FIELDCASE_PASSWORD or a prompt)")
    p.add_argument("name")
    p.add_argument("--team", required=True)
    p.add_argument("--role", default="caseworker", choices=crud.ROLES)
    add("list-users", cmd_list_users, "list users")
    add("reset-password", cmd_reset_password, "set a user's password").add_argument("name")
    add("disable-user", cmd_disable_user, "stop a user signing in or syncing").add_argument("name")
    add("list-devices", cmd_list_devices, "list enrolled laptops").add_argument("--user")
    p = add("assign", cmd_assign, "move a case to a user and their team")
    p.add_argument("ref")
    p.add_argument("--to", required=True, metavar="USER")
    p = add("revoke-device", cmd_revoke_device, "revoke a laptop (it wipes itself on next contact)")
    p.add_argument("device_id", nargs="?")
    p.add_argument("--user")
    add("verify-audit", cmd_verify_audit, "check the audit trail's hash chain")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    clock = SystemClock()  # the command line's one clock, passed to everything it runs
    try:
        return int(func(args, clock))
    except (CliError, crud.AdminError) as err:
        print(str(err), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
