"""The window's :class:`~app.ui.backend.Backend` over the one application facade: the core
actions (:class:`app.core.Casework`, which takes a case's id or its reference) and the one
sync entry point (:func:`app.online.sync`). A thin adapter, with no Qt and no rules of its
own: every method blocks and is called on the window's DB worker (``sync`` on the network
worker, handing each store call back to the DB worker through ``db_call``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from app.errors import FieldcaseError
from app.ui.rows import CaseQuery

if TYPE_CHECKING:
    from app.core import CaseDetail, CaseRow, Clash, SettledClash, VisitRow
    from app.core.profiles import Profile
    from sync.clock import Clock

# The core (SQLAlchemy, SQLModel, Alembic) and the sync code are imported inside the methods
# that use them: they all run on a worker after the profile is unlocked, and loading them at
# import time would hold up the unlock screen by a second or more.

log = logging.getLogger("fieldcase.ui.backend")

#: the window's sort keys, each the value of an ``app.core.CaseSort`` member
SORTS = ("ref", "name", "status", "priority", "next_review")

#: run a callable on the DB worker and wait for its result (from another worker thread)
DbCall = Callable[..., Any]

NOT_LINKED = (
    "This laptop is not linked to a Fieldcase service yet, so it cannot sync. "
    "Ask your IT team to set it up."
)


def _iso(value: Any) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return "" if value is None else str(value)


class CoreBackend:
    """One open profile, as the window sees it."""

    def __init__(
        self,
        profile: Profile,
        *,
        server_url: str = "",
        site: Any = None,
        client_options: Any = None,
    ) -> None:
        from app.core import Casework

        self.profile = profile
        self.site = site
        self.client_options = client_options
        self.core = Casework(profile)
        self.username = profile.user
        self.team = profile.team
        self.display_name = profile.user
        self.case_types = self.core.case_types()
        self.server_url = server_url
        self._viewed: set[UUID] = set()  # a case's first view this session is recorded

    def set_server_url(self, url: str) -> None:
        self.server_url = url

    # ------------------------------------------------------------------ cases
    def list_cases(self, flt: CaseQuery, offset: int, limit: int) -> tuple[list[CaseRow], int]:
        from app.core import CaseFilter, CaseSort

        core_filter = CaseFilter(
            status=flt.status,
            priority=flt.priority,
            type=flt.case_type,
            team=self.team if flt.my_team and self.team else None,
            assigned_to=self.username if flt.mine else None,
            review_due=flt.review_due,
        )
        if flt.review_due:  # cases whose review has come: soonest review first
            sort, descending = CaseSort.NEXT_REVIEW, False
        else:
            sort = CaseSort(flt.sort) if flt.sort in SORTS else CaseSort.REF
            descending = flt.descending
        return self.core.page_of_cases(
            flt.text or None, core_filter, sort, offset, limit, descending=descending
        )

    def case_detail(self, case_id: UUID) -> CaseDetail:
        first_view = case_id not in self._viewed
        detail = self.core.get_case(case_id, record_view=first_view, with_history=True)
        self._viewed.add(case_id)
        return detail

    def my_day(self, team: bool = False) -> list[VisitRow]:
        return self.core.my_day(team=team)

    def create_case(self, fields: dict[str, Any]) -> UUID:
        values: dict[str, str] = {"summary": fields.get("summary", "")}
        if fields.get("priority"):
            values["priority"] = fields["priority"]
        if fields.get("address"):
            values["person.address"] = fields["address"]
        ref = self.core.create_case(fields["type"], fields["person_name"], values)
        if fields.get("warning"):
            self.core.add_warning(ref, fields["warning"], fields.get("warning_category") or "risk")
        return self.core.get_case(ref, record_view=False).id

    def edit_case(self, case_id: UUID, changes: dict[str, Any]) -> None:
        self.core.edit_case(case_id, {k: _iso(v) for k, v in changes.items()})

    def add_note(self, case_id: UUID, text: str, corrects: UUID | None = None) -> None:
        self.core.add_note(case_id, text, corrects)

    def add_visit(
        self, case_id: UUID, title: str, due: datetime, place: str, kind: str = "visit"
    ) -> None:
        self.core.add_visit(case_id, due, place, title, kind)

    def complete_visit(self, visit_id: UUID, note: str, outcome: str = "done") -> None:
        self.core.complete_visit(visit_id, note, outcome)

    def add_warning(self, case_id: UUID, text: str, category: str) -> None:
        self.core.add_warning(case_id, text, category)

    def retire_warning(self, warning_id: UUID) -> None:
        self.core.retire_warning(warning_id)

    def add_document(self, case_id: UUID, path: Path) -> None:
        self.core.add_document(case_id, path)

    def read_document(self, document_id: UUID) -> bytes:
        with self.core.open_document(document_id) as reader:
            return reader.read()

    def print_case(
        self, case_id: UUID, out_path: Path, notes: list[UUID], warnings: bool, large: bool
    ) -> Path:
        from app.core import Handout

        choice = Handout(notes=notes, warnings=warnings, large_print=large)
        return self.core.print_case(case_id, out_path, choice)

    def print_pages(
        self, case_id: UUID, notes: list[UUID], warnings: bool, large: bool, ppi: int
    ) -> list[bytes]:
        from app.core import Handout

        choice = Handout(notes=notes, warnings=warnings, large_print=large)
        return self.core.print_pages(case_id, choice, ppi=ppi)

    # ------------------------------------------------------------------ clashes
    def clashes(self) -> list[Clash]:
        from app.core import clashes

        return clashes.clashes(self.profile)

    def settled_clashes(self) -> list[SettledClash]:
        from app.core import clashes

        return clashes.settled_by_others(self.profile)

    def resolve_clash(self, conflict_id: UUID, value: Any, keep: str | None = None) -> None:
        from app.core import clashes

        if keep in ("mine", "theirs"):
            clashes.resolve_clash(self.profile, str(conflict_id), keep=keep)
        else:
            clashes.resolve_clash(self.profile, str(conflict_id), value=str(value))

    # ------------------------------------------------------------------ counts, drafts
    def counts(self) -> tuple[int, int, datetime | None]:
        """(changes waiting to send, clashes waiting, last successful sync)"""
        from app.core import clashes

        status = clashes.status(self.profile)
        return status.waiting, status.clashes, status.last_sync

    def last_sync(self) -> datetime | None:
        return self.counts()[2]

    def drafts(self) -> dict[str, str]:
        from app.core import drafts

        return drafts.drafts(self.profile)

    def save_draft(self, key: str, text: str) -> None:
        from app.core import drafts

        drafts.save_draft(self.profile, key, text)

    def drop_draft(self, key: str) -> None:
        from app.core import drafts

        drafts.drop_draft(self.profile, key)

    # ------------------------------------------------------------------ sync
    def sync(
        self,
        cancel: threading.Event,
        progress: Callable[[Any], None],
        db_call: DbCall | None = None,
    ) -> Any:
        """One sync through the one entry point; the engine reaches the store through the
        DB worker (``db_call``)."""
        from app import online

        try:
            return online.sync(
                self.profile,
                site=self.site,
                options=self.client_options,
                progress=progress,
                cancel=cancel,
                server_url=self.server_url or None,
                store_call=db_call,
            )
        except online.NotEnrolled:
            raise FieldcaseError(NOT_LINKED) from None

    def sign_in_again(
        self, open_browser: Callable[[str], object], cancel: threading.Event, db_call: DbCall
    ) -> None:
        from app import online

        online.sign_in_again(
            self.profile,
            open_browser,
            site=self.site,
            options=self.client_options,
            cancel=cancel,
            server_url=self.server_url or None,
            store_call=db_call,
        )

    def service_history(self, case_id: UUID, cancel: threading.Event, db_call: DbCall) -> Any:
        """The case's full history from the service (managers, governance officers); the
        credential is read on the DB worker, the question asked on this (network) one."""
        from app import online

        credential = db_call(online.device_credential, self.profile)
        return online.service_history(
            credential,
            case_id,
            site=self.site,
            options=self.client_options,
            server_url=self.server_url or None,
            cancel=cancel,
        )

    # ------------------------------------------------------------ possible duplicates
    def role(self) -> str | None:
        """The user's role as the service last said at a sync (None: not heard yet)."""
        return self.core.role()

    def duplicate_pairs(self, cancel: threading.Event, db_call: DbCall) -> Any:
        """The possible duplicates waiting for this reviewer (``app.core.WaitingPairs``)."""
        from app import online

        credential = db_call(online.device_credential, self.profile)
        return online.waiting_pairs(
            credential,
            site=self.site,
            options=self.client_options,
            server_url=self.server_url or None,
            cancel=cancel,
        )

    def decide_duplicate(
        self,
        keep: UUID,
        other: UUID,
        same: bool,
        reason: str,
        cancel: threading.Event,
        db_call: DbCall,
    ) -> str:
        """Send a reviewer's decision; what to tell them (``app.online.DecisionFailed``)."""
        from app import online

        credential = db_call(online.device_credential, self.profile)
        return online.decide_pair(
            credential,
            keep,
            other,
            same=same,
            reason=reason,
            site=self.site,
            options=self.client_options,
            server_url=self.server_url or None,
            cancel=cancel,
        )

    def close(self) -> None:
        self.profile.close()


class CoreGate:
    """Opens the profile in ``profile_dir``: unlock, enrol (first run) or recovery."""

    def __init__(
        self,
        profile_dir: Path,
        site: Any = None,
        client_options: Any = None,
        server_url: str = "",
        clock: Clock | None = None,
    ) -> None:
        self.profile_dir = Path(profile_dir)
        #: the window's one clock, handed to every profile opened here
        self.clock = clock
        self.site = site
        self.client_options = client_options
        #: when set, sync goes here whatever the enrolment said (the demo's service moves port)
        self.server_url = server_url
        self._backed_up = False

    def has_profile(self) -> bool:
        # asked before unlock, on the GUI thread: only the vault's look at the key file, so
        # the core and the store stay unloaded until the profile is opened
        from app.vault import has_key_file

        return has_key_file(self.profile_dir)

    def _backend(self, profile: Profile) -> CoreBackend:
        from app import online

        return CoreBackend(
            profile,
            server_url=self.server_url or online.server_url_of(profile),
            site=self.site,
            client_options=self.client_options,
        )

    def unlock(self, password: str) -> CoreBackend:
        # back up on the first unlock of a run; unlocking again after an auto-lock does not
        # make another copy of the same data
        from app.core import profiles

        profile = profiles.open_profile(
            self.profile_dir, password, backup=not self._backed_up, clock=self.clock
        )
        self._backed_up = True
        return self._backend(profile)

    def enrol(
        self,
        server_url: str,
        username: str,
        password: str,
        new_password: str,
        progress: Callable[[Any], None] | None = None,
    ) -> CoreBackend:
        """Register this laptop and pull the user's cases; then set the laptop's own
        password (the profile starts out with the council password)."""
        from app import online
        from app.core import profiles

        online.enrol(
            self.profile_dir,
            server_url,
            username,
            password,
            site=self.site,
            options=self.client_options,
            progress=progress,
            clock=self.clock,
        )
        profile = profiles.open_profile(self.profile_dir, password, backup=False, clock=self.clock)
        if new_password and new_password != password:
            profile.change_password(password, new_password, site=self.site)
        return self._backend(profile)

    def recover(self, username: str, password: str, new_password: str) -> CoreBackend:
        from app import online

        profile = online.recover(
            self.profile_dir,
            password,
            new_password,
            username=username or None,
            site=self.site,
            options=self.client_options,
            clock=self.clock,
        )
        return self._backend(profile)

    def sign_in_ways(self, server_url: str, cancel: threading.Event) -> Any:
        from app import online

        # asked once, not retried: the tests' quick options keep their timeouts and clock
        options = self.client_options
        if options is not None:
            options = replace(options, retry=online.ASK_ONCE.retry)
        return online.sign_in_ways(server_url, site=self.site, options=options, cancel=cancel)

    def enrol_sso(
        self,
        server_url: str,
        new_password: str,
        open_browser: Callable[[str], object],
        cancel: threading.Event,
        progress: Callable[[Any], None] | None = None,
    ) -> CoreBackend:
        """Sign in with the council's account in the browser, register this laptop and pull
        the user's cases; ``new_password`` alone unlocks the profile."""
        from app import online

        made = online.enrol_sso(
            self.profile_dir,
            server_url,
            new_password,
            open_browser,
            site=self.site,
            options=self.client_options,
            progress=progress,
            keep_open=True,
            clock=self.clock,
            cancel=cancel,
        )
        assert made.profile is not None  # kept open, as asked
        return self._backend(made.profile)

    def enrolled_by_sso(self) -> bool:
        # on the GUI thread before unlock: the device file only (as has_profile)
        from app import device_file

        return device_file.enrolled_by_sso(self.profile_dir)

    def recover_sso(
        self, new_password: str, open_browser: Callable[[str], object], cancel: threading.Event
    ) -> CoreBackend:
        from app import online

        profile = online.recover_sso(
            self.profile_dir,
            new_password,
            open_browser,
            site=self.site,
            options=self.client_options,
            clock=self.clock,
            cancel=cancel,
        )
        return self._backend(profile)
