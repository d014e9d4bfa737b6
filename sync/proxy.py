"""The site policy's ``proxy`` setting: what it may say and what it means (the one owner of
both; :mod:`sync.network` applies it to the laptop's connections). Light on purpose: the site
policy is read by every command, most of which never go on the network.

* ``"none"`` (the default): straight to the service;
* ``"system"``: the operating system's own choice for the service's address, PAC scripts
  and WPAD included where the system offers them (:mod:`sync.system_proxy`);
* a URL, ``http://proxy.council.local:3128``, with ``user:password@`` for a proxy that asks
  for Basic credentials.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from sync.address import is_loopback_host

NO_PROXY = "none"
SYSTEM_PROXY = "system"


def proxy_setting_problem(value: object) -> str | None:
    """Why ``value`` cannot be the site policy's ``proxy`` (None: it can)."""
    if value in (NO_PROXY, SYSTEM_PROXY):
        return None
    if not isinstance(value, str):
        return 'proxy must be "none", "system" or a proxy\'s address in quotes'
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return (
            'proxy must be "none", "system" or an address such as '
            '"http://proxy.council.local:3128" (http or https; SOCKS proxies are not supported)'
        )
    try:
        parts.port  # noqa: B018 - a port that is not a number raises
    except ValueError:
        return f"proxy names the port of {parts.hostname} wrongly: write it as a number"
    return None


def proxy_shown(setting: str) -> str:
    """The proxy setting as it may be shown (``doctor``): never its password."""
    if setting in (NO_PROXY, SYSTEM_PROXY):
        return setting
    parts = urlsplit(setting)
    port = f":{parts.port}" if parts.port else ""
    signed = " (with a user name and password)" if parts.username else ""
    return f"{parts.scheme}://{parts.hostname}{port}{signed}"


def proxies_for(setting: str, service_url: str) -> dict[str, str]:
    """The proxies ``requests`` should use to reach ``service_url`` under ``setting``."""
    parts = urlsplit(service_url)
    host = parts.hostname or ""
    if setting == NO_PROXY or (parts.scheme == "http" and is_loopback_host(host)):
        return {}  # plain http (to this computer only) never goes by way of a proxy
    if setting == SYSTEM_PROXY:
        return {}  # asked of the system for each request (sync.network, sync.system_proxy)
    return {"http": setting, "https": setting}
