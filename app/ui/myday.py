"""My day: today's and overdue visits and tasks, with the person, the place and warnings.
Mark a visit done and write its note in one go."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from app.domain import OUTCOME_LABELS, VisitOutcome
from app.ui import words
from app.ui.models import VisitModel, is_overdue
from app.ui.qt import (
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    Qt,
    QVBoxLayout,
    QWidget,
)
from app.ui.session import Session
from app.ui.tables import Folding, select_first, selected_row, table
from app.ui.widgets import NoteEdit, bring_into_sight, button, label, named

if TYPE_CHECKING:
    from app.core import VisitRow


def backend_user(session: Session) -> str:
    backend = session.backend
    return backend.username if backend is not None else ""


class MyDayScreen(QWidget):
    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.model = VisitModel(session.clock.now, self)
        self._visit: VisitRow | None = None
        box = QVBoxLayout(self)
        box.setContentsMargins(20, 16, 20, 16)
        self.title = label("My day", role="h1")
        self.summary = label("")
        self.summary.setWordWrap(True)
        self.team = named(
            QCheckBox("Show my team's visits too"),
            "Show the visits on every case on this laptop, not only on the cases assigned to you",
        )
        box.addWidget(self.title)
        heading = QHBoxLayout()
        heading.addWidget(self.summary, 1)
        heading.addWidget(self.team)
        box.addLayout(heading)
        # a worker's day is a few dozen rows: each fits its text, so a warning is read in full
        self.view = table(
            self.model,
            "Today's and overdue visits",
            "Each row: when, due or overdue, person, place, what, case reference, warnings",
        )
        # a narrow table (large text, a small screen) folds whether it is due into when, and
        # the place and the case's reference under the person, so the warnings stay in sight;
        # folded, the warnings have the rest of the width (a quarter)
        self.folding = Folding(
            self.view,
            widths={
                VisitModel.COL_WHEN: 18,
                VisitModel.COL_STATE: 9,
                VisitModel.COL_PERSON: 14,
                VisitModel.COL_PLACE: 20,
                VisitModel.COL_WHAT: 13,
                VisitModel.COL_REF: 14,
            },
            shares={
                VisitModel.COL_WHEN: 0.24,
                VisitModel.COL_PERSON: 0.32,
                VisitModel.COL_WHAT: 0.17,
            },
            folded=VisitModel.FOLDED,
            min_chars=125,
            refit=self.view.resizeRowsToContents,
        )
        self.view.setTextElideMode(Qt.TextElideMode.ElideNone)  # wrapped, never cut with ...
        box.addWidget(self.view, 1)
        row = QHBoxLayout()
        self.open_button = button("Open case")
        self.done_button = button("Record what happened", primary=True)
        row.addWidget(self.open_button)
        row.addWidget(self.done_button)
        row.addStretch(1)
        box.addLayout(row)

        self.done_panel = QFrame()
        panel = QVBoxLayout(self.done_panel)
        panel.setContentsMargins(0, 8, 0, 0)
        self.done_title = label("", role="h2")
        panel.addWidget(self.done_title)
        self.outcome = named(QComboBox(), "What happened")
        for outcome in VisitOutcome:
            self.outcome.addItem(OUTCOME_LABELS[outcome.value], outcome.value)
        outcome_row = QHBoxLayout()
        outcome_row.addWidget(label("What happened", wrap=False))
        outcome_row.addWidget(self.outcome)
        outcome_row.addStretch(1)
        panel.addLayout(outcome_row)
        self.done_note = NoteEdit("Visit note")
        self.done_note.setPlaceholderText("What happened on this visit? (Ctrl+Enter to save)")
        self.done_note.setMaximumHeight(160)
        panel.addWidget(self.done_note)
        done_row = QHBoxLayout()
        self.save_done = button("Save what happened", primary=True)
        self.cancel_done = button("Cancel")
        done_row.addWidget(self.save_done)
        done_row.addWidget(self.cancel_done)
        done_row.addStretch(1)
        panel.addLayout(done_row)
        self.done_panel.hide()
        box.addWidget(self.done_panel)

        self.team.toggled.connect(lambda _on: self.reload())
        self.view.doubleClicked.connect(lambda _i: self._open())
        self.view.activated.connect(lambda _i: self._open())
        self.open_button.clicked.connect(self._open)
        self.done_button.clicked.connect(self._start_done)
        self.save_done.clicked.connect(self._finish_done)
        self.cancel_done.clicked.connect(self._cancel_done)
        self.done_note.textChanged.connect(self._note_typed)
        self.done_note.submitted.connect(self._finish_done)

    # -- loading
    def reload(self) -> None:
        backend = self.session.backend
        team = self.team.isChecked()
        self.session.work.run_db(
            self, lambda: backend.my_day(team), self._loaded, self.session.show_error
        )

    def _loaded(self, visits: list[VisitRow]) -> None:
        now = self.session.clock.now()
        team = self.team.isChecked()
        self.model.me = backend_user(self.session) if team else ""
        self.model.set_rows(visits)
        self.view.resizeRowsToContents()
        overdue = sum(1 for v in visits if is_overdue(v.due, now, v.status))
        today = len(visits) - overdue
        self.title.setText(f"My day: {now.astimezone():%A} {words.day(now.astimezone().date())}")
        whose = "your team's cases" if team else "your cases"
        if not visits:
            text = f"Nothing planned for today and nothing overdue on {whose}."
        else:
            text = f"{words.plural(today, 'visit or task', 'visits and tasks')} to come today"
            if overdue:
                text += f", {overdue} overdue"
            text += f", on {whose}."
        self.summary.setText(text)
        self.summary.setAccessibleName(text)
        select_first(self.view)

    # -- actions
    def _open(self) -> None:
        visit = selected_row(self.view)
        if visit is not None:
            self.session.open_case(visit.case_id, tab="visits")

    def _key(self, visit: VisitRow) -> str:
        return f"visit-note:{visit.visit_id}"

    def _start_done(self) -> None:
        visit = selected_row(self.view)
        if visit is None:
            self.session.show_message("Choose a visit first, then mark it done.")
            return
        if visit.status != "planned":
            self.session.show_message("That visit is already marked done.")
            return
        self.start_done(visit)

    def start_done(self, visit: VisitRow) -> None:
        self._visit = visit
        when = words.when(visit.due)
        self.done_title.setText(f"{visit.title} with {visit.person_name or visit.ref}, {when}")
        self.done_note.blockSignals(True)
        self.done_note.setPlainText(self.session.drafts.get(self._key(visit)))
        self.done_note.blockSignals(False)
        self.outcome.setCurrentIndex(0)  # done, unless the person says otherwise
        self.done_panel.show()
        self.done_note.setFocus()
        bring_into_sight(self.done_panel, self.save_done)

    def _note_typed(self) -> None:
        if self._visit is not None:
            self.session.drafts.set(self._key(self._visit), self.done_note.toPlainText())

    def _cancel_done(self) -> None:
        self._visit = None
        self.done_panel.hide()
        self.view.setFocus()

    def _finish_done(self) -> None:
        visit = self._visit
        if visit is None:
            return
        text = self.done_note.toPlainText().strip()
        if not text:
            self.session.show_message("Write a short note about the visit, then save it.")
            self.done_note.setFocus()
            return
        backend = self.session.backend
        outcome = str(self.outcome.currentData())
        said = OUTCOME_LABELS[outcome].lower()
        self.save_done.setEnabled(False)

        def ok(_result: object) -> None:
            self.save_done.setEnabled(True)
            self.session.drafts.drop(self._key(visit))
            self._visit = None
            self.done_note.blockSignals(True)
            self.done_note.clear()
            self.done_note.blockSignals(False)
            self.done_panel.hide()
            self.session.show_message(
                f"Saved. {visit.title} is marked done."
                if outcome == "done"
                else f"Saved. {visit.title}: {said}. It will be sent at the next sync."
            )
            self.session.changed()
            self.reload()

        def failed(err: BaseException) -> None:
            self.save_done.setEnabled(True)
            self.session.show_error(err)

        self.session.work.run_db(
            self, lambda: backend.complete_visit(visit.visit_id, text, outcome), ok, failed
        )

    def now(self) -> datetime:
        return self.session.clock.now()
