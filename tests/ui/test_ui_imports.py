"""The window reaches the rest of Fieldcase only through public doors (issue 9): the core's
package (never its modules), errors, the domain's vocabulary, site policy, paths, logs, the
clock and Qt. Only ``app/ui/core_backend.py`` (the adapter over the core, the store and the
engine) and ``app/ui/backend.py`` (its protocol) may go further, and only the entry point
(``app/ui/app.py``) builds the adapter."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UI = ROOT / "app" / "ui"
ADAPTER = {"core_backend.py", "backend.py"}

#: exact modules, or packages whose every module is allowed (ending in ".")
ALLOWED = (
    "app.core",
    "app.errors",
    "app.domain",
    "app.site",
    "app.paths",
    "app.logs",
    "app.about",  # the About box's facts: version, licence, the bundle's components
    "sync.clock",
    "sync.words",
    "PySide6.",
    "shiboken6",
    "app.ui.",
)
#: (file, module) still to move off, with why; this list only shrinks
KNOWN: dict[tuple[str, str], str] = {}
OWN_PACKAGES = {"app", "sync", "server", "tools", "installer", "bench", "tests"}
#: packages whose names may be modules rather than public names
PACKAGES = {"app", "app.ui", "app.core", "app.domain", "sync"}


def public_names(package: str) -> set[str]:
    """The names a package offers in its ``__all__``."""
    init = ROOT.joinpath(*package.split("."), "__init__.py")
    for node in ast.parse(init.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return {ast.literal_eval(elt) for elt in node.value.elts}  # type: ignore[attr-defined]
    return set()


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside a function; relative imports are
    resolved against ``app.ui``; a name taken from a package that is not in its ``__all__``
    (a module, like ``from app import online``) counts as importing ``package.name``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = ["app", "ui"][: max(0, 3 - node.level)]
                module = ".".join([*base, *([module] if module else [])])
            found.add(module)
            if module in PACKAGES:
                offered = public_names(module)
                found.update(f"{module}.{a.name}" for a in node.names if a.name not in offered)
    return found


def allowed(module: str) -> bool:
    for rule in ALLOWED:
        if rule.endswith("."):
            if module == rule[:-1] or module.startswith(rule):
                return True
        elif module == rule:
            return True
    return module.split(".")[0] not in OWN_PACKAGES and not module.startswith("PySide6")


def window_edges() -> dict[tuple[str, str], bool]:
    edges: dict[tuple[str, str], bool] = {}
    for path in sorted(UI.glob("*.py")):
        if path.name in ADAPTER:
            continue
        for module in imports_of(path):
            adapter_ok = path.name == "app.py" and module == "app.ui.core_backend"
            if module == "app.ui.core_backend" and not adapter_ok:
                edges[(path.name, module)] = False
            else:
                edges[(path.name, module)] = allowed(module)
    return edges


def test_the_window_imports_only_public_doors() -> None:
    bad = {edge for edge, ok in window_edges().items() if not ok and edge not in KNOWN}
    assert bad == set()


def test_the_known_list_only_names_real_edges() -> None:
    edges = window_edges()
    assert {edge for edge in KNOWN if edge not in edges} == set()


def test_the_check_sees_a_reach_into_the_store(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from app.store.profile import Profile\n"
        "from app.core import Casework, drafts\n"
        "def f():\n    from app.core.views import CaseRow\n    from . import core_backend\n"
        "    from app import online\n"
    )
    found = imports_of(bad)
    expected = {"app.store.profile", "app.core.views", "app.ui.core_backend", "app.online"}
    assert expected | {"app.core.drafts"} <= found
    assert "app.core.Casework" not in found
    assert not allowed("app.store.profile")
    assert not allowed("app.core.views")
    assert not allowed("sync.engine")
    assert allowed("app.core") and allowed("PySide6.QtCore") and allowed("datetime")
