"""Data folders and the log file."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import platformdirs
import pytest

from app import paths
from app.logs import setup_logging


def test_profile_folder_precedence(tmp_path: Path) -> None:
    env = {"FIELDCASE_PROFILE": str(tmp_path / "from-env")}
    assert paths.resolve_profile_dir(str(tmp_path / "cli"), env) == tmp_path / "cli"
    assert paths.resolve_profile_dir(None, env) == tmp_path / "from-env"
    assert paths.resolve_profile_dir(None, {}) == paths.default_profile_dir()
    assert paths.resolve_profile_dir("", {}) == paths.default_profile_dir()


def test_relative_profile_folders_become_absolute(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    assert paths.resolve_profile_dir("work/p", {}) == tmp_path / "work" / "p"


def test_defaults_come_from_platformdirs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FIELDCASE_LOG_DIR")
    expected = Path(platformdirs.user_data_dir("Fieldcase", appauthor=False))
    assert paths.default_profile_dir() == expected
    assert paths.default_profile_dir().name == "Fieldcase"
    assert paths.log_dir() == Path(platformdirs.user_log_dir("Fieldcase", appauthor=False))


def test_log_folder_can_be_redirected(tmp_path: Path) -> None:
    assert paths.log_dir({"FIELDCASE_LOG_DIR": str(tmp_path)}) == tmp_path


def test_logging_goes_to_a_private_rotating_file(tmp_path: Path) -> None:
    path = setup_logging()
    assert path == tmp_path / "logs" / "fieldcase.log"
    assert setup_logging() == path  # a second call adds no second handler
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_fieldcase_log", None)]
    assert len(ours) == 1
    logging.getLogger("fieldcase.vault").info("unlocked profile %s", "id-1234")
    logging.getLogger("app.store").debug("debug is below the level")
    chatty = logging.getLogger("somelib.engine")
    chatty.setLevel(logging.INFO)  # a library that logs its SQL and parameters at INFO
    chatty.info("SELECT name FROM person -- parameters")
    chatty.setLevel(logging.NOTSET)
    logging.getLogger("urllib3").warning("connection dropped")
    for handler in ours:
        handler.flush()
    text = path.read_text(encoding="utf-8")
    assert "unlocked profile id-1234" in text
    assert "connection dropped" in text
    assert "debug is below" not in text
    assert "SELECT name" not in text  # libraries only get through at WARNING and above
    assert "+00:00" in text.splitlines()[0]  # UTC timestamps
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_unusable_log_folder_does_not_stop_the_app(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the log folder should be")
    monkeypatch.setenv("FIELDCASE_LOG_DIR", str(blocker / "logs"))
    path = setup_logging()
    assert path == blocker / "logs" / "fieldcase.log"
    assert "carrying on without a log file" in capsys.readouterr().err
    logging.getLogger("fieldcase.test").warning("still fine")  # no crash, no traceback
    assert not [h for h in logging.getLogger().handlers if getattr(h, "_fieldcase_log", None)]
