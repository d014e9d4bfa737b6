"""The Summary tab of a case: status, priority, worker, review date, the person's address and
phone, and the summary, saved together with one button.

What a value must be is the core's rule: a value the core refuses comes back as a
:class:`~app.errors.UsageError` and its plain-English message is shown next to the field it
names (or above the form when it names none), and that field takes the focus.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from app.domain import CaseStatus, PreferredContact, Priority
from app.errors import UsageError
from app.ui import words
from app.ui.case_tab import OpenCase
from app.ui.qt import (
    QComboBox,
    QDateEdit,
    QFormLayout,
    QLineEdit,
    QWidget,
)
from app.ui.widgets import FieldProblems, NoteEdit, button, buttons_row, label, named

if TYPE_CHECKING:
    from app.core import CaseDetail


class SummaryTab(QWidget):
    """The case's fields in a form; **Save changes** is in :attr:`button_row`, which the case
    view keeps in sight below the part that scrolls."""

    def __init__(self, case: OpenCase) -> None:
        super().__init__()
        self.case = case
        self.session = case.session
        self._filling = False
        self._review_touched = False
        form = QFormLayout(self)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.form = form
        self.status = named(QComboBox(), "Status")
        for status in CaseStatus:
            self.status.addItem(words.status_label(status.value), status.value)
        self.priority = named(QComboBox(), "Priority")
        for priority in Priority:
            self.priority.addItem(words.priority_label(priority.value), priority.value)
        self.assigned = named(QLineEdit(), "Assigned worker (user name)")
        self.review = named(QDateEdit(), "Next review date")
        self.review.setCalendarPopup(True)
        self.review.setDisplayFormat("d MMM yyyy")
        self.name = named(QLineEdit(), "Person's full name")
        self.birth = named(
            QLineEdit(), "Person's date of birth", "A date like 30/04/1950, or empty if not known"
        )
        self.birth.setPlaceholderText("For example 30/04/1950 (leave empty if not known)")
        self.address = named(QLineEdit(), "Person's address")
        self.phone = named(QLineEdit(), "Person's phone number")
        self.contact = named(QComboBox(), "How the person prefers to be contacted")
        self.contact.addItem("Not known", "")
        for way in PreferredContact:
            self.contact.addItem(way.value.capitalize(), way.value)
        self.language = named(QLineEdit(), "Person's language")
        self.access = named(QLineEdit(), "Person's access needs")
        self.access.setPlaceholderText("For example: hard of hearing, needs an interpreter")
        # read only: set by the central service from the old systems' records
        self.old_ids = named(
            QLineEdit(),
            "The ids the council's old systems knew the person by",
            "Read only: brought in from the old systems' records",
        )
        self.old_ids.setReadOnly(True)
        self.summary = NoteEdit("Summary")
        self.summary.setMinimumHeight(4 * self.summary.fontMetrics().height())
        self.summary_error = label("", role="error")
        self.summary_error.hide()
        form.addRow(self.summary_error)
        self.problems = FieldProblems(form, self.summary_error)
        #: the core's name of each field -> (its control, its own problem line)
        self.fields = self.problems.lines
        for name, title, control in (
            ("status", "Status", self.status),
            ("priority", "Priority", self.priority),
            ("assigned_to", "Assigned worker", self.assigned),
            ("next_review", "Next review", self.review),
            ("person.name", "Name", self.name),
            ("person.date_of_birth", "Date of birth", self.birth),
            ("person.address", "Address", self.address),
            ("person.phone", "Phone", self.phone),
            ("person.preferred_contact", "Contact by", self.contact),
            ("person.language", "Language", self.language),
            ("person.access_needs", "Access needs", self.access),
            ("summary", "Summary", self.summary),
        ):
            self.problems.add(name, title, control)
            form.addRow(title, control)
            if name == "person.access_needs":  # shown only for a person an import brought
                form.addRow("Old systems' ids", self.old_ids)
        self.save_summary = button("Save changes", primary=True)
        self.save_summary.clicked.connect(self.save)
        self.button_row = buttons_row(self.save_summary)
        self.summary.textChanged.connect(self._summary_typed)
        self.review.dateChanged.connect(self._review_changed)
        self.summary.submitted.connect(self.save)

    def show_detail(self, detail: CaseDetail) -> None:
        self._filling = True
        self.status.setCurrentIndex(max(0, self.status.findData(detail.status)))
        self.priority.setCurrentIndex(max(0, self.priority.findData(detail.priority)))
        self.assigned.setText(detail.assigned_to)
        person = detail.person
        self.name.setText(str(person.get("name") or ""))
        born = person.get("date_of_birth")
        self.birth.setText(words.day(born) if isinstance(born, date) else str(born or ""))
        self.address.setText(str(person.get("address") or ""))
        self.phone.setText(str(person.get("phone") or ""))
        self.contact.setCurrentIndex(
            max(0, self.contact.findData(person.get("preferred_contact") or ""))
        )
        self.language.setText(str(person.get("language") or ""))
        self.access.setText(str(person.get("access_needs") or ""))
        self.old_ids.setText(detail.old_ids)
        self.form.setRowVisible(self.old_ids, bool(detail.old_ids))
        self._review_touched = False
        if detail.next_review:
            self.review.setDate(detail.next_review)
        else:
            self.review.setDate(self.session.clock.now().astimezone().date() + timedelta(days=28))
        draft = self.session.drafts.get(self.case.summary_key())
        self.summary.setPlainText(draft or detail.summary)
        self.summary_error.hide()
        self.summary.setProperty("invalid", False)
        self._clear_field_errors()
        self._filling = False

    def show_refused(self, err: BaseException) -> None:
        """A value the core refused: its words by the field it names; anything else goes to
        the window's one error display."""
        if not isinstance(err, UsageError):
            self.session.show_error(err)
            return
        self.problems.show(err)

    def _clear_field_errors(self) -> None:
        self.problems.clear()

    # ------------------------------------------------------------------ drafts
    def _review_changed(self) -> None:
        if not self._filling:
            self._review_touched = True

    def _summary_typed(self) -> None:
        detail = self.case.detail
        if self._filling or self.case.case_id is None or detail is None:
            return
        text = self.summary.toPlainText()
        self.session.drafts.set(self.case.summary_key(), "" if text == detail.summary else text)

    # ------------------------------------------------------------------ saving
    def save(self) -> None:
        detail = self.case.detail
        case_id = self.case.case_id
        if detail is None or case_id is None:
            return
        self._clear_field_errors()
        text = self.summary.toPlainText().strip()
        assigned = self.assigned.text().strip()
        self.summary_error.hide()
        changes = self._changes(detail, text, assigned)
        if not changes:
            self.session.show_message("Nothing has changed.")
            return
        backend = self.session.backend
        key = self.case.summary_key()
        self.case.run(
            self,
            lambda: backend.edit_case(case_id, changes),
            "Saved. Your changes will be sent at the next sync.",
            lambda: self.session.drafts.drop(key),
            self.show_refused,
        )

    def _changes(self, detail: CaseDetail, text: str, assigned: str) -> dict[str, Any]:
        """What the person changed, by the core's field names."""
        changes: dict[str, Any] = {}
        if text != detail.summary:
            changes["summary"] = text
        if self.status.currentData() != detail.status:
            changes["status"] = self.status.currentData()
        if self.priority.currentData() != detail.priority:
            changes["priority"] = self.priority.currentData()
        if assigned != detail.assigned_to:
            changes["assigned_to"] = assigned
        person = detail.person
        for field, box in (
            ("name", self.name),
            ("address", self.address),
            ("phone", self.phone),
            ("language", self.language),
            ("access_needs", self.access),
        ):
            value = box.text().strip()
            if value != str(person.get(field) or ""):
                changes[f"person.{field}"] = value
        born = person.get("date_of_birth")
        shown = words.day(born) if isinstance(born, date) else str(born or "")
        if self.birth.text().strip() != shown:
            changes["person.date_of_birth"] = self.birth.text().strip()
        contact = self.contact.currentData() or ""
        if contact != (person.get("preferred_contact") or ""):
            changes["person.preferred_contact"] = contact
        review = self.review.date().toPython()
        if self._review_touched and detail.next_review != review:
            changes["next_review"] = review
        return changes
