"""Make test profiles quickly and run the ``fieldcase`` command against them.

    from tests.support.profile import make_profile, run_cli, PASSWORD

    profile = make_profile(tmp_path / "profile")          # an open Profile (fast test KDF)
    result = run_cli(["cases", "--json"], tmp_path / "profile")
    assert result.returncode == 0, result.stderr

Profiles made here wrap their key at :data:`TEST_KDF` (Argon2id at 8 MiB, one pass), passed
to ``Profile.create`` explicitly; every later unlock (in this process or in a ``fieldcase``
child) uses the cost stored beside the wrapped key, so it is cheap too. Nothing here mocks
anything: these are real SQLCipher files and a real ``fieldcase`` process (or the real
``main()`` in-process).
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.core import Casework
from app.store.profile import Profile
from tests.support.kdf import TEST_KDF

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"
USER = "ajones"
TEAM = "North"


def make_profile(
    folder: Path, *, user: str = USER, team: str = TEAM, password: str = PASSWORD
) -> Profile:
    """A new, open profile in ``folder`` (close it, or use it as a context manager)."""
    return Profile.create(Path(folder), password, user=user, team=team, kdf=TEST_KDF)


def make_casework(folder: Path, **kwargs: str) -> tuple[Profile, Casework]:
    profile = make_profile(folder, **kwargs)
    return profile, Casework(profile)


@dataclass(frozen=True)
class CliResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def out(self) -> str:
        return self.stdout.strip()


def cli_env(
    profile_dir: Path | None,
    *,
    password: str | None = PASSWORD,
    new_password: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of a ``fieldcase`` child: profile, password(s)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    for name in ("FIELDCASE_PASSWORD", "FIELDCASE_NEW_PASSWORD"):
        env.pop(name, None)
    if profile_dir is not None:
        env["FIELDCASE_PROFILE"] = str(profile_dir)
    if password is not None:
        env["FIELDCASE_PASSWORD"] = password
    if new_password is not None:
        env["FIELDCASE_NEW_PASSWORD"] = new_password
    env.update(extra or {})
    return env


def run_cli(
    args: Sequence[str],
    profile_dir: Path | None,
    *,
    password: str | None = PASSWORD,
    new_password: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> CliResult:
    """Run ``python -m app.cli.main ARGS`` as a child process (stdin closed)."""
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli.main", *args],
        env=cli_env(profile_dir, password=password, new_password=new_password, extra=env),
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@contextlib.contextmanager
def _patched_env(values: Mapping[str, str | None]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_cli_inprocess(
    args: Sequence[str],
    profile_dir: Path | None,
    *,
    password: str | None = PASSWORD,
    new_password: str | None = None,
    env: Mapping[str, str] | None = None,
) -> CliResult:
    """Call the real ``app.cli.main.main(args)`` in this process (faster than a child)."""
    from app.cli.main import main

    values: dict[str, str | None] = {
        "FIELDCASE_PROFILE": None if profile_dir is None else str(profile_dir),
        "FIELDCASE_PASSWORD": password,
        "FIELDCASE_NEW_PASSWORD": new_password,
        **(env or {}),
    }
    out, err = io.StringIO(), io.StringIO()
    with (
        _patched_env(values),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        try:
            code = main(list(args))
        except SystemExit as exit_:  # argparse usage errors
            code = int(exit_.code or 0) if not isinstance(exit_.code, str) else 2
    return CliResult(code, out.getvalue(), err.getvalue())
