"""The device file (``device.json`` in the profile folder, beside the encrypted database):
where this laptop enrolled, as whom, and how its person signed in. Not secret (the device
credential itself is inside the encrypted database); read before unlock, for recovery, so
this module stays light (no store, no network)."""

from __future__ import annotations

import json
from pathlib import Path

from app.errors import FieldcaseError

DEVICE_FILE = "device.json"

#: How the person signed in to enrol this laptop (``sign_in``): recovery asks for the same.
BY_PASSWORD = "password"  # noqa: S105 (a way of signing in, not a secret)
BY_SSO = "sso"


def path_of(profile_dir: Path) -> Path:
    return Path(profile_dir) / DEVICE_FILE


def write(profile_dir: Path, **fields: str) -> None:
    path_of(profile_dir).write_text(json.dumps(fields), encoding="utf-8")


def read(profile_dir: Path) -> dict[str, str]:
    """The device file's fields; a missing or damaged file is said plainly."""
    try:
        data = json.loads(path_of(profile_dir).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FieldcaseError(
            f"The profile in {profile_dir} was never enrolled with a Fieldcase service, so it "
            "cannot be recovered online. Ask your IT team for help."
        ) from None
    except ValueError:
        raise FieldcaseError(
            f"The file {path_of(profile_dir)} is damaged. Ask your IT team for help."
        ) from None
    if not isinstance(data, dict):
        raise FieldcaseError(
            f"The file {path_of(profile_dir)} is damaged. Ask your IT team for help."
        )
    return {str(k): str(v) for k, v in data.items()}


def enrolled_by_sso(profile_dir: Path) -> bool:
    """This laptop was enrolled by single sign-on, so its person proves who they are with
    the council's account again (a laptop enrolled before this was said: a password)."""
    try:
        return read(Path(profile_dir)).get("sign_in") == BY_SSO
    except FieldcaseError:
        return False
