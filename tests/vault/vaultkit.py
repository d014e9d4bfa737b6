"""Helpers shared by the vault tests (a uniquely named module, safe beside other suites)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from app.vault import keys
from sync.clock import ManualClock

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new passphrase"
RECOVERY = "Qm9vbS1yZWNvdmVyeS1zZWNyZXQtZnJvbS10aGUtc2VydmljZQ"


class FakeClock(ManualClock):
    """A clock the test moves by hand (the vault takes ``clock=``); ``seconds`` is its wall time
    as stored in the unlock-attempts file."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        super().__init__(datetime.fromtimestamp(start, UTC))

    @property
    def seconds(self) -> float:
        return self.now().timestamp()


def key_json(folder: Path) -> dict:
    return json.loads((folder / "key.json").read_text())


def rewrite_with_checksum(folder: Path, doc: dict) -> None:
    """Write an altered key.json whose checksum matches (a deliberate, careful tamper)."""
    body = {k: v for k, v in doc.items() if k != "checksum"}
    doc = {**body, "checksum": keys._checksum(body)}
    (folder / "key.json").write_text(json.dumps(doc, indent=2, sort_keys=True))
