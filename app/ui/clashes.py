"""Clashes: a field edited here and elsewhere. Show both, who and when; keep one, or write
a new value. Nothing is ever silently discarded."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.ui import words
from app.ui.models import ClashModel, SettledModel, field_label, show_value
from app.ui.qt import QFrame, QGridLayout, QHBoxLayout, QPlainTextEdit, Qt, QVBoxLayout, QWidget
from app.ui.session import Session
from app.ui.tables import Folding, column_chars, fit_rows, select_first, selected_row, table
from app.ui.widgets import button, label, named

if TYPE_CHECKING:
    from app.core import Clash, SettledClash


class ClashesScreen(QWidget):
    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.model = ClashModel(self)
        box = QVBoxLayout(self)
        box.setContentsMargins(20, 16, 20, 16)
        box.addWidget(label("Clashes", role="h1"))
        self.intro = label("")
        box.addWidget(self.intro)
        self.view = table(self.model, "Clashes waiting for your decision")
        self.view_height = fit_rows(self.view, 4)
        # narrow (large text, a small screen): what changed goes under the case and who
        # changed it under their version, so both versions are in sight without scrolling
        self.folding = Folding(
            self.view,
            widths={
                ClashModel.COL_CASE: 14,
                ClashModel.COL_FIELD: 14,
                ClashModel.COL_MINE: 28,
                ClashModel.COL_THEIRS: 28,
            },
            shares={ClashModel.COL_CASE: 0.28, ClashModel.COL_MINE: 0.36},
            folded=ClashModel.FOLDED,
            min_chars=100,
            refit=self.view_height.apply,
        )
        self.view.setTextElideMode(Qt.TextElideMode.ElideNone)  # wrapped, never cut with ...
        box.addWidget(self.view)

        self.panel = QFrame()
        grid = QGridLayout(self.panel)
        self.question = label("", role="h2")
        grid.addWidget(self.question, 0, 0, 1, 2)
        self.mine_title = label("", role="hint")
        self.theirs_title = label("", role="hint")
        self.mine = named(QPlainTextEdit(), "Your version")
        self.theirs = named(QPlainTextEdit(), "Their version")
        for w in (self.mine, self.theirs):
            w.setReadOnly(True)
            w.setMaximumHeight(96)
            w.setTabChangesFocus(True)
        grid.addWidget(self.mine_title, 1, 0)
        grid.addWidget(self.theirs_title, 1, 1)
        grid.addWidget(self.mine, 2, 0)
        grid.addWidget(self.theirs, 2, 1)
        self.keep_mine = button("Keep my version", primary=True)
        self.keep_theirs = button("Keep their version", primary=True)
        grid.addWidget(self.keep_mine, 3, 0)
        grid.addWidget(self.keep_theirs, 3, 1)
        grid.addWidget(label("Or write a new version that replaces both:"), 4, 0, 1, 2)
        self.new_value = named(QPlainTextEdit(), "New version")
        self.new_value.setMaximumHeight(72)
        self.new_value.setTabChangesFocus(True)
        grid.addWidget(self.new_value, 5, 0, 1, 2)
        row = QHBoxLayout()
        self.keep_new = button("Save this new version")
        self.open_case_button = button("Open the case")
        row.addWidget(self.keep_new)
        row.addWidget(self.open_case_button)
        row.addStretch(1)
        grid.addLayout(row, 6, 0, 1, 2)
        box.addWidget(self.panel, 1)
        self.panel.hide()

        # the first decision settles a clash for everyone: what others chose, and by whom
        self.settled_title = label("Settled by someone else in the last 30 days", role="h2")
        self.settled_model = SettledModel(self)
        self.settled_view = table(self.settled_model, "Clashes settled by someone else")
        column_chars(
            self.settled_view,
            {
                SettledModel.COL_CASE: 14,
                SettledModel.COL_FIELD: 14,
                SettledModel.COL_CHOSEN: 24,
                SettledModel.COL_WHO: 22,
                SettledModel.COL_MINE: 24,
            },
        )
        self.settled_height = fit_rows(self.settled_view, 4)
        box.addWidget(self.settled_title)
        box.addWidget(self.settled_view)
        self.settled_title.hide()
        self.settled_view.hide()

        self.view.selectionModel().currentRowChanged.connect(lambda *_a: self._show_chosen())
        self.model.modelReset.connect(self._show_chosen)
        self.keep_mine.clicked.connect(lambda: self._resolve("mine"))
        self.keep_theirs.clicked.connect(lambda: self._resolve("theirs"))
        self.keep_new.clicked.connect(lambda: self._resolve("new"))
        self.open_case_button.clicked.connect(self._open_case)

    def reload(self) -> None:
        backend = self.session.backend
        self.session.work.run_db(self, backend.clashes, self._loaded, self.session.show_error)
        self.session.work.run_db(
            self, backend.settled_clashes, self._settled_loaded, self.session.show_error
        )

    def _settled_loaded(self, rows: list[SettledClash]) -> None:
        self.settled_model.set_rows(rows)
        self.settled_title.setVisible(bool(rows))
        self.settled_view.setVisible(bool(rows))

    def _loaded(self, rows: list[Clash]) -> None:
        self.model.set_rows(rows)
        if rows:
            self.intro.setText(
                f"{words.plural(len(rows), 'change')} made here and elsewhere at the same "
                "time. Nothing has been lost: choose what to keep for each."
            )
        else:
            self.intro.setText("No clashes. Everything you changed reached the central record.")
        select_first(self.view)
        self._show_chosen()

    def _show_chosen(self) -> None:
        clash = selected_row(self.view)
        if clash is None:
            self.panel.hide()
            return
        self.panel.show()
        what = field_label(clash.kind, clash.field).lower()
        self.question.setText(
            # true whether this laptop was offline or not: both changes were made on the same
            # version, and theirs reached the central record first
            f"{clash.changed_by} changed the {what} of {clash.ref} on "
            f"{words.when(clash.changed_at)}, before your change reached the central record. "
            "Choose which to keep."
        )
        me = self.session.backend.username
        self.mine_title.setText(f"Your version ({me}, on this laptop)")
        self.theirs_title.setText(
            f"Their version ({clash.changed_by}, {words.when(clash.changed_at)})"
        )
        self.mine.setPlainText(show_value(clash.mine))
        self.theirs.setPlainText(show_value(clash.theirs))
        self.new_value.setPlainText("")

    def _resolve(self, which: str) -> None:
        clash = selected_row(self.view)
        if clash is None:
            return
        value: object = None
        if which == "new":
            value = self.new_value.toPlainText().strip()
            if not value:
                self.session.show_message("Write the new version first, then save it.")
                self.new_value.setFocus()
                return
        backend = self.session.backend

        def ok(_r: object) -> None:
            self.session.show_message(
                "Decision saved. It will be sent to the central record at the next sync."
            )
            self.session.changed()
            self.reload()

        self.session.work.run_db(
            self,
            lambda: backend.resolve_clash(clash.id, value, which),
            ok,
            self.session.show_error,
        )

    def _open_case(self) -> None:
        clash = selected_row(self.view)
        if clash is not None:
            self.session.open_case(clash.case_id)


def decided_message(decided: list[Any]) -> str:
    """What the window says after a sync that brought someone else's decision against this
    user's version (or after their own decision came second). ``decided``: the sync report's
    conflicts (each with ``resolved_by``, ``kind`` and ``field``)."""
    deciders = sorted({info.resolved_by or "Someone else" for info in decided})
    who = deciders[0] if len(deciders) == 1 else "Colleagues"
    if len(decided) == 1:
        what = field_label(decided[0].kind.value, decided[0].field).lower()
        clash = f"the clash on a case's {what}"
    else:
        clash = f"{words.plural(len(decided), 'clash', 'clashes')} you were part of"
    return (
        f"{who} settled {clash} first, so your version was not kept. Open Clashes to see "
        "what was chosen."
    )
