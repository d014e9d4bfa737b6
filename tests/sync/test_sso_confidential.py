"""Fieldcase registered at the council's provider as a confidential client (issue 16): the
service holds the client secret (``FIELDCASE_OIDC_CLIENT_SECRET``), so the laptop hands it
the provider's authorization code (with its PKCE verifier) and, at renewal, the refresh token,
and the service redeems them at the provider's token endpoint. The loopback provider's token
endpoint takes nothing from a client that does not show the secret, so every sign-in here
that works went through the service. A real service process, the provider on loopback."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.store import state
from sync import sso
from sync.client import RetryPolicy, ServiceClient, _json_body
from sync.errors import AuthFailed, DeviceRevoked, NetworkError, ServiceError
from sync.protocol import SsoRenewRequest, SsoSignInRequest
from tests.support.oidc_provider import LoopbackProvider, running
from tests.support.server import ServerProcess
from tests.support.sso_laptop import (
    NORTH_CASEWORKER,
    Browser,
    enrolled_by_sso,
    person,
    renewed_hours_ago,
    sso_service,
)
from tests.tools.faultproxy import FaultProxy

SECRET = "the council's client secret for Fieldcase"
NONCE = "n" * 32


@pytest.fixture(scope="module")
def idp() -> Iterator[LoopbackProvider]:
    with running("generic") as provider:  # no auth methods listed: HTTP Basic, the default
        provider.client_secret = SECRET
        yield provider


@pytest.fixture(scope="module")
def service(
    idp: LoopbackProvider, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("confidential")
    with sso_service(
        idp,
        folder,
        NORTH_CASEWORKER,
        FIELDCASE_OIDC_CLIENT_SECRET=SECRET,
        FIELDCASE_SSO_GRACE_HOURS="0",  # a leaver's laptops go at their next contact
    ) as srv:
        yield srv


def test_the_wire_takes_one_proof_of_a_sign_in() -> None:
    code = {"code": "abc", "code_verifier": "v" * 43, "redirect_uri": "http://127.0.0.1:5/"}
    SsoSignInRequest(nonce=NONCE, **code)
    SsoSignInRequest(nonce=NONCE, id_token="a.b.c")
    for wrong in (
        {},  # neither
        {"id_token": "a.b.c", **code},  # both
        {"code": "abc", "code_verifier": "v" * 43},  # a code without where it was sent
    ):
        with pytest.raises(ValidationError):
            SsoSignInRequest(nonce=NONCE, **wrong)
    with pytest.raises(ValidationError):
        SsoRenewRequest(id_token="a.b.c", refresh_token="r")
    with pytest.raises(ValidationError):
        SsoRenewRequest()
    # what is not given is left off the wire, so a service from before these fields reads it
    sent = json.loads(gzip.decompress(_json_body(SsoRenewRequest(id_token="a.b.c"))))
    assert sent == {"id_token": "a.b.c"}
    sent = json.loads(gzip.decompress(_json_body(SsoSignInRequest(nonce=NONCE, id_token="x"))))
    assert sent == {"id_token": "x", "nonce": NONCE}


def test_the_service_redeems_the_code_and_renews_with_its_secret(
    idp: LoopbackProvider, service: ServerProcess, tmp_path: Path
) -> None:
    from app import online
    from app.core import Casework

    start = sso.start(ServiceClient(service.url))
    assert start.exchange == "service"
    idp.at_browser = person("lee", "Fieldcase.North.Caseworker")
    posts = sum(1 for path in idp.requests if path.endswith("/token"))
    profile = enrolled_by_sso(idp, service.url, tmp_path / "lee", "lee")
    lee = idp.at_browser
    assert lee is not None
    try:
        # one code redeemed, by the service (the laptop has no secret to show)
        assert sum(1 for path in idp.requests if path.endswith("/token")) == posts + 1
        with profile.session() as s:
            first = state.sso_link(s)
        assert first is not None and first.exchange == "service" and first.refresh_token

        renewed_hours_ago(profile, 9)
        online.sync(profile)  # the service renews with the refresh token the laptop keeps
        with profile.session() as s:
            renewed = state.sso_link(s)
        assert renewed is not None and renewed.refresh_token != first.refresh_token
        assert renewed.renewed_at > first.renewed_at

        lee.enabled = False  # HR closed the account at the provider
        renewed_hours_ago(profile, 9)
        ref = Casework(profile).create_case("housing_repair", "Left Behind", {})
        with pytest.raises(sso.SignInAgain) as told:
            online.sync(profile)
        assert "Sign in again" in told.value.message
        assert Casework(profile).pending_count() == 0, ref  # sent before it was said
        # the refusal started the grace period (0 hours here): the next contact wipes it
        with pytest.raises(DeviceRevoked):
            online.sync(profile)
    finally:
        profile.close()


def test_a_lost_renewal_answer_costs_a_sign_in_not_the_laptop(
    idp: LoopbackProvider, service: ServerProcess, tmp_path: Path
) -> None:
    """The provider replaces the refresh token at each renewal; when the laptop never hears
    the service's answer (the link dropped), it still holds the old one, which the provider
    then refuses. The laptop asks its person to sign in again, and once they have, it goes on
    syncing: the grace period the refusal started (0 hours here) ended by the sign-in."""
    from app import online

    profile = enrolled_by_sso(idp, service.url, tmp_path / "noa", "noa")
    try:
        with profile.session() as s:
            held = state.sso_link(s)
        assert held is not None
        renewed_hours_ago(profile, 9)
        online.sync(profile)  # renewed: the provider replaced the token the laptop held
        with profile.session() as s, s.begin():  # ...but the laptop never heard the answer
            state.set_sso_link(s, held.model_copy(update={"renewed_at": held.renewed_at}))
        renewed_hours_ago(profile, 9)
        with pytest.raises(sso.SignInAgain):
            online.sync(profile)
        online.sign_in_again(profile, Browser().open, browser_seconds=30)
        online.sync(profile)  # not revoked: the sign-in ended the grace period
        with profile.session() as s:
            now_held = state.sso_link(s)
        assert now_held is not None and now_held.refresh_token != held.refresh_token
        renewed_hours_ago(profile, 9)
        online.sync(profile)  # and renewal goes on without the browser
    finally:
        profile.close()


def test_a_secret_the_provider_no_longer_takes_is_said_plainly(
    idp: LoopbackProvider, service: ServerProcess
) -> None:
    idp.at_browser = person("mo", "Fieldcase.North.Caseworker")
    idp.client_secret = "rotated at the provider, not yet at the service"
    client = ServiceClient(service.url, retry=RetryPolicy(attempts=2, base=0.01, cap=0.02))
    try:
        start = sso.start(client)
        proof = sso.browser_sign_in(start, Browser().open, configure=lambda s, u: None, seconds=30)
        assert isinstance(proof, sso.ProviderCode)
        with pytest.raises(ServiceError) as refused:
            sso.sign_in(client, proof, start.nonce)
        assert refused.value.message == sso.SSO_UNAVAILABLE  # the person: try again, tell IT
        # IT: the service's log names the setting to check
        assert "FIELDCASE_OIDC_CLIENT_SECRET" in service.log_tail(20_000)
        # a code the service never saw redeemed: refused as a sign-in, not a server fault
        idp.client_secret = SECRET
        start = sso.start(client)
        forged = sso.ProviderCode("not-a-code", "v" * 43, "http://127.0.0.1:9/")
        with pytest.raises(AuthFailed) as forged_refused:
            sso.sign_in(client, forged, start.nonce)
        assert forged_refused.value.message == sso.SSO_REFUSED
        # a redirect that is not this laptop's loopback: refused before the provider is asked
        posts = len(idp.requests)
        elsewhere = sso.ProviderCode("abc", "v" * 43, "https://elsewhere.example/cb")
        with pytest.raises(Exception) as not_here:
            sso.sign_in(client, elsewhere, start.nonce)
        assert "did not come back to this laptop" in str(not_here.value)
        assert len(idp.requests) == posts
    finally:
        idp.client_secret = SECRET
        client.close()


def test_a_code_whose_answer_is_lost_is_not_sent_again(
    idp: LoopbackProvider, service: ServerProcess
) -> None:
    """The provider redeems a code once: sent again after a lost answer, it would be refused
    as a forgery. So the laptop never retries it; the person is told the link dropped, and the
    next sign-in (a new code) works."""
    host, port = service.url.removeprefix("http://").split(":")
    idp.at_browser = person("ash", "Fieldcase.North.Caseworker")
    with FaultProxy((host, int(port))) as proxy:
        client = ServiceClient(proxy.url, retry=RetryPolicy(attempts=4, base=0.01, cap=0.02))
        try:
            start = sso.start(client)
            proof = sso.browser_sign_in(
                start, Browser().open, configure=lambda s, u: None, seconds=30
            )
            assert isinstance(proof, sso.ProviderCode)
            proxy.cut("/v1/auth/sso", "down", 0)  # the service answered; the laptop hears nothing
            with pytest.raises(NetworkError) as lost:
                sso.sign_in(client, proof, start.nonce)
            assert "Could not reach the Fieldcase service" in lost.value.message
            assert [r.path for r in proxy.log].count("/v1/auth/sso") == 1
            start = sso.start(client)  # signing in again: a new code
            proof = sso.browser_sign_in(
                start, Browser().open, configure=lambda s, u: None, seconds=30
            )
            assert sso.sign_in(client, proof, start.nonce).username == "ash@council.example"
        finally:
            client.close()
