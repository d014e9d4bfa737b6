"""Admin actions on the audit trail: its key, checkpoints (and key rotation), and the check.

``verify-audit`` exit codes: 0 intact, 3 broken, 4 not every row could be checked because a
key was not given (nothing found broken in what could be checked).
"""

from __future__ import annotations

import argparse
import uuid
from pathlib import Path

from sqlmodel import Session, col, select

from server import audit, crud
from server.audit_check import Checkpoint, VerifyReport, verify
from server.audit_key import (
    AuditKey,
    AuditKeyError,
    load_key,
    new_key_text,
    read_key_file,
    write_private,
)
from server.cli.common import CliError, Commands, engine_of, settings_of
from server.core.config import Settings
from server.core.db import unit_of_work
from server.models import ErasedCase
from server.records import history
from server.records.scope import find_case_by_ref
from sync import words
from sync.clock import Clock

EXIT_BROKEN = 3
EXIT_KEY_MISSING = 4


def _current_key(settings: Settings, *, create: bool) -> AuditKey | None:
    try:
        return load_key(settings, create=create)
    except AuditKeyError as err:
        raise CliError(str(err)) from err


def cmd_make_audit_key(args: argparse.Namespace, clock: Clock) -> int:
    path = Path(args.out)
    text = new_key_text()
    try:
        write_private(path, text + "\n")
    except AuditKeyError as err:
        raise CliError(str(err)) from err
    except OSError as err:
        raise CliError(f"{path} could not be written ({err.strerror or err}).") from err
    key = read_key_file(path)
    print(
        f"Made a new audit key in {path} (key id {key.key_id}; only its owner may read it).\n"
        f"Set FIELDCASE_AUDIT_KEY_FILE={path} for the service, and keep a copy somewhere safe "
        "apart from the database and its backups (see docs/server-deployment.md)."
    )
    return 0


def cmd_audit_checkpoint(args: argparse.Namespace, clock: Clock) -> int:
    out = Path(args.out).expanduser()
    if out.exists():
        raise CliError(f"{out} already exists. Choose a new file name for the checkpoint.")
    settings = settings_of(args)
    new_key = None
    if args.new_key_file:
        try:
            new_key = read_key_file(Path(args.new_key_file))
        except AuditKeyError as err:
            raise CliError(str(err)) from err
    if args.old_key_lost and new_key is None:
        raise CliError("--old-key-lost needs --new-key-file NEW: the key to go on with.")
    engine = engine_of(settings)
    key = new_key if args.old_key_lost else _current_key(settings, create=True)
    audit.use_key(engine, key)
    try:
        with unit_of_work(engine) as session:
            if new_key is not None and args.old_key_lost:
                audit.declare_lost(session, new_key, at=clock.now())
            elif new_key is not None:
                audit.rotate(session, new_key, at=clock.now())
            checkpoint = Checkpoint.take(session, clock.now())
    except AuditKeyError as err:
        raise CliError(str(err)) from err
    try:
        checkpoint.write(out)
    except (AuditKeyError, OSError) as err:
        raise CliError(
            f"The checkpoint could not be written to {out} ({err}). Run the command again "
            "with another file."
        ) from err
    print(
        f"Checkpoint written to {out}: {checkpoint.rows} entries, last entry "
        f"{checkpoint.last_id}. Keep it away from the database (another machine or write-once "
        "storage); `admin verify-audit --checkpoint FILE` uses it."
    )
    if new_key is not None and args.old_key_lost:
        print(
            f"The old key is recorded as lost; from the next entry the trail is kept with the "
            f"new key (id {new_key.key_id}). Set FIELDCASE_AUDIT_KEY_FILE={args.new_key_file} "
            "and restart the service. Entries made with the lost key can no longer be checked: "
            "verify-audit will say so (exit 4)."
        )
    elif new_key is not None and key is not None:
        print(
            f"From the next entry the trail is kept with the new key (id {new_key.key_id}). "
            f"Now set FIELDCASE_AUDIT_KEY_FILE={args.new_key_file} for the service and restart "
            f"it. Keep the old key (id {key.key_id}): checking the entries before the rotation "
            "needs it (`verify-audit --old-key-file OLD`)."
        )
    return 0


def _keys(args: argparse.Namespace, settings: Settings) -> dict[str, bytes]:
    keys: dict[str, bytes] = {}
    try:
        current = load_key(settings, create=False)
    except AuditKeyError as err:
        print(f"Note: {err}")
        current = None
    found = [current] if current else []
    for name in args.old_key_file or []:
        try:
            found.append(read_key_file(Path(name)))
        except AuditKeyError as err:
            raise CliError(str(err)) from err
    for key in found:
        keys[key.key_id] = key.secret
    return keys


def _say(report: VerifyReport, checkpoint: Checkpoint | None) -> int:
    if not report.ok:
        print(
            f"The audit trail is BROKEN at row {report.broken_id}: {report.reason}. "
            f"{report.checked} entries before it were checked. Keep a copy of the database "
            "and investigate.",
        )
        return EXIT_BROKEN
    since = f", and it still holds the checkpoint of {checkpoint.at}" if checkpoint else ""
    for row in report.key_lost_at:
        print(f"Note: the audit key was recorded as lost at entry {row}.")
    if report.unverified:
        print(
            f"The audit trail CANNOT be fully checked: {report.unverified} of {report.checked} "
            f"entries were made with a key this command was not given (key id "
            f"{', '.join(report.missing_keys)}). Their links are whole{since}, but their "
            "content is unchecked. Give the key with FIELDCASE_AUDIT_KEY_FILE or "
            "--old-key-file FILE."
        )
        return EXIT_KEY_MISSING
    print(f"The audit trail is intact ({report.checked} entries checked{since}).")
    if checkpoint is None:
        print(
            "Without a checkpoint, entries deleted from the end cannot be seen: take one "
            "regularly with `admin audit-checkpoint --out FILE` and check with --checkpoint."
        )
    return 0


def cmd_verify_audit(args: argparse.Namespace, clock: Clock) -> int:
    settings = settings_of(args)
    checkpoint = None
    if args.checkpoint:
        try:
            checkpoint = Checkpoint.read(Path(args.checkpoint))
        except ValueError as err:
            raise CliError(str(err)) from err
    keys = _keys(args, settings)
    engine = engine_of(settings)
    with Session(engine) as session:
        report = verify(session, keys, checkpoint)
    return _say(report, checkpoint)


def cmd_audit(args: argparse.Namespace, clock: Clock) -> int:
    """Who saw and changed a case (``--case REF``), or what a user did (``--user NAME``)."""
    if bool(args.case) == bool(args.user):
        raise CliError("Name a case (--case REF) or a user (--user NAME), one of the two.")
    engine = engine_of(settings_of(args))
    with Session(engine) as session:
        if args.case:
            case_id = _case_id(session, args.case)
            lines = history.case_history(session, case_id)
            said = [line.sentence() for line in lines]
            title = f"The history of case {args.case}"
        else:
            crud.require_user(session, args.user)
            lines = history.user_history(session, args.user)
            said = [line.sentence(of_case=False) for line in lines]
            title = f"What {args.user} did to cases"
    if not said:
        print(f"{title}: nothing recorded.")
        return 0
    print(f"{title} ({words.plural(len(said), 'entry', 'entries')}, oldest first):")
    for line in said:
        print(f"  {line}")
    return 0


def _case_id(session: Session, ref: str) -> uuid.UUID:
    scope = find_case_by_ref(session, ref)
    if scope is not None:
        return scope.case_id
    gone = session.exec(select(ErasedCase).where(col(ErasedCase.ref) == ref)).first()
    if gone is not None:
        return gone.case_id
    raise CliError(f"There is no case with reference {ref!r}.")


def register(commands: Commands) -> None:
    p = commands.add("audit", cmd_audit, "who saw and changed a case, or what a user did")
    p.add_argument("--case", metavar="REF")
    p.add_argument("--user", metavar="NAME")
    p = commands.add(
        "verify-audit",
        cmd_verify_audit,
        "check the audit trail (exit 0 intact, 3 broken, 4 a key is missing)",
    )
    p.add_argument("--checkpoint", metavar="FILE", help="a checkpoint from audit-checkpoint")
    p.add_argument(
        "--old-key-file",
        metavar="FILE",
        action="append",
        help="a key used before a rotation (repeat for several)",
    )
    p = commands.add(
        "audit-checkpoint",
        cmd_audit_checkpoint,
        "write the audit trail's head to a file kept elsewhere (and rotate the key)",
    )
    p.add_argument("--out", metavar="FILE", required=True)
    p.add_argument("--new-key-file", metavar="NEW", help="start using this key from the next entry")
    p.add_argument(
        "--old-key-lost",
        action="store_true",
        help="with --new-key-file: the current key is lost; go on with the new one",
    )
    p = commands.add("make-audit-key", cmd_make_audit_key, "make a new audit key file (0600)")
    p.add_argument("--out", metavar="FILE", required=True)
