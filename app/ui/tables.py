"""A table view set up the same way everywhere: whole rows, keyboard first, readable."""

from __future__ import annotations

from typing import Any

from app.ui.models import ROW_ROLE
from app.ui.qt import QAbstractItemView, QEvent, QFontMetrics, QHeaderView, QObject, Qt, QTableView


def table(model: Any, name: str, description: str = "", *, lines: int = 0) -> QTableView:
    """``lines``: 0 fits each row to its text (small tables: a case's notes); 1 or 2 gives
    every row that many lines of text, which stays quick for thousands of rows."""
    view = QTableView()
    view.setModel(model)
    view.setAccessibleName(name)
    if description:
        view.setAccessibleDescription(description)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setWordWrap(True)
    view.setTabKeyNavigation(False)  # Tab leaves the table; arrows move inside it
    view.verticalHeader().hide()
    if lines:
        view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        _RowSizer(view, lines)
    else:
        view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(True)
    header.setHighlightSections(False)
    view.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    return view


class _ColumnSizer(QObject):
    """Keeps column widths in characters, so they grow with the text size (up to 200%)."""

    def __init__(self, view: QTableView, chars: dict[int, int]) -> None:
        super().__init__(view)
        self.view = view
        self.chars = chars
        view.installEventFilter(self)
        self.apply()

    def apply(self) -> None:
        metrics = QFontMetrics(self.view.font())
        unit = max(metrics.averageCharWidth(), metrics.horizontalAdvance("n"))
        for col, n in self.chars.items():
            self.view.setColumnWidth(col, n * unit + 16)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self.apply()
        return False


class _RowSizer(QObject):
    """Rows of a fixed number of text lines, kept in step with the text size."""

    def __init__(self, view: QTableView, lines: int) -> None:
        super().__init__(view)
        self.view = view
        self.lines = lines
        view.installEventFilter(self)
        self.apply()

    def apply(self) -> None:
        height = QFontMetrics(self.view.font()).lineSpacing() * self.lines + 14
        self.view.verticalHeader().setDefaultSectionSize(height)
        self.view.verticalHeader().setMinimumSectionSize(height)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self.apply()
        return False


def column_chars(view: QTableView, chars: dict[int, int]) -> _ColumnSizer:
    """Set column widths as a number of characters of the view's font (kept so as the text
    size changes; the returned sizer's ``chars`` may be changed, then ``apply()``)."""
    return _ColumnSizer(view, chars)


def selected_row(view: QTableView) -> Any:
    index = view.currentIndex()
    if not index.isValid():
        rows = view.selectionModel().selectedRows() if view.selectionModel() else []
        if not rows:
            return None
        index = rows[0]
    return view.model().data(index, ROW_ROLE)


def select_first(view: QTableView) -> None:
    model = view.model()
    if model is not None and model.rowCount() > 0 and not view.currentIndex().isValid():
        view.setCurrentIndex(model.index(0, 0))
