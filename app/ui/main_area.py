"""The open profile's main area and its navigation: which page shows, going back from a
case, and where the person was (so unlocking returns there)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

from app.ui.case_view import CaseView
from app.ui.cases import CasesScreen
from app.ui.clashes import ClashesScreen
from app.ui.duplicates import DuplicatesScreen
from app.ui.models import NavModel
from app.ui.myday import MyDayScreen
from app.ui.prefs import Prefs
from app.ui.qt import (
    QAbstractItemView,
    QFont,
    QFontMetrics,
    QFrame,
    QHBoxLayout,
    QLineEdit,
    QListView,
    QScrollArea,
    Qt,
    QVBoxLayout,
    QWidget,
)
from app.ui.session import Session
from app.ui.settings_screen import SettingsScreen
from app.ui.widgets import CurrentStack, MessageBar, button, label, named

PAGE_MY_DAY, PAGE_CASES, PAGE_CLASHES, PAGE_SETTINGS, PAGE_CASE, PAGE_DUPLICATES = range(6)
NAV_TO_PAGE = {
    NavModel.MY_DAY: PAGE_MY_DAY,
    NavModel.CASES: PAGE_CASES,
    NavModel.CLASHES: PAGE_CLASHES,
    NavModel.SETTINGS: PAGE_SETTINGS,
    NavModel.DUPLICATES: PAGE_DUPLICATES,
}
#: The roles that review possible duplicate people.
REVIEWERS = frozenset({"manager", "governance"})


@dataclass
class Place:
    """Where the person was, so unlocking returns there."""

    page: int = PAGE_MY_DAY
    case_id: UUID | None = None
    tab: str | None = None
    search: str = ""


def _scrolling(page: QWidget) -> QScrollArea:
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    area.setWidget(page)
    return area


class MainArea(QWidget):
    """Everything shown while the profile is open: the top bar, the message bar, the left
    navigation and the page it shows (My day, Cases, Clashes, Settings, or one case)."""

    def __init__(
        self,
        session: Session,
        prefs: Prefs,
        *,
        server_locked: bool,
        max_auto_lock: int,
        new_case: Callable[[], None],
        apply_prefs: Callable[[Prefs], None],
        lock: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self.session = session
        backend = session.backend
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        top = QFrame()
        top.setObjectName("TopBar")
        top_row = QHBoxLayout(top)
        top_row.setContentsMargins(16, 8, 16, 8)
        top_row.addWidget(label("Fieldcase", role="h1", wrap=False))
        # the one search, for a person or a reference, from anywhere (Ctrl+K or Ctrl+F)
        self.search = named(
            QLineEdit(),
            "Search for a person or case",
            "Search people, references, addresses, summaries and notes as you type; Enter "
            "opens the first case found, Down goes to the list",
        )
        self.search.setPlaceholderText("Search people, cases, notes... (Ctrl+K)")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(self.search.fontMetrics().averageCharWidth() * 12)
        top_row.addWidget(self.search, 2)
        who = backend.display_name + (f" ({backend.team})" if backend.team else "")
        self._who = (who, backend.display_name)  # in full; and at a large text size
        self.who = label(who, wrap=False)
        self.who.setAccessibleName(f"Signed in as {who}")
        self.who.setToolTip(f"Signed in as {who}")
        top_row.addWidget(self.who)
        self.lock_button = button("Lock (Ctrl+L)", "Lock Fieldcase now")
        if lock is not None:
            self.lock_button.clicked.connect(lock)
        top_row.addWidget(self.lock_button)
        outer.addWidget(top)
        self.messages = MessageBar()
        outer.addWidget(self.messages)

        body = QHBoxLayout()
        body.setSpacing(0)
        self.nav_model = NavModel(self)
        self.nav = QListView()
        self.nav.setObjectName("Nav")
        self.nav.setModel(self.nav_model)
        self.nav.setAccessibleName("Main sections")
        self.nav.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.fit_nav(prefs.text_size)
        self.nav.setCurrentIndex(self.nav_model.index(0, 0))
        body.addWidget(self.nav)
        self.pages = CurrentStack()
        self.my_day = MyDayScreen(session)
        self.cases = CasesScreen(session, new_case, self.search)
        self.clashes = ClashesScreen(session)
        shown = prefs
        if not shown.server_url:
            shown = replace(shown, server_url=getattr(backend, "server_url", ""))
        self.settings = SettingsScreen(
            shown, server_locked=server_locked, max_auto_lock=max_auto_lock, apply=apply_prefs
        )
        self.case_view = CaseView(session, self.back)
        # a page taller than the room left at a large text size scrolls inside itself instead
        # of making the window taller than the screen (a case: each of its tabs does)
        for screen in (self.my_day, self.cases, self.clashes):
            self.pages.addWidget(_scrolling(screen))
        self.pages.addWidget(self.settings)  # scrolls itself
        self.pages.addWidget(self.case_view)  # scrolls itself, keeping its buttons in sight
        self.duplicates = DuplicatesScreen(session)
        self.pages.addWidget(_scrolling(self.duplicates))
        body.addWidget(self.pages, 1)
        outer.addLayout(body, 1)
        self._list_page = PAGE_CASES
        self.nav.selectionModel().currentChanged.connect(self._nav_changed)
        self.search.textEdited.connect(self._searching)

    def _searching(self, _text: str) -> None:
        """Typing in the header's search shows the case list it filters."""
        if self.pages.currentIndex() != PAGE_CASES:
            self.go(PAGE_CASES)
            self.search.setFocus()

    def fit_nav(self, text_size: int) -> None:
        """As wide as its longest label at the current text size, and no wider (and the
        header's name without the team above 125% text, so the header stays one line)."""
        self.who.setText(self._who[0] if text_size <= 125 else self._who[1])
        self._text_size = text_size
        font = QFont(self.nav.font())
        font.setPointSizeF(12 * 1.1 * text_size / 100)
        metrics = QFontMetrics(font)
        labels = self.nav_model.shown_labels()
        widest = max(metrics.horizontalAdvance(f"{t} (99)") for t in labels)
        self.nav.setFixedWidth(widest + 48)

    def set_role(self, role: str | None) -> None:
        """The user's role as the service last said: a reviewer sees Possible duplicates."""
        reviewer = role in REVIEWERS
        if reviewer == (self.nav_model.rowCount() > NavModel.DUPLICATES):
            return
        if not reviewer and self.pages.currentIndex() == PAGE_DUPLICATES:
            self.go(PAGE_MY_DAY)
        self.nav_model.set_reviewer(reviewer)
        self.fit_nav(self._text_size)

    # -- navigation
    def _nav_changed(self, current: Any, _previous: Any) -> None:
        if current.isValid():
            self.go(NAV_TO_PAGE[current.row()])

    def go(self, page: int) -> None:
        if page != PAGE_CASE:
            self._list_page = page
            nav_row = next(k for k, v in NAV_TO_PAGE.items() if v == page)
            if self.nav.currentIndex().row() != nav_row:
                self.nav.setCurrentIndex(self.nav_model.index(nav_row, 0))
        self.pages.setCurrentIndex(page)
        self.reload_current()

    def reload_current(self) -> None:
        page = self.pages.currentIndex()
        if page == PAGE_MY_DAY:
            self.my_day.reload()
        elif page == PAGE_CASES:
            self.cases.reload()
        elif page == PAGE_CLASHES:
            self.clashes.reload()
        elif page == PAGE_CASE:
            self.case_view.reload()
        elif page == PAGE_DUPLICATES:
            self.duplicates.reload()

    def open_case(self, case_id: UUID, tab: str | None = None) -> None:
        self.pages.setCurrentIndex(PAGE_CASE)
        self.case_view.show_case(case_id, tab)
        self.case_view.tabs.setFocus()

    def back(self) -> None:
        if self.pages.currentIndex() == PAGE_CASE:
            self.go(self._list_page)

    def place(self) -> Place:
        page = self.pages.currentIndex()
        return Place(
            page=page,
            case_id=self.case_view.case_id if page == PAGE_CASE else None,
            tab=self.case_view.current_tab() if page == PAGE_CASE else None,
            search=self.cases.search.text(),
        )

    def restore(self, place: Place) -> None:
        if place.search:
            self.cases.search.blockSignals(True)
            self.cases.search.setText(place.search)
            self.cases.search.blockSignals(False)
        if place.page == PAGE_CASE and place.case_id is not None:
            self.open_case(place.case_id, place.tab)
        else:
            self.go(place.page)
