"""The one background-work API of the window.

All store and core calls run on ONE database worker (a single-thread executor, so they are
serialised like Anki's collection ops); network work (sync, enrol, recovery) runs on its own
worker beside it. Results come back on the GUI thread through a queued signal and are handed
to ``success`` or ``failure`` only while the widget that asked is still alive: each request
is watched by a small QObject parented to that widget (as KeePassXC parents its watchers), so
a closed widget never gets a stale callback.

A failure with no ``failure`` callback goes to one shared error display (``on_error``),
except a cancellation (a :class:`~app.errors.SyncError` of kind CANCELLED), which is dropped
silently: the person asked for it. Errors come from the one tree in :mod:`app.errors`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import shiboken6

from app.errors import SyncError, SyncKind
from app.ui.qt import QObject, Signal, Slot

log = logging.getLogger("fieldcase.ui.work")

Success = Callable[[Any], None]
Failure = Callable[[BaseException], None]
#: progress(done, total, message) as reported by a network job
Progress = Callable[[int, int, str], None]


def is_cancellation(err: BaseException) -> bool:
    """The person stopped this work (shown silently, never as a problem)."""
    return isinstance(err, SyncError) and err.kind is SyncKind.CANCELLED


class _Watch(QObject):
    """Lives as a child of the asking widget; if the widget goes, so does the watch."""


class Job:
    """A handle on one piece of background work: cancel it, or ask if it is done."""

    def __init__(self, future: Future[Any], cancel: threading.Event) -> None:
        self.future = future
        self.cancel_event = cancel

    def cancel(self) -> None:
        self.cancel_event.set()

    def done(self) -> bool:
        return self.future.done()


class Work(QObject):
    """One DB worker, one network worker, and delivery back to the GUI thread."""

    _deliver = Signal(object)
    #: number of jobs still running or waiting changed (tests and the busy cursor use it)
    busy_changed = Signal(int)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fieldcase-db")
        self._net = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fieldcase-net")
        self._pending = 0
        self._closed = False
        self.on_error: Failure = lambda err: log.warning("unhandled failure: %r", err)
        self._deliver.connect(self._on_deliver)

    # ------------------------------------------------------------------ public API
    @property
    def pending(self) -> int:
        """Jobs submitted whose callbacks have not yet run on the GUI thread."""
        return self._pending

    def run_db(
        self,
        parent: QObject,
        op: Callable[[], Any],
        success: Success | None = None,
        failure: Failure | None = None,
    ) -> Job:
        """Run ``op()`` on the database worker; ``success(result)`` on the GUI thread."""
        return self._submit(self._db, parent, lambda _cancel, _progress: op(), success, failure)

    def run_net(
        self,
        parent: QObject,
        op: Callable[[threading.Event, Progress], Any],
        success: Success | None = None,
        failure: Failure | None = None,
        progress: Progress | None = None,
    ) -> Job:
        """Run ``op(cancel_event, progress)`` on the network worker. ``progress`` callbacks
        from the worker are re-posted to the GUI thread."""
        return self._submit(self._net, parent, op, success, failure, progress)

    def call_db(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """From another worker thread (the sync), run ``fn`` on the DB worker and wait for
        its result, so the profile is only ever used one call at a time. Never call this
        on the GUI thread or on the DB worker itself."""
        if threading.current_thread() is threading.main_thread():
            raise RuntimeError("call_db must not be called on the GUI thread")
        if threading.current_thread().name.startswith("fieldcase-db"):
            return fn(*args, **kwargs)
        return self._db.submit(fn, *args, **kwargs).result()

    def shutdown(self) -> None:
        """Stop taking work and wait for what is running (at window close)."""
        self._closed = True
        self._net.shutdown(wait=True, cancel_futures=True)
        self._db.shutdown(wait=True, cancel_futures=True)

    # ------------------------------------------------------------------ internals
    def _submit(
        self,
        pool: ThreadPoolExecutor,
        parent: QObject,
        op: Callable[[threading.Event, Progress], Any],
        success: Success | None,
        failure: Failure | None,
        progress: Progress | None = None,
    ) -> Job:
        cancel = threading.Event()
        if self._closed:  # the window is closing (a field losing focus asks for work)
            nothing: Future[Any] = Future()
            nothing.cancel()
            return Job(nothing, cancel)
        watch = _Watch(parent)
        self._pending += 1
        self.busy_changed.emit(self._pending)

        def report(done: int, total: int, message: str) -> None:
            if progress is not None and not self._closed:
                self._deliver.emit((watch, "progress", (done, total, message), progress))

        def body() -> None:
            try:
                result = op(cancel, report)
            except BaseException as err:  # handed to the GUI thread, never swallowed
                if not self._closed:
                    self._deliver.emit((watch, "failure", err, failure))
                return
            if not self._closed:
                self._deliver.emit((watch, "success", result, success))

        future = pool.submit(body)
        return Job(future, cancel)

    @Slot(object)
    def _on_deliver(self, packet: tuple[_Watch, str, Any, Any]) -> None:
        watch, kind, value, callback = packet
        alive = shiboken6.isValid(watch)
        if kind == "progress":
            if alive:
                callback(*value)
            return
        self._pending -= 1
        try:
            if not alive:
                return
            watch.deleteLater()
            if kind == "success":
                if callback is not None:
                    callback(value)
            elif callback is not None:
                callback(value)
            elif is_cancellation(value):
                log.info("work cancelled")
            else:
                self.on_error(value)
        finally:
            self.busy_changed.emit(self._pending)
