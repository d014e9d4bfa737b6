"""The laptop's single sign-on through the browser (issue 16), end to end: a real service
process on 127.0.0.1 set up for the council's provider, and that provider on loopback (its
authorization and token endpoints are Authlib's authorization server). The system browser is
played by the test: it opens the authorization URL as the person signed in at the provider,
and follows the provider's redirect back to the laptop's loopback listener."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from app.store import state
from app.store.profile import Profile
from sync import network, sso
from sync.client import ServiceClient
from sync.errors import AuthFailed
from sync.protocol import PROTOCOL_HEADER, SignInWays
from sync.sso import SSO_REFUSED, SignInCancelled, browser_sign_in
from tests.support.oidc_provider import CLIENT_ID, LoopbackProvider, running
from tests.support.profile import run_cli
from tests.support.server import ServerProcess
from tests.support.sso_laptop import (
    NORTH_CASEWORKER,
    Browser,
    enrolled_by_sso,
    person,
    renewed_hours_ago,
    sso_service,
)


@pytest.fixture(scope="module")
def idp() -> Iterator[LoopbackProvider]:
    with running("entra") as provider:
        yield provider


@pytest.fixture(scope="module")
def service(
    idp: LoopbackProvider, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("sso")
    with sso_service(
        idp, folder, NORTH_CASEWORKER, FIELDCASE_SIGN_IN="both", FIELDCASE_OIDC_REQUIRE_MFA="true"
    ) as srv:
        yield srv


def _provider_session(session: requests.Session, url: str) -> None:
    network.configure(session, url, ca_bundle=None, proxy=network.NO_PROXY)


def test_sign_in_in_the_browser_then_enrol(idp: LoopbackProvider, service: ServerProcess) -> None:
    idp.at_browser, idp.mfa = person("alex", "Fieldcase.North.Caseworker"), True
    client = ServiceClient(service.url)
    start = sso.start(client)
    browser = Browser()
    tokens = browser_sign_in(start, browser.open, configure=_provider_session, seconds=30)
    sent = parse_qs(urlsplit(browser.opened[0]).query)
    # the authorization code flow with PKCE (S256), the service's nonce, a loopback redirect
    assert sent["response_type"] == ["code"] and sent["code_challenge_method"] == ["S256"]
    assert sent["nonce"] == [start.nonce] and sent["state"][0]
    assert urlsplit(sent["redirect_uri"][0]).hostname == "127.0.0.1"
    assert tokens.refresh_token  # offline_access: renewal without the browser
    assert "prompt" not in sent and "max_age" not in sent
    again = Browser()
    browser_sign_in(
        sso.start(client), again.open, configure=_provider_session, seconds=30, fresh=True
    )
    asked = parse_qs(urlsplit(again.opened[0]).query)
    assert (asked["prompt"], asked["max_age"]) == (["login"], ["0"])  # as recovery asks
    signed_in = sso.sign_in(client, tokens, start.nonce)
    assert (signed_in.username, signed_in.team) == ("alex@council.example", "North")
    enrolled = client.enrol("Alex's laptop")
    assert enrolled.device_id and enrolled.recovery_secret
    client.close()


def test_a_sign_in_without_the_second_step_or_a_role_is_refused_plainly(
    idp: LoopbackProvider, service: ServerProcess
) -> None:
    client = ServiceClient(service.url)
    idp.at_browser, idp.mfa = person("bo", "Fieldcase.North.Caseworker"), False
    start = sso.start(client)
    tokens = browser_sign_in(start, Browser().open, configure=_provider_session, seconds=30)
    with pytest.raises(Exception) as caught:
        sso.sign_in(client, tokens, start.nonce)
    assert "second step" in str(caught.value)
    idp.mfa = True
    idp.at_browser = person("cy")  # no Fieldcase app role
    start = sso.start(client)
    tokens = browser_sign_in(start, Browser().open, configure=_provider_session, seconds=30)
    with pytest.raises(Exception) as caught:
        sso.sign_in(client, tokens, start.nonce)
    assert "not given a Fieldcase role" in str(caught.value)
    # a token replayed with the nonce it was made for: already used
    with pytest.raises(AuthFailed) as refused:
        sso.sign_in(client, tokens, start.nonce)
    assert refused.value.message == SSO_REFUSED
    client.close()


def test_the_browser_never_coming_back_or_a_refusal_at_the_provider_is_said_plainly(
    idp: LoopbackProvider, service: ServerProcess, tmp_path: Path
) -> None:
    client = ServiceClient(service.url)
    start = sso.start(client)
    with pytest.raises(AuthFailed) as late:
        browser_sign_in(start, lambda url: None, configure=_provider_session, seconds=0.5)
    assert "did not finish in time" in late.value.message
    stop = threading.Event()
    stop.set()
    with pytest.raises(SignInCancelled):
        browser_sign_in(start, lambda url: None, configure=_provider_session, cancel=stop)

    def refusing_browser(url: str) -> None:  # the person pressed Cancel at the provider
        redirect = parse_qs(urlsplit(url).query)["redirect_uri"][0]
        state = parse_qs(urlsplit(url).query)["state"][0]

        def visit() -> None:
            # first something else on the laptop that found the port, with no state: ignored
            requests.get(f"{redirect}?error=access_denied", timeout=10)
            requests.get(f"{redirect}?error=access_denied&state={state}", timeout=10)

        threading.Thread(target=visit, daemon=True).start()

    with pytest.raises(AuthFailed) as denied:
        browser_sign_in(start, refusing_browser, configure=_provider_session, seconds=30)
    assert "did not sign you in" in denied.value.message

    def stranger_only(url: str) -> None:  # only a stranger's refusal: the sign-in waits on
        redirect = parse_qs(urlsplit(url).query)["redirect_uri"][0]
        threading.Thread(
            target=lambda: requests.get(f"{redirect}?error=access_denied", timeout=10),
            daemon=True,
        ).start()

    with pytest.raises(AuthFailed) as waited:
        browser_sign_in(start, stranger_only, configure=_provider_session, seconds=1.5)
    assert "did not finish in time" in waited.value.message

    def forged_browser(url: str) -> None:  # a code arriving with someone else's state
        redirect = parse_qs(urlsplit(url).query)["redirect_uri"][0]
        threading.Thread(
            target=lambda: requests.get(f"{redirect}?code=abc&state=forged", timeout=10),
            daemon=True,
        ).start()

    with pytest.raises(AuthFailed) as forged:
        browser_sign_in(start, forged_browser, configure=_provider_session, seconds=30)
    assert "did not complete the sign-in" in forged.value.message
    client.close()


def test_fieldcase_enrol_sso_through_the_command_and_its_browser(
    idp: LoopbackProvider, service: ServerProcess, tmp_path: Path
) -> None:
    """The real ``fieldcase enrol --sso`` in a child process: the laptop's own password from
    FIELDCASE_PASSWORD (it alone unlocks the profile), the browser the one Python's webbrowser
    module is told of by BROWSER (here tests/sync/browser_child.py)."""
    idp.at_browser, idp.mfa = person("dee", "Fieldcase.North.Caseworker"), True
    browser = f"{sys.executable} {Path(__file__).with_name('browser_child.py')} %s"
    profile = tmp_path / "dee"
    local = "a laptop password of my own"
    done = run_cli(
        ["enrol", "--server", service.url, "--sso"],
        profile,
        password=local,
        env={"BROWSER": browser},
    )
    assert done.returncode == 0, done.stderr
    assert "enrolled for dee@council.example" in done.out
    assert "Sign in with your council account in the browser" in done.stderr
    # the laptop's own password opens it; the council account's sign-in does not come into it
    synced = run_cli(["sync"], profile, password=local)
    assert synced.returncode == 0, synced.stderr
    wrong = run_cli(["cases"], profile, password="the council account's password")
    assert wrong.returncode != 0 and "Traceback" not in wrong.stderr
    refused = run_cli(["enrol", "--server", service.url, "--sso", "--user", "x"], tmp_path / "e")
    assert refused.returncode == 2 and "not allowed with" in refused.stderr


def test_a_laptop_renews_its_sign_in_at_a_sync_and_a_leaver_is_told_after_sending(
    idp: LoopbackProvider, service: ServerProcess, tmp_path: Path
) -> None:
    """Enrolled by single sign-on, the laptop keeps the provider's refresh token inside its
    encrypted database and, every few hours at a sync, renews its user's sign-in with it (no
    browser). When the provider no longer signs the person in, the sync still sends what the
    laptop holds, then says so plainly."""
    from app import online
    from app.core import Casework

    profile = enrolled_by_sso(idp, service.url, tmp_path / "eve", "eve")
    eve = idp.at_browser
    assert eve is not None
    try:
        with profile.session() as s:
            first = state.sso_link(s)
        assert first is not None and first.client_id == CLIENT_ID and first.refresh_token

        token_posts = sum(1 for path in idp.requests if path.endswith("/token"))
        online.sync(profile)  # renewed just now (at enrolment): the provider is not asked
        assert sum(1 for path in idp.requests if path.endswith("/token")) == token_posts
        renewed_hours_ago(profile, 9)
        online.sync(profile)
        assert sum(1 for path in idp.requests if path.endswith("/token")) == token_posts + 1
        with profile.session() as s:
            renewed = state.sso_link(s)
        assert renewed is not None and renewed.refresh_token != first.refresh_token
        assert renewed.renewed_at > first.renewed_at

        eve.roles = []  # moved out of Fieldcase's app roles: the service refuses her
        renewed_hours_ago(profile, 9)
        with pytest.raises(sso.RenewalRefused) as no_role:
            online.sync(profile)
        assert "no longer signs you in" in no_role.value.message
        assert not no_role.value.asks_sign_in  # signing in again would not help
        eve.roles = ["Fieldcase.North.Caseworker"]

        eve.enabled = False  # HR closed the account at the provider
        renewed_hours_ago(profile, 9)
        ref = Casework(profile).create_case("housing_repair", "Left Behind", {})
        with pytest.raises(sso.SignInAgain) as told:  # the provider will not renew it
            online.sync(profile)
        assert "Sign in again" in told.value.message
        assert "Your changes were sent" in told.value.message
        assert Casework(profile).pending_count() == 0, ref  # sent before it was said
    finally:
        profile.close()


def test_a_forgotten_laptop_password_is_recovered_with_the_council_account(
    idp: LoopbackProvider, service: ServerProcess, tmp_path: Path
) -> None:
    """`fieldcase recover --sso`: the laptop's recovery secret is released to its user signed
    in by the council's account (a fresh sign-in), and the profile gets a new password; the
    council account's sign-in still never unlocks it by itself."""
    from app import online
    from tests.support.kdf import TEST_KDF

    fay = person("fay", "Fieldcase.North.Caseworker")
    idp.at_browser, idp.mfa = fay, True
    folder = tmp_path / "fay"
    online.enrol_sso(folder, service.url, "the one fay forgot", Browser().open, kdf=TEST_KDF)
    browser = f"{sys.executable} {Path(__file__).with_name('browser_child.py')} %s"
    someone_else = person("gil", "Fieldcase.North.Caseworker")
    idp.at_browser = someone_else  # another person at the browser: not this laptop's user
    refused = run_cli(
        ["recover", "--sso"],
        folder,
        password=None,
        new_password="a brand new password",
        env={"BROWSER": browser},
    )
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "not enrolled to you" in refused.stderr
    idp.at_browser = fay
    done = run_cli(
        ["recover"],  # enrolled by single sign-on: recovered the same way, unasked
        folder,
        password=None,
        new_password="a brand new password",
        env={"BROWSER": browser},
    )
    assert done.returncode == 0, done.stderr
    assert "open again with the new password" in done.out
    Profile.open(folder, "a brand new password").close()
    with pytest.raises(Exception):
        Profile.open(folder, "the one fay forgot")


def test_a_revoked_laptop_enrolled_by_single_sign_on_is_wiped_even_when_renewal_is_due(
    idp: LoopbackProvider, service: ServerProcess, tmp_path: Path
) -> None:
    """IT revokes a stolen laptop: its renewal (due) meets the revocation first, and the sync
    still goes on to wipe the laptop, as for any revoked laptop."""
    from app import online, vault
    from sync.errors import DeviceRevoked
    from tests.support.server import admin

    profile = enrolled_by_sso(idp, service.url, tmp_path / "hal", "hal")
    try:
        renewed_hours_ago(profile, 9)
        revoked = admin(service.db_url, "revoke-device", "--user", "hal@council.example")
        assert revoked.returncode == 0, revoked.stderr
        with pytest.raises(DeviceRevoked) as caught:
            online.sync(profile)
    finally:
        profile.close()
    assert "erased" in caught.value.message
    assert not (tmp_path / "hal" / vault.KEY_FILE).exists()
    assert not (tmp_path / "hal" / "fieldcase.db").exists()


def test_the_service_says_how_people_sign_in(idp: LoopbackProvider, service: ServerProcess) -> None:
    client = ServiceClient(service.url)
    assert sso.ways(client) == SignInWays(password=True, sso=True)  # FIELDCASE_SIGN_IN=both
    # a public client's start says nothing of who redeems the code: a laptop from before
    # the confidential client reads it as it always has
    raw = requests.post(
        f"{service.url}/v1/auth/sso/start", headers={PROTOCOL_HEADER: "7"}, timeout=10
    )
    assert raw.status_code == 200 and "exchange" not in raw.json()
    # a service from before single sign-on has no such page: a user name and password
    assert sso.ways(ServiceClient(idp.base)) == SignInWays(password=True, sso=False)


def test_a_sign_in_run_out_is_renewed_by_signing_in_again_from_the_command(
    idp: LoopbackProvider, service: ServerProcess, tmp_path: Path
) -> None:
    """The provider's refresh tokens revoked (a password change): the next renewal asks the
    person to sign in again, and `fieldcase sign-in` (the browser) puts it right; someone
    else at the browser is told plainly and changes nothing."""
    from app import online
    from tests.support.kdf import TEST_KDF

    folder = tmp_path / "ned"
    ned = person("ned", "Fieldcase.North.Caseworker")
    idp.at_browser, idp.mfa = ned, True
    online.enrol_sso(folder, service.url, "ned's laptop password", Browser().open, kdf=TEST_KDF)
    profile = Profile.open(folder, "ned's laptop password", backup=False)
    try:
        with profile.session() as s:
            before = state.sso_link(s)
        assert before is not None
        idp.revoke_refresh_tokens()
        renewed_hours_ago(profile, 9)
        with pytest.raises(sso.SignInAgain):
            online.sync(profile)
    finally:
        profile.close()
    browser = f"{sys.executable} {Path(__file__).with_name('browser_child.py')} %s"
    idp.at_browser = person("ola", "Fieldcase.North.Caseworker")
    wrong = run_cli(["sign-in"], folder, password="ned's laptop password", env={"BROWSER": browser})
    assert wrong.returncode == 1 and "Traceback" not in wrong.stderr
    assert "this laptop is ned@council.example's" in wrong.stderr
    idp.at_browser = ned
    done = run_cli(["sign-in"], folder, password="ned's laptop password", env={"BROWSER": browser})
    assert done.returncode == 0, done.stderr
    assert "Signed in again" in done.out
    with Profile.open(folder, "ned's laptop password", backup=False) as profile:
        with profile.session() as s:
            after = state.sso_link(s)
        assert after is not None and after.refresh_token != before.refresh_token
        online.sync(profile)  # renewed just now: nothing asked
