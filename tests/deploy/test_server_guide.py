"""docs/server-deployment.md followed on a fresh Debian 12 (debootstrap), running the guide's
own command blocks (those marked ``<!-- rehearsal: ... -->`` in its source), not copies: the
wheel is built from this source tree as the guide says, then the server's blocks run, in
order, in one root shell of the fresh system, as an administrator would type them.

The machine is a chroot, so it shares this one's network (to reach Debian's mirror and the
package index, as the guide's apt and pip do) but has no running systemd: the guide's systemd
block is checked with ``systemd-analyze verify`` (tests/installer/test_service_packaging.py)
and the service is started here the way its unit starts it (as the ``fieldcase`` user, the
secrets handed over as files), then asked whether it is ready."""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.deploy.conftest import ROOT, host_pip_settings, run
from tests.support.pg import free_port

GUIDE = ROOT / "docs" / "server-deployment.md"
BLOCK = re.compile(r"<!-- rehearsal: (\w+) -->\n```sh\n(.*?)```", re.DOTALL)
COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "dist", "build", "__pycache__", ".mypy_cache", ".ruff_cache", "*.egg-info"
)


def blocks(kind: str) -> list[str]:
    found = [
        text for name, text in BLOCK.findall(GUIDE.read_text(encoding="utf-8")) if name == kind
    ]
    assert found, f"the guide has no {kind} block marked for the rehearsal"
    return found


@contextlib.contextmanager
def mounted(root: Path) -> Iterator[None]:
    """What a shell in the chroot needs: /proc, /sys, /dev, name resolution, and this
    machine's pip settings and the folders and files they name."""
    pip_text, pip_paths = host_pip_settings()
    (root / "etc" / "pip.conf").write_text(pip_text, encoding="utf-8")
    shutil.copyfile("/etc/resolv.conf", root / "etc" / "resolv.conf")
    # no init system runs in a chroot: let packages start their services as systemd would
    # (PostgreSQL's package starts its cluster), through Debian's own hook for this
    policy = root / "usr" / "sbin" / "policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    policy.chmod(0o755)
    binds: list[tuple[Path, Path]] = [
        (Path("/proc"), root / "proc"),
        (Path("/sys"), root / "sys"),
        (Path("/dev"), root / "dev"),
    ]
    binds += [(path, root / path.relative_to("/")) for path in pip_paths]
    done: list[Path] = []
    try:
        for source, target in binds:
            if source.is_dir():
                target.mkdir(parents=True, exist_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.touch(exist_ok=True)
            run(["mount", "--bind", str(source), str(target)])
            done.append(target)
        yield
    finally:
        # PostgreSQL, started by its package in the chroot, is stopped before leaving it
        subprocess.run(
            ["chroot", str(root), "sh", "-c", "pg_ctlcluster --force 15 main stop || true"],
            capture_output=True,
            timeout=120,
            check=False,
        )
        for target in reversed(done):
            subprocess.run(["umount", "-l", str(target)], capture_output=True, check=False)
        policy.unlink(missing_ok=True)


def test_the_server_guide_runs_as_written_on_a_fresh_debian(
    debian_root: Path, tmp_path: Path
) -> None:
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=COPY_IGNORE)
    (build,) = blocks("build")
    run(["bash", "-euo", "pipefail", "-c", build], cwd=source, timeout=600)
    wheels = sorted((source / "dist").glob("fieldcase-*.whl"))
    assert len(wheels) == 1, wheels
    # "copy dist/fieldcase-*.whl and the folder installer/server/ to the server"
    there = debian_root / "root" / "fieldcase-install"
    there.mkdir()
    shutil.copy(wheels[0], there)
    shutil.copytree(source / "installer" / "server", there / "installer" / "server")
    script = "cd /root/fieldcase-install\n" + "\n".join(blocks("server"))
    port = free_port()
    with mounted(debian_root):
        env = {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": "/root",
            "LANG": "C.UTF-8",
            "DEBIAN_FRONTEND": "noninteractive",
        }
        run(
            ["chroot", str(debian_root), "bash", "-euo", "pipefail", "-c", script],
            env=env,
            timeout=1800,
        )
        said = run(
            ["chroot", str(debian_root), "/usr/local/bin/fieldcase-server", "--version"], env=env
        )
        assert said.startswith("fieldcase-server ")
        # as the unit starts it: an unprivileged user, the secrets as files it can read
        serve = (
            "useradd --system --no-create-home fieldcase-trial 2>/dev/null || true; "
            "install -d -m 0700 -o fieldcase-trial /run/fieldcase-credentials; "
            "install -m 0400 -o fieldcase-trial /etc/fieldcase-server/db_url "
            "/etc/fieldcase-server/audit.key /run/fieldcase-credentials/; "
            "exec runuser -u fieldcase-trial -- env "
            "FIELDCASE_DB_URL_FILE=/run/fieldcase-credentials/db_url "
            "FIELDCASE_AUDIT_KEY_FILE=/run/fieldcase-credentials/audit.key "
            "HOME=/tmp /opt/fieldcase-server/bin/fieldcase-server serve "
            f"--host 127.0.0.1 --port {port} --workers 2"
        )
        process = subprocess.Popen(
            ["chroot", str(debian_root), "sh", "-c", serve],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            with httpx.Client(trust_env=False, timeout=5) as web:
                deadline = time.monotonic() + 90
                while True:
                    try:
                        if web.get(f"http://127.0.0.1:{port}/ready").status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    assert process.poll() is None, process.communicate()[0]
                    assert time.monotonic() < deadline, "the service never became ready"
                    time.sleep(0.5)
                # the manager the guide made can sign in
                signed = web.post(
                    f"http://127.0.0.1:{port}/v1/auth/login",
                    json={"username": "amira.khan", "password": "a-long-first-password"},
                    headers={"X-Fieldcase-Protocol": "1"},
                )
                assert signed.status_code == 200, signed.text
        finally:
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=30)
            subprocess.run(["pkill", "-f", f"--port {port}"], check=False)
