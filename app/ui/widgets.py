"""Small widgets the screens share: the message bar (the one error display), the red
warnings banner, the yellow focus ring, and helpers that always set an accessible name."""

from __future__ import annotations

import contextlib
import logging
import traceback
from collections.abc import Sequence
from typing import Any

from app.errors import FieldcaseError, UsageError
from app.ui import theme
from app.ui.qt import (
    QAbstractScrollArea,
    QApplication,
    QColor,
    QEvent,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QObject,
    QPainter,
    QPlainTextEdit,
    QPoint,
    QPushButton,
    QRect,
    QScrollArea,
    QSize,
    QStackedWidget,
    Qt,
    QTimer,
    QVBoxLayout,
    QWidget,
    Signal,
)

log = logging.getLogger("fieldcase.ui")

GENERIC_FAILURE = (
    "Something went wrong and that did not finish. Nothing you saved has been lost. "
    "Try again; if it keeps happening, contact your IT team and show them the details."
)


def label(text: str = "", role: str | None = None, *, wrap: bool = True) -> QLabel:
    widget = QLabel(text)
    if role:
        widget.setProperty("role", role)
    widget.setWordWrap(wrap)
    widget.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
    return widget


def button(
    text: str, accessible: str | None = None, *, primary: bool = False, link: bool = False
) -> QPushButton:
    widget = QPushButton(text)
    widget.setAccessibleName(accessible or text.replace("&", ""))
    if primary:
        widget.setProperty("primary", True)
    if link:
        widget.setProperty("link", True)
        widget.setCursor(Qt.CursorShape.PointingHandCursor)
    widget.setAutoDefault(False)
    return widget


def named(widget: Any, name: str, description: str = "") -> Any:
    """Give a control its accessible name (and description) in one line."""
    widget.setAccessibleName(name)
    if description:
        widget.setAccessibleDescription(description)
    return widget


def restyle(widget: QWidget) -> None:
    """Re-apply the style sheet after a dynamic property changed."""
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)
    widget.update()


def plain_message(err: BaseException) -> tuple[str, str]:
    """(words for a person, details for the help desk) for any failure."""
    if isinstance(err, FieldcaseError):
        return err.message, err.detail or type(err).__name__
    details = "".join(traceback.format_exception_only(type(err), err)).strip()
    return GENERIC_FAILURE, details


class NoteEdit(QPlainTextEdit):
    """A text box where Ctrl+Enter saves (``submitted``) and Tab moves on."""

    submitted = Signal()

    def __init__(self, name: str) -> None:
        super().__init__()
        self.setAccessibleName(name)
        self.setTabChangesFocus(True)

    def keyPressEvent(self, event: Any) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and (
            event.modifiers() & Qt.KeyboardModifier.ControlModifier
        ):
            event.accept()
            self.submitted.emit()
            return
        super().keyPressEvent(event)


class MessageBar(QFrame):
    """The one place failures (and short confirmations) are shown: plain words, and the
    technical detail behind a "Details" expander."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MessageBar")
        self.setProperty("level", "info")
        self.text = label("")
        self.text.setAccessibleName("Message")
        self.details_button = button("Details", "Show technical details", link=True)
        self.close_button = button("Dismiss", "Dismiss this message", link=True)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setAccessibleName("Technical details for your IT team")
        self.details.setMaximumHeight(120)
        self.details.hide()
        row = QHBoxLayout()
        row.addWidget(self.text, 1)
        row.addWidget(self.details_button)
        row.addWidget(self.close_button)
        box = QVBoxLayout(self)
        box.setContentsMargins(12, 8, 12, 8)
        box.addLayout(row)
        box.addWidget(self.details)
        self._fade = QTimer(self)
        self._fade.setSingleShot(True)
        self._fade.setInterval(12_000)
        self._fade.timeout.connect(self.clear)
        self.details_button.clicked.connect(self._toggle_details)
        self.close_button.clicked.connect(self.clear)
        self.hide()

    def show_error(self, err: BaseException) -> None:
        words, details = plain_message(err)
        if not isinstance(err, FieldcaseError):
            # the type only: an exception's text may quote what a person typed
            log.error("unexpected failure shown to the person: %s", type(err).__name__)
        self.show_message(words, level="error", details=details)

    def show_message(
        self, words: str, *, level: str = "info", details: str = "", stay: bool = False
    ) -> None:
        """Show ``words``; a confirmation fades after a while, a problem (and news the person
        must not miss: ``stay``) stays until dismissed."""
        self.setProperty("level", level)
        restyle(self)
        self.text.setText(words)
        self.details.setPlainText(details)
        self.details.hide()
        self.details_button.setVisible(bool(details))
        self.details_button.setText("Details")
        self.show()
        if level == "error" or stay:
            self._fade.stop()  # a problem stays until the person dismisses it
        else:
            self._fade.start()

    def clear(self) -> None:
        self.hide()
        self.text.setText("")

    def synced(self) -> None:
        """A sync has just sent what was waiting: a confirmation that still promises it "at
        the next sync" is out of date, and goes (a problem stays)."""
        if self.property("level") != "error" and "next sync" in self.text.text():
            self.clear()

    def _toggle_details(self) -> None:
        showing = not self.details.isVisible()
        self.details.setVisible(showing)
        self.details_button.setText("Hide details" if showing else "Details")


def bring_into_sight(*widgets: QWidget) -> None:
    """Once the layout has settled, scroll every scrolling area these are in so that they
    are in sight, the last one above all (a panel that opens below the fold at a large text
    size: its Save button must not wait there unseen)."""

    def scroll() -> None:
        for widget in widgets:
            area = widget.parentWidget()
            while area is not None:
                if isinstance(area, QScrollArea):
                    area.ensureWidgetVisible(widget, 8, 8)
                area = area.parentWidget()

    QTimer.singleShot(0, scroll)


def buttons_row(*buttons: QWidget) -> QWidget:
    """A case tab's buttons in a row of their own, which the case view keeps in sight below
    the part of the case that scrolls."""
    row = QWidget()
    box = QHBoxLayout(row)
    box.setContentsMargins(0, 0, 0, 0)
    for control in buttons:
        box.addWidget(control)
    box.addStretch(1)
    return row


class CurrentStack(QStackedWidget):
    """Pages of which one is shown, asking only for the room the shown one needs (Qt's stack
    asks for its largest page's, so a tall page never shown could make the window taller
    than the screen)."""

    def __init__(self) -> None:
        super().__init__()
        self.currentChanged.connect(lambda _i: self.updateGeometry())

    def minimumSizeHint(self) -> QSize:
        shown = self.currentWidget()
        return shown.minimumSizeHint() if shown is not None else super().minimumSizeHint()


class WarningBanner(QFrame):
    """A person's warnings: red, with a warning sign AND the words. Never colour alone."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Banner")
        self.text = label("")
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        box = QHBoxLayout(self)
        box.setContentsMargins(12, 6, 12, 6)
        icon = label("\u26a0", wrap=False)
        icon.setStyleSheet("font-size: 20pt;")
        icon.setAccessibleName("Warning")
        box.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        box.addWidget(self.text, 1)
        self.hide()

    def set_warnings(self, warnings: Sequence[str]) -> None:
        if not warnings:
            self.hide()
            self.text.setText("")
            return
        heading = "Warning" if len(warnings) == 1 else f"{len(warnings)} warnings"
        self.text.setText(f"{heading}: " + "   \u2022   ".join(warnings))
        self.text.setAccessibleName(f"{heading}: " + ". ".join(warnings))
        self.setAccessibleName(self.text.accessibleName())
        self.show()


class FocusRing(QWidget):
    """A thick yellow outline with a dark inner line around whichever control has focus,
    drawn over the window so every focusable control shows it, whatever its style."""

    WIDTH = 4

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._target: QWidget | None = None
        # layouts move controls without moving them relative to their parent (a text-size
        # change, a page switch): look again a few times a second while showing
        self._timer = QTimer(self)
        self._timer.setInterval(250)
        self._timer.timeout.connect(self._follow)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._focus_changed)
        self.hide()

    def _focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        if self._target is not None:
            with contextlib.suppress(RuntimeError):
                self._target.removeEventFilter(self)
        self._target = None
        if new is None or new.window() is not self.window() or new is self:
            self.hide()
            return
        self._target = new
        new.installEventFilter(self)
        self._follow()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._target and event.type() in (
            QEvent.Type.Move,
            QEvent.Type.Resize,
            QEvent.Type.Show,
            QEvent.Type.Hide,
        ):
            self._follow()
        return False

    def _follow(self) -> None:
        target = self._target
        try:
            visible = target is not None and target.isVisible()
        except RuntimeError:  # the control was deleted
            visible = False
        if target is None or not visible:
            self._target = None
            self._timer.stop()
            self.hide()
            return
        parent = self.parentWidget()
        if parent is None:
            return
        top_left = target.mapTo(parent, target.rect().topLeft())
        w = self.WIDTH
        frame = QRect(
            top_left.x() - w, top_left.y() - w, target.width() + 2 * w, target.height() + 2 * w
        )
        clip = self._clip(target, parent)
        if clip is not None:
            frame = frame.intersected(clip)
        if frame.isEmpty():  # scrolled out of sight
            self.hide()
            return
        self.setGeometry(frame)
        if not self.isVisible():
            self.show()
        self.raise_()
        if not self._timer.isActive():
            self._timer.start()

    #: the bands of the window a frame stays inside: it never paints over the header, the
    #: message bar or the sync line, nor outside the scrolling area it is in
    BANDS = ("TopBar", "MessageBar", "SyncLine")

    def _clip(self, target: QWidget, parent: QWidget) -> QRect | None:
        """Where the frame of ``target`` may be drawn, in ``parent``'s coordinates: inside
        every scrolling area, page stack and band it is in (a tab's page inside a case that
        scrolls is inside both)."""
        clip: QRect | None = None
        ancestor = target.parentWidget()
        while ancestor is not None and ancestor is not parent:
            area = ancestor.parentWidget()
            if (
                (isinstance(area, QAbstractScrollArea) and ancestor is area.viewport())
                or isinstance(ancestor, QStackedWidget)
                or ancestor.objectName() in self.BANDS
            ):
                rect = QRect(ancestor.mapTo(parent, QPoint(0, 0)), ancestor.size())
                clip = rect if clip is None else clip.intersected(rect)
            ancestor = ancestor.parentWidget()
        return clip

    def paintEvent(self, _event: Any) -> None:
        painter = QPainter(self)
        w = self.WIDTH
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(theme.FOCUS_FRAME))
        r = self.rect()
        # four yellow bars around the control, then a dark inner line
        painter.drawRect(0, 0, r.width(), w)
        painter.drawRect(0, r.height() - w, r.width(), w)
        painter.drawRect(0, 0, w, r.height())
        painter.drawRect(r.width() - w, 0, w, r.height())
        painter.setBrush(QColor(theme.FOCUS_LINE))
        painter.drawRect(w - 1, w - 1, r.width() - 2 * w + 2, 1)
        painter.drawRect(w - 1, r.height() - w, r.width() - 2 * w + 2, 1)
        painter.drawRect(w - 1, w - 1, 1, r.height() - 2 * w + 2)
        painter.drawRect(r.width() - w, w - 1, 1, r.height() - 2 * w + 2)
        painter.end()


class FieldProblems:
    """A value the core refused, shown on a form: its words on a red line directly above the
    field it names (the field marked, focused and described for screen readers), or on the
    form's ``general`` line when it names no field there. ``lines`` maps the core's field name
    (``summary``, ``person.phone``) to (its control, its problem line)."""

    def __init__(self, form: QFormLayout, general: QLabel) -> None:
        self.form = form
        self.general = general
        self.lines: dict[str, tuple[QWidget, QLabel]] = {}

    def add(self, name: str, title: str, control: QWidget) -> None:
        """Give field ``name`` its problem line: call just before adding its row."""
        line = label("", role="error")
        line.setAccessibleName(f"Problem with {title}")
        self.form.addRow(line)
        self.form.setRowVisible(line, False)
        self.lines[name] = (control, line)

    def show(self, err: UsageError) -> None:
        self.clear()
        if err.field and err.field in self.lines:
            control, line = self.lines[err.field]
            line.setText(err.message)
            self.form.setRowVisible(line, True)
            control.setProperty("invalid", True)
            control.setAccessibleDescription(err.message)
            restyle(control)
            control.setFocus()
            return
        self.general.setText(err.message)
        self.general.show()

    def clear(self) -> None:
        self.general.hide()
        for control, line in self.lines.values():
            if self.form.isRowVisible(line):
                self.form.setRowVisible(line, False)
                line.setText("")
                control.setProperty("invalid", False)
                control.setAccessibleDescription("")
                restyle(control)
