"""The Notes tab of a case: the notes, newest first, and the box to write one (Ctrl+Enter
saves). Notes are never changed: a correction is added as a new note that points back."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.ui import words
from app.ui.case_tab import OpenCase
from app.ui.models import NoteModel
from app.ui.qt import QVBoxLayout, QWidget
from app.ui.tables import column_chars, selected_row, table
from app.ui.widgets import NoteEdit, button, buttons_row, label

if TYPE_CHECKING:
    from app.core import CaseDetail, NoteView


class NotesTab(QWidget):
    def __init__(self, case: OpenCase) -> None:
        super().__init__()
        self.case = case
        self.session = case.session
        self.corrects: NoteView | None = None
        box = QVBoxLayout(self)
        self.notes = NoteModel(self)
        self.notes_view = table(self.notes, "Notes, newest first", preferred_lines=6)
        for col in (NoteModel.COL_WHEN, NoteModel.COL_AUTHOR, NoteModel.COL_SENT):
            self.notes_view.hideColumn(col)
        header = self.notes_view.horizontalHeader()
        header.moveSection(header.visualIndex(NoteModel.COL_ABOUT), 0)
        header.setStretchLastSection(True)
        column_chars(self.notes_view, {NoteModel.COL_ABOUT: 17})
        box.addWidget(self.notes_view, 1)
        self.correcting = label("", role="hint")
        self.correcting.hide()
        box.addWidget(self.correcting)
        self.note_box = NoteEdit("New note")
        self.note_box.setPlaceholderText("Add a note (Ctrl+Enter to save)")
        self.note_box.setMaximumHeight(130)
        box.addWidget(self.note_box)
        self.save_note = button("Save note (Ctrl+Enter)", "Save note", primary=True)
        self.correct_button = button("Correct the chosen note")
        self.button_row = buttons_row(self.save_note, self.correct_button)
        self.save_note.clicked.connect(self.save)
        self.correct_button.clicked.connect(self.start_correction)
        self.note_box.textChanged.connect(self._typed)
        self.note_box.submitted.connect(self.save)

    def show_detail(self, detail: CaseDetail) -> None:
        self.notes.set_rows(detail.notes[::-1])  # newest first
        unsent = sum(1 for n in detail.notes if not n.sent)
        self.notes_view.setAccessibleDescription(
            f"{len(detail.notes)} notes, {unsent} waiting to send"
        )
        draft = self.session.drafts.get(self.case.note_key())
        if draft and not self.note_box.toPlainText():
            self.note_box.blockSignals(True)
            self.note_box.setPlainText(draft)
            self.note_box.blockSignals(False)

    def typed_note(self) -> str:
        """The note being written, trimmed ('' when none)."""
        return self.note_box.toPlainText().strip()

    def clear_note(self) -> None:
        """Empty the box and drop its draft (the note was saved, or used up)."""
        self.note_box.blockSignals(True)
        self.note_box.clear()
        self.note_box.blockSignals(False)
        self.session.drafts.drop(self.case.note_key())

    def _typed(self) -> None:
        if self.case.case_id is not None:
            self.session.drafts.set(self.case.note_key(), self.note_box.toPlainText())

    def save(self) -> None:
        text = self.typed_note()
        case_id = self.case.case_id
        if case_id is None:
            return
        if not text:
            self.session.show_message("Write the note first, then save it.")
            self.note_box.setFocus()
            return
        backend = self.session.backend
        corrects = self.corrects.id if self.corrects else None
        key = self.case.note_key()

        def after() -> None:
            self.session.drafts.drop(key)
            self.note_box.blockSignals(True)
            self.note_box.clear()
            self.note_box.blockSignals(False)
            self.corrects = None
            self.correcting.hide()

        self.case.run(
            self,
            lambda: backend.add_note(case_id, text, corrects),
            "Note saved on this laptop. It will be sent at the next sync.",
            after,
        )

    def start_correction(self) -> None:
        note = selected_row(self.notes_view)
        if note is None:
            self.session.show_message("Choose the note to correct in the list first.")
            return
        self.corrects = note
        self.correcting.setText(
            f"Writing a correction to the note of {words.when(note.at)} by "
            f"{note.author}. Notes are never changed; the correction is added as a new note."
        )
        self.correcting.show()
        self.note_box.setFocus()
