"""Possible duplicates: people the central service found recorded more than once (after a
council merger, in two predecessor systems). Team managers and governance officers compare
the two side by side, with the differences marked, and merge them or say they are not the
same person. Only shown to those roles; everything is asked of the service in the
background (:mod:`app.review`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.ui import words
from app.ui.qt import (
    QComboBox,
    QEvent,
    QFormLayout,
    QFrame,
    QGridLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QShowEvent,
    Qt,
    QTimer,
    QVBoxLayout,
    QWidget,
)
from app.ui.session import Session
from app.ui.widgets import button, buttons_row, label, named, restyle

if TYPE_CHECKING:
    from app.core import PairView, WaitingPairs

ASKING = "Asking the central service for the possible duplicates waiting for you..."
#: The mark beside a field where the two people differ (seen, and read out).
DIFFERS = "differs"


class DuplicatesScreen(QWidget):
    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.pairs: list[PairView] = []
        box = QVBoxLayout(self)
        box.setContentsMargins(20, 16, 20, 16)
        box.addWidget(label("Possible duplicates", role="h1"))
        self.intro = label("")
        self.intro.setAccessibleName("About the possible duplicates")
        box.addWidget(self.intro)
        self.list = named(QListWidget(), "Pairs waiting for your review")
        self.list.setWordWrap(False)  # one line a pair: the list's height is exact

        box.addWidget(self.list)

        self.panel = QFrame()
        panel = QVBoxLayout(self.panel)
        panel.setContentsMargins(0, 8, 0, 0)
        self.question = label("", role="h2")
        panel.addWidget(self.question)
        self.reasons = label("")
        self.reasons.setAccessibleName("Why they may be one person")
        panel.addWidget(self.reasons)
        grid = QGridLayout()
        grid.setHorizontalSpacing(16)
        grid.addWidget(label("Person A", role="h2"), 0, 1)
        grid.addWidget(label("Person B", role="h2"), 0, 2)
        #: a row per field compared, made when the first pair is shown (the core says which)
        self.field_labels: list[QLabel] = []
        self.values: list[tuple[QLabel, QLabel]] = []
        self.grid = grid
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(2, 1)
        panel.addLayout(grid)
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.keep = named(QComboBox(), "Whose record to keep when merging")
        self.keep.addItem("Keep person A's record", "a")
        self.keep.addItem("Keep person B's record", "b")
        self.reason = named(QLineEdit(), "Why", "Kept in the audit trail with your decision")
        self.reason.setPlaceholderText("For example: same date of birth, same address")
        form.addRow("When merging", self.keep)
        form.addRow("Why", self.reason)
        panel.addLayout(form)
        self.merge_button = button("Merge them", "Merge the two into one person", primary=True)
        self.not_same_button = button("Not the same person")
        self.button_row = buttons_row(self.merge_button, self.not_same_button)
        panel.addWidget(self.button_row)
        box.addWidget(self.panel)
        box.addStretch(1)
        self.panel.hide()

        self.list.currentRowChanged.connect(self._show_chosen)
        self.merge_button.clicked.connect(lambda: self._decide(same=True))
        self.not_same_button.clicked.connect(lambda: self._decide(same=False))

    # -- loading
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.reload()

    def reload(self) -> None:
        if not self.isVisible():
            return
        self.intro.setText(ASKING)
        backend, work = self.session.backend, self.session.work
        work.run_net(
            self,
            lambda cancel, _progress: backend.duplicate_pairs(cancel, work.call_db),
            self._loaded,
            self.session.show_error,
        )

    def _loaded(self, answer: WaitingPairs) -> None:
        chosen = self.list.currentRow()
        self.pairs = list(answer.pairs or [])
        self.list.clear()
        for pair in self.pairs:
            item = QListWidgetItem(pair.title)
            item.setData(Qt.ItemDataRole.AccessibleTextRole, pair.title)
            self.list.addItem(item)
        if not self.pairs:
            self.intro.setText(answer.note)
            self.panel.hide()
            return
        more = f" ({answer.more} more after these)" if answer.more else ""
        self.intro.setText(
            f"{words.plural(len(self.pairs), 'pair')} of people the central service found "
            f"recorded more than once{more}. Compare each pair, then merge them or say they "
            "are not the same person."
        )
        self._fit_list()
        self.list.setCurrentRow(min(max(chosen, 0), len(self.pairs) - 1))

    def _fit_list(self) -> None:
        """As tall as its pairs (up to five, then it scrolls), so the comparison and its
        buttons stay in sight on a small screen; again when the text size changes."""
        rows = range(max(1, min(self.list.count(), 5)))
        line = self.list.fontMetrics().height()
        tall = sum(max(self.list.sizeHintForRow(r), line) for r in rows)
        self.list.setFixedHeight(tall + 2 * self.list.frameWidth() + 4)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            # after the change has reached every widget: never resize one while the new
            # text size or theme is still being handed round
            QTimer.singleShot(0, self._fit_list)

    def _show_chosen(self, row: int) -> None:
        if not 0 <= row < len(self.pairs):
            self.panel.hide()
            return
        pair = self.pairs[row]
        self.panel.show()
        self.question.setText(f"Are {pair.a_name} and {pair.b_name} one person?")
        self.reasons.setText("Why they may be: " + "; ".join(pair.reasons) + ".")
        self._rows(len(pair.fields))
        for field, heading, values in zip(pair.fields, self.field_labels, self.values, strict=True):
            heading.setText(f"{field.label} ({DIFFERS})" if field.differs else field.label)
            for who, value, text in (("A", values[0], field.a), ("B", values[1], field.b)):
                value.setText(text)
                value.setProperty("role", "differs" if field.differs else None)
                restyle(value)  # bold, with a bar beside it (yellow in high contrast)
                value.setAccessibleName(
                    f"Person {who}'s {field.label.lower()}"
                    + (f", {DIFFERS}" if field.differs else "")
                )

    def _rows(self, wanted: int) -> None:
        """As many rows as fields compared: a label, then person A's value and person B's."""
        while len(self.values) < wanted:
            row = len(self.values) + 1
            self.field_labels.append(label(""))
            self.grid.addWidget(self.field_labels[-1], row, 0, Qt.AlignmentFlag.AlignTop)
            pair = (label(""), label(""))
            for column, value in enumerate(pair, start=1):
                value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                self.grid.addWidget(value, row, column, Qt.AlignmentFlag.AlignTop)
            self.values.append(pair)

    # -- deciding
    def chosen(self) -> PairView | None:
        row = self.list.currentRow()
        return self.pairs[row] if 0 <= row < len(self.pairs) else None

    def _decide(self, *, same: bool) -> None:
        pair = self.chosen()
        if pair is None:
            return
        reason = self.reason.text().strip()
        if not reason:
            self.session.show_message("Say why first: it is kept in the audit trail.")
            self.reason.setFocus()
            return
        a, b = (pair.a_id, pair.a_name), (pair.b_id, pair.b_name)
        (keep, keep_name), (other, other_name) = (
            (a, b) if self.keep.currentData() == "a" else (b, a)
        )
        if same and not self.session.dialogs.confirm(
            self,
            "Merge them?",
            f"Every case and warning about {other_name} will be about {keep_name}, on every "
            "laptop from its next sync. A governance officer can undo it.",
            "Merge them",
            "Go back",
        ):
            return
        backend, work = self.session.backend, self.session.work
        work.run_net(
            self,
            lambda cancel, _progress: backend.decide_duplicate(
                keep, other, same, reason, cancel, work.call_db
            ),
            self._decided,
            self._refused,
        )

    def _decided(self, message: Any) -> None:
        self.reason.clear()
        self.session.show_message(str(message))
        self.session.changed()
        self.reload()

    def _refused(self, err: BaseException) -> None:
        self.session.show_message(str(err))
