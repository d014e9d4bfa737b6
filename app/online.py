"""Everything on the laptop that talks to the council's service: enrol, sync, recover. The
only part of ``app/`` outside the engine that builds a :class:`sync.client.ServiceClient`
(clashes, which are local, are the core's: :mod:`app.core.clashes`).

The CLI and the window both call these. The engine's errors reach them as they are: each is a
:class:`app.errors.SyncError` (a :class:`app.errors.FieldcaseError`) with a plain message and a
:class:`app.errors.SyncKind`.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import requests

from app import device_file, vault
from app.core.duplicates import pair_view
from app.core.views import AuditRow, WaitingPairs
from app.errors import FieldcaseError, SyncKind, UsageError
from app.site import SiteConfig
from app.store import state
from app.store.db import DB_FILE
from app.store.profile import Profile
from app.store.sync_adapter import SyncAdapter
from sync import errors as sync_errors
from sync import network, sso, words
from sync.client import (
    RetryPolicy,
    ServiceClient,
    Timeouts,
    case_history,
    decide_duplicate,
    duplicate_pairs,
)
from sync.clock import Clock, SystemClock
from sync.engine import SyncEngine, SyncProgress, SyncReport
from sync.network import NO_PROXY
from sync.protocol import (
    PROTOCOL_VERSION,
    DuplicateDecision,
    SignInWays,
    SsoSignInResponse,
    SsoStartResponse,
    TokenResponse,
)
from sync.store import DeviceCredential, SsoLink

log = logging.getLogger("fieldcase.core.sync")

#: Not secret: where this profile syncs and as which device, readable without the password so
#: that ``recover`` can ask the service for the recovery secret. The credential itself is kept
#: only inside the encrypted database.


@dataclass(frozen=True)
class ClientOptions:
    """How to talk to the service; tests and benchmarks pass shorter timeouts or a clock."""

    timeouts: Timeouts | None = None
    retry: RetryPolicy | None = None
    clock: Clock | None = None  # back-off waits and Retry-After dates are read on it
    protocol_version: int = PROTOCOL_VERSION


#: Someone is waiting at the screen: do not sit out long rate-limit waits, say so instead.
INTERACTIVE = ClientOptions(retry=RetryPolicy(attempts=4, max_retry_after=20.0))


def make_client(
    server_url: str,
    *,
    credential: DeviceCredential | None = None,
    site: SiteConfig | None = None,
    options: ClientOptions | None = None,
    cancel: threading.Event | None = None,
) -> ServiceClient:
    options = options or ClientOptions()
    ca_bundle = str(site.ca_bundle) if site is not None and site.ca_bundle else None
    return ServiceClient(
        server_url,
        credential=credential,
        ca_bundle=ca_bundle,
        proxy=site.proxy if site is not None else NO_PROXY,
        timeouts=options.timeouts,
        retry=options.retry,
        clock=options.clock,
        cancel=cancel,
        protocol_version=options.protocol_version,
    )


# ----------------------------------------------------------------------------- enrol


#: Asking how to sign in is a courtesy to the first screen: once, not retried.
ASK_ONCE = ClientOptions(retry=RetryPolicy(attempts=1, max_retry_after=0.0))


def sign_in_ways(
    server_url: str,
    *,
    site: SiteConfig | None = None,
    options: ClientOptions | None = None,
    cancel: threading.Event | None = None,
) -> SignInWays:
    """How people sign in to the service at ``server_url`` (the first screen offers those)."""
    client = make_client(server_url, site=site, options=options or ASK_ONCE, cancel=cancel)
    try:
        return sso.ways(client)
    finally:
        client.close()


@dataclass(frozen=True)
class EnrolResult:
    device_id: UUID
    username: str
    team: str
    report: SyncReport | None  # None when the first sync could not finish (enrolment stands)
    sync_problem: str | None = None
    profile: Profile | None = None  # still open, when asked for with keep_open=True


#: How the person proves who they are to the service: a password sign-in or the council's
#: single sign-on; either gives a user token to enrol this laptop with.
SignInStep = Callable[[ServiceClient], TokenResponse]


def enrol(
    profile_dir: Path,
    server_url: str,
    username: str,
    password: str,
    *,
    site: SiteConfig | None = None,
    device_name: str | None = None,
    options: ClientOptions | None = None,
    progress: Callable[[SyncProgress], None] | None = None,
    keep_open: bool = False,
    clock: Clock | None = None,
    kdf: vault.KdfCost | None = None,
) -> EnrolResult:
    """Register this laptop, make its encrypted profile, keep the device credential inside it,
    add the recovery wrap, and pull the user's cases. The password is never stored. ``kdf`` is
    the cost of the password wrap (default: the vault's tuned production cost)."""
    if not username.strip():
        raise UsageError("Give your user name, for example: fieldcase enrol --user ajones")
    return _enrol(
        profile_dir,
        server_url,
        password,
        lambda client: client.login(username.strip(), password),
        site=site,
        device_name=device_name,
        options=options,
        progress=progress,
        keep_open=keep_open,
        clock=clock,
        kdf=kdf,
    )


def enrol_sso(
    profile_dir: Path,
    server_url: str,
    local_password: str,
    open_browser: Callable[[str], object],
    *,
    site: SiteConfig | None = None,
    device_name: str | None = None,
    options: ClientOptions | None = None,
    progress: Callable[[SyncProgress], None] | None = None,
    keep_open: bool = False,
    clock: Clock | None = None,
    kdf: vault.KdfCost | None = None,
    cancel: threading.Event | None = None,
    browser_seconds: float = sso.BROWSER_SECONDS,
) -> EnrolResult:
    """As :func:`enrol`, the person signing in with the council's account in the browser
    (``open_browser(url)``; :mod:`sync.sso`). ``local_password`` is chosen on this laptop: it
    alone unlocks the encrypted profile, offline as online."""
    links: list[SsoLink] = []

    def sign_in(client: ServiceClient) -> TokenResponse:
        start, proof, answer = _browser_sign_in(
            client, open_browser, site, seconds=browser_seconds, cancel=cancel
        )
        links.append(_link_from(start, proof, answer, (clock or SystemClock()).now()))
        return answer

    return _enrol(
        profile_dir,
        server_url,
        local_password,
        sign_in,
        site=site,
        device_name=device_name,
        options=options,
        progress=progress,
        keep_open=keep_open,
        clock=clock,
        kdf=kdf,
        made=lambda profile: _keep_sso_links(profile, links),
        way=device_file.BY_SSO,
    )


def _browser_sign_in(
    client: ServiceClient,
    open_browser: Callable[[str], object],
    site: SiteConfig | None,
    *,
    seconds: float,
    cancel: threading.Event | None,
    fresh: bool = False,
) -> tuple[SsoStartResponse, sso.ProviderTokens | sso.ProviderCode, SsoSignInResponse]:
    """One sign-in with the council's account, its steps in :mod:`sync.sso`: the service's
    start, the browser and the provider, and the service's answer (``client`` keeps its
    user token)."""
    start = sso.start(client)
    proof = sso.browser_sign_in(
        start,
        open_browser,
        configure=_provider_session(site),
        seconds=seconds,
        cancel=cancel,
        fresh=fresh,
    )
    return start, proof, sso.sign_in(client, proof, start.nonce)


def _link_from(
    start: SsoStartResponse,
    proof: sso.ProviderTokens | sso.ProviderCode,
    answer: SsoSignInResponse,
    now: datetime,
) -> SsoLink:
    """What the laptop keeps to renew its sign-in without the browser: the provider's
    refresh token, from the provider itself or from the service that redeemed the code
    (empty: the provider gave none, so each renewal asks the person to sign in again)."""
    if start.exchange == "service":
        refresh = answer.refresh_token
    else:
        refresh = proof.refresh_token if isinstance(proof, sso.ProviderTokens) else None
    if not refresh:  # kept all the same: renewal then asks the person to sign in again
        log.warning("the council's provider gave no refresh token: renewal will ask again")
    return SsoLink(
        issuer=start.issuer,
        client_id=start.client_id,
        token_endpoint=start.token_endpoint,
        refresh_token=refresh or "",
        renewed_at=now,
        exchange=start.exchange or "laptop",
    )


def _keep_sso_links(profile: Profile, links: list[SsoLink]) -> None:
    for link in links:
        _keep_sso_link(profile, link)


def _provider_session(site: SiteConfig | None) -> Callable[[requests.Session, str], None]:
    """Trust and proxy for the council's sign-in service, as for Fieldcase's own."""
    ca_bundle = str(site.ca_bundle) if site is not None and site.ca_bundle else None
    proxy = site.proxy if site is not None else NO_PROXY

    def configure(session: requests.Session, url: str) -> None:
        network.configure(session, url, ca_bundle=ca_bundle, proxy=proxy)

    return configure


def _sso_link(profile: Profile) -> SsoLink | None:
    with profile.session() as s:
        return state.sso_link(s)


def _keep_sso_link(profile: Profile, link: SsoLink) -> None:
    with profile.session() as s, s.begin():
        state.set_sso_link(s, link)


def _renew_sso(
    profile: Profile,
    client: ServiceClient,
    site: SiteConfig | None,
    now: datetime,
    run: StoreCall,
) -> sso.RenewalRefused | None:
    """A laptop enrolled by single sign-on shows the service, every few hours, that the
    council's provider still vouches for its user (no browser: the provider's refresh token).
    A refusal is returned, for after the sync: the work on this laptop is sent first."""
    link = run(_sso_link, profile)
    if link is None or now - link.renewed_at < timedelta(hours=sso.RENEW_EVERY_HOURS):
        return None
    if not link.refresh_token:  # the provider gives none: the person signs in each time
        return sso.SignInAgain(detail="no refresh token to renew with")
    try:
        if link.exchange == "service":  # the service redeems it, with its client secret
            answer = sso.renew(client, refresh_token=link.refresh_token)
            kept = link.model_copy(update={"refresh_token": answer.refresh_token or ""})
            if not kept.refresh_token:
                raise sync_errors.ServiceError(
                    sync_errors.ServiceErrorKind.PROTOCOL, detail="sso/renew: no refresh token"
                )
        else:
            kept, id_token = sso.refresh(link, configure=_provider_session(site))
            run(_keep_sso_link, profile, kept)  # the provider may have replaced its token
            sso.renew(client, id_token=id_token)
    except sso.RenewalRefused as refused:
        log.warning("single sign-on renewal refused: %s", refused.detail)
        return refused
    except sync_errors.SyncError as err:
        # unreachable, the service failing, the laptop revoked...: the sync itself goes on
        # and meets it in its own way (a revoked laptop is wiped there); renewal is tried at
        # the next sync, as it is still due
        log.info("single sign-on renewal not done: %s (%s)", type(err).__name__, err.detail)
        return None
    run(_keep_sso_link, profile, kept.model_copy(update={"renewed_at": now}))
    log.info("single sign-on renewed")
    return None


def _enrol(
    profile_dir: Path,
    server_url: str,
    password: str,
    sign_in: SignInStep,
    *,
    site: SiteConfig | None,
    device_name: str | None,
    options: ClientOptions | None,
    progress: Callable[[SyncProgress], None] | None,
    keep_open: bool,
    clock: Clock | None,
    kdf: vault.KdfCost | None,
    made: Callable[[Profile], object] | None = None,
    way: str = device_file.BY_PASSWORD,
) -> EnrolResult:
    profile_dir = Path(profile_dir)
    if (profile_dir / vault.KEY_FILE).exists() or (profile_dir / DB_FILE).exists():
        raise vault.ProfileExists(profile_dir)
    client = make_client(server_url, site=site, options=options or INTERACTIVE)
    try:
        meta = client.meta()
        if meta.min_protocol_version > PROTOCOL_VERSION:
            raise sync_errors.UpdateRequired()
        token = sign_in(client)
        enrolled = client.enrol(device_name or socket.gethostname() or "laptop")
    finally:
        client.close()
    credential = DeviceCredential(
        server_url=client.base_url,
        device_id=enrolled.device_id,
        device_secret=enrolled.device_secret,
        username=token.username,
    )
    profile = Profile.create(
        profile_dir, password, user=token.username, team=token.team, site=site, clock=clock, kdf=kdf
    )
    try:
        adapter = SyncAdapter(profile)
        adapter.set_credential(credential)
        if made is not None:
            made(profile)
        from app.core.casework import Casework

        Casework(profile).set_case_types({t.code: t.label for t in meta.case_types})
        key = vault.unlock(profile_dir, password, clock=profile.clock)
        vault.add_recovery_wrap(profile_dir, key, enrolled.recovery_secret)
        device_file.write(
            profile_dir,
            server_url=credential.server_url,
            device_id=str(credential.device_id),
            username=credential.username,
            sign_in=way,
        )
        log.info("enrolled as device %s", credential.device_id)
        report: SyncReport | None = None
        problem_text: str | None = None
        try:
            report = sync(profile, site=site, options=options, progress=progress)
        except sync_errors.SyncError as problem:
            if problem.kind is SyncKind.REVOKED:
                raise
            problem_text = problem.message
    except BaseException:
        profile.close()
        raise
    if not keep_open:
        profile.close()
    return EnrolResult(
        credential.device_id,
        token.username,
        token.team,
        report,
        problem_text,
        profile if keep_open else None,
    )


# ----------------------------------------------------------------------------- sync


class NotEnrolled(FieldcaseError):
    """This profile was never linked to a Fieldcase service, so there is nothing to sync with."""

    default_message = (
        "This profile is not enrolled with a Fieldcase service, so there is nothing to sync "
        "with. Use `fieldcase enrol` to set up a profile that syncs."
    )


#: run ``fn(*args, **kwargs)`` where the profile may be used, and wait for its result
StoreCall = Callable[..., Any]


class HandedOffStore:
    """The engine's view of the store with every call handed to ``store_call``: the window
    runs the sync on its network worker and each store call on its one DB worker, so the
    profile is only ever used one call at a time. Each call is one whole store operation
    (its own transaction), so the hand-off never splits a transaction."""

    def __init__(self, store: SyncAdapter, store_call: StoreCall) -> None:
        self._store = store
        self._call = store_call

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._store, name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._call(target, *args, **kwargs)

        return call


def sync(
    profile: Profile,
    *,
    site: SiteConfig | None = None,
    options: ClientOptions | None = None,
    progress: Callable[[SyncProgress], None] | None = None,
    cancel: threading.Event | None = None,
    client: ServiceClient | None = None,
    server_url: str | None = None,
    store_call: StoreCall | None = None,
) -> SyncReport:
    """One full sync of an open profile: the ONE sync entry point, for the CLI and the window.

    ``server_url`` overrides where the enrolment said the service is (the demo's service moves
    port); ``store_call`` runs each store call somewhere else (the window's DB worker) while the
    network talk stays on the calling thread. A cancelled sync is a SyncError of kind
    CANCELLED; any SyncError says what went wrong by its kind."""
    adapter = SyncAdapter(profile)
    store: Any = adapter if store_call is None else HandedOffStore(adapter, store_call)
    credential = store.credential()
    if credential is None:
        raise NotEnrolled()
    own_client = client is None
    if client is None:
        client = make_client(
            server_url or credential.server_url,
            credential=credential,
            site=site,
            options=options,
            cancel=cancel,
        )
    try:
        # one clock for the whole sync: the one the options name (tests), else the profile's
        clock = options.clock if options is not None and options.clock is not None else None
        clock = clock or profile.clock
        run: StoreCall = store_call or (lambda fn, *args, **kwargs: fn(*args, **kwargs))
        refused = _renew_sso(profile, client, site, clock.now(), run)
        engine = SyncEngine(store, client, progress=progress, cancel=cancel, clock=clock)
        report = engine.sync()
        if refused is not None:  # said once the work on this laptop has been sent
            refused.report = report
            raise refused
        return report
    finally:
        if own_client:
            client.close()


#: What the History tab says above the case's history, by where it came from.
HISTORY_FROM_SERVICE = (
    "Everyone's views and changes, from the central service. What was done on this laptop "
    "since its last sync shows here after the next sync."
)
HISTORY_LOCAL_ROLE = (
    "This laptop's own record of the case. Managers and governance officers also see "
    "everyone else's views and changes."
)
HISTORY_LOCAL_OFFLINE = (
    "This laptop's own record of the case: the central service could not be reached for "
    "everyone's views and changes. They show here when it can be."
)


@dataclass(frozen=True)
class ServiceHistory:
    """A case's history as the service has it (``rows`` None: only the laptop's own, with
    ``note`` saying why), for the History tab."""

    rows: list[AuditRow] | None
    note: str
    #: the service refused for this user's role: asking again for another case is no use
    not_for_role: bool = False


def device_credential(profile: Profile) -> DeviceCredential | None:
    """This laptop's enrolment (None: never enrolled)."""
    with profile.session() as s:
        return state.credential(s)


@dataclass(frozen=True)
class Asked:
    """What the service answered a question the window asked (``failed``: "role" when this
    user's role may not ask it, "refused" with the service's own words in ``said``, "offline"
    for anything else, the log having why)."""

    answer: Any = None
    failed: str | None = None
    said: str = ""


def ask_service(
    credential: DeviceCredential,
    call: Callable[[ServiceClient], Any],
    *,
    what: str,
    site: SiteConfig | None = None,
    options: ClientOptions | None = None,
    server_url: str | None = None,
    cancel: threading.Event | None = None,
) -> Asked:
    """``call(client)`` with a client signed in as this laptop (the window's questions to the
    service beside the sync: a case's history, possible duplicates); never raises."""
    client = make_client(
        server_url or credential.server_url,
        credential=credential,
        site=site,
        options=options or INTERACTIVE,
        cancel=cancel,
    )
    try:
        return Asked(call(client))
    except sync_errors.ServiceError as problem:
        if problem.reason is sync_errors.ServiceErrorKind.FORBIDDEN:
            return Asked(failed="role", said=str(problem))
        if problem.reason is sync_errors.ServiceErrorKind.CONFLICT:
            return Asked(failed="refused", said=str(problem))
        log.info("no %s from the service: %s", what, problem.reason)
    except sync_errors.SyncError as problem:
        log.info("no %s from the service: %s", what, problem.kind)
    finally:
        client.close()
    return Asked(failed="offline")


def service_history(
    credential: DeviceCredential | None,
    case_id: UUID,
    *,
    site: SiteConfig | None = None,
    options: ClientOptions | None = None,
    server_url: str | None = None,
    cancel: threading.Event | None = None,
) -> ServiceHistory:
    """Ask the service for the case's full history (managers and governance officers). Any
    failure leaves the laptop's own record in place and says why in plain words."""
    if credential is None:
        return ServiceHistory(None, HISTORY_LOCAL_OFFLINE)
    asked = ask_service(
        credential,
        lambda client: case_history(client, case_id),
        what="history",
        site=site,
        options=options,
        server_url=server_url,
        cancel=cancel,
    )
    if asked.failed == "role":
        return ServiceHistory(None, HISTORY_LOCAL_ROLE, not_for_role=True)
    if asked.failed is not None:
        return ServiceHistory(None, HISTORY_LOCAL_OFFLINE)
    answer = asked.answer
    rows = [
        AuditRow(
            at=item.at,
            actor=item.actor,
            action=item.action,
            record_kind=item.record_kind or "case",
            record_id=case_id,
            detail=(
                f"received {words.day(item.received_at)}"
                if item.from_laptop and item.received_at.date() != item.at.date()
                else ("on the laptop" if item.from_laptop else "")
            ),
        )
        for item in answer.items
    ]
    return ServiceHistory(rows, HISTORY_FROM_SERVICE)


def fresh_ref_blocks(
    profile: Profile,
    *,
    site: SiteConfig | None = None,
    options: ClientOptions | None = None,
) -> bool:
    """Fetch fresh reserved reference numbers now (after a restore, before the next case is
    made). False when the profile was never enrolled or the service cannot be reached; the
    next sync then fetches them, and cases made meanwhile get a fallback reference."""
    adapter = SyncAdapter(profile)
    credential = adapter.credential()
    if credential is None:
        return False
    client = make_client(
        credential.server_url, credential=credential, site=site, options=options or INTERACTIVE
    )
    try:
        answer = client.ref_blocks(adapter.unused_refs())
    except sync_errors.SyncError as problem:
        # whatever it is (offline, revoked, ...), the next sync meets it and says so
        log.info("could not fetch fresh reference numbers: %s", problem.kind)
        return False
    finally:
        client.close()
    adapter.add_ref_blocks(answer.blocks, answer.device_code)
    return True


def server_url_of(profile: Profile) -> str:
    """Where this profile syncs ("" when it was never enrolled)."""
    with profile.session() as s:
        credential = state.credential(s)
    return credential.server_url if credential is not None else ""


# ----------------------------------------------------------------------- signing in again


class NotThisLaptopsUser(FieldcaseError):
    """Someone else signed in at the browser."""

    def __init__(self, signed_in: str, enrolled: str) -> None:
        super().__init__(
            f"The browser signed in {signed_in}, but this laptop is {enrolled}'s. Sign out of "
            "the council's sign-in page in the browser, then sign in again as yourself.",
            detail="another user signed in again",
        )


def sign_in_again(
    profile: Profile,
    open_browser: Callable[[str], object],
    *,
    site: SiteConfig | None = None,
    options: ClientOptions | None = None,
    cancel: threading.Event | None = None,
    server_url: str | None = None,
    store_call: StoreCall | None = None,
    browser_seconds: float = sso.BROWSER_SECONDS,
) -> None:
    """A laptop enrolled by single sign-on whose sign-in ran out (:class:`sync.sso.SignInAgain`)
    signs its user in again in the browser: the service hears the provider vouch for them
    (which ends a grace period a refused renewal started), and the laptop keeps the provider's
    new refresh token, so renewal goes on without the browser. ``store_call`` as for
    :func:`sync`. Nothing is unlocked by it: the profile is open already."""
    run: StoreCall = store_call or (lambda fn, *args, **kwargs: fn(*args, **kwargs))
    credential = run(device_credential, profile)
    if credential is None:
        raise NotEnrolled()
    client = make_client(
        server_url or credential.server_url,
        site=site,
        options=options or INTERACTIVE,
        cancel=cancel,
    )
    try:
        start, proof, answer = _browser_sign_in(
            client, open_browser, site, seconds=browser_seconds, cancel=cancel
        )
    finally:
        client.close()
    if answer.username != credential.username:
        raise NotThisLaptopsUser(answer.username, credential.username)
    if cancel is not None and cancel.is_set():  # the window locked meanwhile: keep nothing
        raise sso.SignInCancelled()
    clock = options.clock if options is not None and options.clock is not None else None
    run(_keep_sso_link, profile, _link_from(start, proof, answer, (clock or profile.clock).now()))
    log.info("signed in again with the council's account")


# ----------------------------------------------------------------------------- recovery


def recover(
    profile_dir: Path,
    account_password: str,
    new_password: str,
    *,
    username: str | None = None,
    site: SiteConfig | None = None,
    options: ClientOptions | None = None,
    clock: Clock | None = None,
    kdf: vault.KdfCost | None = None,
) -> Profile:
    """Sign in online (e.g. after IT reset the account password), fetch this device's recovery
    secret, unwrap the database key with it and set ``new_password`` (wrapped at cost ``kdf``,
    default the production cost). Nothing in the database changes, so unsynced work survives.
    Returns the opened profile."""
    user = username or device_file.read(Path(profile_dir)).get("username", "")
    return _recover(
        Path(profile_dir),
        new_password,
        lambda client: client.login(user, account_password),
        site=site,
        options=options,
        clock=clock,
        kdf=kdf,
    )


def recover_sso(
    profile_dir: Path,
    new_password: str,
    open_browser: Callable[[str], object],
    *,
    site: SiteConfig | None = None,
    options: ClientOptions | None = None,
    clock: Clock | None = None,
    kdf: vault.KdfCost | None = None,
    cancel: threading.Event | None = None,
    browser_seconds: float = sso.BROWSER_SECONDS,
) -> Profile:
    """As :func:`recover`, the person proving who they are with the council's account in the
    browser (a laptop enrolled by single sign-on has no account password)."""

    def sign_in(client: ServiceClient) -> TokenResponse:
        # signed in again now, whatever the browser remembers (fresh)
        return _browser_sign_in(
            client, open_browser, site, seconds=browser_seconds, cancel=cancel, fresh=True
        )[2]

    return _recover(
        Path(profile_dir), new_password, sign_in, site=site, options=options, clock=clock, kdf=kdf
    )


def _recover(
    profile_dir: Path,
    new_password: str,
    sign_in: SignInStep,
    *,
    site: SiteConfig | None,
    options: ClientOptions | None,
    clock: Clock | None,
    kdf: vault.KdfCost | None,
) -> Profile:
    device = device_file.read(profile_dir)
    client = make_client(device["server_url"], site=site, options=options or INTERACTIVE)
    try:
        sign_in(client)
        answer = client.recovery(UUID(device["device_id"]))
    finally:
        client.close()
    kwargs: dict[str, Any] = {"kdf": kdf}
    if site is not None:
        kwargs["min_password_length"] = site.min_password_length
    key = vault.recover(profile_dir, answer.recovery_secret, new_password, **kwargs)
    log.info("recovered the profile of device %s", device["device_id"])
    return Profile.open_with_key(profile_dir, key, clock=clock)


# ---------------------------------------------------------------- possible duplicates

DUPLICATES_OFFLINE = (
    "The central service could not be reached, so the possible duplicates cannot be shown. "
    "They show here when it can be."
)
DUPLICATES_NOT_FOR_ROLE = "Only a team manager or a governance officer reviews possible duplicates."
NONE_WAITING = "No possible duplicates are waiting for your review."
NOT_SENT = (
    "The decision could not be sent to the central service. Nothing was changed; try again "
    "when it can be reached."
)


class DecisionFailed(FieldcaseError):
    """A reviewer's decision on possible duplicates was not made (the message says why)."""


def waiting_pairs(
    credential: DeviceCredential | None,
    *,
    site: SiteConfig | None = None,
    options: ClientOptions | None = None,
    server_url: str | None = None,
    cancel: threading.Event | None = None,
) -> WaitingPairs:
    """Ask the service for the possible duplicates waiting for this user's review (team
    managers and governance officers); any failure says why in plain words."""
    if credential is None:
        return WaitingPairs(None, DUPLICATES_OFFLINE)
    asked = ask_service(
        credential,
        duplicate_pairs,
        what="possible duplicates",
        site=site,
        options=options,
        server_url=server_url,
        cancel=cancel,
    )
    if asked.failed is not None:
        note = DUPLICATES_NOT_FOR_ROLE if asked.failed == "role" else DUPLICATES_OFFLINE
        return WaitingPairs(None, note)
    answer = asked.answer
    pairs = [pair_view(pair) for pair in answer.pairs]
    return WaitingPairs(pairs, "" if pairs else NONE_WAITING, answer.more)


def decide_pair(
    credential: DeviceCredential | None,
    keep: UUID,
    other: UUID,
    *,
    same: bool,
    reason: str,
    site: SiteConfig | None = None,
    options: ClientOptions | None = None,
    server_url: str | None = None,
    cancel: threading.Event | None = None,
) -> str:
    """Send a reviewer's decision (merge ``other`` into ``keep``, or not the same person);
    what to tell them. :class:`DecisionFailed` when it was not made."""
    why = " ".join(reason.split())
    if credential is None:
        raise DecisionFailed(DUPLICATES_OFFLINE)
    if not why:
        raise DecisionFailed("Say why first: it is kept in the audit trail.")
    decision = DuplicateDecision(keep=keep, other=other, same=same, reason=why[:1000])
    asked = ask_service(
        credential,
        lambda client: decide_duplicate(client, decision),
        what="decision on possible duplicates",
        site=site,
        options=options,
        server_url=server_url,
        cancel=cancel,
    )
    if asked.failed in ("role", "refused"):
        raise DecisionFailed(asked.said)
    if asked.failed is not None:
        raise DecisionFailed(NOT_SENT)
    return str(asked.answer.message)
