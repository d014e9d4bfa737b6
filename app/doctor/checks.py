"""The checks behind ``fieldcase doctor``: is this laptop ready to work and to sync?

Each check ends as one :class:`Check`: OK, Problem or Skipped, a plain-English explanation and,
when something is wrong or was skipped, what to do. Nothing personal is ever put in a check:
no names, case references or note text, and the profile folder is shown with the home folder
as ``~`` (a home folder is often named after its owner). The device id, the service's
address and the site policy are not personal; the help desk needs them.

The network checks use the sync client's own settings (the site's CA bundle, https except to
this computer itself, no proxies from the environment), with one try and short timeouts so
the help desk is not kept waiting.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import ssl
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from app import __version__
from app.errors import FieldcaseError
from app.logs import LOG_FILE
from app.paths import log_dir
from app.site import (
    KEYS,
    ORIGIN_FILE,
    ORIGIN_INSTALLER,
    ORIGIN_POLICY,
    ORIGIN_SHOWN,
    SiteConfig,
    SiteConfigError,
    ignored_override,
    load_site_config,
)
from app.site_registry import INSTALLER_KEY, POLICY_KEY, shown_key
from sync import words
from sync.clock import Clock, SystemClock
from sync.network import trust_context
from sync.proxy import proxy_shown

log = logging.getLogger("fieldcase.doctor")

#: A laptop clock further than this from the service's is a problem (tokens, audit times).
MAX_CLOCK_SKEW = timedelta(minutes=5)
#: Less free space than this in the profile's disk is a problem (backups need room).
MIN_FREE_BYTES = 500 * 1024 * 1024
#: A certificate expiring sooner than this is worth a call to IT now.
CERT_WARNING = timedelta(days=14)
NETWORK_TIMEOUT = 5.0
LINE_WIDTH = 96
SQLITE_PLAIN_HEADER = b"SQLite format 3\x00"


class Status(StrEnum):
    OK = "OK"
    PROBLEM = "Problem"
    SKIPPED = "Skipped"


@dataclass(frozen=True)
class Check:
    """The outcome of one check. ``facts`` are the same findings for ``--json`` readers."""

    key: str
    title: str
    status: Status
    message: str
    action: str = ""
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Report:
    checks: list[Check]
    version: str = __version__
    #: where Fieldcase writes its log (the help desk asks for it; details of any incident)
    log_file: str = ""

    @property
    def ok(self) -> bool:
        return all(check.status is not Status.PROBLEM for check in self.checks)

    @property
    def problems(self) -> list[Check]:
        return [check for check in self.checks if check.status is Status.PROBLEM]

    def by_key(self, key: str) -> Check:
        return next(check for check in self.checks if check.key == key)

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "ok": self.ok,
            "log_file": self.log_file,
            "checks": [
                {
                    "key": c.key,
                    "title": c.title,
                    "status": c.status.value,
                    "message": c.message,
                    "action": c.action,
                    "facts": c.facts,
                }
                for c in self.checks
            ],
        }


@dataclass(frozen=True)
class ProfileFacts:
    """What the unlocked profile says about syncing (no personal data)."""

    device_id: str | None
    server_url: str | None
    waiting: int
    refused: int
    last_sync: str | None
    set_aside: int = 0  # updates from the service this laptop could not store


@dataclass(frozen=True)
class ServiceFacts:
    server_time: datetime | None
    measured_at: datetime
    protocol_ok: bool


def show_path(path: Path, home: Path | None = None) -> str:
    """A path for the screen, with the home folder (often its owner's name) as ``~``."""
    home = home or Path.home()
    try:
        return str(Path("~") / path.relative_to(home))
    except ValueError:
        return str(path)


# ------------------------------------------------------------------------------ site policy


def check_site(env: Mapping[str, str]) -> tuple[Check, SiteConfig | None]:
    title = "Site configuration"
    try:
        site = load_site_config(env)
    except SiteConfigError as err:
        return (
            Check(
                "site_config",
                title,
                Status.PROBLEM,
                err.message,
                f"Ask your IT team to correct the {'file' if err.path else 'policy'}; Fieldcase "
                "will not start until then.",
                {
                    "source": show_path(err.path) if err.path else err.where,
                    "line": err.line,
                    "problem": err.problem,
                },
            ),
            None,
        )
    source = show_path(site.source) if site.source else None
    ca = show_path(site.ca_bundle) if site.ca_bundle else None
    sources = [
        name
        for word, name in (
            (ORIGIN_POLICY, f"Group Policy ({shown_key(POLICY_KEY)})"),
            (ORIGIN_INSTALLER, f"the installer ({shown_key(INSTALLER_KEY)})"),
            (ORIGIN_FILE, source),
        )
        if name and (word == ORIGIN_FILE or word in site.origin.values())
    ]
    where = (
        f"Settings from {words.listed(sources)}; anything they leave out is Fieldcase's default."
        if sources
        else "No site policy (no site configuration file), so Fieldcase's built-in settings apply."
    )

    def by(key: str) -> str:
        return f" ({ORIGIN_SHOWN[site.origin_of(key)]})"

    trusted = "the computer's own store" + (f" and {ca}{by('ca_bundle')}" if ca else "")
    message = (
        f"{where} Service: {site.server_url or 'not set here'}{by('server_url')}. Certificates "
        f"trusted: {trusted}. Proxy: {proxy_shown(site.proxy)}{by('proxy')}. The window "
        f"locks after at most {site.max_auto_lock_minutes} minutes idle"
        f"{by('max_auto_lock_minutes')}; passwords need at least {site.min_password_length} "
        f"characters{by('min_password_length')}; the laptop syncs at least every "
        f"{site.sync_interval_minutes} minutes{by('sync_interval_minutes')}."
    )
    if site.ignored:
        message += (
            f" Not applied, as this version of Fieldcase has no such setting: "
            f"{words.listed(list(site.ignored))}."
        )
    ignored = ignored_override(env)
    if ignored:
        message = f"{ignored} {message}"
    facts = {
        "override_ignored": ignored is not None,
        "source": source,
        "server_url": site.server_url,
        "ca_bundle": ca,
        "proxy": proxy_shown(site.proxy),
        "max_auto_lock_minutes": site.max_auto_lock_minutes,
        "min_password_length": site.min_password_length,
        "sync_interval_minutes": site.sync_interval_minutes,
        "backup_daily_days": site.backup_daily_days,
        "backup_weekly_weeks": site.backup_weekly_weeks,
        "backup_max_mb": site.backup_max_mb,
        "origin": {key: site.origin_of(key) for key in KEYS},
        "ignored": list(site.ignored),
    }
    return Check("site_config", title, Status.OK, message, "", facts), site


# ---------------------------------------------------------------------------------- profile


def check_profile_files(profile_dir: Path) -> Check:
    """Whether the profile exists, its key file can be read, and the database is encrypted."""
    from app import vault

    title = "Profile"
    shown = show_path(profile_dir)
    facts: dict[str, Any] = {"folder": shown}
    database = profile_dir / "fieldcase.db"
    if not vault.has_key_file(profile_dir) and not database.exists():
        return Check(
            "profile",
            title,
            Status.PROBLEM,
            f"There is no Fieldcase profile on this laptop yet (looked in {shown}).",
            "Open Fieldcase to set it up, or run `fieldcase init`.",
            facts,
        )
    try:
        vault.read_profile_id(profile_dir)
    except FieldcaseError as err:
        return Check(
            "profile", title, Status.PROBLEM, err.message, _restore_hint(), facts | {"key": False}
        )
    if not database.exists():
        return Check(
            "profile",
            title,
            Status.PROBLEM,
            f"The profile in {shown} has its key file but no database file.",
            _restore_hint(),
            facts | {"key": True, "database": False},
        )
    try:
        with database.open("rb") as handle:
            header = handle.read(len(SQLITE_PLAIN_HEADER))
    except OSError as err:
        return Check(
            "profile",
            title,
            Status.PROBLEM,
            f"The database file in {shown} cannot be read ({err.strerror}).",
            "Check that the folder belongs to this user, or ask your IT team.",
            facts,
        )
    if header == SQLITE_PLAIN_HEADER:
        return Check(
            "profile",
            title,
            Status.PROBLEM,
            f"The database file in {shown} is not encrypted.",
            "Stop using this laptop for casework and call your IT team.",
            facts | {"encrypted": False},
        )
    return Check(
        "profile",
        title,
        Status.OK,
        f"Found in {shown}: the key file can be read and the database is encrypted.",
        "",
        facts | {"key": True, "database": True, "encrypted": True},
    )


def _restore_hint() -> str:
    return (
        "Run `fieldcase backups` to see the backups and `fieldcase restore` to go back to "
        "one, or ask your IT team."
    )


def read_profile_facts(profile: Any) -> ProfileFacts:
    """Device id, service and what waits to be sent, from the open profile's sync state."""
    from app.store import outbox, set_aside, state

    with profile.engine.connect() as connection:
        saved = state.read_all(connection)
        waiting = outbox.waiting_count(connection)
        refused = outbox.refused_count(connection)
        aside = set_aside.count(connection)
    device_id = server_url = None
    raw = saved.get(state.CREDENTIAL)
    if raw:
        try:
            credential = json.loads(raw)
            device_id = str(credential.get("device_id") or "") or None
            server_url = credential.get("server_url") or None
        except (ValueError, AttributeError):
            log.warning("the stored device credential is not readable")
    return ProfileFacts(
        device_id, server_url, waiting, refused, saved.get(state.LAST_SYNC), set_aside=aside
    )


def check_integrity(
    profile_dir: Path, password: str | None, profile_ok: bool
) -> tuple[Check, ProfileFacts | None]:
    title = "Profile integrity"
    if not profile_ok:
        return (
            Check(
                "integrity",
                title,
                Status.SKIPPED,
                "Not checked, because the profile itself has a problem (see above).",
            ),
            None,
        )
    if not password:
        return (
            Check(
                "integrity",
                title,
                Status.SKIPPED,
                "Not checked, because no password was given. Without it the device id and the "
                "changes waiting to be sent cannot be read either.",
                "Run `fieldcase doctor --unlock` and type the profile password when asked "
                "(or set FIELDCASE_PASSWORD).",
            ),
            None,
        )
    from app.store.errors import ProfileReadOnly, is_read_only
    from app.store.profile import Profile

    try:
        profile = Profile.open(profile_dir, password, backup=False)
    except FieldcaseError as err:
        return Check("integrity", title, Status.PROBLEM, err.message, _restore_hint()), None
    except Exception as err:
        if not is_read_only(err):
            raise
        read_only = ProfileReadOnly(profile_dir).message
        return Check("integrity", title, Status.PROBLEM, read_only, ""), None
    try:
        facts = read_profile_facts(profile)
    finally:
        profile.close()
    return (
        Check(
            "integrity",
            title,
            Status.OK,
            "The password unlocks the profile and every page of the database passed its check.",
        ),
        facts,
    )


def read_enrolment(profile_dir: Path) -> tuple[str | None, str | None]:
    """(device id, service address) from the enrolment record kept beside the profile; it
    needs no password. (None, None) when this laptop was never enrolled."""
    from app import device_file

    try:
        record = device_file.read(profile_dir)
    except FieldcaseError:
        return None, None
    return record.get("device_id") or None, record.get("server_url") or None


def check_device(profile_dir: Path, facts: ProfileFacts | None, site: SiteConfig | None) -> Check:
    title = "Device id"
    device_id, _ = read_enrolment(profile_dir)
    if facts is not None and facts.device_id:
        device_id = facts.device_id  # the unlocked profile's own record wins
    if device_id:
        return Check(
            "device",
            title,
            Status.OK,
            f"This laptop is enrolled as device {device_id}.",
            "",
            {"device_id": device_id},
        )
    if facts is None and not (profile_dir / "fieldcase.db").exists():
        return Check(
            "device",
            title,
            Status.SKIPPED,
            "There is no profile, so this laptop is not enrolled.",
            "",
            {"device_id": None},
        )
    if site is not None and site.server_url:
        return Check(
            "device",
            title,
            Status.PROBLEM,
            "This laptop is not enrolled with the Fieldcase service yet, so it cannot sync.",
            "Run `fieldcase enrol --user NAME` (or open Fieldcase and sign in) while online.",
            {"device_id": None},
        )
    return Check(
        "device",
        title,
        Status.SKIPPED,
        "This laptop is not enrolled with a Fieldcase service, and no service is set.",
        "",
        {"device_id": None},
    )


def check_outbox(facts: ProfileFacts | None) -> Check:
    title = "Waiting to sync"
    if facts is None:
        return Check(
            "outbox",
            title,
            Status.SKIPPED,
            "Not counted, because the profile was not unlocked.",
            "Run `fieldcase doctor --unlock` to count them.",
        )
    counts = {"waiting": facts.waiting, "refused": facts.refused, "last_sync": facts.last_sync}
    last = f" Last sync: {facts.last_sync}." if facts.last_sync else " It has never synced."
    if facts.refused:
        return Check(
            "outbox",
            title,
            Status.PROBLEM,
            f"{words.plural(facts.waiting, 'change')} waiting to be sent, and "
            f"{words.plural(facts.refused, 'change')} the service refused, kept aside on this "
            f"laptop.{last}",
            "Open Fieldcase to see what was refused and why, or tell your IT team.",
            counts,
        )
    waiting = (
        "Nothing is waiting to be sent."
        if facts.waiting == 0
        else f"{words.plural(facts.waiting, 'change')} waiting to be sent."
    )
    return Check("outbox", title, Status.OK, waiting + last, "", counts)


def check_set_aside(facts: ProfileFacts | None) -> Check:
    """Updates from the service this laptop could not store (kept aside, IT told)."""
    title = "Updates set aside"
    if facts is None:
        return Check(
            "set_aside",
            title,
            Status.SKIPPED,
            "Not counted, because the profile was not unlocked.",
            "Run `fieldcase doctor --unlock` to count them.",
        )
    counts = {"set_aside": facts.set_aside}
    if not facts.set_aside:
        return Check(
            "set_aside",
            title,
            Status.OK,
            "Every update from the service could be stored on this laptop.",
            "",
            counts,
        )
    return Check(
        "set_aside",
        title,
        Status.PROBLEM,
        f"{words.plural(facts.set_aside, 'update')} from the service could not be stored on this "
        "laptop and "
        f"{'is' if facts.set_aside == 1 else 'are'} kept aside, safely encrypted; your IT team "
        "has been told at the sync. Everything else syncs as usual.",
        "Nothing to do on this laptop: they are tried again when Fieldcase is updated. If this "
        "stays, tell your IT team (they see what was set aside with `fieldcase-server admin "
        "problems`).",
        counts,
    )


# --------------------------------------------------------------------------------- service


def _tls_reason(err: ssl.SSLCertVerificationError) -> str:
    code = getattr(err, "verify_code", None)
    text = str(getattr(err, "verify_message", "") or err)
    if code in {18, 19, 20, 21, 2} or "self-signed" in text or "issuer" in text:
        return "it is not signed by a certificate authority this laptop trusts"
    if code == 10 or "expired" in text:
        return "it has expired"
    if code == 9 or "not yet valid" in text:
        return "it is not valid yet (check this laptop's date and time)"
    if code in {62, 64} or "mismatch" in text:
        return "it was issued for a different address"
    if code == 23 or "revoked" in text:
        return "it has been revoked"
    return "it could not be verified"


def check_tls(server_url: str, ca_bundle: Path | None, clock: Clock) -> Check | None:
    """Connect, verify as the sync client would, and read the certificate's expiry."""
    parts = urlsplit(server_url)
    if parts.scheme != "https" or not parts.hostname:
        return None
    title = "Security certificate"
    host = parts.hostname
    port = parts.port or 443
    trusted = "the computer's own certificate store" + (
        f" and the CA bundle {show_path(ca_bundle)}" if ca_bundle else ""
    )
    try:
        # what the sync client trusts, made by the one owner of it
        context = trust_context(str(ca_bundle) if ca_bundle else None)
        with (
            socket.create_connection((host, port), timeout=NETWORK_TIMEOUT) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            certificate = tls.getpeercert() or {}
    except ssl.SSLCertVerificationError as err:
        reason = _tls_reason(err)
        log.info("certificate of %s refused: %s", host, getattr(err, "verify_message", err))
        return Check(
            "tls",
            title,
            Status.PROBLEM,
            f"The service's certificate is not trusted: {reason}. Trusted here: {trusted}. "
            "Nothing will be sent to it.",
            "Ask your IT team to check the certificate, or to set ca_bundle in the site "
            "configuration to the council's CA.",
            {"trusted": False, "reason": reason},
        )
    except (OSError, ssl.SSLError) as err:
        log.info("TLS connection to %s failed: %s", host, type(err).__name__)
        return Check(
            "tls",
            title,
            Status.SKIPPED,
            "Not checked, because no secure connection could be made to the service.",
            "See the service line above.",
        )
    not_after = certificate.get("notAfter")
    if not isinstance(not_after, str):
        return Check("tls", title, Status.OK, "The service's certificate is trusted.", "")
    expires = datetime.fromtimestamp(ssl.cert_time_to_seconds(not_after), tz=UTC)
    left = expires - clock.now()
    facts = {"trusted": True, "expires": expires.isoformat()}
    if left < CERT_WARNING:
        return Check(
            "tls",
            title,
            Status.PROBLEM,
            f"The service's certificate is trusted but expires on {words.day(expires)}, in "
            f"{words.plural(max(left.days, 0), 'day')}.",
            "Tell your IT team that the service's certificate needs renewing.",
            facts,
        )
    return Check(
        "tls",
        title,
        Status.OK,
        f"The service's certificate is trusted ({trusted}) and valid until {words.day(expires)}.",
        "",
        facts,
    )


def check_service(
    server_url: str | None, site: SiteConfig | None, clock: Clock
) -> tuple[Check, ServiceFacts | None]:
    title = "Service"
    if not server_url:
        return (
            Check(
                "service",
                title,
                Status.SKIPPED,
                "No service address is set, so the connection was not tried.",
                "Ask your IT team to set server_url in the site configuration.",
            ),
            None,
        )
    from app.online import ClientOptions, make_client
    from sync.client import RetryPolicy, Timeouts
    from sync.errors import SyncError, UpdateRequired
    from sync.protocol import PROTOCOL_VERSION

    facts: dict[str, Any] = {"server_url": server_url}
    options = ClientOptions(
        timeouts=Timeouts(connect=NETWORK_TIMEOUT, stall=NETWORK_TIMEOUT * 2),
        retry=RetryPolicy(attempts=1),
    )
    try:
        # The very client sync uses: the same CA bundle, https rule and proxy settings.
        client = make_client(server_url, site=site, options=options)
    except SyncError as err:
        return Check("service", title, Status.PROBLEM, err.message, _it_hint(), facts), None
    try:
        started = clock.monotonic()
        client.request("GET", "/health", auth=False)
        meta = client.meta()
        elapsed = clock.monotonic() - started
    except UpdateRequired as err:
        return (
            Check("service", title, Status.PROBLEM, err.message, "Ask IT for the new version."),
            None,
        )
    except SyncError as err:
        log.info("service check failed: %s", err.detail or type(err).__name__)
        return (
            Check(
                "service",
                title,
                Status.PROBLEM,
                f"Could not talk to the Fieldcase service at {server_url}. {err.message}",
                "Check that this laptop is online (open a web page), then try again. If it "
                "still fails, tell your IT team what this line says.",
                facts,
            ),
            None,
        )
    finally:
        client.close()
    measured = clock.now() - timedelta(seconds=elapsed / 2)
    protocol_ok = meta.min_protocol_version <= PROTOCOL_VERSION <= meta.protocol_version
    facts |= {"service_name": meta.service_name, "answer_seconds": round(elapsed, 3)}
    if not protocol_ok:
        return (
            Check(
                "service",
                title,
                Status.PROBLEM,
                f"The service at {server_url} answers, but this version of Fieldcase "
                f"({__version__}) is too old for it.",
                "Ask your IT team for the current version of Fieldcase.",
                facts,
            ),
            ServiceFacts(meta.server_time, measured, protocol_ok),
        )
    return (
        Check(
            "service",
            title,
            Status.OK,
            f"The service at {server_url} answers and is healthy ({elapsed:.1f} s).",
            "",
            facts,
        ),
        ServiceFacts(meta.server_time, measured, protocol_ok),
    )


def _it_hint() -> str:
    return "Ask your IT team to check the service address in the site configuration."


def check_clock(service: ServiceFacts | None) -> Check:
    title = "Clock"
    if service is None or service.server_time is None:
        return Check(
            "clock",
            title,
            Status.SKIPPED,
            "Not compared, because the service was not reached.",
        )
    server_time = service.server_time
    if server_time.tzinfo is None:
        server_time = server_time.replace(tzinfo=UTC)
    skew = service.measured_at - server_time
    seconds = round(skew.total_seconds())
    facts = {"skew_seconds": seconds}
    if abs(skew) > MAX_CLOCK_SKEW:
        direction = "ahead of" if seconds > 0 else "behind"
        return Check(
            "clock",
            title,
            Status.PROBLEM,
            f"This laptop's clock is {words.duration(seconds)} {direction} the service's.",
            "Set the date, time and time zone to update automatically, then restart Fieldcase.",
            facts,
        )
    return Check(
        "clock",
        title,
        Status.OK,
        "This laptop's clock agrees with the service's"
        + (f" (within {words.duration(seconds)})." if seconds else "."),
        "",
        facts,
    )


# ------------------------------------------------------------------------------------ disk


def check_disk(profile_dir: Path) -> Check:
    title = "Free disk space"
    folder = profile_dir
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        usage = shutil.disk_usage(folder)
    except OSError as err:
        return Check(
            "disk",
            title,
            Status.PROBLEM,
            f"Could not measure the free space ({err.strerror}).",
            "Ask your IT team.",
        )
    facts = {"free_bytes": usage.free, "total_bytes": usage.total}
    if usage.free < MIN_FREE_BYTES:
        return Check(
            "disk",
            title,
            Status.PROBLEM,
            f"Only {words.size(usage.free)} free on the disk that holds the profile. Fieldcase "
            "needs room for its backups and documents.",
            "Delete or move files you no longer need, or ask your IT team for help.",
            facts,
        )
    return Check(
        "disk",
        title,
        Status.OK,
        f"{words.size(usage.free)} free on the disk that holds the profile.",
        "",
        facts,
    )


# ------------------------------------------------------------------------------------- all


def run_checks(
    profile_dir: Path,
    *,
    password: str | None = None,
    env: Mapping[str, str] = os.environ,
    clock: Clock | None = None,
) -> Report:
    """Run every check in the order the help desk reads them (time from ``clock``: the
    command's own, or a test's)."""
    clock = clock or SystemClock()
    site_check, site = check_site(env)
    checks = [site_check]
    profile_check = check_profile_files(profile_dir)
    checks.append(profile_check)
    integrity, facts = check_integrity(profile_dir, password, profile_check.status is Status.OK)
    checks.append(integrity)
    checks.append(check_device(profile_dir, facts, site))
    # Site policy beats what the laptop recorded when it was enrolled.
    enrolled_url = (facts.server_url if facts else None) or read_enrolment(profile_dir)[1]
    server_url = (site.server_url if site else None) or enrolled_url
    service_check, service = check_service(server_url, site, clock)
    checks.append(service_check)
    tls = None
    if server_url and service_check.status is not Status.SKIPPED:
        tls = check_tls(server_url, site.ca_bundle if site else None, clock)
    if tls is None:
        reason = (
            "the service is reached over plain http on this computer itself"
            if server_url
            else "no service address is set"
        )
        tls = Check("tls", "Security certificate", Status.SKIPPED, f"Not checked: {reason}.")
    checks.append(tls)
    checks.append(check_clock(service))
    checks.append(check_disk(profile_dir))
    checks.append(check_outbox(facts))
    checks.append(check_set_aside(facts))
    return Report(checks, log_file=show_path(log_dir(env) / LOG_FILE))


def _wrapped(text: str, first: str = "", rest: str = "") -> list[str]:
    """``text`` as lines of the report (words and paths never broken)."""
    return textwrap.wrap(
        text,
        LINE_WIDTH,
        initial_indent=first,
        subsequent_indent=rest,
        break_on_hyphens=False,
        break_long_words=False,
    )


def render_text(report: Report) -> str:
    """The report as the help desk hears it read aloud: one block per check."""
    width = max(len(status.value) for status in Status) + 2
    indent = " " * width
    lines = [f"Fieldcase {report.version}: checking this laptop", ""]
    for check in report.checks:
        lines += _wrapped(
            f"{check.title}: {check.message}", f"{check.status.value:<{width}}", indent
        )
        if check.action:
            lines += _wrapped(f"What to do: {check.action}", indent, indent)
    lines.append("")
    if report.log_file:
        lines += _wrapped(f"Fieldcase's log file, for the help desk: {report.log_file}")
        lines.append("")
    if report.ok:
        lines.append("All is well.")
    else:
        count = len(report.problems)
        lines += _wrapped(
            f"{words.plural(count, 'problem')} found. Each says what to do; if you are on the "
            "phone to the help desk, read them this report."
        )
    return "\n".join(lines)
