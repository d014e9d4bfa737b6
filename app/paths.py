"""Where Fieldcase keeps its data folders (via platformdirs).

* profile folder: ``--profile DIR``, else env ``FIELDCASE_PROFILE``, else the user data folder
  (``~/.local/share/Fieldcase`` on Linux, ``%LOCALAPPDATA%\\Fieldcase`` on Windows). It holds
  ``key.json``, ``fieldcase.db`` (+ -wal/-shm), ``backups/`` and ``documents/``.
* log folder: env ``FIELDCASE_LOG_DIR``, else the user log folder
  (``~/.local/state/Fieldcase/log`` on Linux, ``%LOCALAPPDATA%\\Fieldcase\\Logs`` on Windows).
* push-mark folder: env ``FIELDCASE_MARKS_DIR``, else ``~/.local/state/Fieldcase/push-marks``
  on Linux (``%APPDATA%\\Fieldcase\\push-marks`` on Windows, as the local data folder is the
  profile's): outside the profile folder, so a copy of the whole folder put back over it is
  still found to be older (app/store/refs.py).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

import platformdirs

APP_NAME = "Fieldcase"
PROFILE_ENV = "FIELDCASE_PROFILE"
LOG_DIR_ENV = "FIELDCASE_LOG_DIR"
MARKS_DIR_ENV = "FIELDCASE_MARKS_DIR"


def default_profile_dir() -> Path:
    """The per-user data folder for Fieldcase (not roaming: the data stays on this laptop)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False, roaming=False))


def resolve_profile_dir(cli_value: str | None, env: Mapping[str, str] = os.environ) -> Path:
    """The profile folder: the CLI's --profile, else env FIELDCASE_PROFILE, else the default."""
    if cli_value:
        return Path(cli_value).expanduser().absolute()
    from_env = env.get(PROFILE_ENV, "")
    if from_env:
        return Path(from_env).expanduser().absolute()
    return default_profile_dir()


def log_dir(env: Mapping[str, str] = os.environ) -> Path:
    """The folder for Fieldcase's log files (env FIELDCASE_LOG_DIR overrides it)."""
    from_env = env.get(LOG_DIR_ENV, "")
    if from_env:
        return Path(from_env).expanduser().absolute()
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def marks_dir(env: Mapping[str, str] = os.environ) -> Path:
    """The folder of this user's push marks, outside any profile folder."""
    from_env = env.get(MARKS_DIR_ENV, "")
    if from_env:
        return Path(from_env).expanduser().absolute()
    if sys.platform == "win32":
        base = platformdirs.user_data_dir(APP_NAME, appauthor=False, roaming=True)
    else:
        base = platformdirs.user_state_dir(APP_NAME, appauthor=False)
    return Path(base) / "push-marks"
