"""The style sheets fill in for every text size and both themes, with the required colours."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtGui import QStandardItem, QStandardItemModel

from app.ui import tables, theme
from app.ui.qt import QApplication


@pytest.mark.parametrize("size", theme.TEXT_SIZES)
@pytest.mark.parametrize("high", [False, True])
def test_every_sheet_fills_in(size: int, high: bool) -> None:
    sheet = theme.style_sheet(size, high)
    assert "$" not in sheet
    assert "#ffdd00" in sheet  # the focus colour, in both themes
    assert f"font-size: {round(theme.BASE_POINTS * size / 100)}pt" in sheet


def test_standard_colours_are_the_gov_uk_ones() -> None:
    sheet = theme.style_sheet(100, False)
    for colour in ("#0b0c0c", "#ffffff", "#1d70b8", "#d4351c", "#00703c"):
        assert colour in sheet
    assert theme.BASE_POINTS >= 11


def test_tables_follow_a_new_text_size_once_it_has_reached_every_widget(qtbot: Any) -> None:
    """A table's heights, columns and folding follow the text size, not while Qt is still
    handing the new style sheet round every widget (resized at each of a table's events in
    the middle of that), but after it, once."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    model: Any = QStandardItemModel(3, 3)
    for row in range(3):
        for col in range(3):
            model.setItem(row, col, QStandardItem(f"Row {row} column {col}"))
    model.compact = False  # Folding tells the model (as CaseListModel's flag)
    view = tables.table(model, "People")
    tables.fit_rows(view, 4)
    tables.column_chars(view, {0: 10})
    applies: list[int] = []
    tables.Folding(
        view,
        widths={0: 10},
        shares={0: 0.5, 1: 0.5},
        folded=(2,),
        min_chars=45,
        refit=lambda: applies.append(1),
    )
    qtbot.addWidget(view)
    try:
        theme.apply(app, 100, False)
        view.resize(520, 300)
        view.show()
        qtbot.waitExposed(view)
        qtbot.waitUntil(lambda: not model.compact and view.height() < 300)
        before = (view.height(), view.columnWidth(0))
        theme.apply(app, 200, False)
        assert (view.height(), view.columnWidth(0)) == before  # not in the handing round
        assert not model.compact
        qtbot.waitUntil(lambda: model.compact)  # then narrow for 200% text: folded
        assert view.isColumnHidden(2) and applies
        assert view.height() > before[0]  # rows as tall as their larger text
    finally:
        theme.apply(app, 100, False)
