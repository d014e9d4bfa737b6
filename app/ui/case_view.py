"""One case, as one scrolling page: its header (:mod:`app.ui.case_header`, with the person's
warnings in a red banner) above tabs for the summary, notes, visits, documents and history,
each its own widget (``app.ui.case_*``). This module loads the case and hands it to them."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING
from uuid import UUID

from app.ui.case_documents import DocumentsTab
from app.ui.case_header import CaseHeader
from app.ui.case_history import HistoryTab
from app.ui.case_notes import NotesTab
from app.ui.case_print import print_or_save
from app.ui.case_summary import SummaryTab
from app.ui.case_tab import OpenCase
from app.ui.case_visits import VisitsTab
from app.ui.case_warnings import WarningsTab
from app.ui.qt import (
    QScrollArea,
    QSize,
    QStackedWidget,
    Qt,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from app.ui.session import Session
from app.ui.widgets import NoteEdit

if TYPE_CHECKING:
    from app.core import CaseDetail

TABS = ("summary", "notes", "visits", "documents", "warnings", "history")


class _Tabs(QTabWidget):
    """Tabs that ask only for the room the shown tab needs, at least and at best (Qt's ask for
    the tallest tab's, which made every tab of a case scroll for the Summary's form: the case
    scrolls to its preferred height, and the Notes tab's box for a new note fell below)."""

    def __init__(self) -> None:
        super().__init__()
        self.currentChanged.connect(lambda _i: self.updateGeometry())

    def _shown(self, inner: QSize) -> QSize:
        bar = self.tabBar().minimumSizeHint()  # the tabs scroll when short of room
        return QSize(max(inner.width(), bar.width()), inner.height() + bar.height() + 8)

    def minimumSizeHint(self) -> QSize:
        """The shown tab's minimum, and room for a few rows of a list and a note at any text
        size (a hint, not a fixed minimum: one would override the Summary's taller need and
        squeeze its fields)."""
        shown = self.currentWidget()
        if shown is None:
            return super().minimumSizeHint()
        need = self._shown(shown.minimumSizeHint())
        return need.expandedTo(QSize(0, 12 * self.fontMetrics().height()))

    def sizeHint(self) -> QSize:
        shown = self.currentWidget()
        if shown is None:
            return super().sizeHint()
        return self._shown(shown.sizeHint()).expandedTo(self.minimumSizeHint())


class CaseView(QWidget):
    def __init__(self, session: Session, back: Callable[[], None]) -> None:
        super().__init__()
        self.session = session
        self.case = OpenCase(session, self.reload)
        self.print_dialog: QWidget | None = None  # the last "Print or save as PDF" asked
        # the case's header and its tabs scroll as one page (at 200% text nothing is squeezed
        # or cut off); the shown tab's buttons stay in sight below it
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        self.page_scroll = QScrollArea()
        self.page_scroll.setWidgetResizable(True)
        self.page_scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.page_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        outer.addWidget(self.page_scroll, 1)
        page = QWidget()
        self.page_scroll.setWidget(page)
        box = QVBoxLayout(page)
        box.setContentsMargins(20, 12, 20, 12)
        self.header = CaseHeader(back, self.print_case)
        box.addWidget(self.header)

        self.tabs = _Tabs()
        self.tabs.setAccessibleName("Case sections")
        self.tabs.tabBar().setAccessibleName("Case sections")
        self.summary_tab = SummaryTab(self.case)
        self.notes_tab = NotesTab(self.case)
        self.visits_tab = VisitsTab(self.case, self.notes_tab)
        self.documents_tab = DocumentsTab(self.case)
        self.warnings_tab = WarningsTab(self.case)
        self.history_tab = HistoryTab(self.case)
        self.tabs.addTab(self.summary_tab, "Summary")
        self.tabs.addTab(self.notes_tab, "Notes")
        self.tabs.addTab(self.visits_tab, "Visits")
        self.tabs.addTab(self.documents_tab, "Documents")
        self.tabs.addTab(self.warnings_tab, "Warnings")
        self.tabs.addTab(self.history_tab, "History")
        box.addWidget(self.tabs, 1)
        self.tab_buttons = QStackedWidget()
        for tab in (
            self.summary_tab,
            self.notes_tab,
            self.visits_tab,
            self.documents_tab,
            self.warnings_tab,
            self.history_tab,
        ):
            self.tab_buttons.addWidget(tab.button_row)
        bar = QWidget()
        bar.setObjectName("ActionBar")
        bar_box = QVBoxLayout(bar)
        bar_box.setContentsMargins(20, 6, 20, 8)
        bar_box.addWidget(self.tab_buttons)
        outer.addWidget(bar)
        self.tabs.currentChanged.connect(self.tab_buttons.setCurrentIndex)

    @property
    def case_id(self) -> UUID | None:
        return self.case.case_id

    @property
    def detail(self) -> CaseDetail | None:
        return self.case.detail

    @property
    def note_box(self) -> NoteEdit:
        """The note being written (kept as a draft through auto-lock and a crash)."""
        return self.notes_tab.note_box

    def show_case(self, case_id: UUID, tab: str | None = None) -> None:
        if self.case.case_id != case_id:
            self.notes_tab.corrects = None
            self.case.detail = None
        self.case.case_id = case_id
        if tab in TABS:
            self.tabs.setCurrentIndex(TABS.index(tab))
        self.reload()

    def print_case(self) -> None:
        """'Print or save as PDF...': what goes on the record, then where (app/ui/case_print)."""
        if self.case.detail is not None:
            self.print_dialog = print_or_save(self.session, self.case.detail, self)

    def current_tab(self) -> str:
        return TABS[self.tabs.currentIndex()]

    def reload(self) -> None:
        case_id = self.case.case_id
        if case_id is None:
            return
        backend = self.session.backend
        self.session.work.run_db(
            self, lambda: backend.case_detail(case_id), self._loaded, self.session.show_error
        )

    def _loaded(self, detail: CaseDetail) -> None:
        if detail.id != self.case.case_id:
            return
        self.case.detail = detail
        self.header.show_detail(detail, self.session.backend.case_types)
        self.summary_tab.show_detail(detail)
        self.notes_tab.show_detail(detail)
        self.visits_tab.show_detail(detail)
        self.documents_tab.show_detail(detail)
        self.warnings_tab.show_detail(detail)
        self.history_tab.show_detail(detail)
        self.tabs.setTabText(1, f"Notes ({len(detail.notes)})")
        self.tabs.setTabText(2, f"Visits ({len(detail.visits)})")
        self.tabs.setTabText(3, f"Documents ({len(detail.documents)})")
        self.tabs.setTabText(4, f"Warnings ({len(detail.warnings)})")
