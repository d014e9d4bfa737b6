"""'Print or save as PDF' on a case: the caseworker ticks what goes on the record they hand
the person. The name, address, the case in plain words, the next visit and who to contact are
always on it; warnings and each note only when ticked (they may hold other people's
information), and large print on request. Made on the database worker, never the GUI thread,
saved where the caseworker chooses, and recorded in the case's history."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

from app.ui import words
from app.ui.qt import QCheckBox, QDialog, QDialogButtonBox, QScrollArea, QVBoxLayout, QWidget
from app.ui.widgets import label

if TYPE_CHECKING:
    from app.core import CaseDetail
    from app.ui.session import Session

#: Characters of a note shown beside its box.
NOTE_PREVIEW = 80


class PrintChoice(QDialog):
    """What goes on the printed record."""

    def __init__(self, detail: CaseDetail, parent: QWidget) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Print or save {detail.ref} as PDF")
        self.setAccessibleName("Choose what goes on the printed record")
        box = QVBoxLayout(self)
        box.addWidget(
            label(
                f"The record of {detail.person_name} always shows their name and address, the "
                "case in plain words, the next visit and who to contact. Tick anything else "
                "to include: leave out what names or concerns other people."
            )
        )
        self.warnings = QCheckBox(f"Warnings ({len(detail.warnings)})")
        self.warnings.setAccessibleName("Include the warnings")
        self.warnings.setEnabled(bool(detail.warnings))
        box.addWidget(self.warnings)
        self.notes: dict[UUID, QCheckBox] = {}
        holder = QWidget()
        notes_box = QVBoxLayout(holder)
        for note in detail.notes:
            text = " ".join(note.text.split())
            short = text if len(text) <= NOTE_PREVIEW else text[: NOTE_PREVIEW - 1] + "…"
            check = QCheckBox(f"{words.day(note.at)}, {note.author}: {short}")
            check.setAccessibleName(f"Include the note of {words.day(note.at)} by {note.author}")
            self.notes[note.id] = check
            notes_box.addWidget(check)
        if not detail.notes:
            notes_box.addWidget(label("This case has no notes."))
        notes_box.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(holder)
        scroll.setAccessibleName("Notes to include")
        box.addWidget(scroll, 1)
        self.large = QCheckBox("Large print")
        self.large.setAccessibleName("Large print")
        box.addWidget(self.large)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.save = buttons.addButton("Save as PDF...", QDialogButtonBox.ButtonRole.AcceptRole)
        self.save.setAccessibleName("Save the printed record as a PDF")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        box.addWidget(buttons)
        self.resize(640, 480)

    def chosen_notes(self) -> list[UUID]:
        return [note_id for note_id, check in self.notes.items() if check.isChecked()]


def print_or_save(session: Session, detail: CaseDetail, parent: QWidget) -> PrintChoice:
    """Ask what goes on it, where to save it, then make it in the background. Returns the
    dialog (shown, not run modally here: tests and the window drive it the same way)."""
    dialog = PrintChoice(detail, parent)

    def chosen() -> None:
        target = session.dialogs.choose_where_to_save(parent, f"{detail.ref}.pdf")
        if target is None:
            return
        if target.suffix.lower() != ".pdf":
            target = target.with_name(target.name + ".pdf")
        notes, warns, large = (
            dialog.chosen_notes(),
            dialog.warnings.isChecked(),
            dialog.large.isChecked(),
        )
        backend = session.backend
        session.work.run_db(
            parent,
            lambda: backend.print_case(detail.id, target, notes, warns, large),
            lambda made: session.show_message(_saved(Path(made))),
            session.show_error,
        )

    dialog.accepted.connect(chosen)
    dialog.open()
    return dialog


def _saved(path: Path) -> str:
    return f"The printed record was saved as {path}. Open it to print it or hand it over."
