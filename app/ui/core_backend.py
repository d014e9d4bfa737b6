"""The window's :class:`~app.ui.backend.Backend` over the core actions (``app.core``), the
store's sync adapter and the sync engine. No Qt here: every method blocks and is called on
the window's DB worker (``sync`` on the network worker, with each store call handed back to
the DB worker so the profile is only ever used one call at a time).

The core names cases by reference; the window by id. This adapter keeps the mapping.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from app import vault
from app.errors import FieldcaseError
from app.ui.rows import CaseQuery

if TYPE_CHECKING:
    from app.core import CaseDetail, CaseRow, Clash, VisitRow
    from app.core import CaseFilter as CoreFilter
    from app.store.profile import Profile
    from sync.clock import Clock

# The core, the store (SQLAlchemy, SQLModel, Alembic) and the sync engine are imported inside
# the methods that use them: they all run on the DB worker after the profile is unlocked, and
# loading them at import time would hold up the unlock screen by a second or more.

log = logging.getLogger("fieldcase.ui.backend")

#: the window's sort keys, each the value of an ``app.core.CaseSort`` member
SORTS = ("ref", "name", "status", "priority", "next_review")

#: run a callable on the DB worker and wait for its result (from another worker thread)
DbCall = Callable[..., Any]


class SerialStore:
    """The sync engine's view of the store, each call made on the DB worker."""

    def __init__(self, store: Any, db_call: DbCall) -> None:
        self._store = store
        self._db_call = db_call

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._store, name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._db_call(target, *args, **kwargs)

        return call


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
        self.profile = profile
        self.site = site
        self.client_options = client_options
        from app.core import Casework
        from app.store.sync_adapter import SyncAdapter

        self.core = Casework(profile)
        self.adapter = SyncAdapter(profile)
        self.username = profile.user
        self.team = profile.team
        self.display_name = profile.user
        self.case_types = self.core.case_types()
        self.server_url = server_url
        self._refs: dict[UUID, str] = {}
        self._viewed: set[UUID] = set()

    def set_server_url(self, url: str) -> None:
        self.server_url = url

    # ------------------------------------------------------------------ cases
    def _core_filter(self, flt: CaseQuery) -> CoreFilter:
        from app.core import CaseFilter as CoreFilter

        return CoreFilter(
            status=flt.status,
            priority=flt.priority,
            type=flt.case_type,
            team=self.team if flt.my_team and self.team else None,
            assigned_to=self.username if flt.mine else None,
        )

    def _row(self, row: CaseRow) -> CaseRow:
        self._refs[row.case_id] = row.ref
        return row

    def list_cases(self, flt: CaseQuery, offset: int, limit: int) -> tuple[list[CaseRow], int]:
        search = flt.text or None
        core_filter = self._core_filter(flt)
        if flt.review_due:
            return self._review_due(search, core_filter, offset, limit)
        from app.core import CaseSort

        sort = CaseSort(flt.sort) if flt.sort in SORTS else CaseSort.REF
        if not flt.descending:
            rows = self.core.list_cases(search, core_filter, sort, offset, limit)
            if len(rows) < limit:  # the last page: no need to count separately
                total = offset + len(rows)
            else:
                total = self.core.count_cases(search, core_filter)
            return [self._row(r) for r in rows], total
        # the core sorts one way only: read the mirror-image page and turn it round
        total = self.core.count_cases(search, core_filter)
        end = max(0, total - offset)
        start = max(0, end - limit)
        rows = list(reversed(self.core.list_cases(search, core_filter, sort, start, end - start)))
        return [self._row(r) for r in rows], total

    def _review_due(
        self, search: str | None, core_filter: CoreFilter, offset: int, limit: int
    ) -> tuple[list[CaseRow], int]:
        """Cases whose review date has come: the core sorts by review date (soonest first,
        none last), so read pages until the first review still to come."""
        from app.core import CaseSort

        today = self.core.clock.local_today()
        due: list[CaseRow] = []
        start = 0
        page = 500
        while True:
            rows = self.core.list_cases(search, core_filter, CaseSort.NEXT_REVIEW, start, page)
            done = False
            for r in rows:
                if r.next_review is None or r.next_review > today:
                    done = True
                    break
                due.append(self._row(r))
            if done or len(rows) < page:
                break
            start += page
        return due[offset : offset + limit], len(due)

    def ref_of(self, case_id: UUID) -> str:
        ref = self._refs.get(case_id)
        if ref is not None:
            return ref
        from app.core import CaseSort

        offset = 0
        while True:  # a case we have not listed yet (from a clash): find it once
            rows = self.core.list_cases(None, None, CaseSort.REF, offset, 1000)
            for r in rows:
                self._refs[r.case_id] = r.ref
            if case_id in self._refs:
                return self._refs[case_id]
            if len(rows) < 1000:
                raise FieldcaseError(
                    "That case is no longer on this laptop. It may have moved to another team."
                )
            offset += 1000

    def case_detail(self, case_id: UUID) -> CaseDetail:
        ref = self.ref_of(case_id)
        first_view = case_id not in self._viewed
        detail = self.core.get_case(ref, record_view=first_view, with_history=True)
        self._viewed.add(case_id)
        return detail

    def my_day(self) -> list[VisitRow]:
        rows = self.core.my_day()
        for r in rows:
            self._refs[r.case_id] = r.ref
        return rows

    def create_case(self, fields: dict[str, Any]) -> UUID:
        values: dict[str, str] = {"summary": fields.get("summary", "")}
        if fields.get("priority"):
            values["priority"] = fields["priority"]
        if fields.get("address"):
            values["person.address"] = fields["address"]
        ref = self.core.create_case(fields["type"], fields["person_name"], values)
        if fields.get("warning"):
            self.core.add_warning(ref, fields["warning"], fields.get("warning_category") or "risk")
        detail = self.core.get_case(ref, record_view=False)
        self._refs[detail.id] = ref
        return detail.id

    def edit_case(self, case_id: UUID, changes: dict[str, Any]) -> None:
        self.core.edit_case(self.ref_of(case_id), {k: _iso(v) for k, v in changes.items()})

    def add_note(self, case_id: UUID, text: str, corrects: UUID | None = None) -> None:
        self.core.add_note(self.ref_of(case_id), text, corrects)

    def add_visit(
        self, case_id: UUID, title: str, due: datetime, place: str, kind: str = "visit"
    ) -> None:
        self.core.add_visit(self.ref_of(case_id), due, place, title, kind)

    def complete_visit(self, visit_id: UUID, note: str) -> None:
        self.core.complete_visit(visit_id, note)

    def add_warning(self, case_id: UUID, text: str, category: str) -> None:
        self.core.add_warning(self.ref_of(case_id), text, category)

    def add_document(self, case_id: UUID, path: Path) -> None:
        self.core.add_document(self.ref_of(case_id), path)

    def read_document(self, document_id: UUID) -> bytes:
        with self.core.open_document(document_id) as reader:
            return reader.read()

    # ------------------------------------------------------------------ clashes
    def clashes(self) -> list[Clash]:
        from app import online

        return online.clashes(self.profile)

    def resolve_clash(self, conflict_id: UUID, value: Any, keep: str | None = None) -> None:
        from app import online

        if keep in ("mine", "theirs"):
            online.resolve_clash(self.profile, str(conflict_id), keep=keep)
        else:
            online.resolve_clash(self.profile, str(conflict_id), value=str(value))

    # ------------------------------------------------------------------ counts, drafts
    def counts(self) -> tuple[int, int, datetime | None]:
        """(changes waiting to send, clashes waiting, last successful sync)"""
        from app import online

        waiting = any(not c.resolved for c in self.adapter.conflicts())
        # the full list (which skips clashes already settled here) only when there are any
        clashes = len(online.clashes(self.profile)) if waiting else 0
        return self.core.pending_count(), clashes, self.adapter.last_sync()

    def last_sync(self) -> datetime | None:
        return self.adapter.last_sync()

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
        """One sync. The engine reaches the store through the DB worker (``db_call``)."""
        from app import online
        from sync.engine import SyncEngine

        store: Any = self.adapter if db_call is None else SerialStore(self.adapter, db_call)
        credential = store.credential()
        if credential is None:
            raise FieldcaseError(
                "This laptop is not linked to a Fieldcase service yet, so it cannot sync. "
                "Ask your IT team to set it up."
            )
        client = online.make_client(
            self.server_url or credential.server_url,
            credential=credential,
            site=self.site,
            options=self.client_options,
            cancel=cancel,
        )
        try:
            return SyncEngine(store, client, progress=progress, cancel=cancel).sync()
        finally:
            client.close()

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
        return vault.has_key_file(self.profile_dir)

    def _backend(self, profile: Profile) -> CoreBackend:
        from app.store.sync_adapter import SyncAdapter

        credential = SyncAdapter(profile).credential()
        return CoreBackend(
            profile,
            server_url=self.server_url or (credential.server_url if credential else ""),
            site=self.site,
            client_options=self.client_options,
        )

    def unlock(self, password: str) -> CoreBackend:
        # back up on the first unlock of a run; unlocking again after an auto-lock does not
        # make another copy of the same data
        from app.store.profile import Profile

        profile = Profile.open(
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
        from app.store.profile import Profile

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
        profile = Profile.open(self.profile_dir, password, backup=False, clock=self.clock)
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
