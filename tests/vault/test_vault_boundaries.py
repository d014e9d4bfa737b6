"""Only the vault does cryptography in the client, and never with Fernet or ECB."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _names_used(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)} | {
        node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)
    }


def test_only_the_vault_imports_cryptography_in_the_client() -> None:
    offenders = sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "app").rglob("*.py")
        if "vault" not in path.relative_to(ROOT / "app").parts[:1]
        and any(name.split(".")[0] == "cryptography" for name in _imports(path))
    )
    assert offenders == []


def test_the_vault_never_uses_fernet_or_ecb() -> None:
    files = list((ROOT / "app" / "vault").rglob("*.py"))
    assert files
    for path in files:
        used = _names_used(path) | {n.rsplit(".", 1)[-1] for n in _imports(path)}
        assert not used & {"Fernet", "MultiFernet", "ECB"}, path.name


def test_the_checker_sees_a_cryptography_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from cryptography.fernet import Fernet\nFernet(b'k')\n")
    assert "cryptography.fernet" in _imports(bad)
    assert "Fernet" in _names_used(bad)
