"""Qt item models over the core's plain rows (:mod:`app.core`).

Each table model has ``COL_*`` constants, a :data:`SORT_ROLE` giving a sortable raw value,
``set_rows`` wrapped in ``beginResetModel``/``endResetModel``, and is tested on its own with
pytest-qt's ``qtmodeltester``. The case list is lazy: it asks its loader for one page at a
time (``canFetchMore``/``fetchMore``), so it stays quick at 10,000 cases.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from app.domain import OUTCOME_LABELS
from app.ui import theme, words
from app.ui.qt import (
    QAbstractListModel,
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)
from app.ui.rows import CaseQuery

if TYPE_CHECKING:  # the core loads after unlock (it pulls in the database)
    from app.core import AuditRow, CaseRow, Clash, DocumentView, NoteView, SettledClash, VisitRow

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
ROW_ROLE = Qt.ItemDataRole.UserRole + 2

Index = QModelIndex | QPersistentModelIndex
R = TypeVar("R")

_DISPLAY = Qt.ItemDataRole.DisplayRole
_ACCESSIBLE = Qt.ItemDataRole.AccessibleTextRole
_TOOLTIP = Qt.ItemDataRole.ToolTipRole


def _sortable(value: Any) -> Any:
    """A value Qt can compare: dates as ISO text, None as empty."""
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def is_overdue(due: datetime | None, now: datetime, status: str = "planned") -> bool:
    return due is not None and status == "planned" and due < now


class RowTableModel(QAbstractTableModel, Generic[R]):
    """A table of frozen row dataclasses. Subclasses say how to show each column."""

    HEADERS: ClassVar[tuple[str, ...]] = ()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[R] = []

    # -- data in
    def set_rows(self, rows: Sequence[R]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rows(self) -> list[R]:
        return list(self._rows)

    def row_at(self, row: int) -> R | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    # -- Qt
    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY) -> Any:
        if (
            orientation == Qt.Orientation.Horizontal
            and role in (_DISPLAY, _ACCESSIBLE)
            and 0 <= section < len(self.HEADERS)
        ):
            return self.HEADERS[section]
        return None

    def data(self, index: Index, role: int = _DISPLAY) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self._rows)):
            return None
        row = self._rows[index.row()]
        col = index.column()
        if role == ROW_ROLE:
            return row
        if role in (_DISPLAY, _ACCESSIBLE, _TOOLTIP):
            return self.display(row, col)
        if role == SORT_ROLE:
            return _sortable(self.sort_value(row, col))
        if role == Qt.ItemDataRole.ForegroundRole:
            return self.foreground(row, col)
        if role == Qt.ItemDataRole.FontRole:
            return self.font(row, col)
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    # -- for subclasses
    def display(self, row: R, col: int) -> str:
        raise NotImplementedError

    def sort_value(self, row: R, col: int) -> Any:
        return self.display(row, col)

    def foreground(self, row: R, col: int) -> Any:
        return None

    def font(self, row: R, col: int) -> Any:
        return None


def _red_bold(model: RowTableModel[Any]) -> Any:
    from app.ui.qt import QColor, QFont

    font = QFont()
    font.setBold(True)
    return QColor(theme.warning_text(theme.current())), font


class CaseListModel(RowTableModel["CaseRow"]):
    """The Cases list, loaded a page at a time.

    ``loader(filter, offset, limit, deliver)`` must eventually call
    ``deliver(rows, total)`` on the GUI thread (the screen runs it on the DB worker).
    """

    COL_WARN, COL_REF, COL_PERSON, COL_TYPE, COL_STATUS, COL_PRIORITY = range(6)
    COL_NEXT_VISIT, COL_REVIEW = 6, 7
    HEADERS = (
        "Warnings",
        "Reference",
        "Person",
        "Type",
        "Status",
        "Priority",
        "Next visit",
        "Review due",
    )
    #: the core's sort keys by column
    SORT_KEYS: ClassVar[dict[int, str]] = {
        COL_REF: "ref",
        COL_PERSON: "name",
        COL_STATUS: "status",
        COL_PRIORITY: "priority",
        COL_REVIEW: "next_review",
    }
    PAGE = 100
    #: the columns a compact list (large text, a small screen) hides: their words are under
    #: the reference (status, priority), the person (type) and the review (next visit)
    FOLDED = (COL_TYPE, COL_STATUS, COL_PRIORITY, COL_NEXT_VISIT)

    Loader = Callable[[CaseQuery, int, int, Callable[[list["CaseRow"], int], None]], None]

    def __init__(
        self,
        loader: Loader | None = None,
        case_types: dict[str, str] | None = None,
        parent: Any = None,
        today: Callable[[], date] | None = None,
    ) -> None:
        super().__init__(parent)
        self._today = today
        self._loader = loader
        self._filter = CaseQuery()
        self._total = 0
        self._loading = False
        self._generation = 0
        self.case_types = case_types or {}
        self.compact = False

    @property
    def total(self) -> int:
        return self._total

    @property
    def loading(self) -> bool:
        return self._loading

    @property
    def current_filter(self) -> CaseQuery:
        return self._filter

    def set_filter(self, flt: CaseQuery) -> None:
        """Start again with a new search or filter; the first page is asked for now."""
        self._filter = flt
        self._generation += 1
        self._loading = False
        self._request(0, reset=True)

    def reload(self) -> None:
        self.set_filter(self._filter)

    def set_rows(self, rows: Sequence[CaseRow], total: int | None = None) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._total = len(self._rows) if total is None else max(total, len(self._rows))
        self.endResetModel()

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:
        if parent.isValid():
            return False
        return not self._loading and len(self._rows) < self._total

    def fetchMore(self, parent: Index = QModelIndex()) -> None:
        if self.canFetchMore(parent):
            self._request(len(self._rows), reset=False)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        key = self.SORT_KEYS.get(column)
        if key is None:
            return
        descending = order == Qt.SortOrder.DescendingOrder
        if key == self._filter.sort and descending == self._filter.descending:
            return
        from dataclasses import replace

        self.set_filter(replace(self._filter, sort=key, descending=descending))

    def _request(self, offset: int, reset: bool) -> None:
        if self._loader is None:
            return
        self._loading = True
        generation = self._generation

        def deliver(rows: list[CaseRow], total: int) -> None:
            if generation != self._generation:
                return  # an older search answered late
            self._loading = False
            if reset:
                self.set_rows(rows, total)
            else:
                self._append(rows, total)

        self._loader(self._filter, offset, self.PAGE, deliver)

    def _append(self, rows: list[CaseRow], total: int) -> None:
        self._total = max(total, len(self._rows) + len(rows))
        if rows:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
            self._rows.extend(rows)
            self.endInsertRows()

    def display(self, row: CaseRow, col: int) -> str:
        if col == self.COL_WARN:
            if not row.warnings:
                return ""
            if row.warning_texts:
                return "\u26a0 " + "; ".join(row.warning_texts)
            return "\u26a0 Warning" if row.warnings == 1 else f"\u26a0 {row.warnings} warnings"
        if col == self.COL_REF:
            if self.compact:
                status, priority = (
                    words.status_label(row.status),
                    words.priority_label(row.priority),
                )
                return f"{row.ref}\n{status}, {priority.lower()} priority"
            return row.ref
        if col == self.COL_PERSON:
            if self.compact:
                return f"{row.person_name}\n{words.type_label(row.type, self.case_types or None)}"
            return row.person_name
        if col == self.COL_TYPE:
            return words.type_label(row.type, self.case_types or None)
        if col == self.COL_STATUS:
            return words.status_label(row.status)
        if col == self.COL_PRIORITY:
            return words.priority_label(row.priority)
        if col == self.COL_NEXT_VISIT:
            return words.when(row.next_visit)
        if col == self.COL_REVIEW:
            review = words.day(row.next_review)
            overdue = self.review_overdue(row)
            if not self.compact:
                return f"Overdue: {review}" if overdue else review
            lines = (
                [f"Review overdue: {review}" if overdue else f"Review {review}"] if review else []
            )
            if row.next_visit is not None:
                lines.append(f"Next visit {words.when(row.next_visit)}")
            return "\n".join(lines)
        return ""

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY) -> Any:
        if self.compact and section == self.COL_REVIEW and role in (_DISPLAY, _ACCESSIBLE):
            return "Review, visit"
        return super().headerData(section, orientation, role)

    def review_overdue(self, row: CaseRow) -> bool:
        """The review date has passed on a case still open (by the laptop's local date)."""
        return (
            self._today is not None
            and row.next_review is not None
            and row.status != "closed"
            and row.next_review < self._today()
        )

    def data(self, index: Index, role: int = _DISPLAY) -> Any:
        if (
            role == _TOOLTIP
            and index.isValid()
            and index.column() == self.COL_WARN
            and 0 <= index.row() < len(self._rows)
        ):
            n = self._rows[index.row()].warnings
            return (
                f"{words.plural(n, 'warning')} about this person: open the case to read them"
                if n
                else None
            )
        return super().data(index, role)

    def sort_value(self, row: CaseRow, col: int) -> Any:
        if col == self.COL_PRIORITY:
            return words.PRIORITY_RANK.get(row.priority, 0)
        if col == self.COL_NEXT_VISIT:
            return row.next_visit
        if col == self.COL_REVIEW:
            return row.next_review
        if col == self.COL_WARN:
            return row.warnings
        return self.display(row, col)

    def _warns(self, row: CaseRow, col: int) -> bool:
        return (
            (col == self.COL_WARN and row.warnings > 0)
            or (col == self.COL_PRIORITY and row.priority == "urgent")
            or (col == self.COL_REVIEW and self.review_overdue(row))
        )

    def foreground(self, row: CaseRow, col: int) -> Any:
        return _red_bold(self)[0] if self._warns(row, col) else None

    def font(self, row: CaseRow, col: int) -> Any:
        return _red_bold(self)[1] if self._warns(row, col) else None


class VisitModel(RowTableModel["VisitRow"]):
    """Visits and tasks (My day, and a case's Visits tab). Overdue says so in words."""

    COL_WHEN, COL_STATE, COL_PERSON, COL_PLACE, COL_WHAT, COL_REF, COL_WARN = range(7)
    HEADERS = ("When", "Due", "Person", "Place", "What", "Reference", "Warnings")

    def __init__(self, now: Callable[[], datetime], parent: Any = None) -> None:
        super().__init__(parent)
        self._now = now
        self.me = ""  # set: a visit on someone else's case says whose it is (the team's day)
        #: few columns of a few lines (whether due and when; the person, where and the
        #: case), for a narrow window or large text: the warnings stay in sight
        self.compact = False

    #: the columns a compact table hides: their words are in another column
    FOLDED = (COL_STATE, COL_PLACE, COL_REF)  # into COL_WHEN and COL_PERSON

    def state(self, row: VisitRow) -> str:
        if row.outcome and row.status != "planned":
            return OUTCOME_LABELS.get(row.outcome, row.outcome)
        if row.status == "done":
            return "Done"
        if row.status == "cancelled":
            return "Cancelled"
        if is_overdue(row.due, self._now(), row.status):
            return "Overdue"
        if row.due is not None and row.due.astimezone().date() == self._now().astimezone().date():
            return "Today"
        return "Planned"

    def display(self, row: VisitRow, col: int) -> str:
        if col == self.COL_WHEN:
            return (
                f"{self.state(row)}\n{words.when(row.due)}" if self.compact else words.when(row.due)
            )
        if col == self.COL_STATE:
            return self.state(row)
        if col == self.COL_PERSON:
            if self.compact:
                return "\n".join(part for part in (row.person_name, row.where, row.ref) if part)
            return row.person_name
        if col == self.COL_PLACE:
            return row.where
        if col == self.COL_WHAT:
            what = row.title + (" (task)" if row.kind == "task" else "")
            if self.me and row.assigned_to and row.assigned_to != self.me:
                what += f"\n{row.assigned_to}'s case"
            return what
        if col == self.COL_WARN:
            return "; ".join(row.warnings)
        if col == self.COL_REF:
            return row.ref
        return ""

    def sort_value(self, row: VisitRow, col: int) -> Any:
        if col == self.COL_WHEN:
            return row.due
        return self.display(row, col)

    def _state_col(self, col: int) -> bool:
        return col == self.COL_STATE or (self.compact and col == self.COL_WHEN)

    def foreground(self, row: VisitRow, col: int) -> Any:
        if (self._state_col(col) and self.state(row) == "Overdue") or (
            col == self.COL_WARN and row.warnings
        ):
            return _red_bold(self)[0]
        return None

    def font(self, row: VisitRow, col: int) -> Any:
        if (self._state_col(col) and self.state(row) in ("Overdue", "Today")) or (
            col == self.COL_WARN and row.warnings
        ):
            return _red_bold(self)[1]
        return None


class NoteModel(RowTableModel["NoteView"]):
    """A case's notes as a timeline, newest first. A correction says what it corrects.

    ``COL_ABOUT`` puts when, who and sent-or-not in one two-line cell, so the note's own
    text keeps most of the width even at 200% text size."""

    COL_WHEN, COL_AUTHOR, COL_TEXT, COL_SENT, COL_ABOUT = range(5)
    HEADERS = ("Written", "By", "Note", "Sent", "Written by")

    def display(self, row: NoteView, col: int) -> str:
        if col == self.COL_WHEN:
            return words.when(row.at)
        if col == self.COL_AUTHOR:
            return row.author
        if col == self.COL_TEXT:
            if row.corrects is not None:
                return f"Correction to an earlier note: {row.text}"
            return row.text
        if col == self.COL_SENT:
            return "Sent" if row.sent else "Waiting to send"
        if col == self.COL_ABOUT:
            sent = "Sent" if row.sent else "Waiting to send"
            return f"{words.when(row.at)}\n{row.author}\n{sent}"
        return ""

    def sort_value(self, row: NoteView, col: int) -> Any:
        if col in (self.COL_WHEN, self.COL_ABOUT):
            return row.at
        return self.display(row, col)

    def foreground(self, row: NoteView, col: int) -> Any:
        return None


class DocumentModel(RowTableModel["DocumentView"]):
    COL_NAME, COL_SIZE, COL_BY, COL_WHEN, COL_SENT = range(5)
    HEADERS = ("Document", "Size", "Added by", "Added", "Sent")

    def display(self, row: DocumentView, col: int) -> str:
        if col == self.COL_NAME:
            return row.name
        if col == self.COL_SIZE:
            return words.size(row.size)
        if col == self.COL_BY:
            return row.added_by
        if col == self.COL_WHEN:
            return words.when(row.added_at)
        if col == self.COL_SENT:
            return "Sent" if row.sent else "Waiting to send"
        return ""

    def sort_value(self, row: DocumentView, col: int) -> Any:
        if col == self.COL_SIZE:
            return row.size
        if col == self.COL_WHEN:
            return row.added_at
        return self.display(row, col)


class HistoryModel(RowTableModel["AuditRow"]):
    COL_WHEN, COL_WHO, COL_WHAT, COL_DETAIL = range(4)
    HEADERS = ("When", "Who", "What happened", "Details")

    def display(self, row: AuditRow, col: int) -> str:
        if col == self.COL_WHEN:
            return words.when(row.at)
        if col == self.COL_WHO:
            return row.actor
        if col == self.COL_WHAT:
            what = row.action if row.record_kind == "case" else f"{row.action} {row.record_kind}"
            return what.replace("_", " ").capitalize()
        if col == self.COL_DETAIL:
            return row.detail
        return ""

    def sort_value(self, row: AuditRow, col: int) -> Any:
        if col == self.COL_WHEN:
            return row.at
        return self.display(row, col)


def show_value(value: Any) -> str:
    if value is None or value == "":
        return "(empty)"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value)


class ClashModel(RowTableModel["Clash"]):
    """Clashes, one field per row: mine and theirs, who and when."""

    COL_CASE, COL_FIELD, COL_MINE, COL_THEIRS, COL_WHO = range(5)
    HEADERS = ("Case", "What", "Your version", "Their version", "Changed by")
    #: the columns a compact table (large text, a small screen) hides: what changed is under
    #: the case, who changed it under their version
    FOLDED = (COL_FIELD, COL_WHO)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.compact = False

    def display(self, row: Clash, col: int) -> str:
        who = f"{row.changed_by}, {words.when(row.changed_at)}"
        if col == self.COL_CASE:
            what = field_label(row.kind, row.field)
            return f"{row.ref}\n{what}" if self.compact else row.ref
        if col == self.COL_FIELD:
            return field_label(row.kind, row.field)
        if col == self.COL_MINE:
            return show_value(row.mine)
        if col == self.COL_THEIRS:
            theirs = show_value(row.theirs)
            return f"{theirs}\n({who})" if self.compact else theirs
        if col == self.COL_WHO:
            return who
        return ""


class SettledModel(RowTableModel["SettledClash"]):
    """Clashes someone else settled: what they chose, who and when, and this user's own
    version when they made one side."""

    COL_CASE, COL_FIELD, COL_CHOSEN, COL_WHO, COL_MINE = range(5)
    HEADERS = ("Case", "What", "Chosen", "Settled by", "Your version")

    def display(self, row: SettledClash, col: int) -> str:
        if col == self.COL_CASE:
            return row.ref
        if col == self.COL_FIELD:
            return field_label(row.kind, row.field)
        if col == self.COL_CHOSEN:
            return show_value(row.chosen)
        if col == self.COL_WHO:
            when = words.when(row.settled_at)
            return f"{row.settled_by}, {when}" if when else row.settled_by
        if col == self.COL_MINE:
            if not row.made_one_side:
                return "You did not change it"
            return "Kept" if row.mine_kept else f"{show_value(row.mine)} (not kept)"
        return ""


FIELD_LABELS = {
    "summary": "Summary",
    "status": "Status",
    "priority": "Priority",
    "type": "Type",
    "assigned_to": "Assigned worker",
    "team": "Team",
    "next_review": "Next review",
    "name": "Name",
    "address": "Address",
    "phone": "Phone",
    "title": "Visit",
    "due": "Visit time",
    "place": "Place",
    "text": "Text",
    "active": "Warning shown",
}


def field_label(kind: str, name: str) -> str:
    label = FIELD_LABELS.get(name, name.replace("_", " ").capitalize())
    if kind in ("person", "visit", "warning") and kind != "case":
        return f"{kind.capitalize()}: {label.lower()}"
    return label


class NavModel(QAbstractListModel):
    """The left navigation: a few items, one with a live count (Clashes)."""

    MY_DAY, CASES, CLASHES, SETTINGS, DUPLICATES = range(5)
    #: "Duplicates" opens Possible duplicates (the short word keeps the navigation narrow
    #: at 200% text)
    LABELS = ("My day", "Cases", "Clashes", "Settings", "Duplicates")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._clashes = 0
        #: Possible duplicates shows only for a reviewer (a manager, a governance officer)
        self._reviewer = False

    def shown_labels(self) -> tuple[str, ...]:
        return self.LABELS if self._reviewer else self.LABELS[: self.DUPLICATES]

    def set_reviewer(self, reviewer: bool) -> None:
        if reviewer == self._reviewer:
            return
        row = self.DUPLICATES
        if reviewer:
            self.beginInsertRows(QModelIndex(), row, row)
            self._reviewer = True
            self.endInsertRows()
        else:
            self.beginRemoveRows(QModelIndex(), row, row)
            self._reviewer = False
            self.endRemoveRows()

    def set_clash_count(self, n: int) -> None:
        if n != self._clashes:
            self._clashes = n
            idx = self.index(self.CLASHES, 0)
            self.dataChanged.emit(idx, idx)

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.shown_labels())

    def data(self, index: Index, role: int = _DISPLAY) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self.shown_labels())):
            return None
        if role in (_DISPLAY, _ACCESSIBLE):
            label = self.LABELS[index.row()]
            if index.row() == self.CLASHES and self._clashes:
                return f"{label} ({self._clashes})"
            return label
        return None
