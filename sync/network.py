"""How the laptop reaches the central service across a council's network: the one owner of
what it trusts and which proxy it goes through (:func:`configure`, used by
:class:`sync.client.ServiceClient` for every request).

Trust: the operating system's own store of certificate authorities (through ``truststore``:
Windows' and macOS's certificate stores, OpenSSL's system folder on Linux), so authorities that
IT pushes by Group Policy are trusted with no file to ship, plus the PEM file the site policy
names (``ca_bundle``) when a council runs its own authority. Nothing else: not the bundled
public list (certifi), whatever ``requests`` would add of it.

Proxy, from the site policy's ``proxy`` (never from variables a user or a program can set):

* ``"none"`` (the default): straight to the service;
* ``"system"``: the operating system's choice for the service's address, asked again every
  few minutes (:mod:`sync.system_proxy`: WinHTTP on Windows, with the PAC script or WPAD IT
  set; libproxy on Linux, with the desktop's settings and PAC; else the usual variables);
* a URL, ``http://proxy.council.local:3128``, with ``user:password@`` for a proxy that asks
  for Basic credentials. HTTPS goes through it as a CONNECT tunnel: the proxy sees only the
  service's name, never case data.

A proxy that asks for NTLM or Negotiate sign-in (HTTP 407) is met with a plain message naming
the setting (:data:`PROXY_SIGN_IN`): Fieldcase gives a proxy a user name and password only.
"""

from __future__ import annotations

import ssl
from typing import Any

import requests
import truststore
from requests.adapters import HTTPAdapter

from sync.proxy import NO_PROXY, SYSTEM_PROXY, proxies_for
from sync.system_proxy import system_proxy

__all__ = ["NO_PROXY", "PROXY_SIGN_IN", "SYSTEM_PROXY", "configure", "trust_context"]

#: What a person reads when the proxy refused to let Fieldcase through without a sign-in.
PROXY_SIGN_IN = (
    "The network's proxy asked Fieldcase to sign in, and would not let it through to the "
    "central service. Fieldcase gives a proxy only the user name and password in the site "
    "policy's proxy setting (not Windows sign-in). Ask your IT team to check the proxy "
    "setting, or to let Fieldcase's service address through."
)


def trust_context(ca_bundle: str | None) -> ssl.SSLContext:
    """What a connection to the service trusts: the system's authorities and ``ca_bundle``."""
    context = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca_bundle:
        context.load_verify_locations(cafile=ca_bundle)
    return context


class _TrustAdapter(HTTPAdapter):
    """Every connection (straight, or tunnelled through a proxy) checks the service's
    certificate with :func:`trust_context`'s context, and nothing ``requests`` adds. A
    ``ca_bundle`` that cannot be read fails each request as a certificate that could not be
    checked (nothing is sent), as the transport already says plainly."""

    def __init__(self, ca_bundle: str | None, *, system_proxy: bool = False) -> None:
        self._system_proxy = system_proxy
        self._problem: Exception | None = None
        try:
            self._context = trust_context(ca_bundle)
        except (ssl.SSLError, OSError) as err:
            self._problem = err
            self._context = ssl.create_default_context()  # never used: every send fails
        super().__init__()

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        if self._problem is not None:
            raise requests.exceptions.SSLError(
                f"the CA bundle could not be read ({type(self._problem).__name__})",
                request=request,
            )
        if self._system_proxy and request.url:
            # the system's answer for this address now (kept a few minutes), not the one
            # from when the session was made: a laptop moves between networks
            found = system_proxy(request.url)
            kwargs["proxies"] = {"https": found} if found else {}
        return super().send(request, *args, **kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        proxy_kwargs["ssl_context"] = self._context
        return super().proxy_manager_for(proxy, **proxy_kwargs)

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        # the context holds what is trusted: no CA file of requests' own is loaded into it
        conn.cert_reqs = "CERT_REQUIRED"
        conn.ca_certs = None
        conn.ca_cert_dir = None


def configure(
    session: requests.Session, service_url: str, *, ca_bundle: str | None, proxy: str
) -> None:
    """Set ``session`` up to reach ``service_url``: trust, proxy, and no settings taken from
    the environment (a variable must never route case data elsewhere)."""
    session.trust_env = False
    session.verify = True
    adapter = _TrustAdapter(ca_bundle, system_proxy=proxy == SYSTEM_PROXY)
    session.mount("https://", adapter)
    session.proxies = {} if proxy == SYSTEM_PROXY else proxies_for(proxy, service_url)
