"""TLS end to end: a laptop refuses a service whose certificate comes from an unknown CA
(doctor explains it, enrol refuses and leaves nothing behind) until the site configuration's
``ca_bundle`` names that CA; then doctor is all OK, the laptop enrols and syncs."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.installer.conftest import Ran, clean_env, run
from tests.installer.tls import make_ca_and_server_cert, tls_server
from tests.support.pg import free_port
from tests.support.server import TEST_PASSWORD, admin, sqlite_url

USER = "quinceworker"
PERSON = "Zebedee Canarysmith"


SHIFTED = """
import json, sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from app.doctor.checks import check_tls, run_checks
profile, site, url, ca, minutes, at = sys.argv[1:7]
from sync.clock import SystemClock
shift = timedelta(minutes=float(minutes))
class Shifted(SystemClock):
    def now(self):
        return (datetime.fromisoformat(at) if at else super().now()) + shift
clock = Shifted()
report = run_checks(Path(profile), env={"FIELDCASE_SITE_CONFIG": site}, clock=clock)
found = {c["key"]: c for c in report.as_dict()["checks"]}
tls = check_tls(url, Path(ca), clock)
found["tls"] = {"status": tls.status.value, "message": tls.message} if tls else None
print(json.dumps(found))
"""


def shifted_checks(
    tmp: Path, site: Path, url: str, ca: Path, *, minutes: float, at: datetime | None = None
) -> dict[str, Any]:
    """doctor's checks with the laptop's clock at ``at`` (default now) plus ``minutes``."""
    when = at.isoformat() if at else ""
    args = [str(tmp / "profile"), str(site), url, str(ca), str(minutes), when]
    ran = run([sys.executable, "-c", SHIFTED, *args], clean_env(tmp), cwd=tmp)
    assert ran.code == 0, ran.err
    return dict(json.loads(ran.out))


def site_file(path: Path, server: str, ca: str | None = None) -> Path:
    lines = [f'server_url = "{server}"']
    if ca:
        lines.append(f'ca_bundle = "{ca}"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.slow
def test_untrusted_until_the_site_names_the_ca_then_enrols_and_syncs(
    tmp_path: Path, cli: Callable[..., Ran]
) -> None:
    tls = make_ca_and_server_cert(tmp_path / "pki")
    db = sqlite_url(tmp_path)
    # Through the service's own admin CLI, in its own process: the laptop's and the
    # service's tables cannot share one interpreter.
    for command in (("add-team", "North"), ("add-user", USER, "--team", "North")):
        done = admin(db, *command, password=TEST_PASSWORD)
        assert done.returncode == 0, done.stdout + done.stderr
    site = tmp_path / "site.toml"
    with tls_server(db, tls, tmp_path) as srv:
        site_file(site, srv.url)
        env = {
            "FIELDCASE_SITE_CONFIG": str(site),
            "FIELDCASE_PASSWORD": TEST_PASSWORD,
            # The profile is in the home folder, whose name is often its owner's.
            "HOME": str(tmp_path),
        }

        # 1. The certificate is from a CA this laptop does not know.
        ran = cli("doctor", "--json", env=env)
        assert ran.code == 1
        tls_check = ran.check("tls")
        assert tls_check["status"] == "Problem"
        assert "not trusted" in tls_check["message"]
        assert "not signed by a certificate authority this laptop trusts" in tls_check["message"]
        assert "ca_bundle" in tls_check["action"]
        assert ran.check("service")["status"] == "Problem"

        # 2. enrol refuses, in plain English, and leaves no profile behind.
        refused = cli("enrol", "--user", USER, env=env)
        assert refused.code != 0
        assert "certificate" in refused.err
        assert "Traceback" not in refused.err
        assert not (tmp_path / "profile" / "key.json").exists()

        # 3. The site names the CA: every network check is OK.
        site_file(site, srv.url, str(tls.ca))
        ran = cli("doctor", "--json", env=env)
        for key in ("site_config", "service", "tls", "clock"):
            assert ran.check(key)["status"] == "OK", ran.out
        assert ran.check("tls")["facts"]["expires"] == tls.not_after.isoformat()
        assert ran.check("site_config")["facts"]["ca_bundle"] == "~/pki/ca.pem"

        # The clock and expiry checks with the laptop's clock moved (injected). In a fresh
        # process: the laptop's and the service's tables cannot share one interpreter.
        moved_clock = shifted_checks(tmp_path, site, srv.url, tls.ca, minutes=9.2)
        assert moved_clock["clock"]["status"] == "Problem"
        assert "9 minutes ahead of the service's" in moved_clock["clock"]["message"]
        assert moved_clock["clock"]["action"].startswith("Set the date, time and time zone")
        near = shifted_checks(
            tmp_path, site, srv.url, tls.ca, minutes=-1, at=tls.not_after - timedelta(days=3)
        )
        assert near["tls"]["status"] == "Problem"
        assert "expires on" in near["tls"]["message"] and "in 3 days" in near["tls"]["message"]

        # 4. Enrol and sync over TLS.
        enrolled = cli("enrol", "--user", USER, env=env)
        assert enrolled.code == 0, enrolled.out + enrolled.err
        found = re.search(r"device ([0-9a-f-]{36})", enrolled.out)
        assert found, enrolled.out
        device_id = found.group(1)

        made = cli("case", "new", "--type", "housing_repair", "--person", PERSON, env=env)
        assert made.code == 0, made.out + made.err
        ref = made.out.strip().split()[-1].rstrip(".")

        before = cli("doctor", "--json", env=env)
        assert before.check("outbox")["facts"]["waiting"] >= 1
        synced = cli("sync", env=env)
        assert synced.code == 0, synced.out + synced.err

        # 5. All is well: exit 0, the device id the help desk needs, nothing personal.
        after = cli("doctor", env=env)
        assert after.code == 0, after.out
        assert f"enrolled as device {device_id}" in after.out
        assert "Nothing is waiting to be sent." in " ".join(after.out.split())
        for personal in (USER, PERSON, "Zebedee", ref, str(tmp_path)):
            assert personal not in after.out
        assert "~/profile" in after.out
        as_json = cli("doctor", "--json", env=env)
        assert as_json.code == 0
        assert as_json.json()["ok"] is True
        assert as_json.check("device")["facts"]["device_id"] == device_id
        assert as_json.check("integrity")["status"] == "OK"
        assert USER not in as_json.out and PERSON not in as_json.out

        # 6. Site policy beats what the laptop recorded at enrolment: the site's address is
        #    the one checked (nothing listens there, so that is the problem reported).
        elsewhere = f"https://127.0.0.1:{free_port()}"
        site_file(site, elsewhere, str(tls.ca))
        moved = cli("doctor", "--json", env=env)
        assert moved.code == 1
        assert elsewhere in moved.check("service")["message"]
        assert moved.check("device")["facts"]["device_id"] == device_id
