"""Settings: service address (read-only under site policy), auto-lock minutes (capped by
policy), text size up to 200%, the high-contrast theme; and About Fieldcase."""

from __future__ import annotations

from collections.abc import Callable

from app.about import VERSION, load
from app.ui import words
from app.ui.about import AboutDialog
from app.ui.prefs import Prefs
from app.ui.qt import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLineEdit,
    QScrollArea,
    QSpinBox,
    Qt,
    QVBoxLayout,
    QWidget,
)
from app.ui.theme import TEXT_SIZES
from app.ui.widgets import button, label, named


class SettingsScreen(QScrollArea):
    def __init__(
        self,
        prefs: Prefs,
        *,
        server_locked: bool,
        max_auto_lock: int,
        apply: Callable[[Prefs], None],
    ) -> None:
        super().__init__()
        self.setWidgetResizable(True)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._apply = apply
        page = QWidget()
        self.setWidget(page)
        box = QVBoxLayout(page)
        box.setContentsMargins(20, 16, 20, 16)
        box.addWidget(label("Settings", role="h1"))
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapAllRows)
        self.server = named(QLineEdit(prefs.server_url), "Fieldcase service address")
        self.server.setReadOnly(server_locked)
        form.addRow("Fieldcase service address", self.server)
        if server_locked:
            form.addRow(
                label("Set by your council's IT team, so it cannot be changed here.", role="hint")
            )
        self.auto_lock = named(QSpinBox(), "Lock after this many idle minutes")
        self.auto_lock.setRange(1, max_auto_lock)
        self.auto_lock.setValue(min(prefs.auto_lock_minutes, max_auto_lock))
        self.auto_lock.valueChanged.connect(self._say_minutes)
        self._say_minutes(self.auto_lock.value())
        form.addRow("Lock Fieldcase after this many minutes without use", self.auto_lock)
        form.addRow(
            label(
                f"Your council allows at most {words.plural(max_auto_lock, 'minute')}.",
                role="hint",
            )
        )
        self.text_size = named(QComboBox(), "Text size")
        for size in TEXT_SIZES:
            self.text_size.addItem(f"{size}%", size)
        self.text_size.setCurrentIndex(max(0, self.text_size.findData(prefs.text_size)))
        form.addRow("Text size", self.text_size)
        self.high_contrast = named(
            QCheckBox("Use high contrast (white and yellow on black)"), "High contrast"
        )
        self.high_contrast.setChecked(prefs.high_contrast)
        form.addRow(self.high_contrast)
        box.addLayout(form)
        self.save = button("Save settings", primary=True)
        box.addWidget(self.save, 0, Qt.AlignmentFlag.AlignLeft)
        box.addWidget(label("About Fieldcase", role="h2"))
        box.addWidget(label(f"Version {VERSION}, free software under the Apache License 2.0."))
        self.about = button("About Fieldcase and its licences")
        self.about.setAccessibleName("About Fieldcase and its licences")
        box.addWidget(self.about, 0, Qt.AlignmentFlag.AlignLeft)
        box.addStretch(1)
        self.save.clicked.connect(self._save)
        self.about.clicked.connect(self.show_about)
        self.about_box: AboutDialog | None = None

    def show_about(self) -> None:
        """The About box (version, licence, each component's licence text), not modal."""
        if self.about_box is None:
            self.about_box = AboutDialog(load(), self)
        self.about_box.show()
        self.about_box.raise_()
        self.about_box.activateWindow()

    def show_prefs(self, prefs: Prefs) -> None:
        """Show the preferences as they now apply (after saving: the lock time as the
        council's limit left it)."""
        self.server.setText(prefs.server_url or self.server.text())
        self.auto_lock.setValue(min(prefs.auto_lock_minutes, self.auto_lock.maximum()))
        self.text_size.setCurrentIndex(max(0, self.text_size.findData(prefs.text_size)))
        self.high_contrast.setChecked(prefs.high_contrast)

    def _say_minutes(self, value: int) -> None:
        self.auto_lock.setSuffix(" minute" if value == 1 else " minutes")

    def current(self) -> Prefs:
        return Prefs(
            text_size=int(self.text_size.currentData()),
            high_contrast=self.high_contrast.isChecked(),
            auto_lock_minutes=self.auto_lock.value(),
            server_url=self.server.text().strip(),
        )

    def _save(self) -> None:
        self._apply(self.current())
