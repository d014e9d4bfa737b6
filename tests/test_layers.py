"""Layers stay apart: fails if a module imports what its layer must not."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def python_files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def non_ui_app_files() -> list[Path]:
    return [p for p in python_files("app") if "ui" not in p.relative_to(ROOT / "app").parts]


@pytest.mark.parametrize("folder", ["sync", "server"])
def test_shared_and_server_never_import_qt(folder: str) -> None:
    offenders = {
        str(p.relative_to(ROOT)): sorted(m for m in imported_modules(p) if m.startswith("PySide6"))
        for p in python_files(folder)
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_sync_depends_on_neither_side() -> None:
    offenders = {
        str(p.relative_to(ROOT)): sorted(
            m for m in imported_modules(p) if m.split(".")[0] in {"app", "server"}
        )
        for p in python_files("sync")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_non_ui_app_never_imports_widgets() -> None:
    files = non_ui_app_files()
    assert files, "expected the app's core modules to exist"
    offenders = {
        str(p.relative_to(ROOT)): sorted(
            m for m in imported_modules(p) if m.startswith(("PySide6.QtWidgets", "PySide6.QtGui"))
        )
        for p in files
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_checker_sees_a_widget_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from PySide6.QtWidgets import QLabel\nimport PySide6.QtCore\n")
    assert {"PySide6.QtWidgets", "PySide6.QtCore"} <= imported_modules(bad)
