"""The History tab of a case: who did what to it, and when. A manager or a governance officer
sees everyone's views and changes, asked of the central service in the background when the
tab is shown ("amira.khan viewed ... on the laptop, received 4 Dec"); anyone else, or anyone
offline, sees this laptop's own record, and a line above the table says which it is."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from app.ui.models import HistoryModel
from app.ui.qt import QShowEvent, QVBoxLayout, QWidget
from app.ui.tables import column_chars, table
from app.ui.widgets import buttons_row, label

if TYPE_CHECKING:
    from app.core import CaseDetail
    from app.ui.case_tab import OpenCase

#: Said while the service is asked.
ASKING = "This laptop's own record of the case, while the central service is asked for more..."


#: Said when asking failed in a way the answer could not say (the log has why).
LOCAL_ONLY = "This laptop's own record of the case."


class HistoryTab(QWidget):
    def __init__(self, case: OpenCase) -> None:
        super().__init__()
        self.case = case
        box = QVBoxLayout(self)
        self.source = label("", "hint")
        self.source.setAccessibleName("Where this history comes from")
        box.addWidget(self.source)
        self.history = HistoryModel(self)
        self.history_view = table(self.history, "History of this case", preferred_lines=8)
        column_chars(
            self.history_view,
            {HistoryModel.COL_WHEN: 18, HistoryModel.COL_WHO: 12, HistoryModel.COL_WHAT: 18},
        )
        box.addWidget(self.history_view, 1)
        self.button_row = buttons_row()  # nothing to do here but read
        self._asked: UUID | None = None  # the case the service was last asked about
        self._detail: CaseDetail | None = None

    def show_detail(self, detail: CaseDetail) -> None:
        self._detail = detail
        self.history.set_rows(detail.history[::-1])  # newest first
        if self._asked != detail.id:
            self._asked = None
            self.source.setText("")
        if self.isVisible():
            self._ask_service()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._ask_service()

    def _ask_service(self) -> None:
        detail = self._detail
        if detail is None or self._asked == detail.id:
            return
        self._asked = detail.id
        session = self.case.session
        if session.history_refused:
            self.source.setText(session.history_refused)
            return
        self.source.setText(ASKING)
        backend, work = session.backend, session.work
        case_id = detail.id
        work.run_net(
            self,
            lambda cancel, _progress: backend.service_history(case_id, cancel, work.call_db),
            lambda answer: self._answered(case_id, answer),
            lambda _err: self._answered(case_id, None),
        )

    def _answered(self, case_id: UUID, answer: Any) -> None:
        if self._detail is None or self._detail.id != case_id:
            return  # another case is on screen now
        if answer is None:
            self.source.setText(LOCAL_ONLY)
            return
        if answer.not_for_role:
            self.case.session.history_refused = answer.note
        self.source.setText(answer.note)
        if answer.rows is not None:
            self.history.set_rows(answer.rows[::-1])  # newest first
