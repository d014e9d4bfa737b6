"""One case: a header (reference, status, worker), the person's warnings in a red banner,
and tabs for the summary, notes, visits, documents and history."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from app.ui import words
from app.ui.models import DocumentModel, HistoryModel, NoteModel, VisitModel
from app.ui.qt import (
    QComboBox,
    QDateEdit,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPixmap,
    QPlainTextEdit,
    QScrollArea,
    Qt,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from app.ui.rows import CaseDetail, NoteRow
from app.ui.session import Session
from app.ui.tables import column_chars, selected_row, table
from app.ui.widgets import NoteEdit, WarningBanner, button, label, named
from sync.records import CASE_STATUSES, PRIORITIES

TABS = ("summary", "notes", "visits", "documents", "history")


class CaseView(QWidget):
    def __init__(self, session: Session, back: Any) -> None:
        super().__init__()
        self.session = session
        self.case_id: UUID | None = None
        self.detail: CaseDetail | None = None
        self._corrects: NoteRow | None = None
        self._filling = False
        self._review_touched = False
        # the whole case scrolls as one page, so at 200% text nothing is squeezed or clipped
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.page_scroll = QScrollArea()
        self.page_scroll.setWidgetResizable(True)
        self.page_scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.page_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        outer.addWidget(self.page_scroll)
        page = QWidget()
        self.page_scroll.setWidget(page)
        box = QVBoxLayout(page)
        box.setContentsMargins(20, 12, 20, 12)

        top = QHBoxLayout()
        self.back_button = button("Back (Esc)", "Back to the list")
        self.back_button.clicked.connect(back)
        top.addWidget(self.back_button)
        top.addStretch(1)
        box.addLayout(top)
        self.heading = label("", role="h1")
        self.heading.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.person_line = label("")
        self.state_line = label("")
        box.addWidget(self.heading)
        box.addWidget(self.person_line)
        box.addWidget(self.state_line)
        self.banner = WarningBanner()
        box.addWidget(self.banner)

        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Case sections")
        self.tabs.tabBar().setAccessibleName("Case sections")
        self.tabs.addTab(self._summary_tab(), "Summary")
        self.tabs.addTab(self._notes_tab(), "Notes")
        self.tabs.addTab(self._visits_tab(), "Visits")
        self.tabs.addTab(self._documents_tab(), "Documents")
        self.tabs.addTab(self._history_tab(), "History")
        box.addWidget(self.tabs, 1)
        self._fit_tabs()

    def _fit_tabs(self) -> None:
        lines = self.fontMetrics().height()
        self.tabs.setMinimumHeight(24 * lines)

    def changeEvent(self, event: Any) -> None:
        from app.ui.qt import QEvent

        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._fit_tabs()
        super().changeEvent(event)

    # ------------------------------------------------------------------ tabs
    def _summary_tab(self) -> QWidget:
        page = QWidget()
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        scroll.setWidget(page)
        form = QFormLayout(page)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.status = named(QComboBox(), "Status")
        for code in CASE_STATUSES:
            self.status.addItem(words.status_label(code), code)
        self.priority = named(QComboBox(), "Priority")
        for code in PRIORITIES:
            self.priority.addItem(words.priority_label(code), code)
        self.assigned = named(QLineEdit(), "Assigned worker (user name)")
        self.review = named(QDateEdit(), "Next review date")
        self.review.setCalendarPopup(True)
        self.review.setDisplayFormat("d MMM yyyy")
        self.address = named(QLineEdit(), "Person's address")
        self.phone = named(QLineEdit(), "Person's phone number")
        self.summary = NoteEdit("Summary")
        self.summary.setMinimumHeight(120)
        self.summary_error = label("", role="error")
        self.summary_error.hide()
        form.addRow(self.summary_error)
        form.addRow("Status", self.status)
        form.addRow("Priority", self.priority)
        form.addRow("Assigned worker", self.assigned)
        form.addRow("Next review", self.review)
        form.addRow("Address", self.address)
        form.addRow("Phone", self.phone)
        form.addRow("Summary", self.summary)
        self.save_summary = button("Save changes", primary=True)
        self.save_summary.clicked.connect(self._save_summary)
        save_row = QHBoxLayout()
        save_row.addWidget(self.save_summary)
        save_row.addStretch(1)
        form.addRow(save_row)
        self.summary.textChanged.connect(self._summary_typed)
        self.review.dateChanged.connect(self._review_changed)
        self.summary.submitted.connect(self._save_summary)
        return scroll

    def _notes_tab(self) -> QWidget:
        page = QWidget()
        box = QVBoxLayout(page)
        self.notes = NoteModel(self)
        self.notes_view = table(self.notes, "Notes, newest first")
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
        row = QHBoxLayout()
        self.save_note = button("Save note (Ctrl+Enter)", "Save note", primary=True)
        self.correct_button = button("Correct the chosen note")
        row.addWidget(self.save_note)
        row.addWidget(self.correct_button)
        row.addStretch(1)
        box.addLayout(row)
        self.save_note.clicked.connect(self._save_note)
        self.correct_button.clicked.connect(self._start_correction)
        self.note_box.textChanged.connect(self._note_typed)
        self.note_box.submitted.connect(self._save_note)
        return page

    def _visits_tab(self) -> QWidget:
        page = QWidget()
        box = QVBoxLayout(page)
        self.visits = VisitModel(self.session.clock.now, self)
        self.visits_view = table(self.visits, "Visits and tasks")
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
        form.addRow("What for", self.visit_title)
        form.addRow("When", self.visit_when)
        form.addRow("Where", self.visit_place)
        box.addLayout(form)
        row = QHBoxLayout()
        self.add_visit_button = button("Plan this visit")
        self.visit_done_button = button("Mark the chosen visit done")
        row.addWidget(self.add_visit_button)
        row.addWidget(self.visit_done_button)
        row.addStretch(1)
        box.addLayout(row)
        self.add_visit_button.clicked.connect(self._add_visit)
        self.visit_done_button.clicked.connect(self._visit_done)
        return page

    def _documents_tab(self) -> QWidget:
        page = QWidget()
        box = QVBoxLayout(page)
        box.addWidget(
            label(
                "Documents are kept encrypted on this laptop. Opening one shows it here; "
                "save a copy only if you must.",
                role="hint",
            )
        )
        self.documents = DocumentModel(self)
        self.documents_view = table(self.documents, "Documents")
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
        row = QHBoxLayout()
        self.add_document_button = button("Add a photo or scan")
        self.open_document_button = button("Open document")
        self.save_copy_button = button("Save a copy")
        for w in (self.add_document_button, self.open_document_button, self.save_copy_button):
            row.addWidget(w)
        row.addStretch(1)
        box.addLayout(row)
        self.add_document_button.clicked.connect(self._add_document)
        self.open_document_button.clicked.connect(self._open_document)
        self.save_copy_button.clicked.connect(self._save_copy)
        self.documents_view.activated.connect(lambda _i: self._open_document())
        return page

    def _history_tab(self) -> QWidget:
        page = QWidget()
        box = QVBoxLayout(page)
        self.history = HistoryModel(self)
        self.history_view = table(self.history, "History of this case")
        column_chars(
            self.history_view,
            {HistoryModel.COL_WHEN: 18, HistoryModel.COL_WHO: 12, HistoryModel.COL_WHAT: 18},
        )
        box.addWidget(self.history_view, 1)
        return page

    # ------------------------------------------------------------------ loading
    def show_case(self, case_id: UUID, tab: str | None = None) -> None:
        if self.case_id != case_id:
            self._corrects = None
            self.detail = None
        self.case_id = case_id
        if tab in TABS:
            self.tabs.setCurrentIndex(TABS.index(tab))
        self.reload()

    def current_tab(self) -> str:
        return TABS[self.tabs.currentIndex()]

    def reload(self) -> None:
        case_id = self.case_id
        if case_id is None:
            return
        backend = self.session.backend
        self.session.work.run_db(
            self, lambda: backend.case_detail(case_id), self._loaded, self.session.show_error
        )

    def _loaded(self, detail: CaseDetail) -> None:
        if detail.case.case_id != self.case_id:
            return
        self.detail = detail
        case = detail.case
        kind = words.type_label(case.case_type, self.session.backend.case_types)
        self.heading.setText(f"{case.ref}  {kind}")
        self.heading.setAccessibleName(f"Case {case.ref}, {kind}")
        address = detail.person.get("address") or ""
        self.person_line.setText(f"{case.person_name}" + (f", {address}" if address else ""))
        self.state_line.setText(
            f"Status: {words.status_label(case.status)}    "
            f"Priority: {words.priority_label(case.priority)}    "
            f"Assigned: {detail.assigned_to or 'nobody'}"
        )
        self.banner.set_warnings([w.text for w in detail.warnings])
        self._fill_summary(detail)
        self.notes.set_rows(detail.notes)
        self.visits.set_rows(detail.visits)
        self.documents.set_rows(detail.documents)
        self.history.set_rows(detail.history)
        unsent = sum(1 for n in detail.notes if not n.sent)
        self.tabs.setTabText(1, f"Notes ({len(detail.notes)})")
        self.tabs.setTabText(2, f"Visits ({len(detail.visits)})")
        self.tabs.setTabText(3, f"Documents ({len(detail.documents)})")
        self.notes_view.setAccessibleDescription(
            f"{len(detail.notes)} notes, {unsent} waiting to send"
        )
        draft = self.session.drafts.get(self._note_key())
        if draft and not self.note_box.toPlainText():
            self.note_box.blockSignals(True)
            self.note_box.setPlainText(draft)
            self.note_box.blockSignals(False)

    def _fill_summary(self, detail: CaseDetail) -> None:
        self._filling = True
        case = detail.case
        self.status.setCurrentIndex(max(0, self.status.findData(case.status)))
        self.priority.setCurrentIndex(max(0, self.priority.findData(case.priority)))
        self.assigned.setText(detail.assigned_to)
        self.address.setText(str(detail.person.get("address") or ""))
        self.phone.setText(str(detail.person.get("phone") or ""))
        self._review_touched = False
        if case.next_review:
            self.review.setDate(case.next_review)
        else:
            self.review.setDate(self.session.clock.now().astimezone().date() + timedelta(days=28))
        draft = self.session.drafts.get(self._summary_key())
        self.summary.setPlainText(draft or detail.summary)
        self.summary_error.hide()
        self.summary.setProperty("invalid", False)
        self._filling = False

    # ------------------------------------------------------------------ drafts
    def _note_key(self) -> str:
        return f"note:{self.case_id}"

    def _summary_key(self) -> str:
        return f"summary:{self.case_id}"

    def _note_typed(self) -> None:
        if self.case_id is not None:
            self.session.drafts.set(self._note_key(), self.note_box.toPlainText())

    def _review_changed(self) -> None:
        if not self._filling:
            self._review_touched = True

    def _summary_typed(self) -> None:
        if self._filling or self.case_id is None or self.detail is None:
            return
        text = self.summary.toPlainText()
        self.session.drafts.set(self._summary_key(), "" if text == self.detail.summary else text)

    # ------------------------------------------------------------------ actions
    def _run(self, op: Any, done_message: str, after: Any = None) -> None:
        def ok(_result: object) -> None:
            if after is not None:
                after()
            self.session.show_message(done_message)
            self.session.changed()
            self.reload()

        self.session.work.run_db(self, op, ok, self.session.show_error)

    def _save_summary(self) -> None:
        detail = self.detail
        if detail is None or self.case_id is None:
            return
        text = self.summary.toPlainText().strip()
        if not text:
            self.summary_error.setText("Write a short summary of the case. It cannot be empty.")
            self.summary_error.show()
            self.summary.setProperty("invalid", True)
            self.summary.setFocus()
            return
        assigned = self.assigned.text().strip()
        if not assigned:
            self.summary_error.setText("Give the user name of the worker this case is for.")
            self.summary_error.show()
            self.assigned.setFocus()
            return
        self.summary_error.hide()
        changes: dict[str, Any] = {}
        case = detail.case
        if text != detail.summary:
            changes["summary"] = text
        if self.status.currentData() != case.status:
            changes["status"] = self.status.currentData()
        if self.priority.currentData() != case.priority:
            changes["priority"] = self.priority.currentData()
        if assigned != detail.assigned_to:
            changes["assigned_to"] = assigned
        for field, box in (("address", self.address), ("phone", self.phone)):
            value = box.text().strip()
            if value != str(detail.person.get(field) or ""):
                changes[f"person.{field}"] = value
        review = self.review.date().toPython()
        if self._review_touched and case.next_review != review:
            changes["next_review"] = review
        if not changes:
            self.session.show_message("Nothing has changed.")
            return
        backend = self.session.backend
        case_id = self.case_id
        key = self._summary_key()
        self._run(
            lambda: backend.edit_case(case_id, changes),
            "Saved. Your changes will be sent at the next sync.",
            lambda: self.session.drafts.drop(key),
        )

    def _save_note(self) -> None:
        text = self.note_box.toPlainText().strip()
        if self.case_id is None:
            return
        if not text:
            self.session.show_message("Write the note first, then save it.")
            self.note_box.setFocus()
            return
        backend = self.session.backend
        case_id = self.case_id
        corrects = self._corrects.note_id if self._corrects else None
        key = self._note_key()

        def after() -> None:
            self.session.drafts.drop(key)
            self.note_box.blockSignals(True)
            self.note_box.clear()
            self.note_box.blockSignals(False)
            self._corrects = None
            self.correcting.hide()

        self._run(
            lambda: backend.add_note(case_id, text, corrects),
            "Note saved on this laptop. It will be sent at the next sync.",
            after,
        )

    def _start_correction(self) -> None:
        note = selected_row(self.notes_view)
        if note is None:
            self.session.show_message("Choose the note to correct in the list first.")
            return
        self._corrects = note
        self.correcting.setText(
            f"Writing a correction to the note of {words.when(note.written_at)} by "
            f"{note.author}. Notes are never changed; the correction is added as a new note."
        )
        self.correcting.show()
        self.note_box.setFocus()

    def _add_visit(self) -> None:
        title = self.visit_title.text().strip()
        if self.case_id is None:
            return
        if not title:
            self.session.show_message("Say what the visit is for.")
            self.visit_title.setFocus()
            return
        due = self.visit_when.dateTime().toPython()
        due = due.astimezone(UTC) if due.tzinfo else due.replace(tzinfo=None).astimezone(UTC)
        place = self.visit_place.text().strip()
        backend = self.session.backend
        case_id = self.case_id

        def after() -> None:
            self.visit_title.clear()
            self.visit_place.clear()

        self._run(
            lambda: backend.add_visit(case_id, title, due, place),
            "Visit planned.",
            after,
        )

    def _visit_done(self) -> None:
        visit = selected_row(self.visits_view)
        if visit is None or visit.status != "planned":
            self.session.show_message("Choose a planned visit in the list first.")
            return
        note = self.note_box.toPlainText().strip() or f"{visit.title}: done."
        backend = self.session.backend

        def after() -> None:
            self.note_box.blockSignals(True)
            self.note_box.clear()
            self.note_box.blockSignals(False)
            self.session.drafts.drop(self._note_key())

        self._run(lambda: backend.complete_visit(visit.visit_id, note), "Visit marked done.", after)

    def _add_document(self) -> None:
        path = self.session.dialogs.choose_file_to_add(self)
        if path is None or self.case_id is None:
            return
        backend = self.session.backend
        case_id = self.case_id
        self._run(
            lambda: backend.add_document(case_id, path),
            f"{path.name} added. It is kept encrypted on this laptop.",
        )

    def _open_document(self) -> None:
        doc = selected_row(self.documents_view)
        if doc is None:
            self.session.show_message("Choose a document in the list first.")
            return
        backend = self.session.backend

        def show(data: bytes) -> None:
            DocumentViewer(doc.name, doc.mime, data, self).open()

        self.session.work.run_db(
            self, lambda: backend.read_document(doc.document_id), show, self.session.show_error
        )

    def _save_copy(self) -> None:
        doc = selected_row(self.documents_view)
        if doc is None:
            self.session.show_message("Choose a document in the list first.")
            return
        target = self.session.dialogs.choose_where_to_save(self, doc.name)
        if target is None:
            return
        backend = self.session.backend

        def write() -> Path:
            data = backend.read_document(doc.document_id)
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


def default_visit_time(now: datetime) -> datetime:
    tomorrow = (now.astimezone() + timedelta(days=1)).date()
    return datetime.combine(tomorrow, time(10, 0)).astimezone()
