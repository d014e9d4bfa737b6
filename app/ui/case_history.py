"""The History tab of a case: who did what to it, and when (the audit trail)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.ui.models import HistoryModel
from app.ui.qt import QVBoxLayout, QWidget
from app.ui.tables import column_chars, table
from app.ui.widgets import buttons_row

if TYPE_CHECKING:
    from app.core import CaseDetail


class HistoryTab(QWidget):
    def __init__(self) -> None:
        super().__init__()
        box = QVBoxLayout(self)
        self.history = HistoryModel(self)
        self.history_view = table(self.history, "History of this case", preferred_lines=8)
        column_chars(
            self.history_view,
            {HistoryModel.COL_WHEN: 18, HistoryModel.COL_WHO: 12, HistoryModel.COL_WHAT: 18},
        )
        box.addWidget(self.history_view, 1)
        self.button_row = buttons_row()  # nothing to do here but read

    def show_detail(self, detail: CaseDetail) -> None:
        self.history.set_rows(detail.history[::-1])  # newest first
