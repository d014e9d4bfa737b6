"""The service's container image (installer/server/Containerfile), built on a fresh Debian
and run under podman as council IT would: as an unprivileged user, with no Qt or SQLCipher,
its database URL and audit key as secret files, migrations by the one-off ``migrate``, then
``serve``; a laptop enrols, pushes a case and pulls it back through it."""

from __future__ import annotations

import json
import os
import resource
import secrets
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.deploy.conftest import (
    ROOT,
    host_pip_config,
    limits,
    need,
    podman,
    run,
    wait_ready,
)
from tests.server.helpers import new_case
from tests.support.pg import PgCluster, free_port
from tests.support.server import PROTOCOL_HEADERS, TEST_PASSWORD, enrol

IMAGE = "localhost/fieldcase-server:ci"


@pytest.fixture(scope="module")
def image(base_image: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("build")
    run(
        podman(
            "build",
            "--format",
            "docker",  # keeps the HEALTHCHECK (the OCI format has none)
            "--network",
            "host",
            *limits(),
            *host_pip_config(folder),
            "--build-arg",
            f"PYTHON_IMAGE={base_image}",
            "-f",
            str(ROOT / "installer" / "server" / "Containerfile"),
            "-t",
            IMAGE,
            str(ROOT),
        ),
        timeout=1800,
    )
    return IMAGE


@pytest.fixture(scope="module")
def cluster() -> Iterator[PgCluster]:
    found = PgCluster.start()
    try:
        yield found
    finally:
        found.stop()


def in_container(
    image: str, *args: str, env: dict[str, str], secrets_dir: Path, name: str = ""
) -> list[str]:
    """``podman run`` of ``image`` with ``args``, the secrets folder and ``env``: removed when
    it ends, or (``name``) kept running in the background, its output kept for the test."""
    options = ["-d", "--name", name] if name else ["--rm"]
    options += ["--network", "host", *limits(), "-v", f"{secrets_dir}:/run/secrets:ro"]
    for name, value in env.items():
        options += ["-e", f"{name}={value}"]
    return podman("run", *options, image, *args)


def test_the_image_runs_unprivileged_without_the_desktops_libraries(image: str) -> None:
    found = json.loads(run(podman("image", "inspect", image)))[0]
    config = found["Config"]
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ["fieldcase-server"]
    assert "/health" in " ".join(found.get("Healthcheck", config.get("Healthcheck", {}))["Test"])
    probe = (
        "import importlib.util, os; "
        "print(os.getuid(), [m for m in ('PySide6', 'sqlcipher3', 'fastapi') "
        "if importlib.util.find_spec(m)])"
    )
    said = run(podman("run", "--rm", *limits(), "--entrypoint", "python", image, "-c", probe))
    assert said.split() == ["10001", "['fastapi']"]
    version = run(podman("run", "--rm", *limits(), image, "--version"))
    assert version.startswith("fieldcase-server ")


def test_migrate_then_serve_from_secret_files_and_a_laptop_syncs(
    image: str, cluster: PgCluster, tmp_path: Path
) -> None:
    db_url = cluster.create_database("container")
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir(mode=0o755)
    (secrets_dir / "db_url").write_text(db_url, encoding="utf-8")
    (secrets_dir / "audit.key").write_text(secrets.token_hex(32), encoding="utf-8")
    for path in secrets_dir.iterdir():
        path.chmod(0o644)  # readable by the container's user 10001 (podman's own copies: 0400)
    env = {
        "FIELDCASE_DB_URL_FILE": "/run/secrets/db_url",
        "FIELDCASE_AUDIT_KEY_FILE": "/run/secrets/audit.key",
    }
    port = free_port()
    serve = in_container(
        image,
        *("serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"),
        env=env,
        secrets_dir=secrets_dir,
        name=f"fieldcase-ci-{uuid.uuid4().hex[:8]}",
    )
    # before its migrations, serve refuses to start (exit 78) and says to run migrate
    early = subprocess.run(
        in_container(image, "serve", "--port", str(port), env=env, secrets_dir=secrets_dir),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert early.returncode == 78, early.stdout + early.stderr
    assert "migrate" in early.stderr
    run(in_container(image, "migrate", env=env, secrets_dir=secrets_dir))
    user_env = {**env, "FIELDCASE_PASSWORD": TEST_PASSWORD}
    run(in_container(image, "admin", "add-team", "North", env=user_env, secrets_dir=secrets_dir))
    run(
        in_container(
            image,
            "admin",
            "add-user",
            "--team",
            "North",
            "mo",
            env=user_env,
            secrets_dir=secrets_dir,
        )
    )
    container = run(serve).strip()
    base = f"http://127.0.0.1:{port}"
    web = httpx.Client(trust_env=False, timeout=10)  # straight to this computer
    try:
        wait_ready(
            web,
            base,
            seconds=120,
            explain=lambda last: f"{last}\n{state_of(container)}\n" + logs_of(container),
        )
        laptop = enrol(base, "mo")
        headers = {**PROTOCOL_HEADERS, "Authorization": f"Bearer {laptop['token']}"}
        case_id, made = new_case("North", "mo")
        pushed = web.post(base + "/v1/sync/push", json={"changes": [made]}, headers=headers)
        assert pushed.status_code == 200, pushed.text
        assert pushed.json()["results"][0]["status"] == "applied"
        pulled = web.post(
            base + "/v1/sync/pull", json={"cursor": None, "max_bytes": 262144}, headers=headers
        )
        assert pulled.status_code == 200
        assert str(case_id) in pulled.text
        logs = logs_of(container)
        assert "/v1/sync/push" in logs  # the access log, in the container's output
    finally:
        web.close()
        run(podman("rm", "-f", container))


def logs_of(container: str) -> str:
    """What the container wrote, to standard output and standard error."""
    done = subprocess.run(
        podman("logs", container), capture_output=True, text=True, timeout=60, check=False
    )
    return done.stdout + done.stderr


def test_compose_runs_the_service_with_its_database_and_a_laptop_syncs(
    image: str, base_image: str, tmp_path: Path
) -> None:
    """installer/server/compose.yaml as written, under podman-compose: its PostgreSQL (an image
    made here from Debian's package, named by FIELDCASE_POSTGRES_IMAGE as a council names its
    registry's mirror), the one-off migrate, the service published on 127.0.0.1:8750."""
    compose_tool = need("podman-compose", "podman-compose")
    postgres = "localhost/fieldcase-rehearsal-postgres"
    run(
        podman(
            "build",
            "--network",
            "host",
            *limits(),
            "--build-arg",
            f"BASE={base_image}",
            "-t",
            postgres,
            str(ROOT / "tests" / "deploy" / "postgres"),
        ),
        timeout=900,
    )
    run(podman("tag", image, "localhost/fieldcase-server:latest"))  # compose's image name
    project = tmp_path / "fieldcase"
    project.mkdir()
    shutil.copy(ROOT / "installer" / "server" / "compose.yaml", project)
    # the secrets as the compose file's header says to make them
    secrets_dir = project / "secrets"
    secrets_dir.mkdir(mode=0o700)
    password = secrets.token_urlsafe(18)
    (secrets_dir / "db_password").write_text(password, encoding="utf-8")
    (secrets_dir / "db_url").write_text(
        f"postgresql://fieldcase:{password}@db:5432/fieldcase", encoding="utf-8"
    )
    (secrets_dir / "audit.key").write_text(secrets.token_hex(32) + "\n", encoding="utf-8")
    for path in secrets_dir.iterdir():
        path.chmod(0o644)  # bind-mounted as they are: readable by the containers' users
    files = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    conf = tmp_path / "containers.conf"
    conf.write_text(
        f'[containers]\ndefault_ulimits = ["nofile={files}:{files}", "nproc=4096:4096"]\n'
        '[engine]\nruntime = "runc"\n',
        encoding="utf-8",
    )
    env = {**os.environ, "CONTAINERS_CONF": str(conf), "FIELDCASE_POSTGRES_IMAGE": postgres}
    compose = [compose_tool, "-f", str(project / "compose.yaml")]
    run([*compose, "up", "-d", "--no-build"], env=env, cwd=project, timeout=600)
    base = "http://127.0.0.1:8750"
    web = httpx.Client(trust_env=False, timeout=10)
    try:

        def migrate_again() -> None:
            # podman-compose 1.0 starts everything at once (compose's "condition" is ignored):
            # a migrate that met a database still starting is run again, as compose would wait
            state = run(podman("ps", "-a", "--format", "{{.Names}} {{.State}} {{.ExitCode}}"))
            for line in state.splitlines():
                name, status, code = [*line.split(), "", "", ""][:3]
                if name.startswith("fieldcase_migrate") and status == "exited" and code != "0":
                    subprocess.run(podman("start", name), capture_output=True, check=False)

        wait_ready(
            web,
            base,
            seconds=180,
            meanwhile=migrate_again,
            explain=lambda last: f"{last}\n" + logs_of("fieldcase_service_1"),
            pause=2,
        )
        manager = (
            "admin",
            "add-user",
            "--team",
            "North",
            "--role",
            "manager",
            "mo",
        )
        for command in (("admin", "add-team", "North"), manager):
            run(
                podman(
                    "exec",
                    "-e",
                    f"FIELDCASE_PASSWORD={TEST_PASSWORD}",
                    "fieldcase_service_1",
                    "fieldcase-server",
                    *command,
                )
            )
        laptop = enrol(base, "mo")
        headers = {**PROTOCOL_HEADERS, "Authorization": f"Bearer {laptop['token']}"}
        case_id, made = new_case("North", "mo")
        pushed = web.post(base + "/v1/sync/push", json={"changes": [made]}, headers=headers)
        assert pushed.status_code == 200 and pushed.json()["results"][0]["status"] == "applied"
        pulled = web.post(
            base + "/v1/sync/pull", json={"cursor": None, "max_bytes": 262144}, headers=headers
        )
        assert str(case_id) in pulled.text
    finally:
        web.close()
        subprocess.run(
            [*compose, "down", "-v"],
            env=env,
            cwd=project,
            capture_output=True,
            timeout=300,
            check=False,
        )


def state_of(container: str) -> str:
    return run(podman("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", container))
