"""The top of a case: the way back to the list, the reference and kind of case, the person,
the case's state, and the person's warnings in a red banner above everything else."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from app.ui import words
from app.ui.qt import QHBoxLayout, Qt, QVBoxLayout, QWidget
from app.ui.widgets import WarningBanner, button, label

if TYPE_CHECKING:
    from app.core import CaseDetail


class CaseHeader(QWidget):
    def __init__(self, back: Callable[[], None], print_case: Callable[[], None]) -> None:
        super().__init__()
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        # the way back on the heading's own line: the case's tabs keep the height
        top = QHBoxLayout()
        self.back_button = button("Back (Esc)", "Back to the list")
        self.back_button.clicked.connect(back)
        self.heading = label("", role="h1")
        self.heading.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        top.addWidget(self.back_button, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(self.heading, 1)
        box.addLayout(top)
        # the person and the case's state on one line (it wraps at a large text size), and
        # beside it the printed record (not beside the heading: that keeps its width)
        second = QHBoxLayout()
        self.person_line = label("")
        second.addWidget(self.person_line, 1)
        self.print_button = button("Print or save as PDF...", "Print or save this case as PDF")
        self.print_button.clicked.connect(print_case)
        second.addWidget(self.print_button, 0, Qt.AlignmentFlag.AlignTop)
        box.addLayout(second)
        self.banner = WarningBanner()
        box.addWidget(self.banner)

    def show_detail(self, detail: CaseDetail, case_types: dict[str, str]) -> None:
        kind = words.type_label(detail.type, case_types)
        self.heading.setText(f"{detail.ref}  {kind}")
        self.heading.setAccessibleName(f"Case {detail.ref}, {kind}")
        address = detail.person.get("address") or ""
        self.person_line.setText(
            f"{detail.person_name}"
            + (f", {address}" if address else "")
            + f"    Status: {words.status_label(detail.status)}"
            + f"    Priority: {words.priority_label(detail.priority)}"
            + f"    Assigned: {detail.assigned_to or 'nobody'}"
        )
        self.banner.set_warnings(
            [
                f"{w.text} (recorded by {w.held_by})" if w.held_by else w.text
                for w in detail.warnings
            ]
        )
