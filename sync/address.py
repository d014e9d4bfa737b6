"""Where this laptop may send case data: the one rule for a service address.

A service address is an ``https://`` web address with a host and no user name or password in it.
Plain ``http://`` is allowed only to this computer itself: 127.0.0.0/8, ::1 and ``localhost``
(any letter case, with or without the final dot). A name that merely starts like one
(``127.0.0.1.nip.io``, ``localhost.example``) is a remote host.

The site configuration (``app/site.py``) and the client (``sync/client.py``) both ask
:func:`service_address_problem`, so the two can never disagree; ``tests/sync/test_address.py``
runs one table of addresses through both.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import SplitResult, urlsplit

from sync.errors import ServiceError, ServiceErrorKind

EXAMPLE = "https://fieldcase.example.gov.uk"
_LOCAL_NAMES = frozenset({"localhost", "localhost."})


def is_loopback_host(host: str) -> bool:
    """True when ``host`` (a name or an address, IPv6 with or without brackets) is this
    computer itself."""
    name = host.strip().lower()
    if name in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def _split(url: str) -> SplitResult | None:
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError:
        return None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return None
    # an IPv6 address in brackets is the whole host: "[::1].example" or "x[::1]" is no address
    host_and_port = parts.netloc.rpartition("@")[2]
    before, bracket, after = host_and_port.partition("[")
    rest = after.partition("]")[2]
    if bracket and (before or (rest and not rest.startswith(":"))):
        return None
    return parts


def service_address_problem(url: str, *, subject: str = "The service address") -> str | None:
    """None when case data may be sent to ``url``; else what is wrong, in plain English.

    The problem is one clause that starts with ``subject`` (the name the reader knows the
    address by, e.g. ``server_url`` in the site configuration), with no final full stop.
    """
    parts = _split(url)
    if parts is None:
        return f'{subject} "{url.strip()}" is not a web address; write it like "{EXAMPLE}"'
    if parts.username or parts.password:
        # never repeat the address here: it holds a password
        return f"{subject} must not contain a user name or password"
    if parts.scheme == "http" and not is_loopback_host(parts.hostname or ""):
        return (
            f'{subject} "{url.strip()}" uses plain http://, which would send case data '
            "unencrypted; use https:// (plain http:// is only allowed to this computer itself: "
            "127.0.0.1 or localhost)"
        )
    return None


def check_server_url(url: str) -> str:
    """The normalised base address (no final slash), or :class:`ServiceError` ``ADDRESS``
    saying in plain words why case data may not go there."""
    problem = service_address_problem(url)
    if problem is not None:
        raise ServiceError(ServiceErrorKind.ADDRESS, problem + ".")
    parts = urlsplit(url.strip())
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
