"""An installed wheel is not the source tree: the developers' overrides are ignored there.

The repository is built into an ordinary wheel (pip, from a copy of the sources), installed
into a fresh virtual environment (its dependencies borrowed from this one through a ``.pth``
line), and run from outside the checkout: ``FIELDCASE_SITE_CONFIG`` is ignored and ``doctor``
says so, and the service raises cheap Argon2 costs from its environment to the safe floor.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from server.core.config import ARGON2_FLOOR
from tests.installer.conftest import ROOT, clean_env, run
from tests.support.server import FAST_HASHING_ENV

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def wheel_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    source.mkdir()
    junk = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for folder in ("app", "sync", "server"):
        shutil.copytree(ROOT / folder, source / folder, ignore=junk)
    for name in ("pyproject.toml", "README.md", "LICENSE", "NOTICE"):
        shutil.copy2(ROOT / name, source / name)
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "-w",
            str(base / "out"),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        cwd=base,
    )
    wheels = sorted((base / "out").glob("fieldcase-*.whl"))
    if built.returncode != 0 or not wheels:
        pytest.skip(f"pip could not build a wheel here: {(built.stdout + built.stderr)[-600:]}")

    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    target = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    # the dependencies come from this environment; the .pth line does not run its .pth files,
    # so the editable install's finder stays out of the way
    (target / "borrowed-dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8"
    )
    pip = [sys.executable, "-m", "pip", "--python", str(python)]
    installed = subprocess.run(
        [*pip, "install", "-q", "--no-deps", "--no-index", str(wheels[0])],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return python


def outside_env(tmp_path: Path, extra: dict[str, str]) -> dict[str, str]:
    env = clean_env(tmp_path, extra)
    env.pop("PYTHONPATH", None)
    return env


def test_the_wheel_runs_its_own_copy_and_knows_it_is_not_the_source_tree(
    wheel_python: Path, tmp_path: Path
) -> None:
    probe = (
        "import json, app, sync.source_tree as s; "
        "print(json.dumps([app.__file__, s.running_from_source_tree()]))"
    )
    ran = run([str(wheel_python), "-c", probe], outside_env(tmp_path, {}), cwd=tmp_path)
    assert ran.code == 0, ran.err
    where, from_source = json.loads(ran.out)
    assert not Path(where).resolve().is_relative_to(ROOT)
    assert from_source is False


def test_an_installed_wheel_ignores_the_site_config_override_and_doctor_says_so(
    wheel_python: Path, tmp_path: Path
) -> None:
    mine = tmp_path / "mine.toml"
    mine.write_text("max_auto_lock_minutes = 240\n", encoding="utf-8")
    env = outside_env(tmp_path, {"FIELDCASE_SITE_CONFIG": str(mine)})
    ran = run([str(wheel_python), "-m", "app.cli.main", "doctor", "--json"], env, cwd=tmp_path)
    found = ran.check("site_config")
    assert found["facts"]["override_ignored"] is True
    assert found["facts"]["max_auto_lock_minutes"] != 240
    assert found["facts"]["source"] != str(mine)
    assert found["message"].startswith(
        "FIELDCASE_SITE_CONFIG is set but ignored: this installed copy follows only the policy "
        "IT set in /etc/fieldcase/site.toml."
    )
    text = run([str(wheel_python), "-m", "app.cli.main", "doctor"], env, cwd=tmp_path).out
    assert "FIELDCASE_SITE_CONFIG is set but ignored" in " ".join(text.split())


def test_an_installed_service_hashes_at_least_at_the_floor_whatever_the_environment(
    wheel_python: Path, tmp_path: Path
) -> None:
    probe = (
        "from server.core.config import Settings; "
        "s = Settings.from_env(db_url='sqlite://'); "
        "print(s.argon2_memory_kib, s.argon2_time_cost)"
    )
    env = outside_env(tmp_path, FAST_HASHING_ENV)
    ran = run([str(wheel_python), "-c", probe], env, cwd=tmp_path)
    assert ran.code == 0, ran.err
    floor = (ARGON2_FLOOR["argon2_memory_kib"], ARGON2_FLOOR["argon2_time_cost"])
    assert tuple(map(int, ran.out.split())) == floor
    assert "FIELDCASE_ARGON2_MEMORY_KIB=8192 is below the safe floor" in ran.err

    strong = {"FIELDCASE_ARGON2_MEMORY_KIB": "131072", "FIELDCASE_ARGON2_TIME_COST": "4"}
    ran = run([str(wheel_python), "-c", probe], outside_env(tmp_path, strong), cwd=tmp_path)
    assert tuple(map(int, ran.out.split())) == (131072, 4)  # above the floor: as IT set it
