"""Shape limits the lint cannot state: no class over about 300 lines anywhere in the shipped
code (issue 9). Complexity per function is ruff's C901 (pyproject.toml)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_CLASS_LINES = 300
PACKAGES = ("app", "sync", "server", "tools")


def class_sizes(path: Path) -> dict[str, int]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return {
        node.name: (node.end_lineno or node.lineno) - node.lineno + 1
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
    }


def all_class_sizes() -> dict[tuple[str, str], int]:
    sizes: dict[tuple[str, str], int] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            for name, lines in class_sizes(path).items():
                sizes[(rel, name)] = lines
    return sizes


def test_no_class_over_the_limit() -> None:
    sizes = all_class_sizes()
    assert {key: n for key, n in sizes.items() if n > MAX_CLASS_LINES} == {}


def test_the_measure_sees_a_big_class(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_CLASS_LINES + 5))
    big = tmp_path / "big.py"
    big.write_text(f"class Big:\n{body}\n", encoding="utf-8")
    assert class_sizes(big)["Big"] > MAX_CLASS_LINES
