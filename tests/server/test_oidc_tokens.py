"""The service's checks of the council's ID tokens (issue 16), against a real OpenID Connect
provider on loopback (tests/support/oidc_provider.py): its configuration and keys fetched over
HTTP, tokens signed with its RSA keys, key rotation, and each way a token must be refused."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from server.oidc import (
    KEY_MAX_AGE_SECONDS,
    KEY_RETRY_SECONDS,
    Provider,
    ProviderConfig,
    SsoError,
    SsoKind,
)
from sync.clock import ManualClock
from tests.support.oidc_provider import CLIENT_ID, LoopbackProvider, Person, running

NONCE = "n-0S6_WzA2Mj"
PAT = Person(
    sub="AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
    username="pat.morgan@council.example",
    name="Pat Morgan",
    email="pat.morgan@council.example",
    roles=["Fieldcase.Caseworker.North"],
)


@pytest.fixture(params=["generic", "entra"])
def idp(request: pytest.FixtureRequest) -> Iterator[LoopbackProvider]:
    with running(request.param) as provider:
        yield provider


def _service(idp: LoopbackProvider, clock: ManualClock | None = None, **config: object) -> Provider:
    return Provider(
        ProviderConfig(issuer=idp.issuer, client_id=CLIENT_ID, **config),  # type: ignore[arg-type]
        clock=clock or ManualClock(datetime.now(UTC)),
    )


def _refused(service: Provider, token: str, nonce: str = NONCE) -> SsoError:
    with pytest.raises(SsoError) as caught:
        service.verify_id_token(token, nonce=nonce)
    assert "Traceback" not in caught.value.message
    return caught.value


def test_a_good_token_names_the_person_by_their_stable_subject(idp: LoopbackProvider) -> None:
    service = _service(idp)
    who = service.verify_id_token(idp.id_token(PAT, nonce=NONCE), nonce=NONCE)
    # Entra ID's object id where the token has one (stable across renames), else sub
    assert who.subject == (PAT.oid if idp.shape == "entra" else PAT.sub)
    assert (who.username, who.name, who.roles) == (PAT.username, PAT.name, tuple(PAT.roles))
    assert "mfa" in who.methods
    # the configuration and keys came over HTTP from the provider's own pages
    assert any(path.endswith("/.well-known/openid-configuration") for path in idp.requests)
    assert any(path.endswith("/keys") for path in idp.requests)


def test_tokens_for_another_client_or_from_another_issuer_are_refused(
    idp: LoopbackProvider,
) -> None:
    service = _service(idp)
    other = _refused(service, idp.id_token(PAT, nonce=NONCE, audience="another-app"))
    assert (other.kind, other.detail) == (SsoKind.TOKEN, "claim aud")
    # two audiences, ours among them, but issued to the other one (azp)
    both = idp.id_token(PAT, nonce=NONCE, audience=[CLIENT_ID, "another-app"], azp="another-app")
    assert _refused(service, both).detail == "claim azp"
    evil = idp.id_token(PAT, nonce=NONCE, iss="http://127.0.0.1:1/evil")
    assert _refused(service, evil).detail == "claim iss"
    assert _refused(service, idp.id_token(PAT, nonce=NONCE), nonce="another-sign-in").detail == (
        "claim nonce"
    )


def test_a_bad_signature_an_unknown_key_and_no_signature_are_refused(
    idp: LoopbackProvider,
) -> None:
    service = _service(idp)
    good = idp.id_token(PAT, nonce=NONCE)
    head, body, signature = good.split(".")
    tampered = idp.id_token(PAT, nonce=NONCE, roles=["Fieldcase.Admin.North"]).split(".")[1]
    assert _refused(service, f"{head}.{tampered}.{signature}").detail == "bad signature"
    stranger = RSAKey.generate_key(2048, parameters={"kid": "someone-else"})
    assert _refused(service, idp.id_token(PAT, nonce=NONCE, key=stranger)).detail == (
        "signed by an unknown key"
    )
    # HS256 with a secret anyone might know, and "none": never believed
    shared = OctKey.generate_key(256, parameters={"kid": idp.signing_key.kid})
    hs = jwt.encode(
        {"alg": "HS256", "kid": shared.kid}, {"iss": idp.issuer, "nonce": NONCE}, shared
    )
    assert _refused(service, hs).kind is SsoKind.TOKEN
    assert _refused(service, f"{head}.{body}.").kind is SsoKind.TOKEN
    assert _refused(service, "not a token at all").kind is SsoKind.TOKEN


def test_an_expired_token_says_sign_in_again(idp: LoopbackProvider) -> None:
    clock = ManualClock(datetime.now(UTC))
    service = _service(idp, clock)
    token = idp.id_token(PAT, nonce=NONCE, lifetime=600, issued_at=clock.now().timestamp())
    assert service.verify_id_token(token, nonce=NONCE).subject
    clock.advance(600 + 119)  # within the two minutes' leeway for clocks
    assert service.verify_id_token(token, nonce=NONCE).subject
    clock.advance(2)
    refused = _refused(service, token)
    assert refused.detail == "expired" and "Sign in again" in refused.message


def test_keys_rotated_by_the_provider_are_fetched_again_but_not_for_every_stranger(
    idp: LoopbackProvider,
) -> None:
    clock = ManualClock(datetime.now(UTC))
    service = _service(idp, clock)
    assert service.verify_id_token(idp.id_token(PAT, nonce=NONCE), nonce=NONCE)
    fetched = idp.requests.count(idp.requests[-1])  # the keys page, once so far
    clock.advance(30)
    idp.rotate(keep_old=False)  # the old key gone at once: the harshest rotation
    assert service.verify_id_token(idp.id_token(PAT, nonce=NONCE), nonce=NONCE)
    keys_path = idp.requests[-1]
    assert keys_path.endswith("/keys") and idp.requests.count(keys_path) == fetched + 1
    # tokens naming keys nobody has: at most one fetch in the gap, however many come
    stranger = RSAKey.generate_key(2048, parameters={"kid": "made-up"})
    for _ in range(5):
        _refused(service, idp.id_token(PAT, nonce=NONCE, key=stranger))
    assert idp.requests.count(keys_path) == fetched + 1


def test_multi_factor_required_by_the_site(idp: LoopbackProvider) -> None:
    service = _service(idp, require_mfa=True)
    assert service.verify_id_token(idp.id_token(PAT, nonce=NONCE, mfa=True), nonce=NONCE)
    refused = _refused(service, idp.id_token(PAT, nonce=NONCE, mfa=False))
    assert refused.kind is SsoKind.MFA and "second step" in refused.message
    # a provider that says it with a level (acr) instead
    by_level = _service(idp, require_mfa=True, mfa_levels=frozenset({"urn:council:loa:2"}))
    token = idp.id_token(PAT, nonce=NONCE, mfa=False, acr="urn:council:loa:2")
    assert by_level.verify_id_token(token, nonce=NONCE).level == "urn:council:loa:2"
    # not required: a password-only sign-in is accepted
    assert _service(idp).verify_id_token(idp.id_token(PAT, nonce=NONCE, mfa=False), nonce=NONCE)


def test_a_provider_that_names_another_issuer_or_cannot_be_reached_is_said_plainly() -> None:
    with running() as idp:
        wrong = Provider(ProviderConfig(issuer=idp.issuer + "/", client_id=CLIENT_ID))
        with pytest.raises(SsoError) as caught:
            wrong.metadata()
        assert caught.value.kind is SsoKind.PROVIDER
        assert "FIELDCASE_OIDC_ISSUER" in caught.value.message
        gone = idp.issuer
    started = time.monotonic()
    with pytest.raises(SsoError) as caught:
        Provider(ProviderConfig(issuer=gone, client_id=CLIENT_ID)).metadata()
    assert caught.value.kind is SsoKind.PROVIDER and "could not be reached" in caught.value.message
    assert time.monotonic() - started < 30
    with pytest.raises(SsoError) as caught:
        ProviderConfig(issuer="http://login.council.example", client_id=CLIENT_ID)
    assert "https://" in caught.value.message


def test_keys_held_an_hour_are_fetched_again_so_a_withdrawn_key_stops_being_believed(
    idp: LoopbackProvider,
) -> None:
    clock = ManualClock(datetime.now(UTC))
    service = _service(idp, clock)
    old_key = idp.signing_key
    lasting = 3 * 3600  # a token that outlives the check, so only the key decides

    def signed_by_old_key() -> str:
        now = clock.now().timestamp()
        return idp.id_token(PAT, nonce=NONCE, key=old_key, issued_at=now, lifetime=lasting)

    assert service.verify_id_token(signed_by_old_key(), nonce=NONCE).subject
    idp.rotate(keep_old=False)  # the provider withdraws the old key (compromised, say)
    clock.advance(KEY_MAX_AGE_SECONDS - 60)
    assert service.verify_id_token(signed_by_old_key(), nonce=NONCE).subject  # not yet known
    clock.advance(120)  # the keys held are an hour old: fetched again at this token
    assert _refused(service, signed_by_old_key()).detail == "signed by an unknown key"
    # a provider out of reach at the hour keeps the keys held, and tokens signed by them work
    fresh = Provider(service.config, clock=clock)
    current = idp.signing_key
    assert fresh.verify_id_token(
        idp.id_token(PAT, nonce=NONCE, key=current, issued_at=clock.now().timestamp()),
        nonce=NONCE,
    ).subject
    fresh.metadata()["jwks_uri"] = "http://127.0.0.1:1/keys"  # nothing listens there
    clock.advance(KEY_MAX_AGE_SECONDS + 1)
    token = idp.id_token(PAT, nonce=NONCE, key=current, issued_at=clock.now().timestamp())
    assert fresh.verify_id_token(token, nonce=NONCE).subject
    # ...and is not asked again at every token meanwhile, but after a few minutes
    asked = len(idp.requests)
    fresh.metadata()["jwks_uri"] = f"{idp.issuer}/keys"
    clock.advance(KEY_RETRY_SECONDS / 2)
    assert fresh.verify_id_token(token, nonce=NONCE).subject
    assert len(idp.requests) == asked
    clock.advance(KEY_RETRY_SECONDS)
    assert fresh.verify_id_token(token, nonce=NONCE).subject
    assert len(idp.requests) == asked + 1  # fetched again, from the provider now back
