"""The Visits tab of a case: visits and tasks with their state in words, planning a new one,
and marking one done (the note being written on the Notes tab goes with it)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING

from app.ui.case_notes import NotesTab
from app.ui.case_tab import OpenCase
from app.ui.models import VisitModel
from app.ui.qt import QDateTimeEdit, QFormLayout, QLineEdit, QVBoxLayout, QWidget
from app.ui.tables import column_chars, selected_row, table
from app.ui.widgets import button, buttons_row, named

if TYPE_CHECKING:
    from app.core import CaseDetail


class VisitsTab(QWidget):
    def __init__(self, case: OpenCase, notes: NotesTab) -> None:
        super().__init__()
        self.case = case
        self.session = case.session
        self.notes_tab = notes
        box = QVBoxLayout(self)
        self.visits = VisitModel(self.session.clock.now, self)
        self.visits_view = table(self.visits, "Visits and tasks", preferred_lines=6)
        for col in (VisitModel.COL_PERSON, VisitModel.COL_WARN, VisitModel.COL_REF):
            self.visits_view.hideColumn(col)
        column_chars(
            self.visits_view,
            {VisitModel.COL_WHEN: 18, VisitModel.COL_STATE: 10, VisitModel.COL_PLACE: 26},
        )
        box.addWidget(self.visits_view, 1)
        form = QFormLayout()
        self.visit_title = named(QLineEdit(), "What the visit is for")
        self.visit_when = named(QDateTimeEdit(), "Date and time of the visit")
        self.visit_when.setCalendarPopup(True)
        self.visit_when.setDisplayFormat("d MMM yyyy, HH:mm")
        self.visit_place = named(QLineEdit(), "Place of the visit")
        self._home = ""  # the person's address: where a visit goes when no place is typed
        self._default_when()
        form.addRow("What for", self.visit_title)
        form.addRow("When", self.visit_when)
        form.addRow("Where", self.visit_place)
        box.addLayout(form)
        self.add_visit_button = button("Plan this visit")
        self.visit_done_button = button("Mark the chosen visit done")
        self.button_row = buttons_row(self.add_visit_button, self.visit_done_button)
        self.add_visit_button.clicked.connect(self.add_visit)
        self.visit_done_button.clicked.connect(self.visit_done)

    def show_detail(self, detail: CaseDetail) -> None:
        self.visits.set_rows(detail.visits)
        self._home = str(detail.person.get("address") or "")
        self.visit_place.setPlaceholderText(
            f"At home: {self._home}" if self._home else "Where the visit will be"
        )
        if not self.visit_title.text():
            self._default_when()

    def _default_when(self) -> None:
        """A new visit starts at 10:00 tomorrow where the laptop is, never in the past."""
        clock = self.session.clock
        tomorrow = clock.local_today() + timedelta(days=1)
        start = datetime.combine(tomorrow, time(10, 0), tzinfo=clock.local_zone())
        self.visit_when.setDateTime(start.astimezone().replace(tzinfo=None))

    def add_visit(self) -> None:
        title = self.visit_title.text().strip()
        case_id = self.case.case_id
        if case_id is None:
            return
        if not title:
            self.session.show_message("Say what the visit is for.")
            self.visit_title.setFocus()
            return
        due = self.visit_when.dateTime().toPython()
        due = due.astimezone(UTC) if due.tzinfo else due.replace(tzinfo=None).astimezone(UTC)
        place = self.visit_place.text().strip() or self._home
        backend = self.session.backend

        def after() -> None:
            self.visit_title.clear()
            self.visit_place.clear()
            self._default_when()

        self.case.run(
            self,
            lambda: backend.add_visit(case_id, title, due, place),
            "Visit planned.",
            after,
        )

    def visit_done(self) -> None:
        visit = selected_row(self.visits_view)
        if visit is None or visit.status != "planned":
            self.session.show_message("Choose a planned visit in the list first.")
            return
        note = self.notes_tab.typed_note() or f"{visit.title}: done."
        backend = self.session.backend
        self.case.run(
            self,
            lambda: backend.complete_visit(visit.visit_id, note),
            "Visit marked done.",
            self.notes_tab.clear_note,
        )
