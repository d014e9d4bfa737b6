"""Questions the window asks a person, behind one injectable service.

The window never calls ``QMessageBox`` or ``QFileDialog`` directly; it asks its
:class:`DialogService`, so a test can answer with a scripted service.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from app.ui.qt import QFileDialog, QMessageBox, QPrintDialog, QPrinter, QWidget


class DialogService(Protocol):
    def confirm(self, parent: QWidget, title: str, text: str, yes: str, no: str) -> bool: ...

    def choose_file_to_add(self, parent: QWidget) -> Path | None: ...

    def choose_where_to_save(self, parent: QWidget, suggested_name: str) -> Path | None: ...

    def choose_printer(self, parent: QWidget) -> QPrinter | None: ...


class QtDialogService:
    """The real dialogs."""

    def confirm(self, parent: QWidget, title: str, text: str, yes: str, no: str) -> bool:
        box = QMessageBox(parent)
        box.setWindowTitle(title)
        box.setText(text)
        yes_button = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
        no_button = box.addButton(no, QMessageBox.ButtonRole.RejectRole)
        yes_button.setAccessibleName(yes)
        no_button.setAccessibleName(no)
        box.setDefaultButton(no_button)
        box.setEscapeButton(no_button)
        box.exec()
        return box.clickedButton() is yes_button

    def choose_file_to_add(self, parent: QWidget) -> Path | None:
        name, _ = QFileDialog.getOpenFileName(
            parent,
            "Choose a photo or scan to add",
            str(Path.home()),
            "Photos and scans (*.jpg *.jpeg *.png *.pdf *.tif *.tiff);;All files (*)",
        )
        return Path(name) if name else None

    def choose_where_to_save(self, parent: QWidget, suggested_name: str) -> Path | None:
        name, _ = QFileDialog.getSaveFileName(
            parent, "Save a copy of this document", str(Path.home() / suggested_name)
        )
        return Path(name) if name else None

    def choose_printer(self, parent: QWidget) -> QPrinter | None:
        """The system's printer dialog; None when the person cancels."""
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        dialog = QPrintDialog(printer, parent)
        dialog.setWindowTitle("Print the record")
        return printer if dialog.exec() == QPrintDialog.DialogCode.Accepted else None
