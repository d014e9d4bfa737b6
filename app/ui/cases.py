"""Cases: search as you type (full text), filters, sortable columns, a lazy list."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from app.domain import CaseStatus, Priority
from app.ui import words
from app.ui.models import CaseListModel
from app.ui.qt import (
    QCheckBox,
    QComboBox,
    QEvent,
    QHBoxLayout,
    QKeyEvent,
    QLineEdit,
    QObject,
    Qt,
    QTimer,
    QVBoxLayout,
    QWidget,
)
from app.ui.rows import CaseQuery
from app.ui.session import Session
from app.ui.tables import Folding, selected_row, table
from app.ui.widgets import button, label, named

if TYPE_CHECKING:
    from app.core import CaseRow

SEARCH_DELAY_MS = 40  # a short pause in typing before searching


def _choice(name: str, everything: str, options: list[tuple[str, str]]) -> QComboBox:
    combo = named(QComboBox(), name)
    combo.addItem(everything, None)
    for code, text in options:
        combo.addItem(text, code)
    return combo


class CasesScreen(QWidget):
    def __init__(
        self, session: Session, new_case: Callable[[], None], search: QLineEdit | None = None
    ) -> None:
        """``search``: the header's search box, which this list follows (one of its own
        otherwise)."""
        super().__init__()
        self.session = session
        self.model = CaseListModel(
            self._load_page, session.backend.case_types, self, today=session.clock.local_today
        )
        box = QVBoxLayout(self)
        box.setContentsMargins(20, 16, 20, 16)
        top = QHBoxLayout()
        top.addWidget(label("Cases", role="h1"), 1)
        self.new_button = button("New case (Ctrl+N)", "New case", primary=True)
        self.new_button.clicked.connect(new_case)
        top.addWidget(self.new_button)
        box.addLayout(top)

        if search is None:
            search = named(
                QLineEdit(),
                "Search cases",
                "Search people, references, addresses, summaries and notes as you type",
            )
            search.setPlaceholderText("Search people, references, addresses, notes...")
            search.setClearButtonEnabled(True)
            box.addWidget(search)
        self.search = search
        self.search.installEventFilter(self)
        self._open_first = False  # Enter was pressed before the answer came

        filters = QHBoxLayout()
        self.status = _choice(
            "Status filter",
            "Any status",
            [(s.value, words.status_label(s.value)) for s in CaseStatus],
        )
        self.priority = _choice(
            "Priority filter",
            "Any priority",
            [(p.value, words.priority_label(p.value)) for p in reversed(Priority)],
        )
        self.case_type = _choice(
            "Type filter", "Any type", sorted(session.backend.case_types.items())
        )
        self.mine = named(QCheckBox("Assigned to me"), "Only cases assigned to me")
        self.team = named(QCheckBox("My team"), "Only my team's cases")
        self.review = named(QCheckBox("Review due"), "Only cases with a review due")
        for w in (self.status, self.priority, self.case_type):
            filters.addWidget(w)
        filters.addStretch(1)
        box.addLayout(filters)
        # the ticks on a line of their own: at large text one line cannot hold them all
        ticks = QHBoxLayout()
        for w in (self.mine, self.team, self.review):
            ticks.addWidget(w)
        ticks.addStretch(1)
        box.addLayout(ticks)

        self.count = label("", role="hint")
        box.addWidget(self.count)
        self.view = table(
            self.model,
            "Cases",
            "Each row: warnings, reference, person, type, status, priority, next visit, review",
            lines=2,
        )
        # a row whose warnings need more than a line grows to show them in full
        self.model.rowsInserted.connect(lambda _p, first, last: self._fit_rows(first, last))
        self.model.modelReset.connect(lambda: self._fit_rows(0, self.model.rowCount() - 1))
        self.view.setSortingEnabled(True)
        self.view.horizontalHeader().setSortIndicator(
            CaseListModel.COL_REF, Qt.SortOrder.AscendingOrder
        )
        # two lines a row, so a long type, the next visit's time and an overdue review wrap
        # instead of pushing the last column off the screen
        # a narrow list (large text, a small screen) folds the status and priority under the
        # reference, the type under the person and the next visit under the review, so
        # nothing needs scrolling sideways; folded, the review has the rest of the width
        self.folding = Folding(
            self.view,
            widths={
                CaseListModel.COL_WARN: 16,
                CaseListModel.COL_REF: 14,
                CaseListModel.COL_PERSON: 14,
                CaseListModel.COL_TYPE: 13,
                CaseListModel.COL_STATUS: 11,
                CaseListModel.COL_PRIORITY: 8,
                CaseListModel.COL_NEXT_VISIT: 12,
            },
            shares={
                CaseListModel.COL_WARN: 0.22,
                CaseListModel.COL_REF: 0.25,
                CaseListModel.COL_PERSON: 0.25,
            },
            folded=CaseListModel.FOLDED,
            min_chars=110,
            refit=lambda: self._fit_rows(0, self.model.rowCount() - 1),
        )
        self.view.setTextElideMode(Qt.TextElideMode.ElideNone)  # wrapped, never cut with ...
        box.addWidget(self.view, 1)
        self.open_button = button("Open case")
        row = QHBoxLayout()
        row.addWidget(self.open_button)
        row.addStretch(1)
        box.addLayout(row)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(SEARCH_DELAY_MS)
        self._debounce.timeout.connect(self.apply_filter)
        self.search.textChanged.connect(lambda _t: self._debounce.start())
        self.search.returnPressed.connect(self._enter_in_search)
        for combo in (self.status, self.priority, self.case_type):
            combo.currentIndexChanged.connect(lambda _i: self.apply_filter())
        for check in (self.mine, self.team, self.review):
            check.toggled.connect(lambda _c: self.apply_filter())
        self.view.activated.connect(lambda _i: self._open())
        self.view.doubleClicked.connect(lambda _i: self._open())
        self.open_button.clicked.connect(self._open)
        self.model.modelReset.connect(self._show_count)
        self.model.modelReset.connect(self._answer_came)
        self.model.rowsInserted.connect(lambda *_a: self._show_count())

    # -- loading
    def _load_page(
        self,
        flt: CaseQuery,
        offset: int,
        limit: int,
        deliver: Callable[[list[CaseRow], int], None],
    ) -> None:
        backend = self.session.backend
        self.session.work.run_db(
            self,
            lambda: backend.list_cases(flt, offset, limit),
            lambda result: deliver(*result),
            self._failed,
        )

    def _failed(self, err: BaseException) -> None:
        self.model.set_rows([], 0)
        self.session.show_error(err)

    def current_filter(self) -> CaseQuery:
        old = self.model.current_filter
        return CaseQuery(
            text=self.search.text().strip(),
            status=self.status.currentData(),
            priority=self.priority.currentData(),
            case_type=self.case_type.currentData(),
            mine=self.mine.isChecked(),
            my_team=self.team.isChecked(),
            review_due=self.review.isChecked(),
            sort=old.sort,
            descending=old.descending,
        )

    def apply_filter(self) -> None:
        self._debounce.stop()
        self.model.set_filter(self.current_filter())

    def reload(self) -> None:
        self.apply_filter()

    def _show_count(self) -> None:
        total = self.model.total
        shown = self.model.rowCount()
        if total == 0:
            text = "No cases match." if self.search.text() else "No cases."
        elif shown < total:
            text = f"{total:,} cases match. Scroll down to see more."
        else:
            text = f"{words.plural(total, 'case')}."
        self.count.setText(text)
        self.count.setAccessibleName(text)

    # -- actions
    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def _enter_in_search(self) -> None:
        """Enter in the search box opens the only or first case found; when the search the
        box now holds is still to be answered, as soon as the answer comes."""
        if self._debounce.isActive() or self.model.current_filter != self.current_filter():
            self._open_first = True
            self.apply_filter()
            return
        if self.model.loading:
            self._open_first = True
            return
        self._open_first_found()

    def _answer_came(self) -> None:
        if self._open_first:
            self._open_first = False
            self._open_first_found()

    def _open_first_found(self) -> None:
        if not self.model.rowCount():
            self.session.show_message("No case matches that search. Check the spelling.")
            return
        self.view.setCurrentIndex(self.model.index(0, CaseListModel.COL_REF))
        self._open()

    def _fit_rows(self, first: int, last: int) -> None:
        """Rows whose warnings need more than a line are made tall enough to show them (every
        row, when the list is folded: its cells wrap, never cut with '...')."""
        for row in range(max(first, 0), last + 1):
            case = self.model.row_at(row)
            if case is not None and (case.warnings or self.model.compact):
                self.view.resizeRowToContents(row)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Down in the search box goes to the first case of the list."""
        if (
            watched is self.search
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Down
            and self.model.rowCount()
        ):
            self.view.setFocus()
            self.view.setCurrentIndex(self.model.index(0, CaseListModel.COL_REF))
            return True
        return super().eventFilter(watched, event)

    def _open(self) -> None:
        case = selected_row(self.view)
        if case is not None:
            self.session.open_case(case.case_id)
