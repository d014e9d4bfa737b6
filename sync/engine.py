"""The laptop's sync engine: send what waits, fetch what changed, never lose or repeat an edit.

One :meth:`SyncEngine.sync` does, in order:

0. ask the service for this device's push mark (protocol 2): when it is above the laptop's
   own, the data file was rolled back (a restore, or an older copy put in its place); the
   laptop then pulls everything again, drops its reserved reference blocks for fresh ones and
   says so, while its unsent work is still sent;
1. upload the content of documents the service does not hold yet, in 1 MiB chunks, resuming
   at the service's offset, *before* the changes that refer to them are pushed: content sent
   ahead of its record carries the case it is for (``X-Case-Id``) and the service keeps it
   staged for this laptop alone until the record arrives, so a colleague who pulls the record
   can always fetch the content too;
2. push the outbox in batches; a change leaves the outbox only when the service confirmed it,
   and a replayed batch is harmless (every change carries its own id); each push carries a
   push mark the laptop raised and committed first; a case made offline whose reference
   another case holds (``duplicate_ref``) is given a fresh reference and sent again;
3. top up the reserved case reference numbers;
4. pull pages until up to date, each page and its cursor committed in one local transaction
   (a record the laptop cannot store is set aside by the store and the pull carries on past
   it; records set aside by an older Fieldcase are tried again first);
5. upload and push again if anything was made meanwhile, purge cases that left this user's
   scope once their edits are sent, and fetch documents in resumable chunks.

It imports no Qt: progress goes to a plain callback, and a :class:`threading.Event` cancels it
between requests and pages, leaving everything consistent. Ordering never depends on the
laptop's clock; the service's clock is only compared with it to warn about a wrong clock.
The engine and its client read time only through one :class:`~sync.clock.Clock` (the client's
unless the engine is given one).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID

from sync import collector, words
from sync.client import NOT_ENROLLED, ServiceClient
from sync.clock import Clock
from sync.errors import (
    AuthFailed,
    Cancelled,
    DeviceRevoked,
    ServiceError,
    ServiceErrorKind,
)
from sync.protocol import (
    DEFAULT_PAGE_BYTES,
    DOCUMENT_CHUNK_BYTES,
    MAX_PUSH_CHANGES,
    SMALLEST_PAGE_BYTES,
    Change,
    ChangeResult,
    ChangeStatus,
    ConflictInfo,
    ErrorCode,
    PullRequest,
    PullResponse,
    PushRequest,
    PushResponse,
    UploadStatus,
)
from sync.store import LocalStore, PendingDocument

log = logging.getLogger("fieldcase.sync.engine")

CLOCK_SKEW_WARNING = timedelta(minutes=5)
#: Pages grow from ``page_bytes`` up to this while they arrive cleanly and quickly (each within
#: :data:`PAGE_GROW_SECONDS`), and halve after a page that needed a retry: few pages and few
#: commits on a good link (10,000 cases in 14 pages, not 35 of 1 MB: 0.6 s less CPU); on a
#: slow one a page stays at what the link moves in several seconds (a cut costs only what came
#: after the page's last checkpoint). 2 MB, not the protocol's 4: a first sync of 100,000
#: records then holds no more memory than one of 10,000 (bench/bench_memory.py).
MAX_ADAPTIVE_PAGE_BYTES = 2 * 1024 * 1024
PAGE_GROW_SECONDS = 10.0
#: Changes per push: the service's maximum, so 1,000 edits with their audit events go in two.
PUSH_BATCH = MAX_PUSH_CHANGES
#: The most changes one push to a service before this release may hold; such a service refuses
#: a larger batch whole (as invalid), and the laptop goes on at this size.
OLDER_SERVICE_PUSH = 500
REF_TOP_UP_BELOW = 50
#: How many fresh references one change may be given in one sync (each is from a block the
#: service reserved for this laptop alone, so a second one is already unlikely).
MAX_RE_REFERENCES = 3

ROLLED_BACK = (
    "This laptop's data is older than what it already sent to the central service (restored "
    "from a backup, or copied from another folder). Fieldcase fetched your cases again from "
    "the service; nothing the service holds was lost."
)


def describe_re_reference(old: str, new: str) -> str:
    return (
        f"Case {old} made offline was given the new reference {new}, because another case "
        "already had it."
    )


def describe_skew(skew: timedelta) -> str:
    amount = words.duration(skew).removeprefix("about ")
    side = "behind" if skew > timedelta(0) else "ahead of"
    return (
        f"This laptop's clock is about {amount} {side} the service's clock. Times you record "
        "may look wrong to colleagues; set the laptop's date and time correctly. Your changes "
        "are synced in the right order regardless."
    )


@dataclass(frozen=True)
class SyncProgress:
    phase: str  # documents_up | push | refs | pull | documents_down | done
    done: int
    total: int | None  # None when not known in advance (pulling pages)
    message: str


@dataclass
class SyncReport:
    pushed: int = 0  # changes the service confirmed (applied, duplicate or kept as a clash)
    rejected: int = 0  # changes the service refused; kept aside on this laptop
    received: int = 0  # records pulled and stored
    set_aside: int = 0  # records pulled that could not be stored: kept aside, IT told
    set_aside_stored: int = 0  # records set aside before, stored at last when tried again
    removed: int = 0  # cases that left this user's scope
    erased: int = 0  # cases erased on the service (records management), purged here
    erased_changes: int = 0  # changes to erased cases the service refused (purged with them)
    purged: int = 0  # removed cases purged late, once their waiting edits were sent
    new_conflicts: int = 0
    conflicts_waiting: int = 0
    documents_up: int = 0
    documents_down: int = 0
    pages: int = 0
    clock_skew: timedelta | None = None  # service clock minus laptop clock
    rolled_back: bool = False  # the data file was older than what this laptop had sent
    re_referenced: list[tuple[str, str]] = field(default_factory=list)  # (old ref, new ref)
    #: clashes someone else settled against this user (their version was not kept)
    decided: list[ConflictInfo] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    completed: bool = False
    started_at: datetime | None = None  # on the engine's clock
    finished_at: datetime | None = None

    def count_page(self, page: PullResponse, aside: int, *, first: bool = False) -> None:
        """A pulled page stored, ``aside`` of its records set aside (``first``: of a first
        sync, whose erasures are history: it held none of those cases)."""
        self.pages += 1
        self.received += len(page.records) - aside
        self.set_aside += aside
        self.removed += len(page.removed_cases)
        if not first:
            self.erased += len(page.erased_cases)
        self.new_conflicts += sum(1 for c in page.conflicts if not c.resolved)

    def summary(self) -> str:
        parts: list[str] = []
        if self.pushed:
            parts.append(f"Sent {words.plural(self.pushed, 'change')}.")
        if self.received:
            parts.append(f"Received {words.plural(self.received, 'update')}.")
        if self.documents_up:
            parts.append(f"Sent {words.plural(self.documents_up, 'document')}.")
        if self.documents_down:
            parts.append(f"Received {words.plural(self.documents_down, 'document')}.")
        if self.removed:
            parts.append(
                f"{words.plural(self.removed, 'case')} moved to someone else and "
                f"{'was' if self.removed == 1 else 'were'} removed from this laptop."
            )
        if self.erased:
            parts.append(
                f"{words.plural(self.erased, 'case')} "
                f"{'was' if self.erased == 1 else 'were'} erased from the council's records "
                "(on request or by the retention schedule) and removed from this laptop."
            )
        if self.erased_changes:
            parts.append(
                f"{words.plural(self.erased_changes, 'change')} to erased cases "
                f"{'was' if self.erased_changes == 1 else 'were'} not kept: the cases were "
                "erased from the council's records."
            )
        if not parts and self.completed and not self.set_aside:
            parts.append("Everything is up to date.")
        if self.set_aside:
            parts.append(
                f"{words.plural(self.set_aside, 'update')} from the service could not be stored; "
                "IT has been told."
            )
        if self.rejected:
            parts.append(
                f"{words.plural(self.rejected, 'change')} could not be accepted by the service and "
                f"{'is' if self.rejected == 1 else 'are'} kept on this laptop; ask your IT team."
            )
        if self.conflicts_waiting:
            parts.append(
                f"{words.plural(self.conflicts_waiting, 'clash', 'clashes')} "
                f"{'needs' if self.conflicts_waiting == 1 else 'need'} your decision."
            )
        if self.decided:
            parts.append(describe_decided(self.decided))
        parts.extend(self._reference_lines())
        parts.extend(self.warnings)
        return " ".join(parts)

    def _reference_lines(self) -> list[str]:
        lines = [ROLLED_BACK] if self.rolled_back else []
        lines.extend(describe_re_reference(old, new) for old, new in self.re_referenced)
        return lines


def describe_decided(decided: Sequence[ConflictInfo]) -> str:
    """One sentence for clashes someone else settled against this user."""
    deciders = sorted({info.resolved_by or "someone else" for info in decided})
    who = deciders[0] if len(deciders) == 1 else "Colleagues"
    if len(decided) == 1:
        what = f"the clash on the {decided[0].field.replace('_', ' ')}"
    else:
        what = f"{len(decided)} clashes you were part of"
    return (
        f"{who} settled {what} first, and your version was not kept. See what was chosen "
        "under Clashes in the window, or with `fieldcase conflicts --settled`."
    )


def next_page_size(size: int, retried: bool, seconds: float) -> int:
    """The next page's size after one of ``size`` bytes that took ``seconds``: half after a
    retry (not below :data:`SMALLEST_PAGE_BYTES`), double after a page that came within
    :data:`PAGE_GROW_SECONDS` (up to :data:`MAX_ADAPTIVE_PAGE_BYTES`), else the same. A page
    cut part way and kept up to its last checkpoint is no retry: what came is kept, so a big
    page loses no more than a small one, and halving it would only add round trips (on a link
    cut every 100 kB: 1.35x the floor time against 1.24x)."""
    if retried:
        return max(min(size, SMALLEST_PAGE_BYTES), size // 2)
    if seconds > PAGE_GROW_SECONDS:
        return size
    return max(size, min(MAX_ADAPTIVE_PAGE_BYTES, size * 2))


class SyncEngine:
    def __init__(
        self,
        store: LocalStore,
        client: ServiceClient,
        *,
        progress: Callable[[SyncProgress], None] | None = None,
        cancel: threading.Event | None = None,
        clock: Clock | None = None,
        push_batch: int = PUSH_BATCH,
        page_bytes: int = DEFAULT_PAGE_BYTES,
        adaptive_pages: bool = True,
    ) -> None:
        self.store = store
        self.client = client
        self.progress = progress
        self.cancel = cancel or client.cancel or threading.Event()
        client.cancel = self.cancel  # back-off waits end as soon as the sync is cancelled
        if clock is not None:
            client.clock = clock  # one clock per sync: the engine's and the client's waits
        self.clock: Clock = client.clock
        self.push_batch = push_batch
        self.page_bytes = page_bytes
        self.adaptive_pages = adaptive_pages
        self.report = SyncReport()
        self.guard = Safeguards(self)

    # ------------------------------------------------------------------ helpers

    def _say(self, phase: str, done: int, total: int | None, message: str) -> None:
        if self.progress is not None:
            self.progress(SyncProgress(phase, done, total, message))

    def _check_cancel(self) -> None:
        if self.cancel.is_set():
            raise Cancelled()

    def _note_server_time(self, server_time: datetime) -> None:
        if server_time.tzinfo is None:
            server_time = server_time.replace(tzinfo=UTC)
        self.report.clock_skew = server_time - self.clock.now()

    # ------------------------------------------------------------------ the sync

    def sync(self) -> SyncReport:
        """Run one full sync. Raises a :class:`SyncError` when it could not finish; what was
        done before that is committed and kept (``engine.report`` says how far it got)."""
        self.report = report = SyncReport(started_at=self.clock.now())
        self.guard = Safeguards(self)
        if self.store.credential() is None:
            raise AuthFailed(NOT_ENROLLED)
        try:
            self.guard.check_rollback()
            self._upload_documents()
            self._push()
            self._top_up_refs()
            self._pull()
            if self.store.pending_count() or report.set_aside:  # set-aside reports go now
                self._upload_documents()
                self._push()
            report.purged += self.store.purge_removed_cases()
            self._download_documents()
        except DeviceRevoked as revoked:
            log.warning("service says this device is revoked: wiping the profile")
            unsent = self.store.wipe()
            raise DeviceRevoked.erased(unsent, detail=revoked.detail) from None
        finally:
            report.finished_at = self.clock.now()
        report.conflicts_waiting = sum(1 for c in self.store.conflicts() if not c.resolved)
        report.decided = self.store.decisions_to_tell()
        if report.clock_skew is not None and abs(report.clock_skew) > CLOCK_SKEW_WARNING:
            report.warnings.append(describe_skew(report.clock_skew))
        report.completed = True
        self._say("done", 1, 1, report.summary())
        return report

    # ------------------------------------------------------------------ push

    def _push(self) -> None:
        total = self.store.pending_count()
        done = 0
        previous: list[UUID] = []
        while True:
            self._check_cancel()
            batch = self.store.pending_changes(self.push_batch)
            if not batch:
                break
            ids = [c.change_id for c in batch]
            if ids == previous:
                raise ServiceError(
                    ServiceErrorKind.PROTOCOL, detail="push: the service did not confirm a batch"
                )
            previous = ids
            total = max(total, done + len(batch))
            self._say("push", done, total, f"Sending {done + len(batch)} of {total} changes...")
            answer = self.guard.push(batch)
            if answer is None:
                previous = []  # the same changes go again, fewer at a time
                continue
            self._note_server_time(answer.server_time)
            taken = [r for r in answer.results if _ref_taken(r)]
            self.store.mark_sent([r for r in answer.results if not _ref_taken(r)])
            for result in answer.results:
                if _ref_taken(result):
                    continue
                if result.error is not None and result.error.code == ErrorCode.ERASED:
                    self.report.erased_changes += 1  # purged with its case (app/store/erased.py)
                elif result.status == ChangeStatus.REJECTED:
                    self.guard.count_rejected(result)
                    log.info(
                        "change %s refused: %s",
                        result.change_id,
                        result.error.code if result.error else "?",
                    )
                else:
                    self.report.pushed += 1
                self.report.new_conflicts += len(result.conflicts)
            if taken and self.guard.give_fresh_refs(taken):
                previous = []  # the case goes again, under its new reference
            done += len(batch)
        if done:
            self._say("push", done, max(total, done), f"Sent {words.plural(done, 'change')}.")

    # ------------------------------------------------------------------ reference numbers

    def _top_up_refs(self) -> None:
        unused = self.store.unused_refs()
        if unused >= REF_TOP_UP_BELOW:
            return
        self._check_cancel()
        self._say("refs", 0, 1, "Reserving case reference numbers...")
        answer = self.client.ref_blocks(unused)
        if answer.blocks or answer.device_code:
            self.store.add_ref_blocks(answer.blocks, answer.device_code)

    # ------------------------------------------------------------------ pull

    def _fetch(self, cursor: str | None, size: int) -> tuple[PullResponse, bool, float]:
        """One page, whether it needed a retry, how long it took (one fetch at a time)."""
        retries = self.client.stats.retries
        started = self.clock.monotonic()
        page = self.client.pull(PullRequest(cursor=cursor, max_bytes=size))
        return page, self.client.stats.retries > retries, self.clock.monotonic() - started

    def _pull(self) -> None:
        """Fetch pages until up to date. While one page is being stored, the next one is
        already on its way (one request in flight at most), so a slow link and a slow disk
        overlap; each page is still committed in order, with its cursor."""
        self.report.set_aside_stored += self.store.retry_set_aside()
        try:
            self._pull_pages()
        except BaseException:
            self.store.pull_stopped()
            raise

    def _pull_pages(self) -> None:
        cursor = self.store.cursor()
        first = cursor is None
        size = self.page_bytes
        received = 0
        # the cycle collector stays paused from one page to the next while the next page is
        # already here, and is let go while the laptop waits for the network (sync.collector)
        with (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="fieldcase-pull") as pool,
            collector.Relay() as relay,
        ):
            ahead: Future[tuple[PullResponse, bool, float]] | None = None
            while True:
                self._check_cancel()
                said = f"Receiving updates ({received} so far)..." if received else ""
                self._say("pull", received, None, said or "Checking for updates...")
                try:
                    page, retried, seconds = (
                        ahead.result() if ahead is not None else self._fetch(cursor, size)
                    )
                except ServiceError as err:
                    if err.reason is not ServiceErrorKind.INVALID or cursor is None:
                        raise
                    # the service does not know our position (e.g. restored from a backup):
                    # fetch everything again; applying a record twice changes nothing
                    log.warning("the service refused the pull cursor; starting the pull again")
                    ahead, cursor = None, None
                    continue
                if self.adaptive_pages:
                    size = next_page_size(size, retried, seconds)
                ahead = pool.submit(self._fetch, page.next_cursor, size) if page.more else None
                self._note_server_time(page.server_time)
                relay.hold()
                aside = self.store.apply_page(page) or 0  # records set aside (not stored)
                if ahead is None or not ahead.done():
                    relay.release()  # the laptop will wait for the network
                received += len(page.records)
                self.report.count_page(page, aside, first=first)
                cursor = page.next_cursor
                if not page.more:
                    break

    # ------------------------------------------------------------------ documents

    def _upload_documents(self) -> None:
        documents = self.store.documents_to_upload()
        for number, document in enumerate(documents, start=1):
            self._check_cancel()
            self._say(
                "documents_up",
                number - 1,
                len(documents),
                f"Sending document {number} of {len(documents)}...",
            )
            try:
                self._upload(document)
            except ServiceError as err:
                if err.reason not in (ServiceErrorKind.NOT_FOUND, ServiceErrorKind.FORBIDDEN):
                    raise
                # the service will not take it (the case is not this user's, or someone
                # else holds that id): the content stays on this laptop, encrypted, and is
                # tried again next time
                log.info("document %s not accepted yet: %s", document.document_id, err.reason)
                continue
            self.store.mark_document_uploaded(document.document_id)
            self.report.documents_up += 1

    def _status(self, document: PendingDocument) -> UploadStatus:
        return self.client.upload_status(document.document_id, document.case_id)

    def _upload(self, document: PendingDocument) -> None:
        status = self._status(document)
        restarts = 0
        while not status.complete:
            offset = status.received if status.sha256 in (None, document.sha256) else 0
            if offset >= document.size and document.size > 0:
                offset = 0  # the service holds something else under this id: send again
            with self.store.open_document(document.document_id) as reader:
                skip = offset
                while skip:
                    skipped = reader.read(min(skip, DOCUMENT_CHUNK_BYTES))
                    if not skipped:
                        break
                    skip -= len(skipped)
                try:
                    while True:
                        self._check_cancel()
                        chunk = reader.read(DOCUMENT_CHUNK_BYTES)
                        if not chunk and (offset or document.size):
                            break
                        status = self.client.upload_chunk(
                            document.document_id,
                            offset,
                            chunk,
                            document.size,
                            document.sha256,
                            document.case_id,
                        )
                        offset += len(chunk)
                        if status.complete or not chunk:
                            break
                except ServiceError as err:
                    if err.reason is not ServiceErrorKind.CONFLICT:
                        raise
                    # e.g. a chunk arrived but its answer was lost: ask where to resume
                    restarts += 1
                    if restarts > 5:
                        raise
                    status = self._status(document)
                    continue
            if not status.complete:
                status = self._status(document)
                restarts += 1
                if restarts > 5 and not status.complete:
                    raise ServiceError(
                        ServiceErrorKind.PROTOCOL,
                        detail=f"document {document.document_id}: upload never completed",
                    )

    def _download_documents(self) -> None:
        documents = self.store.documents_to_download()
        for number, document in enumerate(documents, start=1):
            self._check_cancel()
            self._say(
                "documents_down",
                number - 1,
                len(documents),
                f"Fetching document {number} of {len(documents)}...",
            )
            try:
                self.store.save_document(
                    document.document_id,
                    self.client.download(document.document_id, document.size, document.sha256),
                )
            except ServiceError as err:
                if err.reason in (
                    ServiceErrorKind.NOT_FOUND,
                    ServiceErrorKind.FORBIDDEN,
                    ServiceErrorKind.CONFLICT,
                ):
                    # not (yet) complete on the service: asked for again at the next sync
                    log.info("document %s not available: %s", document.document_id, err.reason)
                    continue
                raise
            self.report.documents_down += 1


class Safeguards:
    """What protocol 2 adds to one sync: the push mark and the rollback check, pushes a service
    before issue 11 takes (at most 500 changes), and fresh references for cases made offline
    whose own another case took (``duplicate_ref``)."""

    def __init__(self, engine: SyncEngine) -> None:
        self.engine = engine
        #: False when the service predates protocol 2 (no push marks, no rollback check)
        self.marks = True
        self.rejected: set[UUID] = set()  # refused in this sync (counted in the report)
        self.re_referenced: dict[UUID, int] = {}  # change id -> fresh references given

    def check_rollback(self) -> None:
        """Compare the service's push mark for this device with the laptop's own: a lower one
        here means the data file was rolled back since those pushes."""
        engine = self.engine
        engine._check_cancel()
        try:
            seen = engine.client.sync_state()
        except ServiceError as err:
            if err.reason is not ServiceErrorKind.NOT_FOUND:
                raise
            log.info("the service predates protocol 2: no rollback check, no push marks")
            self.marks = False
            return
        engine._note_server_time(seen.server_time)
        if seen.role is not None:
            engine.store.note_role(seen.role)
        own = engine.store.push_mark()
        if seen.push_mark <= own:
            return
        log.warning(
            "this laptop's data file is older than what it sent (push mark %d, service %d): "
            "pulling everything again and fetching fresh reference numbers",
            own,
            seen.push_mark,
        )
        engine.store.rolled_back(seen.push_mark)
        engine.report.rolled_back = True

    def push(self, batch: list[Change]) -> PushResponse | None:
        """Push one batch with the next push mark; None when a service before this release
        refused it for its size (the engine's batch size is then lowered to what it takes)."""
        engine = self.engine
        try:
            return engine.client.push(PushRequest(changes=batch, mark=self.next_mark()))
        except ServiceError as err:
            if err.reason is not ServiceErrorKind.INVALID or len(batch) <= OLDER_SERVICE_PUSH:
                raise
            log.info(
                "the service refused a push of %d changes; sending %d at a time",
                len(batch),
                OLDER_SERVICE_PUSH,
            )
            engine.push_batch = OLDER_SERVICE_PUSH
            return None

    def next_mark(self) -> int | None:
        """The push mark for the next push, committed before it is sent."""
        return self.engine.store.next_push_mark() if self.marks else None

    def count_rejected(self, result: ChangeResult) -> None:
        self.engine.report.rejected += 1
        self.rejected.add(result.change_id)

    def give_fresh_refs(self, taken: list[ChangeResult]) -> bool:
        """Cases made offline whose reference another case holds get a fresh one (their
        changes are queued again); any other refusal of that kind is kept aside as usual.
        Says whether anything was queued again."""
        engine = self.engine
        engine._top_up_refs()
        again = False
        for result in taken:
            tries = self.re_referenced.get(result.change_id, 0)
            fresh = (
                engine.store.re_reference(result.change_id) if tries < MAX_RE_REFERENCES else None
            )
            if fresh is None:
                engine.store.mark_sent([result])
                self.count_rejected(result)
                continue
            self.re_referenced[result.change_id] = tries + 1
            self._note(fresh.old_ref, fresh.new_ref)
            back = self.rejected.intersection(fresh.requeued)
            engine.report.rejected -= len(back)
            self.rejected -= back
            again = True
        return again

    def _note(self, old: str, new: str) -> None:
        log.info("case %s was given the new reference %s (its own was taken)", old, new)
        pairs = self.engine.report.re_referenced
        for n, (first, latest) in enumerate(pairs):
            if latest == old:  # given a fresh reference twice: say only first and last
                pairs[n] = (first, new)
                return
        pairs.append((old, new))


def _ref_taken(result: ChangeResult) -> bool:
    return (
        result.status == ChangeStatus.REJECTED
        and result.error is not None
        and result.error.code == ErrorCode.DUPLICATE_REF
    )
