"""Fixtures of the installer suite: run the real ``fieldcase`` CLI in a clean environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.env import PRIVATE_VARIABLES

ROOT = Path(__file__).resolve().parents[2]

#: Variables that would change what the CLI finds; never inherited from the developer's shell.
_SCRUB = (
    *PRIVATE_VARIABLES,
    "FIELDCASE_LOG_DIR",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "https_proxy",
    "http_proxy",
)


@dataclass
class Ran:
    code: int
    out: str
    err: str

    def json(self) -> dict[str, Any]:
        return json.loads(self.out)

    def check(self, key: str) -> dict[str, Any]:
        found = [c for c in self.json()["checks"] if c["key"] == key]
        assert found, f"doctor printed no {key!r} check: {self.out}"
        return found[0]


def clean_env(tmp: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    env.update(
        {
            "FIELDCASE_PROFILE": str(tmp / "profile"),
            "FIELDCASE_LOG_DIR": str(tmp / "logs"),
            "QT_QPA_PLATFORM": "offscreen",
            "PYTHONPATH": str(ROOT),
        }
    )
    env.update(extra or {})
    return env


def run(
    command: list[str], env: Mapping[str, str], *, timeout: float = 120, cwd: Path | None = None
) -> Ran:
    done = subprocess.run(
        command,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return Ran(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def cli(tmp_path: Path) -> Callable[..., Ran]:
    """Run ``fieldcase ARGS`` (the real CLI, a fresh process) with env overrides."""

    def go(*args: str, env: Mapping[str, str] | None = None, timeout: float = 120) -> Ran:
        return run(
            [sys.executable, "-m", "app.cli.main", *args],
            clean_env(tmp_path, env),
            timeout=timeout,
            cwd=tmp_path,
        )

    return go
