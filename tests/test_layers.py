"""Layers stay apart: every import between Fieldcase's parts must be an edge of ``ALLOWED``.

Each module belongs to a layer: ``app.<part>`` (``app.ui``, ``app.core``, ``app.store``, ...),
``sync.<module>`` (the shared package, module by module) or ``server``. Relative imports are
resolved, and ``from pkg import name`` counts as importing ``pkg.name`` when that is a module.
Imports inside a layer are free; any other edge must be listed. The window (``app.ui``) never
reaches the store, the vault or the sync engine directly: only through the core (and, until it
shrinks away, its Qt adapter ``app.ui.core_backend``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "sync", "server")

#: What every layer may use: the shared clock, error root and version.
SHARED = {"sync.clock", "sync.errors", "sync.version"}

#: layer -> the other layers it may import.
ALLOWED: dict[str, set[str]] = {
    # the shared package: protocol and schema at the bottom, the engine on top
    "sync": set(),  # sync/__init__.py
    "sync.clock": set(),
    "sync.errors": set(),
    "sync.version": set(),  # the one place the version is written
    "sync.records": set(),
    "sync.address": set(),  # the one https-except-loopback rule
    "sync.source_tree": set(),  # the one "running from the source tree?" answer
    "sync.terminal": set(),  # the one hidden-password prompt of both command lines
    "sync.protocol": {"sync.records"},
    "sync.pull_lines": set(),  # the one definition of a pull page sent as lines
    "sync.collector": set(),  # the one pause of Python's cycle collector, for pulled pages
    "sync.words": set(),  # the one way counts, sizes, lengths of time and dates are said
    "sync.paper": set(),  # the one renderer of printed documents (Typst templates)
    "sync.files": set(),  # the one owner-only, whole-or-nothing writer of files to take away
    "sync.store": {"sync.protocol", "sync.records"},
    "sync.proxy": {"sync.address"},  # the one owner of the proxy setting (light)
    "sync.network": {"sync.proxy", "sync.system_proxy"},  # trust, and applying the proxy
    "sync.system_proxy": {"sync.clock"},  # the system's proxy for an address (PAC, WPAD)
    "sync.transport": {"sync.collector", "sync.network", "sync.protocol", "sync.pull_lines"},
    "sync.client": {
        "sync.address",
        "sync.network",
        "sync.protocol",
        "sync.pull_lines",
        "sync.records",
        "sync.store",
        "sync.transport",
    },
    # the laptop's half of single sign-on: the browser, the loopback redirect, PKCE
    "sync.sso": {"sync.client", "sync.protocol", "sync.store"},
    "sync.engine": {
        "sync.client",
        "sync.collector",
        "sync.protocol",
        "sync.records",
        "sync.store",
        "sync.words",
    },
    # the service (its merge rules are its own): the protocol and the schema, never the engine
    "server": {
        "sync.address",  # the sign-in provider's addresses: https except on loopback
        "sync.files",  # subject access exports
        "sync.paper",  # subject access records
        "sync.protocol",
        "sync.pull_lines",
        "sync.records",
        "sync.source_tree",
        "sync.terminal",
        "sync.words",
    },
    # the laptop, bottom to top
    "app": {"app.paths"},  # app/__init__.py
    "app.errors": set(),
    "app.device_file": {"app.errors"},  # read before unlock: light
    "app.paths": set(),
    "app.files": set(),
    "app.logs": {"app.files", "app.paths"},
    "app.site": {
        "app.errors",
        "app.paths",
        "app.site_registry",
        "sync.address",
        "sync.proxy",
        "sync.source_tree",
    },
    "app.site_registry": set(),
    "app.about": {"sync.version"},  # what the About box says, from the bundle's SBOM
    "app.domain": {"sync.records"},
    "app.vault": {"app.errors", "app.files"},
    "app.store": {
        "app",  # the app's version only: records set aside are tried again after an update
        "app.domain",
        "app.errors",
        "app.files",
        "app.paths",  # erasing a revoked laptop's log files
        "app.site",
        "app.vault",
        "sync.protocol",
        "sync.records",
        "sync.store",
        "sync.words",
    },
    "app.core": {
        "app.domain",
        "app.errors",
        "app.site",
        "app.store",
        "app.vault",
        "sync.files",  # printed records, written owner-only
        "sync.paper",  # printed records
        "sync.records",
        "sync.words",  # its messages say dates and counts the one way
    },
    "app.online": {
        "app.core",
        "app.device_file",
        "app.errors",
        "app.site",
        "app.site_registry",  # names the registry keys a setting came from
        "app.store",
        "app.vault",
        "sync.client",
        "sync.network",
        "sync.engine",
        "sync.sso",  # enrolling with the council's account
        "sync.protocol",
        "sync.records",
        "sync.store",
        "sync.words",  # the History tab's "received 4 Dec 2026"
    },
    "app.doctor": {
        "app",
        "app.device_file",  # where this laptop enrolled
        "app.errors",
        "app.logs",  # says where the log file is
        "app.online",
        "app.paths",
        "app.site",
        "app.site_registry",  # names the registry keys a setting came from
        "app.store",
        "app.vault",
        "sync.client",
        "sync.network",
        "sync.protocol",
        "sync.proxy",
        "sync.words",
    },
    "app.cli": {
        "app",
        "app.core",
        "app.device_file",  # recover the way the laptop was enrolled
        "app.doctor",
        "app.domain",
        "app.errors",
        "app.logs",
        "app.online",
        "app.paths",
        "app.site",
        "app.site_registry",  # policy check reads registry exports
        "app.store",
        "app.ui",
        "app.vault",
        "sync.engine",
        "sync.proxy",  # policy check shows the proxy without its password
        "sync.terminal",
        "sync.words",
    },
    # the window: the core's public face and the vocabulary, never store, vault or engine
    "app.ui": {
        "app",
        "app.about",
        "app.core",
        "app.domain",
        "app.errors",
        "app.logs",
        "app.paths",
        "app.site",
        "app.ui.core_backend",
        "sync.words",
    },
    # the window's thin adapter over the one application facade (core actions, one sync)
    # (and, before unlock, only the vault's look for a key file: the core loads the store)
    "app.ui.core_backend": {
        "app.core",
        "app.device_file",  # how this laptop signs in, asked before unlock
        "app.errors",
        "app.online",
        "app.ui",
        "app.vault",
    },
}

#: The window may never import these, whatever the table says.
WINDOW_NEVER = ("app.store", "app.vault", "sync.engine", "sync.client", "sync.store")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_module(name: str) -> bool:
    base = ROOT.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def imports_of(path: Path) -> set[str]:
    """Project modules ``path`` imports, relative imports resolved."""
    here = module_name(path)
    package = here.split(".") if path.name == "__init__.py" else here.split(".")[:-1]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            for alias in node.names:
                full = f"{module}.{alias.name}"
                found.add(full if is_module(full) else module)
    return {name for name in found if name.split(".")[0] in PACKAGES}


def layer_of(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "server" or len(parts) == 1:
        return parts[0]
    if parts[:3] == ["app", "ui", "core_backend"]:
        return "app.ui.core_backend"
    return ".".join(parts[:2])


def project_files() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def forbidden_edges() -> dict[str, list[str]]:
    bad: dict[str, list[str]] = {}
    for path in project_files():
        source = layer_of(module_name(path))
        allowed = ALLOWED.get(source)
        for target in sorted(imports_of(path)):
            dest = layer_of(target)
            if dest == source or dest in SHARED or dest == "app.errors":
                continue
            if allowed is None or dest not in allowed:
                bad.setdefault(str(path.relative_to(ROOT)), []).append(target)
    return bad


def test_every_import_is_an_allowed_edge() -> None:
    assert forbidden_edges() == {}


def test_every_layer_is_in_the_table() -> None:
    layers = {layer_of(module_name(p)) for p in project_files()}
    assert layers - set(ALLOWED) == set()


def test_the_window_never_reaches_store_vault_or_engine() -> None:
    assert not set(ALLOWED["app.ui"]) & set(WINDOW_NEVER)
    offenders = {
        str(p.relative_to(ROOT)): sorted(
            m for m in imports_of(p) if layer_of(m) in WINDOW_NEVER or m in WINDOW_NEVER
        )
        for p in project_files()
        if layer_of(module_name(p)) == "app.ui"
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_relative_imports_are_resolved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = tmp_path / "app" / "ui"
    pkg.mkdir(parents=True)
    (tmp_path / "app" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (tmp_path / "app" / "store").mkdir()
    (tmp_path / "app" / "store" / "__init__.py").write_text("")
    (tmp_path / "app" / "store" / "db.py").write_text("")
    bad = pkg / "screen.py"
    bad.write_text("from ..store import db\nfrom . import other\n")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    assert "app.store.db" in imports_of(bad)
    assert layer_of("app.store.db") == "app.store"


# --- the rules that need no table


def imported_top_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("folder", ["sync", "server"])
def test_shared_and_server_never_import_qt(folder: str) -> None:
    offenders = {
        str(p.relative_to(ROOT)): sorted(
            m for m in imported_top_modules(p) if m.startswith("PySide6")
        )
        for p in sorted((ROOT / folder).rglob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_non_ui_app_never_imports_widgets() -> None:
    files = [
        p for p in sorted((ROOT / "app").rglob("*.py")) if "ui" not in p.relative_to(ROOT).parts
    ]
    assert files, "expected the app's core modules to exist"
    offenders = {
        str(p.relative_to(ROOT)): sorted(
            m
            for m in imported_top_modules(p)
            if m.startswith(("PySide6.QtWidgets", "PySide6.QtGui"))
        )
        for p in files
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_checker_sees_a_widget_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from PySide6.QtWidgets import QLabel\nimport PySide6.QtCore\n")
    assert {"PySide6.QtWidgets", "PySide6.QtCore"} <= imported_top_modules(bad)
