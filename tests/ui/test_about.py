"""The About box: version and licence, and each third-party component of an installed bundle
with its licence text, from an SBOM and licence folder the build's own code writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import PySide6
import requests

from app import __version__
from app.about import load
from app.ui.about import LGPL_ITEM, AboutDialog
from app.ui.prefs import Prefs
from app.ui.qt import QDialogButtonBox, Qt
from app.ui.settings_screen import SettingsScreen
from installer import sbom


def bundle_with(tmp_path: Path) -> Path:
    """A bundle folder holding the SBOM and licences the build writes for these sources."""
    qt_core = next(Path(PySide6.__file__).parent.glob("Qt/lib/libQt6Core.so*"))
    sources = [Path(requests.__file__), Path(PySide6.__file__), qt_core]
    folder = tmp_path / "bundle"
    folder.mkdir()
    sbom.write(folder, sources)
    return folder


def test_an_installed_copy_lists_each_component_and_shows_its_licence(
    qtbot: Any, tmp_path: Path
) -> None:
    about = load(bundle_with(tmp_path))
    names = [c.name for c in about.components]
    assert "requests" in names and "pyside6-essentials" in names
    dialog = AboutDialog(about)
    qtbot.addWidget(dialog)
    dialog.show()
    assert about.version == __version__
    assert f"Fieldcase {__version__} is free software under the Apache License 2.0" in (
        about.summary()
    )
    shown = [dialog.components.item(i).text() for i in range(dialog.components.count())]
    assert shown[0] == LGPL_ITEM  # the relinking note first
    assert any(s.startswith("requests ") and s.endswith(": Apache-2.0") for s in shown)
    assert "download.qt.io" in dialog.text.toPlainText()
    qt_row = next(i for i, s in enumerate(shown) if s.startswith("pyside6-essentials"))
    dialog.components.setCurrentRow(qt_row)
    assert "GNU LESSER GENERAL PUBLIC LICENSE" in dialog.text.toPlainText()
    requests_row = next(i for i, s in enumerate(shown) if s.startswith("requests "))
    dialog.components.setFocus()
    qtbot.keyClick(dialog.components, Qt.Key.Key_Home)
    for _ in range(requests_row):
        qtbot.keyClick(dialog.components, Qt.Key.Key_Down)
    assert "Apache License" in dialog.text.toPlainText()  # chosen by keyboard alone
    assert dialog.components.accessibleName() == "Third-party components"
    assert dialog.text.accessibleName() == "Licence text"
    close = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Close)
    close.click()
    assert not dialog.isVisible()


def test_a_copy_from_source_says_where_the_list_is(qtbot: Any) -> None:
    about = load(None)  # the tests run from the source tree: no bundle
    assert about.bundle is None and about.components == ()
    assert "runs from its source code" in about.summary()
    dialog = AboutDialog(about)
    qtbot.addWidget(dialog)
    assert dialog.components.count() == 0


def test_a_damaged_sbom_still_opens_the_box(qtbot: Any, tmp_path: Path) -> None:
    folder = bundle_with(tmp_path)
    (folder / "sbom.cdx.json").write_text("{ not json", encoding="utf-8")
    about = load(folder)
    assert about.components == () and about.bundle is None
    qtbot.addWidget(AboutDialog(about))
    document = {
        "components": [
            {
                "name": "x",
                "properties": [{"name": "fieldcase:licence-file", "value": "licences/x/GONE"}],
            }
        ]
    }
    (folder / "sbom.cdx.json").write_text(json.dumps(document), encoding="utf-8")
    dialog = AboutDialog(load(folder))
    qtbot.addWidget(dialog)
    dialog.components.setCurrentRow(1)
    assert "cannot be read" in dialog.text.toPlainText()


def test_settings_opens_the_about_box(qtbot: Any) -> None:
    screen = SettingsScreen(Prefs(), server_locked=False, max_auto_lock=15, apply=lambda p: None)
    qtbot.addWidget(screen)
    screen.show()
    assert screen.about.accessibleName() == "About Fieldcase and its licences"
    assert screen.about.focusPolicy() & Qt.FocusPolicy.TabFocus
    qtbot.mouseClick(screen.about, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: screen.about_box is not None and screen.about_box.isVisible())
    assert screen.about_box is not None and not screen.about_box.isModal()
    screen.about_box.close()
