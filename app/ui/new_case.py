"""The new-case dialog (Ctrl+N). Esc closes it; nothing is saved until "Create case"."""

from __future__ import annotations

from typing import Any

from app.domain import Priority, WarningCategory
from app.ui import words
from app.ui.qt import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)
from app.ui.widgets import button, label, named


class NewCaseDialog(QDialog):
    def __init__(self, case_types: dict[str, str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New case")
        self.setAccessibleName("New case")
        self.setModal(True)
        box = QVBoxLayout(self)
        box.addWidget(label("New case", role="h1"))
        self.error = label("", role="error")
        self.error.hide()
        box.addWidget(self.error)
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.person = named(QLineEdit(), "Person's full name")
        self.address = named(QLineEdit(), "Person's address")
        self.case_type = named(QComboBox(), "Type of case")
        for code, text in sorted(case_types.items(), key=lambda kv: kv[1]):
            self.case_type.addItem(text, code)
        self.priority = named(QComboBox(), "Priority")
        for priority in Priority:
            self.priority.addItem(words.priority_label(priority.value), priority.value)
        self.priority.setCurrentIndex(self.priority.findData(Priority.NORMAL.value))
        self.summary = named(QPlainTextEdit(), "Summary")
        self.summary.setTabChangesFocus(True)
        self.summary.setMaximumHeight(120)
        self.warning = named(QLineEdit(), "Warning about the person (optional)")
        self.warning.setPlaceholderText("For example: Dog on premises")
        self.warning_kind = named(QComboBox(), "Kind of warning")
        for category in WarningCategory:
            self.warning_kind.addItem(words.CATEGORY_LABELS[category.value], category.value)
        form.addRow("Person's full name", self.person)
        form.addRow("Address", self.address)
        form.addRow("Type of case", self.case_type)
        form.addRow("Priority", self.priority)
        form.addRow("Summary", self.summary)
        form.addRow("Warning (optional)", self.warning)
        form.addRow("Kind of warning", self.warning_kind)
        box.addLayout(form)
        row = QHBoxLayout()
        self.create_button = button("Create case", primary=True)
        self.cancel = button("Cancel (Esc)", "Cancel")
        row.addWidget(self.create_button)
        row.addWidget(self.cancel)
        row.addStretch(1)
        box.addLayout(row)
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 70)
        self.create_button.clicked.connect(self._check)
        self.cancel.clicked.connect(self.reject)
        self.person.setFocus()

    def _check(self) -> None:
        if not self.person.text().strip():
            self._problem("Enter the person's full name.", self.person)
            return
        if not self.summary.toPlainText().strip():
            self._problem("Write a short summary of why the case is opened.", self.summary)
            return
        self.accept()

    def _problem(self, text: str, where: QWidget) -> None:
        self.error.setText(text)
        self.error.show()
        where.setFocus()

    def fields(self) -> dict[str, Any]:
        return {
            "person_name": self.person.text().strip(),
            "address": self.address.text().strip(),
            "type": self.case_type.currentData(),
            "priority": self.priority.currentData(),
            "summary": self.summary.toPlainText().strip(),
            "warning": self.warning.text().strip(),
            "warning_category": self.warning_kind.currentData(),
        }
