"""The new-case dialog (Ctrl+N). Esc closes it; nothing is saved until "Create case".

What a new case needs is the core's rule: "Create case" hands the fields to ``create`` (which
asks the core on the DB worker); a value the core refuses comes back here and is shown in its
words by the field it names (or above the form), with the dialog still open.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.domain import Priority, WarningCategory
from app.errors import UsageError
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
from app.ui.widgets import FieldProblems, button, label, named

#: create(fields, refused): ask the core to make the case; ``refused(err)`` when it will not
Create = Callable[[dict[str, Any], Callable[[BaseException], None]], None]


class NewCaseDialog(QDialog):
    def __init__(
        self,
        case_types: dict[str, str],
        parent: QWidget | None = None,
        create: Create | None = None,
    ) -> None:
        super().__init__(parent)
        self._create = create
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
        self.form = form
        self.problems = FieldProblems(form, self.error)
        #: the core's name of each field -> (its control, its own problem line)
        self.field_lines = self.problems.lines
        for name, title, control in (
            ("person.name", "Person's full name", self.person),
            ("person.address", "Address", self.address),
            ("type", "Type of case", self.case_type),
            ("priority", "Priority", self.priority),
            ("summary", "Summary", self.summary),
            ("", "Warning (optional)", self.warning),
            ("", "Kind of warning", self.warning_kind),
        ):
            if name:
                self.problems.add(name, title, control)
            form.addRow(title, control)
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
        """Hand the fields to the core; the dialog closes only once the case is made."""
        if self._create is None:
            self.accept()
            return
        self.create_button.setEnabled(False)
        self._create(self.fields(), self.show_refused)

    def show_refused(self, err: BaseException) -> None:
        """The core would not make the case: its words by the field it names (or above the
        form); the dialog stays open with what was typed."""
        self.create_button.setEnabled(True)
        if isinstance(err, UsageError):
            self.problems.show(err)
            return
        self.problems.clear()
        self.error.setText(str(err))
        self.error.show()

    def _clear_errors(self) -> None:
        self.problems.clear()

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
