"""A table view set up the same way everywhere: whole rows, keyboard first, readable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.ui.models import ROW_ROLE
from app.ui.qt import (
    QAbstractItemView,
    QEvent,
    QFontMetrics,
    QHeaderView,
    QObject,
    QSize,
    Qt,
    QTableView,
    QTimer,
)


class _Table(QTableView):
    """A table that, given ``preferred_lines``, asks for that many lines of text at best (Qt's
    fixed 192 pixels made a case's tab ask for more than a small screen has, and the box for
    a new note went below the fold); it still grows into any room there is."""

    preferred_lines = 0

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        if not self.preferred_lines:
            return hint
        rows = QFontMetrics(self.font()).lineSpacing() * self.preferred_lines
        height = self.horizontalHeader().sizeHint().height() + rows + 2 * self.frameWidth()
        return QSize(hint.width(), height)


def table(
    model: Any, name: str, description: str = "", *, lines: int = 0, preferred_lines: int = 0
) -> QTableView:
    """``lines``: 0 fits each row to its text (small tables: a case's notes); 1 or 2 gives
    every row that many lines of text, which stays quick for thousands of rows.
    ``preferred_lines``: the height it asks for at best, in lines of text (0: Qt's)."""
    view = _Table()
    view.preferred_lines = preferred_lines
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


class _Follower(QObject):
    """Something that keeps a table in step with its text size, theme or width: ``apply``
    again (:meth:`later`) when one of those changes.

    Again means once the change has reached every widget (a zero timer): a text-size or
    theme change sends each table several events, and Qt is still handing the new style
    sheet round while they arrive, so the table is measured once, with what it will show,
    rather than resized again at each event in the middle of the repolish."""

    def __init__(self, view: QTableView) -> None:
        super().__init__(view)
        self.view = view
        self._later = QTimer(self)
        self._later.setSingleShot(True)
        self._later.setInterval(0)
        self._later.timeout.connect(self.apply)

    def apply(self) -> None:
        raise NotImplementedError

    def later(self) -> None:
        self._later.start()


class _ColumnSizer(_Follower):
    """Keeps column widths in characters, so they grow with the text size (up to 200%)."""

    def __init__(self, view: QTableView, chars: dict[int, int]) -> None:
        super().__init__(view)
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
            self.later()
        return False


class _RowSizer(_Follower):
    """Rows of a fixed number of text lines, kept in step with the text size."""

    def __init__(self, view: QTableView, lines: int) -> None:
        super().__init__(view)
        self.lines = lines
        view.installEventFilter(self)
        self.apply()

    def apply(self) -> None:
        height = QFontMetrics(self.view.font()).lineSpacing() * self.lines + 14
        self.view.verticalHeader().setDefaultSectionSize(height)
        self.view.verticalHeader().setMinimumSectionSize(height)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self.later()
        return False


class _HeightFitter(_Follower):
    """Keeps a short table as tall as its rows (up to ``max_rows`` of them, then it scrolls),
    so a list of two leaves the room below it to what follows."""

    def __init__(self, view: QTableView, max_rows: int) -> None:
        super().__init__(view)
        self.max_rows = max_rows
        view.installEventFilter(self)
        model = view.model()
        model.modelReset.connect(self.apply)
        model.rowsInserted.connect(self.apply)
        model.rowsRemoved.connect(self.apply)
        self.apply()

    def apply(self) -> None:
        view = self.view
        view.resizeRowsToContents()
        shown = min(view.model().rowCount(), self.max_rows)
        rows = sum(view.rowHeight(row) for row in range(shown))
        if shown == 0:  # room for one row's worth, so the empty table does not collapse
            rows = QFontMetrics(view.font()).lineSpacing() + 14
        bar = view.horizontalScrollBar()
        extra = bar.sizeHint().height() if bar.isVisible() else 0
        height = view.horizontalHeader().sizeHint().height() + rows + 2 * view.frameWidth()
        view.setFixedHeight(height + extra)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange, QEvent.Type.Resize):
            self.later()
        return False


def fit_rows(view: QTableView, max_rows: int) -> _HeightFitter:
    """Keep ``view`` as tall as its rows, up to ``max_rows`` (then it scrolls)."""
    return _HeightFitter(view, max_rows)


class Folding(_Follower):
    """A table that folds when narrow (large text, a small screen): below ``min_chars``
    characters of width it hides the ``folded`` columns (the model, told by its ``compact``
    flag, puts their words under other columns) and gives the columns in ``shares`` those
    parts of the width; wider, the columns take ``widths`` characters again. Watches the
    table's own width and text size (a page not shown when the window changed catches up
    when it is); ``refit`` is called whenever the cells wrap anew."""

    def __init__(
        self,
        view: QTableView,
        *,
        widths: dict[int, int],
        shares: dict[int, float],
        folded: tuple[int, ...],
        min_chars: int,
        refit: Callable[[], None],
    ) -> None:
        super().__init__(view)
        self.widths, self.shares, self.folded = widths, shares, folded
        self.min_chars, self.refit = min_chars, refit
        self.sizer = column_chars(view, dict(widths))
        self.viewport = view.viewport()  # kept: no call into a table being torn down
        self.viewport.installEventFilter(self)
        view.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # the viewport's width, the table's text (the table's own resize moves the viewport:
        # one apply a resize)
        kind = event.type()
        if (watched is self.viewport and kind == QEvent.Type.Resize) or (
            watched is self.view and kind in (QEvent.Type.FontChange, QEvent.Type.StyleChange)
        ):
            self.later()
        return False

    def apply(self) -> None:
        view = self.view
        model: Any = view.model()  # a model with a ``compact`` flag (VisitModel, CaseListModel)
        width = view.viewport().width()
        compact = width / max(1, view.fontMetrics().averageCharWidth()) < self.min_chars
        moved = False
        if compact:
            for col, share in self.shares.items():
                moved |= view.columnWidth(col) != int(width * share)
                view.setColumnWidth(col, int(width * share))
        if compact == model.compact:
            if moved:
                self.refit()
            return
        model.compact = compact
        for col in self.folded:
            view.setColumnHidden(col, compact)
        self.sizer.chars = {} if compact else dict(self.widths)
        self.sizer.apply()
        model.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, model.columnCount() - 1)
        model.layoutChanged.emit()
        self.refit()


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
