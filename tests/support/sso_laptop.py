"""A laptop's side of the single sign-on tests (issue 16): the system browser played by the
test, the people the provider knows, and a laptop enrolled by single sign-on in process."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import requests

from app.store import state
from app.store.profile import Profile
from tests.support.oidc_provider import CLIENT_ID, LoopbackProvider, Person
from tests.support.server import ServerProcess, running_server, sqlite_url

NORTH_CASEWORKER = {"Fieldcase.North.Caseworker": "caseworker in North"}


@contextmanager
def sso_service(
    idp: LoopbackProvider, folder: Path, roles: dict[str, str], **env: str
) -> Iterator[ServerProcess]:
    """A real service process (embedded SQLite in ``folder``) that signs people in with the
    loopback provider, its groups mapped by ``roles``; ``env``: more of its settings."""
    settings = {
        "FIELDCASE_OIDC_ISSUER": idp.issuer,
        "FIELDCASE_OIDC_CLIENT_ID": CLIENT_ID,
        "FIELDCASE_OIDC_ROLES": json.dumps(roles),
        **env,
    }
    with running_server(sqlite_url(folder), env=settings) as srv:
        yield srv


class Browser:
    """The system browser: follows the provider's answer back to where it says."""

    def __init__(self) -> None:
        self.opened: list[str] = []
        self.thread: threading.Thread | None = None

    def open(self, url: str) -> None:
        self.opened.append(url)

        def visit() -> None:
            at_provider = requests.get(url, allow_redirects=False, timeout=10)
            if at_provider.status_code in (302, 303):
                requests.get(at_provider.headers["Location"], timeout=10)

        self.thread = threading.Thread(target=visit, daemon=True)
        self.thread.start()


def enrolled_by_sso(idp: LoopbackProvider, url: str, folder: Path, name: str) -> Profile:
    """A laptop enrolled in this process by ``name``'s single sign-on (the cheap test KDF),
    its profile left open."""
    from app import online
    from tests.support.kdf import TEST_KDF

    idp.at_browser, idp.mfa = person(name, "Fieldcase.North.Caseworker"), True
    made = online.enrol_sso(
        folder,
        url,
        f"{name}'s laptop password",
        Browser().open,
        kdf=TEST_KDF,
        keep_open=True,
        browser_seconds=30,
    )
    assert made.profile is not None
    return made.profile


def renewed_hours_ago(profile: Profile, hours: float) -> None:
    """As if the laptop last renewed its single sign-on ``hours`` earlier than it did."""
    with profile.session() as s, s.begin():
        link = state.sso_link(s)
        assert link is not None
        moved = link.renewed_at - timedelta(hours=hours)
        state.set_sso_link(s, link.model_copy(update={"renewed_at": moved}))


def person(name: str, *roles: str) -> Person:
    return Person(
        f"sub-{name}",
        f"{name}@council.example",
        name.title(),
        f"{name}@c.example",
        roles=list(roles),
    )
