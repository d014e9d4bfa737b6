"""What the window asks of the rest of Fieldcase, in one place.

Screens call a :class:`Backend` only through :mod:`app.ui.work` (its methods block: they run
on the DB worker, and :meth:`Backend.sync` on the network worker). :class:`Gate` opens one:
unlock, enrol and recovery. The real implementations over the core actions, the vault and the
sync engine live in :mod:`app.ui.core_backend`; nothing else in ``app/ui`` imports them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

from app.ui.rows import CaseQuery

if TYPE_CHECKING:
    from app.core import CaseDetail, CaseRow, Clash, SettledClash, VisitRow


class Backend(Protocol):
    username: str
    team: str
    display_name: str
    case_types: dict[str, str]

    def list_cases(self, flt: CaseQuery, offset: int, limit: int) -> tuple[list[CaseRow], int]: ...

    def case_detail(self, case_id: UUID) -> CaseDetail: ...

    def my_day(self, team: bool = False) -> list[VisitRow]: ...

    def create_case(self, fields: dict[str, Any]) -> UUID: ...

    def edit_case(self, case_id: UUID, changes: dict[str, Any]) -> None: ...

    def add_note(self, case_id: UUID, text: str, corrects: UUID | None = None) -> None: ...

    def add_visit(
        self, case_id: UUID, title: str, due: datetime, place: str, kind: str = "visit"
    ) -> None: ...

    def complete_visit(self, visit_id: UUID, note: str, outcome: str = "done") -> None: ...

    def add_warning(self, case_id: UUID, text: str, category: str) -> None: ...

    def retire_warning(self, warning_id: UUID) -> None: ...

    def add_document(self, case_id: UUID, path: Path) -> None: ...

    def read_document(self, document_id: UUID) -> bytes: ...

    def print_case(
        self, case_id: UUID, out_path: Path, notes: list[UUID], warnings: bool, large: bool
    ) -> Path:
        """The case's printed record as a PDF at ``out_path`` (audited ``printed``)."""
        ...

    def print_pages(
        self, case_id: UUID, notes: list[UUID], warnings: bool, large: bool, ppi: int
    ) -> list[bytes]:
        """The printed record as one PNG per page, for the system's printer."""
        ...

    def clashes(self) -> list[Clash]: ...

    def settled_clashes(self) -> list[SettledClash]:
        """Clashes someone else settled lately (the first decision settles one for everyone)."""
        ...

    def resolve_clash(self, conflict_id: UUID, value: Any, keep: str | None = None) -> None:
        """keep: "mine" or "theirs"; anything else writes ``value``."""
        ...

    def counts(self) -> tuple[Any, ...]:
        """(changes waiting to send, clashes waiting, last successful sync or None)"""
        ...

    def drafts(self) -> dict[str, str]: ...

    def save_draft(self, key: str, text: str) -> None: ...

    def drop_draft(self, key: str) -> None: ...

    def sync(
        self,
        cancel: threading.Event,
        progress: Callable[[Any], None],
        db_call: Callable[..., Any] | None = None,
    ) -> Any:
        """Runs on the network worker (store calls go through ``db_call`` to the DB
        worker); returns a report with ``summary()``."""
        ...

    def sign_in_again(
        self,
        open_browser: Callable[[str], object],
        cancel: threading.Event,
        db_call: Callable[..., Any],
    ) -> None:
        """Runs on the network worker: the person signs in again with the council's account
        in the browser, when a sync said the sign-in ran out."""
        ...

    def service_history(
        self, case_id: UUID, cancel: threading.Event, db_call: Callable[..., Any]
    ) -> Any:
        """Runs on the network worker: the case's full history from the service, or why only
        this laptop's own is shown (:class:`app.online.ServiceHistory`)."""
        ...

    def role(self) -> str | None:
        """The user's role as the service last said (None: not heard yet)."""
        ...

    def duplicate_pairs(self, cancel: threading.Event, db_call: Callable[..., Any]) -> Any:
        """Runs on the network worker: the possible duplicates waiting for this reviewer
        (``app.core.WaitingPairs``)."""
        ...

    def decide_duplicate(
        self,
        keep: UUID,
        other: UUID,
        same: bool,
        reason: str,
        cancel: threading.Event,
        db_call: Callable[..., Any],
    ) -> str:
        """Runs on the network worker: merge ``other`` into ``keep`` (``same``) or say they
        are not the same person; what to tell the reviewer."""
        ...

    def close(self) -> None:
        """Drop the keys: close the profile."""
        ...


class Gate(Protocol):
    """Opens a profile. Each call blocks (run it on a worker)."""

    profile_dir: Path

    def has_profile(self) -> bool: ...

    def unlock(self, password: str) -> Backend: ...

    def enrol(
        self,
        server_url: str,
        username: str,
        password: str,
        new_password: str,
        progress: Callable[[Any], None] | None = None,
    ) -> Backend: ...

    def recover(self, username: str, password: str, new_password: str) -> Backend: ...

    def sign_in_ways(self, server_url: str, cancel: threading.Event) -> Any:
        """How people sign in to that service (``sync.protocol.SignInWays``)."""
        ...

    def enrol_sso(
        self,
        server_url: str,
        new_password: str,
        open_browser: Callable[[str], object],
        cancel: threading.Event,
        progress: Callable[[Any], None] | None = None,
    ) -> Backend:
        """As :meth:`enrol`, signing in with the council's account in the browser."""
        ...

    def enrolled_by_sso(self) -> bool:
        """This laptop's person signs in with the council's account (recovery asks for it)."""
        ...

    def recover_sso(
        self, new_password: str, open_browser: Callable[[str], object], cancel: threading.Event
    ) -> Backend:
        """As :meth:`recover`, signing in with the council's account in the browser."""
        ...
