"""Write the lock file: every package Fieldcase installs (all extras, the build backend and pip
itself), pinned to one version and the sha256 of the one file pip chose, from pip's own
resolver (``pip install --dry-run --report``). ``make`` installs the development and build
environment from it with ``--require-hashes``, so ``make test``, ``make installer`` and CI get
exactly these files or stop.

    python -m tools.lock            # resolve again, keeping the versions locked already
    python -m tools.lock --upgrade  # resolve again from scratch: the newest of everything
    python -m tools.lock --free pyside6-essentials --free shiboken6
                                    # keep the rest; these move to what pyproject.toml allows
    python -m tools.lock --pins     # print name==version lines (no hashes) for other platforms

Without ``--upgrade`` the lock's own versions are the resolver's constraints, so adding a
dependency adds it (and what it needs) without moving anything else.

Resolve again (and commit the result) when pyproject.toml's dependencies change: the test
tests/installer/test_lock.py fails until the lock covers them. Hashes are of the files pip saw
in the configured index; a Windows lock needs a resolver that can see Windows wheels (pip
with ``--platform win_amd64 --only-binary=:all:`` against PyPI): until then the Windows
workflow installs the same versions (``--pins``) without hashes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "lock-linux-x86_64.txt"
EXTRAS = "desktop,server,dev,linkage"
# installed by name beside the project: the build backend (pip install -e . runs it without
# build isolation, so nothing unpinned is fetched) and pip itself
TOOLS = ("pip", "setuptools", "wheel")
HEADER = """\
# Fieldcase's whole environment, pinned with hashes. Written by `python -m tools.lock` from
# pip's resolver: edit pyproject.toml, then run it again; never edit this file by hand.
# Resolved for: {platform}, CPython {python}. Extras: {extras}; also: {tools}.
"""


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    sha256: str
    file: str


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def resolve(keep: dict[str, str] | None = None) -> list[Pin]:
    """What pip would install for the project with every extra, from a clean slate; with
    ``keep`` (name -> version), those versions wherever the project still needs the package."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        constraints = Path(tmp) / "constraints.txt"
        constraints.write_text(
            "".join(f"{name}=={version}\n" for name, version in (keep or {}).items()),
            encoding="utf-8",
        )
        command = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--dry-run",
            "--ignore-installed",
            "--report",
            str(report),
            "--constraint",
            str(constraints),
            f".[{EXTRAS}]",
            *TOOLS,
        ]
        ran = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        if ran.returncode != 0:
            raise SystemExit(f"pip could not resolve the project:\n{ran.stderr.strip()}")
        found = json.loads(report.read_text(encoding="utf-8"))
    pins: list[Pin] = []
    for item in found["install"]:
        info = item["download_info"]
        if "dir_info" in info:  # the project itself
            continue
        hashes = info.get("archive_info", {}).get("hashes", {})
        if "sha256" not in hashes:
            raise SystemExit(f"pip gave no sha256 for {info['url']}; cannot lock it")
        pins.append(
            Pin(
                _canonical(item["metadata"]["name"]),
                item["metadata"]["version"],
                hashes["sha256"],
                info["url"].rsplit("/", 1)[-1].split("#")[0],
            )
        )
    return sorted(pins, key=lambda pin: pin.name)


def render(pins: list[Pin]) -> str:
    import platform

    lines = [
        HEADER.format(
            platform=f"{sys.platform} {platform.machine()}",
            python=".".join(map(str, sys.version_info[:2])),
            extras=EXTRAS,
            tools=", ".join(TOOLS),
        )
    ]
    for pin in pins:
        lines.append(f"{pin.name}=={pin.version} \\\n    --hash=sha256:{pin.sha256}")
        lines.append(f"    # {pin.file}")
    return "\n".join(lines) + "\n"


def read_pins(path: Path = LOCK) -> dict[str, str]:
    """name -> version of each package in the lock."""
    pins: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith((" ", "#")):
            name, _, rest = line.partition("==")
            pins[_canonical(name)] = rest.split()[0]
    return pins


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.lock", description=__doc__)
    parser.add_argument("--pins", action="store_true", help="print name==version lines only")
    parser.add_argument(
        "--upgrade", action="store_true", help="resolve from scratch, not keeping locked versions"
    )
    parser.add_argument(
        "--free",
        action="append",
        default=[],
        metavar="NAME",
        help="let this locked package move (its range in pyproject.toml changed); repeatable",
    )
    args = parser.parse_args(argv)
    if args.pins:
        print("\n".join(f"{name}=={version}" for name, version in read_pins().items()))
        return 0
    LOCK.parent.mkdir(exist_ok=True)
    keep = None if args.upgrade or not LOCK.exists() else read_pins()
    if keep is not None:
        for name in args.free:
            keep.pop(_canonical(name), None)
    LOCK.write_text(render(resolve(keep)), encoding="utf-8")
    print(f"Wrote {LOCK.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
