"""What every part of an open case shares: which case is open, what was loaded for it, and
how an action on it runs (on the DB worker, then a short confirmation and a fresh load)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from app.ui.qt import QObject
from app.ui.session import Session

if TYPE_CHECKING:
    from app.core import CaseDetail


@dataclass
class OpenCase:
    """The case on screen. ``case_id`` is set as soon as it is asked for; ``detail`` once it
    has loaded (it is ``None`` while a different case's detail would be stale)."""

    session: Session
    reload: Callable[[], None]
    case_id: UUID | None = None
    detail: CaseDetail | None = None

    def note_key(self) -> str:
        """The draft of the note being typed on this case."""
        return f"note:{self.case_id}"

    def summary_key(self) -> str:
        """The draft of this case's summary, while it differs from the saved one."""
        return f"summary:{self.case_id}"

    def run(
        self,
        asker: QObject,
        op: Callable[[], Any],
        done_message: str,
        after: Callable[[], None] | None = None,
        failed: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Run ``op`` on the DB worker; when it has worked, call ``after``, say
        ``done_message``, refresh the counts and load the case again. A failure goes to
        ``failed``, else to the window's one error display."""
        session = self.session

        def ok(_result: object) -> None:
            if after is not None:
                after()
            session.show_message(done_message)
            session.changed()
            self.reload()

        session.work.run_db(asker, op, ok, failed or session.show_error)
