"""Deployment rehearsals (``make test-deploy``, run by ``.ci/run`` after ``make test``): fresh
Debian systems made by debootstrap: the service's container image built from one and run
under podman, alone and by compose.yaml (podman-compose), and the server guide followed on
one booted with systemd (systemd-nspawn). They need root, network access to Debian's mirror
(as apt itself does), and Debian's ``debootstrap``, ``podman``, ``runc``, ``podman-compose``
(with CNI's dnsname plugin) and ``systemd-container``, which ``.ci/run`` installs; a test
never skips itself for want of them.

No container registry is used: the image's base is the fresh Debian, imported into podman
(``PYTHON_IMAGE`` build argument), and Python packages come from the same places as this
machine's own pip (its index settings and certificate authorities are handed to the build).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
MIRROR = os.environ.get("FIELDCASE_DEBIAN_MIRROR", "http://deb.debian.org/debian")
SUITE = "bookworm"
BASE_IMAGE = f"localhost/fieldcase-ci-base:{SUITE}"
# What a fresh Debian needs to follow the deployment guide: Python 3.11 with venv (and the
# `python` name the official Python images give it), certificates, sudo and PostgreSQL's
# client for the guide's own commands.
INCLUDE = "python3,python3-venv,python-is-python3,ca-certificates"


def need(tool: str, package: str) -> str:
    found = shutil.which(tool) or (
        f"/usr/sbin/{tool}" if Path(f"/usr/sbin/{tool}").exists() else ""
    )
    assert found, f"{tool} is missing: .ci/run installs it (Debian's {package})"
    return found


def run(command: list[str], *, timeout: float = 900, **kwargs: object) -> str:
    """Run ``command``; on failure, the assertion shows its output's end."""
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **kwargs,  # type: ignore[call-overload]
    )
    assert done.returncode == 0, (
        f"{' '.join(command[:6])} ... ended with {done.returncode}:\n"
        f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    return str(done.stdout)


@pytest.fixture(scope="session")
def debian_root() -> Iterator[Path]:
    """A fresh Debian (minimal base, plus :data:`INCLUDE`) in a folder of its own."""
    assert os.geteuid() == 0, "the deployment rehearsals run as root (as .ci/run does)"
    debootstrap = need("debootstrap", "debootstrap")
    folder = Path(tempfile.mkdtemp(prefix="fieldcase-debian-", dir="/var/tmp"))
    folder.chmod(0o755)  # its "/": every user of the system inside must be able to enter it
    try:
        run(
            [debootstrap, "--variant=minbase", f"--include={INCLUDE}", SUITE, str(folder), MIRROR],
            timeout=1200,
        )
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# podman on this kind of machine: crun refuses cgroups in hybrid mode (runc does not), and a
# limit above the container's own cannot be set (no CAP_SYS_RESOURCE): give podman what the
# machine allows.
def podman(*args: str) -> list[str]:
    tool = need("podman", "podman")
    need("runc", "runc")
    return [tool, "--runtime", "runc", *args]


def limits() -> list[str]:
    import resource

    files = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return ["--ulimit", f"nofile={files}:{files}", "--ulimit", "nproc=4096:4096"]


@pytest.fixture(scope="session")
def base_image(debian_root: Path) -> str:
    """The fresh Debian as podman's base image for the service's Containerfile."""
    tar = subprocess.Popen(["tar", "-C", str(debian_root), "-c", "."], stdout=subprocess.PIPE)
    done = subprocess.run(
        podman("import", "-", BASE_IMAGE), stdin=tar.stdout, capture_output=True, timeout=600
    )
    tar.wait(timeout=600)
    assert done.returncode == 0 and tar.returncode == 0, done.stderr.decode()[-2000:]
    return BASE_IMAGE


def host_pip_settings() -> tuple[str, list[Path]]:
    """This machine's pip settings (indexes, links, certificate authorities) as a pip.conf,
    and the paths it names, from ``pip config list``: nothing about this machine is written
    here, and a fresh system or a build gets its packages from where this one does."""
    listed = run([sys.executable, "-m", "pip", "config", "list"])
    lines = ["[global]"]
    paths: list[Path] = []
    for line in listed.splitlines():
        key, _, value = line.partition("=")
        name = key.split(".", 1)[-1]
        value = value.strip().strip("'")
        if not key.startswith(("global.", ":env:.")) or not value:
            continue
        lines.append(f"{name} = {value}")
        for part in value.split():
            path = Path(part.removeprefix("file://"))
            if path.name == "simple":  # an index's pages point at ../files beside them
                path = path.parent
            if path.is_absolute() and path.exists() and path not in paths:
                paths.append(path)
    return "\n".join(dict.fromkeys(lines)) + "\n", paths


def host_pip_config(folder: Path) -> list[str]:
    """podman build options handing this machine's pip settings to the build."""
    text, paths = host_pip_settings()
    conf = folder / "pip.conf"
    conf.write_text(text, encoding="utf-8")
    specs = [f"{conf}:/etc/pip.conf:ro", *(f"{p}:{p}:ro" for p in paths)]
    return [part for spec in specs for part in ("-v", spec)]


def wait_ready(
    web: httpx.Client,
    base: str,
    *,
    seconds: float,
    explain: Callable[[str], str],
    meanwhile: Callable[[], None] = lambda: None,
    pause: float = 0.5,
) -> None:
    """Until ``base``/ready answers 200; ``meanwhile`` runs between tries; after ``seconds``
    the test fails with ``explain(last answer)``."""
    deadline = time.monotonic() + seconds
    last = ""
    while True:
        try:
            answer = web.get(base + "/ready")
            if answer.status_code == 200:
                return
            last = f"{answer.status_code} {answer.text}"
        except httpx.HTTPError as err:
            last = repr(err)
        meanwhile()
        assert time.monotonic() < deadline, explain(last)
        time.sleep(pause)
