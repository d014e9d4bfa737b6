"""The lock file (requirements/lock-linux-x86_64.txt, written by tools/lock.py): it covers
every dependency pyproject.toml declares, pins each to one version with its hash, is closed
(nothing it needs is left to the resolver), and is what ``make`` installs from."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

from tools.lock import LOCK, TOOLS, read_pins

ROOT = Path(__file__).resolve().parents[2]


def declared() -> list[tuple[Requirement, str | None]]:
    """Each requirement of the project with the extra that asks for it (None: always)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    found = [(Requirement(text), None) for text in project["dependencies"]]
    for extra, texts in project["optional-dependencies"].items():
        found += [(Requirement(text), extra) for text in texts]
    return found


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_declared_dependency_is_locked_at_a_version_it_allows() -> None:
    pins = read_pins()
    for requirement, extra in declared():
        environment = {"extra": extra or ""}
        if requirement.marker is not None and not requirement.marker.evaluate(environment):
            continue
        name = canonical(requirement.name)
        assert name in pins, f"{requirement} ({extra or 'base'}) is not in {LOCK.name}"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{LOCK.name} pins {name}=={pins[name]}, which {requirement} does not allow: "
            "run `python -m tools.lock` again"
        )
        for wanted in requirement.extras:  # psycopg[binary] needs psycopg-binary
            for text in metadata.requires(name) or []:
                needed = Requirement(text)
                if needed.marker is not None and needed.marker.evaluate({"extra": wanted}):
                    assert canonical(needed.name) in pins, f"{requirement} needs {needed}"
    for tool in TOOLS:
        assert tool in pins, f"{tool} must be locked too"


def test_every_pin_has_exactly_one_sha256() -> None:
    text = LOCK.read_text(encoding="utf-8")
    entries = re.findall(r"^(\S+)==(\S+) \\\n    --hash=sha256:([0-9a-f]{64})$", text, re.M)
    assert len(entries) == len(read_pins()) > 50
    assert len({name for name, _v, _h in entries}) == len(entries)


def test_the_lock_is_closed_and_its_hashes_match_the_index() -> None:
    """pip in hash-checking mode refuses any dependency the lock does not pin, and any file
    whose hash differs: a dry run from nothing must resolve to exactly the lock."""
    ran = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--ignore-installed",
            "--quiet",
            "--require-hashes",
            "-r",
            str(LOCK),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    problems = [line for line in ran.stderr.splitlines() if not line.startswith("WARNING:")]
    assert ran.returncode == 0, "\n".join(problems)


def test_make_installs_from_the_lock_with_hashes_and_this_environment_matches_it() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "$(STAMP): pyproject.toml $(LOCK)" in makefile
    assert re.search(r"pip install .*--require-hashes --no-deps -r \$\(LOCK\)", makefile)
    assert "--no-build-isolation -e ." in makefile
    assert f"LOCK   := {LOCK.relative_to(ROOT)}" in makefile
    wrong = {
        name: (version, metadata.version(name))
        for name, version in read_pins().items()
        if name not in ("pip",) and metadata.version(name) != version
    }
    assert wrong == {}, f"installed versions differ from the lock (run make again): {wrong}"
