"""About Fieldcase: the version, the licence, and each third-party component with its licence
text (from app.about, which reads the installed bundle's SBOM)."""

from __future__ import annotations

from app.about import About, read_texts
from app.ui.qt import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    Qt,
    QVBoxLayout,
    QWidget,
    qVersion,
)
from app.ui.widgets import label, named

LGPL_ITEM = "How to replace the LGPL libraries, and their source"


class AboutDialog(QDialog):
    def __init__(self, about: About, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.about = about
        self.setWindowTitle("About Fieldcase")
        self.setAccessibleName("About Fieldcase")
        box = QVBoxLayout(self)
        box.addWidget(label(f"Fieldcase {about.version}", role="h1"))
        box.addWidget(label(about.summary()))
        box.addWidget(label(f"Built with Qt {qVersion()}.", role="hint"))
        self.components = named(QListWidget(), "Third-party components")
        # long names wrap onto a second line rather than run off under a scroll bar
        self.components.setWordWrap(True)
        self.components.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.components.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.components.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.text = named(QPlainTextEdit(), "Licence text")
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        if about.components or about.lgpl_note is not None:
            for component in about.components:
                shown = f"{component.name} {component.version}: {component.licence}"
                item = QListWidgetItem(shown)
                item.setData(Qt.ItemDataRole.UserRole, component.texts)
                item.setToolTip(component.note or shown)
                self.components.addItem(item)
            if about.lgpl_note is not None:
                item = QListWidgetItem(LGPL_ITEM)
                item.setData(Qt.ItemDataRole.UserRole, (about.lgpl_note,))
                self.components.insertItem(0, item)
            self.components.currentItemChanged.connect(self._show)
            lists = QHBoxLayout()
            lists.addWidget(self.components, 2)
            lists.addWidget(self.text, 3)
            box.addLayout(lists, 1)
            self.components.setCurrentRow(0)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.button(QDialogButtonBox.StandardButton.Close).setAccessibleName("Close")
        buttons.rejected.connect(self.reject)
        box.addWidget(buttons)
        self.resize(900, 600)

    def _show(self, item: QListWidgetItem | None) -> None:
        if item is None:
            self.text.setPlainText("")
            return
        self.text.setPlainText(read_texts(tuple(item.data(Qt.ItemDataRole.UserRole))))
