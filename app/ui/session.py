"""What every screen of an unlocked window shares: the open backend, the worker, the clock,
the dialogs, the one error display and the drafts."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from app.ui.backend import Backend
from app.ui.dialogs import DialogService
from app.ui.qt import QObject, QTimer
from app.ui.work import Work
from sync.clock import Clock

log = logging.getLogger("fieldcase.ui.drafts")


class Drafts(QObject):
    """Unsaved typing, kept through auto-lock and a crash.

    Every change is saved through the backend (into the encrypted profile) shortly after the
    typing stops, and at once before the window locks. Nothing is written to disk in plain
    text; the in-memory copy is dropped with the keys.
    """

    DELAY_MS = 800

    def __init__(self, work: Work, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.work = work
        self.backend: Backend | None = None
        self._texts: dict[str, str] = {}
        self._dirty: set[str] = set()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(self.DELAY_MS)
        self._timer.timeout.connect(self.flush)

    def load(self, backend: Backend, texts: dict[str, str]) -> None:
        self.backend = backend
        self._texts = dict(texts)
        self._dirty.clear()

    def get(self, key: str) -> str:
        return self._texts.get(key, "")

    def keys(self) -> list[str]:
        return list(self._texts)

    def set(self, key: str, text: str) -> None:
        if self._texts.get(key, "") == text:
            return
        if text:
            self._texts[key] = text
        else:
            self._texts.pop(key, None)
        self._dirty.add(key)
        self._timer.start()

    def drop(self, key: str) -> None:
        self._texts.pop(key, None)
        self._dirty.discard(key)
        backend = self.backend
        if backend is not None:
            self.work.run_db(self, lambda: backend.drop_draft(key), None, self._failed)

    def flush(self) -> None:
        """Save what changed now (before locking, or when typing paused)."""
        self._timer.stop()
        backend = self.backend
        if backend is None or not self._dirty:
            return
        batch = {k: self._texts.get(k, "") for k in self._dirty}
        self._dirty.clear()

        def save() -> None:
            for key, text in batch.items():
                if text:
                    backend.save_draft(key, text)
                else:
                    backend.drop_draft(key)

        self.work.run_db(self, save, None, self._failed)

    def forget(self) -> None:
        """Drop the in-memory copy (the window locked; keys are gone)."""
        self._timer.stop()
        self._texts.clear()
        self._dirty.clear()
        self.backend = None

    def _failed(self, err: BaseException) -> None:
        log.warning("a draft could not be saved: %s", type(err).__name__)


@dataclass
class Session:
    backend: Backend
    work: Work
    clock: Clock
    dialogs: DialogService
    drafts: Drafts
    show_error: Callable[[BaseException], None]
    show_message: Callable[[str], None]
    open_case: Callable[..., None] = field(default=lambda *a, **k: None)
    changed: Callable[[], None] = field(default=lambda: None)  # data changed: refresh counts
    #: what the service said when this user's role may not read full histories (then the
    #: History tab does not ask again while the window is open)
    history_refused: str = ""
