"""The service as council IT runs it (issue 15): a complete systemd unit (checked by
``systemd-analyze verify``) with the account it runs as (sysusers.d), and a container image
and compose file that run it as an unprivileged user, with its secrets as files and the
health and readiness checks the service answers.

Building and running the image needs a container runtime and the registry's base images,
which this kind of machine does not reach (docs/server-deployment.md says so): the files are
linted here instead, against what the service actually does."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import yaml

from server.api.middleware import UNGATED
from server.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "installer" / "server"
UNIT = FOLDER / "fieldcase-server.service"


def _unit_sections() -> dict[str, list[tuple[str, str]]]:
    sections: dict[str, list[tuple[str, str]]] = {}
    current = ""
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("["):
            current = line.strip("[]")
            sections[current] = []
            continue
        key, _, value = line.partition("=")
        sections[current].append((key, value))
    return sections


def test_the_unit_is_complete_and_systemd_accepts_it(tmp_path: Path) -> None:
    sections = _unit_sections()
    service = dict(sections["Service"])
    assert sections["Install"] == [("WantedBy", "multi-user.target")]
    assert service["User"] == "fieldcase"
    assert service["ExecStart"].startswith("/opt/fieldcase-server/bin/fieldcase-server serve ")
    assert service["RestartPreventExitStatus"] == "78"  # a database behind: not restarted
    environment = [v for k, v in sections["Service"] if k == "Environment"]
    assert "FIELDCASE_DB_URL_FILE=%d/db_url" in environment  # a secret as a file
    assert not any(v.startswith("FIELDCASE_DB_URL=") for v in environment)
    # the command line it runs is one the service accepts
    args = build_parser().parse_args(service["ExecStart"].split()[1:])
    assert (args.command, args.workers, args.metrics_port) == ("serve", 4, 9750)
    # the account exists by sysusers.d
    sysusers = (FOLDER / "fieldcase-server.sysusers").read_text(encoding="utf-8")
    assert re.search(r"^u fieldcase - ", sysusers, re.MULTILINE)

    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing (Debian's systemd package)"
    copy = tmp_path / UNIT.name  # the program it starts must exist for verify
    copy.write_text(
        UNIT.read_text(encoding="utf-8").replace(
            "/opt/fieldcase-server/bin/fieldcase-server", "/usr/bin/env"
        ),
        encoding="utf-8",
    )
    done = subprocess.run(
        [analyze, "verify", "--man=no", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and not (done.stdout + done.stderr).strip(), done.stderr


def _stages() -> list[list[str]]:
    stages: list[list[str]] = []
    text = (FOLDER / "Containerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(line)
    return stages


def test_the_image_runs_the_lean_service_as_an_unprivileged_user() -> None:
    stages = _stages()
    assert len(stages) >= 2  # built in one stage, run from another
    build, final = "\n".join(stages[0]), stages[-1]
    assert "[server]" in build and "--no-deps" in build  # the lean install: no Qt
    assert not any(line.startswith(("COPY . ", "ADD ")) for line in final)
    user = [line.split()[1] for line in final if line.startswith("USER ")]
    assert user and user[-1].split(":")[0] not in ("0", "root")
    health = next(line for line in final if line.startswith("HEALTHCHECK"))
    assert "/health" in health
    entry = next(line for line in final if line.startswith("ENTRYPOINT"))
    assert "fieldcase-server" in entry
    command = next(line for line in final if line.startswith("CMD"))
    args = build_parser().parse_args(json.loads(command.removeprefix("CMD ")))
    assert args.command == "serve" and args.port == 8750


def test_compose_runs_migrations_first_and_keeps_secrets_in_files() -> None:
    compose = yaml.safe_load((FOLDER / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert services["migrate"]["command"] == ["migrate"]
    service = services["service"]
    assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    for name in ("migrate", "service"):
        env = services[name]["environment"]
        assert env["FIELDCASE_DB_URL_FILE"] == "/run/secrets/db_url"
        assert not any(key in env for key in ("FIELDCASE_DB_URL", "FIELDCASE_AUDIT_KEY"))
    assert services["db"]["environment"]["POSTGRES_PASSWORD_FILE"].startswith("/run/secrets/")
    ready = " ".join(service["healthcheck"]["test"])
    assert "/ready" in ready and "/ready" in UNGATED  # answered without the protocol header
    assert all(port.startswith("127.0.0.1:") for port in service["ports"])
    assert "installer/server/secrets/" in (ROOT / ".gitignore").read_text(encoding="utf-8")
