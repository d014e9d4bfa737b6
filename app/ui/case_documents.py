"""The Documents tab of a case: photos and scans, kept encrypted on this laptop. Opening one
shows it from memory (:class:`DocumentViewer`); only "Save a copy" writes it out."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from app.ui.case_tab import OpenCase
from app.ui.models import DocumentModel
from app.ui.qt import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPixmap,
    QPlainTextEdit,
    QScrollArea,
    Qt,
    QVBoxLayout,
    QWidget,
)
from app.ui.tables import column_chars, selected_row, table
from app.ui.widgets import button, buttons_row, label, named

if TYPE_CHECKING:
    from app.core import CaseDetail


class DocumentsTab(QWidget):
    def __init__(self, case: OpenCase) -> None:
        super().__init__()
        self.case = case
        self.session = case.session
        box = QVBoxLayout(self)
        box.addWidget(
            label(
                "Documents are kept encrypted on this laptop. Opening one shows it here; "
                "save a copy only if you must.",
                role="hint",
            )
        )
        self.documents = DocumentModel(self)
        self.documents_view = table(self.documents, "Documents", preferred_lines=6)
        column_chars(
            self.documents_view,
            {
                DocumentModel.COL_NAME: 28,
                DocumentModel.COL_SIZE: 9,
                DocumentModel.COL_BY: 12,
                DocumentModel.COL_WHEN: 18,
            },
        )
        box.addWidget(self.documents_view, 1)
        self.add_document_button = button("Add a photo or scan")
        self.open_document_button = button("Open document")
        self.save_copy_button = button("Save a copy")
        self.button_row = buttons_row(
            self.add_document_button, self.open_document_button, self.save_copy_button
        )
        self.add_document_button.clicked.connect(self.add_document)
        self.open_document_button.clicked.connect(self.open_document)
        self.save_copy_button.clicked.connect(self.save_copy)
        self.documents_view.activated.connect(lambda _i: self.open_document())

    def show_detail(self, detail: CaseDetail) -> None:
        self.documents.set_rows(detail.documents)

    def add_document(self) -> None:
        path = self.session.dialogs.choose_file_to_add(self)
        case_id = self.case.case_id
        if path is None or case_id is None:
            return
        backend = self.session.backend
        self.case.run(
            self,
            lambda: backend.add_document(case_id, path),
            f"{path.name} added. It is kept encrypted on this laptop.",
        )

    def open_document(self) -> None:
        doc = selected_row(self.documents_view)
        if doc is None:
            self.session.show_message("Choose a document in the list first.")
            return
        backend = self.session.backend

        def show(data: bytes) -> None:
            DocumentViewer(doc.name, doc.mime, data, self).open()

        self.session.work.run_db(
            self, lambda: backend.read_document(doc.id), show, self.session.show_error
        )

    def save_copy(self) -> None:
        doc = selected_row(self.documents_view)
        if doc is None:
            self.session.show_message("Choose a document in the list first.")
            return
        target = self.session.dialogs.choose_where_to_save(self, doc.name)
        if target is None:
            return
        backend = self.session.backend

        def write() -> Path:
            data = backend.read_document(doc.id)
            target.write_bytes(data)
            return target

        self.session.work.run_db(
            self,
            write,
            lambda p: self.session.show_message(f"A copy was saved as {p}. It is not encrypted."),
            self.session.show_error,
        )


class DocumentViewer(QDialog):
    """Shows a decrypted document from memory; nothing is written to disk."""

    def __init__(self, name: str, mime: str, data: bytes, parent: QWidget) -> None:
        super().__init__(parent)
        self.setWindowTitle(name)
        self.setAccessibleName(f"Document {name}")
        box = QVBoxLayout(self)
        pixmap = QPixmap()
        if mime.startswith("image/") and pixmap.loadFromData(data):
            view = QLabel()
            view.setPixmap(pixmap.scaled(900, 700, Qt.AspectRatioMode.KeepAspectRatio))
            view.setAccessibleName(f"Picture: {name}")
            scroll = QScrollArea()
            scroll.setWidget(view)
            box.addWidget(scroll)
        elif mime.startswith("text/"):
            text = named(QPlainTextEdit(data.decode("utf-8", "replace")), f"Text of {name}")
            text.setReadOnly(True)
            box.addWidget(text)
        else:
            box.addWidget(
                label(
                    f"Fieldcase cannot show this kind of file ({mime or 'unknown'}) itself. "
                    "Close this and use 'Save a copy' to open it in another program."
                )
            )
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.button(QDialogButtonBox.StandardButton.Close).setAccessibleName("Close")
        buttons.rejected.connect(self.reject)
        box.addWidget(buttons)
        self.resize(960, 760)
