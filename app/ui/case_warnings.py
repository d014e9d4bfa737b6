"""The Warnings tab of a case: the person's warnings in full, a new one added, and one that
no longer applies retired (it stops showing; the case's history keeps who retired it and
when)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from app.domain import WarningCategory
from app.ui import words
from app.ui.case_tab import OpenCase
from app.ui.qt import (
    QComboBox,
    QFormLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    Qt,
    QVBoxLayout,
    QWidget,
)
from app.ui.widgets import button, buttons_row, label, named

if TYPE_CHECKING:
    from app.core import CaseDetail


#: Where a warning's holding team (another team's, after a merge) is kept on its list item.
HELD_BY = Qt.ItemDataRole.UserRole + 1


class WarningsTab(QWidget):
    def __init__(self, case: OpenCase) -> None:
        super().__init__()
        self.case = case
        self.session = case.session
        box = QVBoxLayout(self)
        box.addWidget(
            label(
                "Warnings show above everything on this case and on My day. Retire one that "
                "no longer applies: it stops showing, and the case's history keeps it.",
                role="hint",
            )
        )
        self.list = named(QListWidget(), "This person's warnings")
        self.list.setWordWrap(True)
        box.addWidget(self.list, 1)
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.text = named(QLineEdit(), "New warning")
        self.text.setPlaceholderText("For example: Dog on premises, keep the gate shut")
        self.category = named(QComboBox(), "Kind of warning")
        for kind in WarningCategory:
            self.category.addItem(words.CATEGORY_LABELS.get(kind.value, kind.value), kind.value)
        form.addRow("New warning", self.text)
        form.addRow("Kind", self.category)
        box.addLayout(form)
        self.add_button = button("Add warning", primary=True)
        self.retire_button = button("Retire the chosen warning")
        self.button_row = buttons_row(self.add_button, self.retire_button)
        self.add_button.clicked.connect(self.add)
        self.retire_button.clicked.connect(self.retire)
        self.text.returnPressed.connect(self.add)

    def show_detail(self, detail: CaseDetail) -> None:
        self.list.clear()
        for warning in detail.warnings:
            kind = words.CATEGORY_LABELS.get(warning.category, warning.category)
            text = (
                f"\u26a0 {warning.text}\n{kind}, added by {warning.added_by} on "
                f"{words.day(warning.added_at)}"
            )
            if warning.held_by:
                text += f", recorded by {warning.held_by} (their case)"
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, str(warning.id))
            item.setData(HELD_BY, warning.held_by or "")
            item.setData(Qt.ItemDataRole.AccessibleTextRole, text.replace("\n", ". "))
            self.list.addItem(item)
        if not detail.warnings:
            self.list.addItem(QListWidgetItem("No warnings about this person."))
        self.retire_button.setEnabled(bool(detail.warnings))

    def add(self) -> None:
        case_id = self.case.case_id
        text = self.text.text().strip()
        if case_id is None:
            return
        if not text:
            self.session.show_message("Write the warning first, then add it.")
            self.text.setFocus()
            return
        category = str(self.category.currentData())
        backend = self.session.backend
        self.case.run(
            self,
            lambda: backend.add_warning(case_id, text, category),
            "Warning added. It will be sent at the next sync.",
            self.text.clear,
        )

    def retire(self) -> None:
        item = self.list.currentItem()
        chosen = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        if not chosen:
            self.session.show_message("Choose the warning that no longer applies first.")
            return
        held_by = item.data(HELD_BY) if item is not None else ""
        if held_by:
            self.session.show_message(
                f"This warning is on {held_by}'s case about this person, so only they can "
                "retire it. Ask them if it no longer applies."
            )
            return
        backend = self.session.backend
        self.case.run(
            self,
            lambda: backend.retire_warning(UUID(str(chosen))),
            "Warning retired. It will be sent at the next sync.",
        )
