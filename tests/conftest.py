"""Suite-wide fixtures, defaults and markers (each suite's conftest keeps only what is its own).

Every test gets, without asking:

* a private environment: its own log and push-mark folders (``FIELDCASE_LOG_DIR``,
  ``FIELDCASE_MARKS_DIR`` in its tmp folder) and no
  ``FIELDCASE_PROFILE``, ``FIELDCASE_PASSWORD``, ``FIELDCASE_NEW_PASSWORD`` or
  ``FIELDCASE_SITE_CONFIG`` from the developer's shell or an earlier test;
* the root logger's handlers and our loggers' levels as they were before the test (the CLI's
  ``setup_logging`` adds a file handler; left behind it would write the next test's records
  into this test's folder);
* cheap password wraps when code in this process makes one without naming a cost (the window's
  enrol, the CLI's ``init`` run in-process): :data:`tests.support.profile.TEST_KDF` stands in
  for the vault's tuned production cost. Production code has no such switch; a test that needs
  the real default says ``@pytest.mark.production_kdf``. Child processes always use the real
  default, so tests make their profiles in-process (``make_profile``) and run the CLI on them.

Markers (registered in pyproject.toml): each test is ``unit``, ``integration`` or ``e2e``,
marked here from what it uses unless its module says so itself (see :func:`_kind_of`).
"""

from __future__ import annotations

import inspect
import logging
import os
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

# The same defaults `make test` sets, so a bare `pytest` behaves the same way.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Qt's types made at import, not lazily (app/ui/qt.py says why); pytest-qt may import PySide6
# before this file, so `make test` sets it too.
os.environ.setdefault("PYSIDE6_OPTION_LAZY", "0")

from app.core import Casework
from app.store.profile import Profile
from app.vault import kdf
from tests.support.env import PRIVATE_VARIABLES
from tests.support.kdf import TEST_KDF
from tests.support.profile import PASSWORD, make_profile

_OUR_LOGGERS = ("fieldcase", "app", "sync", "server")


@pytest.fixture(autouse=True)
def _private_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FIELDCASE_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.setenv("FIELDCASE_MARKS_DIR", str(tmp_path / "push-marks"))
    for name in PRIVATE_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _logging_restored() -> Iterator[None]:
    """Undo what a test did to logging: handlers it added go (closed), levels come back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in _OUR_LOGGERS}
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)


@pytest.fixture(autouse=True)
def _cheap_default_kdf(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("production_kdf") is None:
        monkeypatch.setattr(kdf, "production_cost", lambda: TEST_KDF)


@pytest.fixture
def profile_dir(tmp_path: Path) -> Path:
    """Where a test's profile goes (not made yet)."""
    return tmp_path / "profile"


@pytest.fixture
def profile(profile_dir: Path) -> Iterator[Profile]:
    """A real SQLCipher profile in the test's tmp folder, open (cheap password wrap)."""
    with make_profile(profile_dir) as opened:
        yield opened


@pytest.fixture
def work(profile: Profile) -> Casework:
    """The core actions on :func:`profile`."""
    return Casework(profile)


@pytest.fixture
def password() -> str:
    return PASSWORD


# ------------------------------------------------------------------------------ markers

KINDS = ("unit", "integration", "e2e")
#: Text in a test module, or in the source of a fixture it uses, that means a real service
#: process (or the demo, which starts one) runs: end to end.
_E2E_SIGNS = re.compile(r"\b(running_server|server_factory|tls_server)\b|\bdemo\.main\(")
#: ... that means real SQLCipher profiles, a real service database (SQLite, PostgreSQL) or a
#: real ``fieldcase`` process: integration.
_INTEGRATION_SIGNS = re.compile(
    r"\bProfile\.(create|open|open_with_key|restore)\b"
    r"|\b(make_profile|make_casework|local_profile|enrol_laptop|build_v1_profile)\b"
    r"|\b(Casework|CoreGate|Service)\(|\bonline\.(enrol|recover)\("
    r"|\b(sqlcipher|make_engine|pg_cluster|db_url|pg_url|run_cli|run_cli_inprocess)\b"
    r"|app\.cli\.main|server\.cli|\bsqlite_url\(|\bbundled\(|\binstaller\.build\b"
)
_ROOT_CONFTEST = Path(__file__).resolve()


@cache
def _file_text(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError:
        return ""


def _fixture_sources(item: pytest.Item) -> Iterator[str]:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return
    for defs in info.name2fixturedefs.values():
        for fixture in defs:
            func = fixture.func
            try:
                source_file = inspect.getsourcefile(func)
            except TypeError:
                continue
            if source_file is None or Path(source_file).resolve() == _ROOT_CONFTEST:
                continue
            if not Path(source_file).resolve().is_relative_to(_ROOT_CONFTEST.parent):
                continue  # a plugin's fixture (qtbot, tmp_path, ...)
            yield _source(func)


def _source(obj: object) -> str:
    try:
        return inspect.getsource(obj)  # type: ignore[arg-type]
    except (OSError, TypeError):
        return ""


def _test_sources(item: pytest.Item) -> list[str]:
    """The test function's source, and that of the module's own helpers it calls (two deep)."""
    function = getattr(item, "function", None)
    module = getattr(item, "module", None)
    if function is None or module is None:
        return [_file_text(str(item.path))]
    texts = [_source(function)]
    helpers = {
        name: value
        for name, value in vars(module).items()
        if inspect.isfunction(value)
        and value.__module__ == module.__name__
        and not name.startswith("test_")
    }
    seen: set[str] = set()
    for _depth in range(2):
        called = [
            name
            for name in helpers
            if name not in seen and any(f"{name}(" in text for text in texts)
        ]
        seen.update(called)
        texts += [_source(helpers[name]) for name in called]
    return texts


def _kind_of(item: pytest.Item) -> str:
    """``e2e`` when a real service process runs; ``integration`` when real SQLCipher, a real
    service database or a ``fieldcase`` process does; ``unit`` otherwise. Judged from the
    test's own source, the module helpers it calls and the fixtures it uses."""
    texts = [*_test_sources(item), *_fixture_sources(item)]
    if any(_E2E_SIGNS.search(text) for text in texts):
        return "e2e"
    if any(_INTEGRATION_SIGNS.search(text) for text in texts):
        return "integration"
    return "unit"


@pytest.hookimpl(trylast=True)  # after pytest-randomly has shuffled the order
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if not any(item.get_closest_marker(kind) for kind in KINDS):
            item.add_marker(getattr(pytest.mark, _kind_of(item)))
    items.sort(key=_rank)  # the long files first (a stable sort: otherwise as shuffled)


#: Files that take a worker a minute or most of one (the bundle built, a TLS service and its
#: command lines, the property and crash loops, the window at three screen sizes). Under
#: ``-n 2 --dist loadfile`` each file goes to one worker whole, so one of these handed out last
#: leaves the other worker idle for its length: they are handed out first, the rest after in
#: pytest-randomly's order.
LONG_FILES = (
    "tests/installer/test_packaging.py",
    "tests/installer/test_tls_enrol.py",
    "tests/ui/test_fit.py",
    "tests/sync/test_property.py",
    "tests/sync/test_crash.py",
    "tests/store/test_crash.py",
    "tests/sync/test_set_aside_sync.py",
    "tests/server/test_check_records.py",
)


def _rank(item: pytest.Item) -> int:
    path = item.nodeid.split("::", 1)[0]
    return LONG_FILES.index(path) if path in LONG_FILES else len(LONG_FILES)


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """Name the random order's seed even under -q (which hides pytest-randomly's header)."""
    seed = getattr(config.option, "randomly_seed", None)
    if isinstance(seed, int) and not hasattr(config, "workerinput"):
        terminalreporter.write_line(
            f"random order: rerun it with -p randomly --randomly-seed={seed}"
        )
