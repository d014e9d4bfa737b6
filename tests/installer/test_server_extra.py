"""A service install is lean (issue 15): ``pip install fieldcase[server]`` brings no Qt and no
SQLCipher (the desktop's dependencies are the ``[desktop]`` extra), and the service runs
without them: every module of ``server/`` imports, and ``--version``, ``migrate`` and
``admin`` work, in a child process that is refused Qt and SQLCipher outright.

The closure is reckoned from the package's own metadata (pyproject.toml) through the installed
distributions' metadata, so the test needs no download."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement

from tools.lock import EXTRAS

ROOT = Path(__file__).resolve().parents[2]
DESKTOP_ONLY = {"pyside6", "pyside6-essentials", "shiboken6", "sqlcipher3", "sqlcipher3-binary"}


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", Requirement(requirement).name).lower()


def _closure(requirements: list[str], extras: set[str]) -> set[str]:
    """Every distribution ``requirements`` bring in (with ``extras`` of the root asked for)."""
    seen: set[str] = set()
    todo = [(r, extras) for r in requirements]
    while todo:
        text, asked = todo.pop()
        requirement = Requirement(text)
        marker: Marker | None = requirement.marker
        if marker is not None and not any(
            marker.evaluate({"extra": extra}) for extra in (asked or {""})
        ):
            continue
        name = _name(text)
        if name in seen:
            continue
        seen.add(name)
        try:
            needs = metadata.requires(requirement.name) or []
        except metadata.PackageNotFoundError:
            continue
        todo.extend((need, set(requirement.extras)) for need in needs)
    return seen


def test_the_server_extra_brings_no_qt_and_no_sqlcipher() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    base = list(project["dependencies"])
    extras = project["optional-dependencies"]
    server = _closure(base + list(extras["server"]), set())
    assert not server & DESKTOP_ONLY, sorted(server & DESKTOP_ONLY)
    assert {"fastapi", "uvicorn", "psycopg", "alembic"} <= server
    desktop = _closure(base + list(extras["desktop"]), set())
    assert {"pyside6-essentials", "sqlcipher3"} <= desktop
    assert not desktop & {"fastapi", "uvicorn", "psycopg", "prometheus-client"}
    # the README's commands install both (and the tests' and the linkage's)
    # (make installs the lock, which tools/lock.py resolves with every extra)
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"pip install .*-r \$\(LOCK\)", makefile)
    assert {"desktop", "server", "dev", "linkage"} <= set(EXTRAS.split(","))


BLOCK = """
import importlib.abc, sys
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("PySide6", "shiboken6", "sqlcipher3"):
            raise ImportError(f"{name} is not installed on a service")
        return None
sys.meta_path.insert(0, Refuse())
"""


def test_the_service_runs_without_the_desktops_dependencies(tmp_path: Path) -> None:
    modules = sorted(
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for path in (ROOT / "server").rglob("*.py")
        if "alembic" not in path.parts and path.name != "__main__.py"
    )
    script = (
        BLOCK
        + f"""
import importlib
for name in {modules!r}:
    importlib.import_module(name)
from server.cli import main
db = "sqlite:///{tmp_path / "service.db"}"
assert main(["migrate", "--db", db]) == 0
assert main(["admin", "add-team", "North", "--db", db]) == 0
assert "PySide6" not in sys.modules and "sqlcipher3" not in sys.modules
"""
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Team 'North' added." in done.stdout
