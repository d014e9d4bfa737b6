"""``fieldcase-server serve`` and ``demo``."""

from __future__ import annotations

import argparse
import errno
import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from server import audit
from server.audit_key import AuditKeyError
from server.cli.common import (
    EXIT_CONFIG,
    EXIT_REFUSED,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    CliError,
    add_db_option,
    engine_of,
    migrate_plainly,
    schema_of,
    settings_of,
)
from server.core.config import Settings
from server.core.db import SchemaState, migration_sql
from sync import words
from sync.clock import Clock

DB_URL_FILE_ENV = "FIELDCASE_DB_URL_FILE"


def cmd_serve(args: argparse.Namespace, clock: Clock) -> int:
    # imported here: every admin command builds this module's parser, and these two (with
    # the provider's HTTP client) add a sixth of a second to each start
    import uvicorn

    from server.oidc import SsoSettingError, config_from

    settings = settings_of(args)
    try:
        config_from(settings)  # single sign-on's settings: refused here, before anything
    except SsoSettingError as err:
        raise CliError(str(err), exit_code=EXIT_CONFIG) from None
    if bool(args.tls_cert) != bool(args.tls_key):
        raise CliError("Give both --tls-cert and --tls-key, or neither.")
    if _password_in(args.db):
        print(
            "Warning: the database password in --db can be read by every user of this "
            "computer for as long as the service runs (in its process list). Keep --db for "
            "development; put the address in a file named by FIELDCASE_DB_URL_FILE instead.",
            file=sys.stderr,
            flush=True,
        )
    engine = engine_of(settings, migrate_schema=False)
    state = schema_of(engine, settings.db_url)
    if state.pending and not args.migrate:
        engine.dispose()
        raise CliError(_pending_words(state), exit_code=EXIT_CONFIG)
    if state.pending:
        migrate_plainly(engine, settings.db_url)
        print(_migrated_words(state), flush=True)
    try:
        audit.ready(engine, settings)  # refuse to start without the audit key
    except AuditKeyError as err:
        raise CliError(str(err), exit_code=EXIT_CONFIG) from err
    _check_connections(engine, settings, args.workers)
    engine.dispose()
    _check_address(args.host, args.port)
    if args.metrics_port:
        _check_address(args.metrics_host, args.metrics_port)
    # every process's metrics in one folder, named before the metrics library is first
    # imported (by this process when it answers requests itself, or by each worker): the
    # library's own variable (server.observability.MULTIPROC_ENV)
    metrics_folder = Path(tempfile.mkdtemp(prefix="fieldcase-metrics-"))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_folder)
    from server import observability
    from server.main import SUPERVISOR_ENV

    # the worker processes read the database's address as this one did: from the file named
    # by FIELDCASE_DB_URL_FILE when that is where it came from (the secret stays out of the
    # environment), else from FIELDCASE_DB_URL, set here to what --db or the default said
    if args.db or not os.environ.get(DB_URL_FILE_ENV):
        os.environ.pop(DB_URL_FILE_ENV, None)
        os.environ["FIELDCASE_DB_URL"] = settings.db_url
    os.environ[SUPERVISOR_ENV] = str(os.getpid())  # workers stop when this process ends

    if args.metrics_port:
        observability.serve_metrics(args.metrics_host, args.metrics_port)
    print(
        f"Fieldcase central service on {'https' if args.tls_cert else 'http'}://"
        f"{args.host}:{args.port} ({engine.dialect.name}, {words.plural(args.workers, 'worker')})",
        flush=True,
    )
    try:
        uvicorn.run(
            "server.main:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers if args.workers > 1 else None,
            ssl_certfile=args.tls_cert,
            ssl_keyfile=args.tls_key,
            log_level=args.log_level,
            log_config=dict(
                observability.log_config(args.log_level, json_lines=args.log_format == "json")
            ),
            access_log=False,  # the service's own access log (no addresses, no query strings)
            proxy_headers=True,
            forwarded_allow_ips=os.environ.get("FIELDCASE_TRUSTED_PROXIES", "127.0.0.1"),
            # a busy worker answers the supervisor's ping late; never kill it mid-request for that
            timeout_worker_healthcheck=120,
        )
    finally:  # also after Ctrl-C, which uvicorn raises again once it has stopped
        shutil.rmtree(metrics_folder, ignore_errors=True)
    return 0


def _password_in(db_url: str | None) -> bool:
    if not db_url:
        return False
    try:
        return bool(make_url(db_url).password)
    except (ArgumentError, ValueError):
        return False  # settings_of has said what is wrong with it


def _check_connections(engine: Engine, settings: Settings, workers: int) -> None:
    """A warning when the service's processes could open more connections than PostgreSQL
    allows (each keeps a pool, and may open more at a busy moment)."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as connection:
        allowed = int(connection.execute(text("SHOW max_connections")).scalar_one())
    most = workers * (settings.db_pool_size + settings.db_max_overflow)
    if most + 5 > allowed:  # a few left for the admin commands and the DBA
        print(
            f"Warning: {words.plural(workers, 'worker')} may open up to {most} database "
            f"connections ({settings.db_pool_size} each, and {settings.db_max_overflow} more "
            f"when busy), but PostgreSQL allows {allowed}. Lower FIELDCASE_DB_POOL_SIZE or "
            "FIELDCASE_DB_MAX_OVERFLOW, use fewer workers, or raise max_connections.",
            file=sys.stderr,
            flush=True,
        )


def _check_address(host: str, port: int) -> None:
    """One plain line, before the server starts, when it could not listen on host:port."""
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (OSError, UnicodeError):
        raise CliError(
            f"--host {host} is not an address of this computer. Use 127.0.0.1 behind a "
            "reverse proxy, or 0.0.0.0 for every address.",
            exit_code=EXIT_USAGE,
        ) from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will
        try:
            probe.bind(address)
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                raise CliError(
                    f"Port {port} on {host} is already in use by another program. Stop it, or "
                    "choose another --port.",
                    exit_code=EXIT_UNAVAILABLE,
                ) from None
            if err.errno in (errno.EACCES, errno.EPERM):
                raise CliError(
                    f"This user may not listen on port {port}. Use a port above 1023 behind "
                    "a reverse proxy (docs/server-deployment.md).",
                    exit_code=EXIT_REFUSED,
                ) from None
            raise CliError(
                f"Could not listen on {host} port {port} ({err.strerror}). Check --host.",
                exit_code=EXIT_USAGE,
            ) from None


def _pending_words(state: SchemaState) -> str:
    if state.current is None:
        what = "The database has no Fieldcase tables yet"
    else:
        what = (
            f"The database needs {words.plural(len(state.pending), 'migration')} "
            f"({state.pending[0]} to {state.pending[-1]}) before this version of the service "
            "can use it"
        )
    return (
        f"{what}. Run `fieldcase-server migrate` with a database user that owns the schema "
        "(or print the SQL for your database administrator with `fieldcase-server migrate "
        "--sql`), or start the service with `serve --migrate`."
    )


def _migrated_words(state: SchemaState) -> str:
    ran = words.plural(len(state.pending), "migration")
    return f"The database was brought up to date ({ran}: {state.pending[0]} to {state.head})."


def cmd_migrate(args: argparse.Namespace, clock: Clock) -> int:
    """``fieldcase-server migrate [--sql]``: bring the database's schema up to date, or print
    the SQL that would (PostgreSQL), for a database administrator to read and run."""
    settings = settings_of(args)
    engine = engine_of(settings, migrate_schema=False)
    try:
        state = schema_of(engine, settings.db_url)
        if args.sql:
            if engine.dialect.name != "postgresql":
                raise CliError(
                    "--sql prints PostgreSQL's SQL. An SQLite database is brought up to date "
                    "by `fieldcase-server migrate` itself.",
                    exit_code=EXIT_USAGE,
                )
            print(migration_sql(engine) or "-- The database is up to date: nothing to run.")
            return 0
        if not state.pending:
            print(f"The database is up to date (its schema is at {state.current}).")
            return 0
        migrate_plainly(engine, settings.db_url)
        print(_migrated_words(state))
        return 0
    finally:
        engine.dispose()


def cmd_demo(args: argparse.Namespace, clock: Clock) -> int:
    from server import demo

    settings = settings_of(args)
    engine = engine_of(settings)
    demo.seed_and_print(engine, settings, clock)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser("serve", help="run the service")
    add_db_option(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8750)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--tls-cert", metavar="FILE")
    serve.add_argument("--tls-key", metavar="FILE")
    serve.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="info (the default) writes a line for each request",
    )
    serve.add_argument("--log-format", default="json", choices=["json", "text"])
    serve.add_argument(
        "--metrics-port",
        type=int,
        default=0,
        help="serve Prometheus metrics on this port too (default: off)",
    )
    serve.add_argument("--metrics-host", default="127.0.0.1")
    serve.add_argument(
        "--migrate",
        action="store_true",
        help="bring the database up to date first (else the service refuses to start on it)",
    )
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="bring the database's schema up to date")
    add_db_option(migrate)
    migrate.add_argument(
        "--sql", action="store_true", help="print the SQL instead (PostgreSQL), for a DBA"
    )
    migrate.set_defaults(func=cmd_migrate)

    demo = sub.add_parser("demo", help="seed a demo council and print its sign-ins")
    add_db_option(demo)
    demo.set_defaults(func=cmd_demo)
