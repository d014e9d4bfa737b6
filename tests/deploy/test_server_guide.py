"""docs/server-deployment.md followed on a fresh Debian 12, running the guide's own command
blocks (those marked ``<!-- rehearsal: ... -->`` in its source), not copies: the wheel is
built from this source tree as the guide says; then a fresh Debian (debootstrap, with
systemd) is booted with ``systemd-nspawn`` and the server's blocks, the systemd one last, run
in order in one root shell inside it, as an administrator would type them. The service the
unit started must then be ready on 127.0.0.1:8750, and the manager the guide made must be
able to sign in.

The booted system shares this machine's network (Debian's mirror and the package index, as
the guide's apt and pip need); this machine's pip settings are handed to it read-only."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.deploy.conftest import MIRROR, ROOT, SUITE, host_pip_settings, need, run, wait_ready

GUIDE = ROOT / "docs" / "server-deployment.md"
BLOCK = re.compile(r"<!-- rehearsal: (\w+) -->\n```sh\n(.*?)```", re.DOTALL)
COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "dist", "build", "__pycache__", ".mypy_cache", ".ruff_cache", "*.egg-info"
)
#: what a booted fresh Debian needs beyond the minimal base: systemd as its init, and Python
BOOTABLE = "systemd,systemd-sysv,dbus,python3,ca-certificates"
SERVICE = "http://127.0.0.1:8750"  # where the guide's unit serves
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def blocks(kind: str) -> list[str]:
    text = GUIDE.read_text(encoding="utf-8")
    found = [body for name, body in BLOCK.findall(text) if name == kind]
    assert found, f"the guide has no {kind} block marked for the rehearsal"
    return found


class Booted:
    """A fresh Debian booted by systemd-nspawn; :meth:`shell` runs a root shell inside it."""

    def __init__(self, root: Path, process: subprocess.Popen[bytes]) -> None:
        self.root = root
        self.process = process

    @property
    def init_pid(self) -> int:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        found = children.read_text().split() if children.exists() else []
        assert found, "systemd-nspawn started no system"
        return int(found[0])

    def command(self, script: str) -> list[str]:
        return [
            "nsenter",
            "--target",
            str(self.init_pid),
            "--mount",
            "--uts",
            "--ipc",
            "--pid",
            "--root",
            "--wd",
            "/usr/bin/env",
            "-i",
            f"PATH={PATH}",
            "HOME=/root",
            "LANG=C.UTF-8",
            "DEBIAN_FRONTEND=noninteractive",
            "bash",
            "-euo",
            "pipefail",
            "-c",
            script,
        ]

    def shell(self, script: str, timeout: float = 900) -> str:
        return run(self.command(script), timeout=timeout)


@pytest.fixture
def booted(tmp_path: Path) -> Iterator[Booted]:
    assert os.geteuid() == 0, "the deployment rehearsals run as root (as .ci/run does)"
    debootstrap = need("debootstrap", "debootstrap")
    nspawn = need("systemd-nspawn", "systemd-container")
    need("nsenter", "util-linux")
    root = Path(tempfile.mkdtemp(prefix="fieldcase-booted-", dir="/var/tmp"))
    root.chmod(0o755)
    run_dir = Path("/run/systemd/nspawn")
    mounted_run = False
    process: subprocess.Popen[bytes] | None = None
    try:
        run(
            [debootstrap, "--variant=minbase", f"--include={BOOTABLE}", SUITE, str(root), MIRROR],
            timeout=1200,
        )
        # nspawn keeps its mount propagation folder on a tmpfs; where /run is not one (a
        # container like this machine), give it one
        run_dir.mkdir(parents=True, exist_ok=True)
        if "tmpfs" not in run(["stat", "-f", "-c", "%T", str(run_dir)]):
            run(["mount", "-t", "tmpfs", "tmpfs", str(run_dir)])
            mounted_run = True
        pip_text, pip_paths = host_pip_settings()
        conf = tmp_path / "pip.conf"
        conf.write_text(pip_text, encoding="utf-8")
        binds = [f"--bind-ro={conf}:/etc/pip.conf", *(f"--bind-ro={p}" for p in pip_paths)]
        shutil.copyfile("/etc/resolv.conf", root / "etc" / "resolv.conf")
        process = subprocess.Popen(
            [
                nspawn,
                "--keep-unit",
                "--register=no",
                "--quiet",
                "--console=pipe",
                "--boot",
                "--machine",
                f"fc-rehearsal-{os.getpid()}",
                "-D",
                str(root),
                *binds,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        system = Booted(root, process)
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, "systemd-nspawn could not boot the fresh Debian"
            try:
                state = subprocess.run(
                    system.command("systemctl is-system-running || true"),
                    capture_output=True,
                    text=True,
                    timeout=30,
                    check=False,
                ).stdout.strip()
            except AssertionError:
                state = ""
            if state in ("running", "degraded"):
                break
            assert time.monotonic() < deadline, f"the fresh Debian did not finish booting: {state}"
            time.sleep(1)
        yield system
    finally:
        if process is not None and process.poll() is None:
            process.terminate()  # nspawn shuts the system down
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)
        if mounted_run:
            subprocess.run(["umount", "-l", str(run_dir)], capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)


def test_the_server_guide_runs_as_written_on_a_fresh_debian(booted: Booted, tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=COPY_IGNORE)
    (build,) = blocks("build")
    run(["bash", "-euo", "pipefail", "-c", build], cwd=source, timeout=600)
    wheels = sorted((source / "dist").glob("fieldcase-*.whl"))
    assert len(wheels) == 1, wheels
    # "copy dist/fieldcase-*.whl and the folder installer/server/ to the server"
    there = booted.root / "root" / "fieldcase-install"
    there.mkdir()
    shutil.copy(wheels[0], there)
    shutil.copytree(source / "installer" / "server", there / "installer" / "server")
    script = "cd /root/fieldcase-install\n" + "\n".join(blocks("server") + blocks("systemd"))
    booted.shell(script, timeout=1800)
    assert booted.shell("systemctl is-active fieldcase-server").strip() == "active"
    assert booted.shell("systemctl is-enabled fieldcase-server").strip() == "enabled"
    with httpx.Client(trust_env=False, timeout=5) as web:
        wait_ready(
            web,
            SERVICE,
            seconds=90,
            explain=lambda last: (
                last + "\n" + booted.shell("journalctl -u fieldcase-server --no-pager | tail -30")
            ),
        )
        signed = web.post(
            SERVICE + "/v1/auth/login",
            json={"username": "amira.khan", "password": "a-long-first-password"},
            headers={"X-Fieldcase-Protocol": "1"},
        )
        assert signed.status_code == 200, signed.text
    # the unit runs it as its own unprivileged user, the secrets as credentials
    owner = booted.shell(
        "stat -c %U /proc/$(systemctl show -p MainPID --value fieldcase-server)"
    ).split()
    assert owner == ["fieldcase"], owner
