"""One answer to "how many changes are waiting to send" (issue 9): record changes the
service has not acknowledged; audit events (a case was viewed) are never counted. The window,
the CLI, `fieldcase doctor` and the sync engine all give the same number."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import text

from app.core import Casework
from app.store.sync_adapter import SyncAdapter
from app.ui.core_backend import CoreBackend
from tests.support.profile import make_profile, run_cli_inprocess


def test_window_cli_doctor_and_sync_agree_after_one_case_and_five_views(tmp_path: Path) -> None:
    folder = tmp_path / "profile"
    with make_profile(folder) as profile:
        work = Casework(profile)
        ref = work.create_case("housing_repair", "Pat Morgan", {"summary": "Damp"})
        for _ in range(5):
            work.get_case(ref)
        with profile.engine.connect() as conn:
            rows = conn.execute(text("SELECT count(*) FROM outbox")).scalar_one()
        assert rows == 8  # person, case, "created" and five "viewed" events all travel
        # the rule: the person and the case wait to be sent; views are not counted
        assert work.pending_count() == 2
        assert CoreBackend(profile).counts()[0] == 2  # the window's status line
        assert SyncAdapter(profile).pending_count() == 2  # what the engine will say it sends

    shown = run_cli_inprocess(["case", "show", ref, "--json"], folder)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["pending"] == 2
    text_ = run_cli_inprocess(["case", "show", ref], folder)
    assert "2 changes on this laptop not yet sent." in text_.stdout

    doctor = run_cli_inprocess(["doctor", "--json"], folder)
    checks = {c["key"]: c for c in json.loads(doctor.stdout)["checks"]}
    assert checks["outbox"]["facts"]["waiting"] == 2, doctor.stdout
    assert checks["outbox"]["message"].startswith("2 changes waiting to be sent.")
