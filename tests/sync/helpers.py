"""Laptops for the sync tests: real encrypted profiles enrolled with a real running service."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlmodel import select

from app import online
from app.core import Casework
from app.store.models import KIND_MODELS
from app.store.profile import Profile
from app.store.records import record_fields
from app.store.sync_adapter import SyncAdapter
from sync.client import RetryPolicy, ServiceClient, Timeouts
from sync.engine import SyncEngine, SyncProgress, SyncReport
from sync.records import RecordKind
from tests.support.kdf import TEST_KDF
from tests.support.server import ROOT, TEST_PASSWORD

PROFILE_PASSWORD = TEST_PASSWORD  # enrol uses the account password for the profile
#: Kinds compared between laptops (audit events are this laptop's own history).
COMPARED = (
    RecordKind.CASE,
    RecordKind.PERSON,
    RecordKind.WARNING,
    RecordKind.NOTE,
    RecordKind.VISIT,
    RecordKind.DOCUMENT,
)
#: Quick retries for tests: faults are retried in milliseconds (tests of stalls set a shorter
#: stall timeout themselves).
FAST_RETRY = RetryPolicy(attempts=8, base=0.005, cap=0.05)
FAST_TIMEOUTS = Timeouts(connect=5.0, stall=5.0)

_names = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{os.getpid()}x{next(_names)}"


@dataclass
class Laptop:
    folder: Path
    profile: Profile
    url: str  # the service as this laptop reaches it (maybe through a proxy)
    user: str
    reports: list[SyncReport] = field(default_factory=list)

    @property
    def work(self) -> Casework:
        return Casework(self.profile)

    @property
    def store(self) -> SyncAdapter:
        return SyncAdapter(self.profile)

    def client(self, url: str | None = None, **kwargs: Any) -> ServiceClient:
        options: dict[str, Any] = {"timeouts": FAST_TIMEOUTS, "retry": FAST_RETRY}
        options.update(kwargs)
        return ServiceClient(url or self.url, credential=self.store.credential(), **options)

    def engine(
        self,
        url: str | None = None,
        *,
        progress: Callable[[SyncProgress], None] | None = None,
        cancel: threading.Event | None = None,
        **kwargs: Any,
    ) -> SyncEngine:
        page_bytes = kwargs.pop("page_bytes", None)
        engine_kwargs: dict[str, Any] = {"progress": progress, "cancel": cancel}
        if page_bytes:
            engine_kwargs["page_bytes"] = page_bytes
        return SyncEngine(self.store, self.client(url, **kwargs), **engine_kwargs)

    def sync(self, url: str | None = None, **kwargs: Any) -> SyncReport:
        engine = self.engine(url, **kwargs)
        try:
            report = engine.sync()
        finally:
            engine.client.close()
        self.reports.append(report)
        return report

    def state(self) -> dict[tuple[str, UUID], dict[str, Any]]:
        """Every synced record this laptop holds, as wire fields."""
        out: dict[tuple[str, UUID], dict[str, Any]] = {}
        with self.profile.session() as s:
            for kind in COMPARED:
                model = KIND_MODELS[kind]
                for row in s.exec(select(model)).all():
                    out[(kind.value, row.id)] = record_fields(row)
        return out

    def case_id(self, ref: str) -> UUID:
        return UUID(str(self.work.get_case(ref, record_view=False).id))

    def close(self) -> None:
        self.profile.close()


def enrol_laptop(folder: Path, url: str, user: str, *, password: str = TEST_PASSWORD) -> Laptop:
    """Enrol a laptop for ``user``; its profile password is the account password."""
    result = online.enrol(
        folder,
        url,
        user,
        password,
        device_name=f"laptop {folder.name}",
        options=online.ClientOptions(timeouts=FAST_TIMEOUTS, retry=FAST_RETRY),
        keep_open=True,
        kdf=TEST_KDF,
    )
    assert result.report is not None, result.sync_problem
    assert result.profile is not None
    return Laptop(folder, result.profile, url, user)


def add_users(db_url: str, users: list[tuple[str, str, str]]) -> None:
    """Add (name, team, role) users. In a child process: the service's and the laptop's
    SQLModel tables share one metadata and cannot be imported into one process."""
    script = (
        "import json, sys\n"
        "from tests.support.server import add_user\n"
        "db, users = json.loads(sys.argv[1])\n"
        "for name, team, role in users:\n"
        "    add_user(db, name, team, role=role)\n"
    )
    subprocess.run(
        [sys.executable, "-c", script, json.dumps([db_url, users])],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
        timeout=120,
    )


def child_call(module: str, function: str, *args: Any) -> Any:
    """``module.function(*args)`` in a child process (the service's and the laptop's tables
    cannot be imported into one process); its JSON result."""
    script = (
        "import importlib, json, sys\n"
        "target = getattr(importlib.import_module(sys.argv[1]), sys.argv[2])\n"
        "print(json.dumps(target(*json.loads(sys.argv[3]))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, module, function, json.dumps(list(args))],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def support_call(function: str, *args: Any) -> Any:
    """Call ``tests.support.server.<function>(*args)`` in a child process (see add_users)."""
    return child_call("tests.support.server", function, *args)


def new_team_users(db_url: str, count: int, *, role: str = "caseworker") -> tuple[str, list[str]]:
    team = unique("team")
    users = [unique("worker") for _ in range(count)]
    add_users(db_url, [(name, team, role) for name in users])
    return team, users
