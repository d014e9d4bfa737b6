"""Admin actions on the audit trail."""

from __future__ import annotations

import argparse

from sqlmodel import Session

from server import audit
from server.cli.common import Commands, engine_of, settings_of
from sync.clock import Clock


def cmd_verify_audit(args: argparse.Namespace, clock: Clock) -> int:
    engine = engine_of(settings_of(args))
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


def register(commands: Commands) -> None:
    commands.add("verify-audit", cmd_verify_audit, "check the audit trail's hash chain")
