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
from app.ui.qt import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QImage,
    QPainter,
    QPrinter,
    QRect,
    QScrollArea,
    Qt,
    QVBoxLayout,
    QWidget,
)
from app.ui.widgets import label

if TYPE_CHECKING:
    from app.core import CaseDetail
    from app.ui.session import Session

#: Characters of a note shown under its box.
NOTE_PREVIEW = 240


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
            check = QCheckBox(f"{words.day(note.at)}, {note.author}")
            check.setAccessibleName(f"Include the note of {words.day(note.at)} by {note.author}")
            check.setAccessibleDescription(short)
            self.notes[note.id] = check
            notes_box.addWidget(check)
            preview = label(short)  # wraps: a long note never runs off the side
            preview.setContentsMargins(28, 0, 0, 6)
            notes_box.addWidget(preview)
        if not detail.notes:
            notes_box.addWidget(label("This case has no notes."))
        notes_box.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(holder)
        scroll.setAccessibleName("Notes to include")
        box.addWidget(scroll, 1)
        self.large = QCheckBox("Large print")
        self.large.setAccessibleName("Large print")
        box.addWidget(self.large)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.print = buttons.addButton("Print...", QDialogButtonBox.ButtonRole.ActionRole)
        self.print.setAccessibleName("Print the record on a printer")
        self.save = buttons.addButton("Save as PDF...", QDialogButtonBox.ButtonRole.AcceptRole)
        self.save.setAccessibleName("Save the printed record as a PDF")
        self.to_printer = False
        self.print.clicked.connect(self._print_chosen)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        box.addWidget(buttons)
        window = parent.window()  # most of the window: room for the notes at 200% text
        self.resize(max(640, window.width() * 6 // 10), max(480, window.height() * 85 // 100))

    def _print_chosen(self) -> None:
        self.to_printer = True
        self.accept()

    def chosen_notes(self) -> list[UUID]:
        return [note_id for note_id, check in self.notes.items() if check.isChecked()]


def print_or_save(session: Session, detail: CaseDetail, parent: QWidget) -> PrintChoice:
    """Ask what goes on it, where to save it, then make it in the background. Returns the
    dialog (shown, not run modally here: tests and the window drive it the same way)."""
    dialog = PrintChoice(detail, parent)

    def chosen() -> None:
        if dialog.to_printer:
            _to_printer(session, detail, dialog, parent)
            return
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


def _to_printer(session: Session, detail: CaseDetail, dialog: PrintChoice, parent: QWidget) -> None:
    """The system's printer dialog, then the pages made on the database worker and painted
    onto the chosen printer here (a few page pictures: quick)."""
    printer = session.dialogs.choose_printer(parent)
    if printer is None:
        return
    notes, warns, large = (
        dialog.chosen_notes(),
        dialog.warnings.isChecked(),
        dialog.large.isChecked(),
    )
    backend = session.backend
    ppi = max(150, min(300, printer.resolution()))  # 300 ppi: sharp, and an A4 page is 9 MP

    def send(pages: list[bytes]) -> None:
        painter = QPainter()
        if not painter.begin(printer):
            session.show_message("The printer could not be started. Check it, then try again.")
            return
        try:
            area = printer.pageRect(QPrinter.Unit.DevicePixel).toRect()
            for number, data in enumerate(pages):
                if number:
                    printer.newPage()
                image = QImage.fromData(data)
                scaled = image.size().scaled(area.size(), Qt.AspectRatioMode.KeepAspectRatio)
                painter.drawImage(QRect(0, 0, scaled.width(), scaled.height()), image)
        finally:
            painter.end()
        session.show_message(f"The record of {detail.ref} was sent to the printer.")

    session.work.run_db(
        parent,
        lambda: backend.print_pages(detail.id, notes, warns, large, ppi),
        send,
        session.show_error,
    )


def _saved(path: Path) -> str:
    return f"The printed record was saved as {path}. Open it to print it or hand it over."
