"""The operating system's proxy for one address, as the system itself would choose it: the one
owner of reading the system's proxy settings (site policy ``proxy = "system"``).

* Windows: WinHTTP (``WinHttpGetIEProxyConfigForCurrentUser``, then
  ``WinHttpGetProxyForUrl``), which runs the PAC script IT configured or finds by WPAD, and
  otherwise the fixed proxy and its bypass list from the Internet settings;
* Linux and other Unix: libproxy's ``proxy`` command when it is installed (Debian's
  ``libproxy-tools``), which reads the desktop's settings (GNOME, KDE, NetworkManager) and the
  usual variables, and runs a PAC script (``pac+http://...``) with its JavaScript plugin;
* otherwise, the variables ``https_proxy``/``no_proxy`` through the standard library.

Answers are kept for :data:`KEEP_SECONDS`, so a PAC script is not run for every request, yet a
laptop that moves from the office to home picks up its new proxy within minutes.
"""

from __future__ import annotations

import fnmatch
import logging
import shutil
import subprocess
import sys
import threading
import urllib.request
from urllib.parse import urlsplit

from sync.clock import Clock, SystemClock

log = logging.getLogger("fieldcase.sync.proxy")

KEEP_SECONDS = 300.0
ASK_SECONDS = 15.0  # longest a PAC script (fetched over the network) may take

_lock = threading.Lock()
_kept: dict[str, tuple[float, str | None]] = {}
_clock: Clock = SystemClock()


def system_proxy(url: str) -> str | None:
    """The proxy (``http://host:port``) the system would use for ``url``; None: direct.
    Asked of the site (scheme, host and port), as browsers ask a PAC script for https."""
    parts = urlsplit(url)
    url = f"{parts.scheme}://{parts.netloc}/"
    now = _clock.monotonic()
    with _lock:
        found = _kept.get(url)
        if found is not None and now - found[0] < KEEP_SECONDS:
            return found[1]
    try:
        if sys.platform == "win32":
            answer = _windows(url)
        elif shutil.which("proxy"):
            answer = _libproxy(url)
        else:
            answer = _variables(url)
    except (OSError, ValueError, subprocess.SubprocessError) as err:
        log.warning("the system's proxy for %s could not be found (%s): going direct", url, err)
        answer = None
    with _lock:
        _kept[url] = (now, answer)
    return answer


def forget() -> None:
    """Ask the system again next time (the network changed, or a test)."""
    with _lock:
        _kept.clear()


def first_proxy(candidates: list[str]) -> str | None:
    """The first usable answer of a list in order: None for "direct", else ``http://host:port``.
    Understands libproxy's ``http://h:p``/``direct://``, PAC's ``PROXY h:p``/``DIRECT`` and
    Windows' ``h:p``/``https=h:p``; SOCKS proxies are skipped (Fieldcase does not use them)."""
    for raw in candidates:
        item = raw.strip()
        if not item:
            continue
        upper = item.upper()
        if upper in ("DIRECT", "DIRECT://"):
            return None
        if upper.startswith("PROXY "):
            item = "http://" + item[6:].strip()
        elif "=" in item.split("://", 1)[0]:  # Windows' per-scheme form: https=host:port
            scheme, _, item = item.partition("=")
            if scheme.lower() not in ("https", "http"):
                continue
        if "://" not in item:
            item = "http://" + item
        parts = urlsplit(item)
        if parts.scheme in ("http", "https") and parts.hostname:
            return f"{parts.scheme}://{parts.netloc}"
    return None


def _libproxy(url: str) -> str | None:
    ran = subprocess.run(
        ["proxy", url], capture_output=True, text=True, timeout=ASK_SECONDS, check=False
    )
    if ran.returncode != 0:
        raise OSError(f"libproxy's proxy command ended with {ran.returncode}")
    line = ran.stdout.strip().splitlines()[0] if ran.stdout.strip() else "direct://"
    return first_proxy(line.split())


def _variables(url: str) -> str | None:
    host = urlsplit(url).hostname or ""
    if urllib.request.proxy_bypass(host):
        return None
    found = urllib.request.getproxies()
    scheme = urlsplit(url).scheme
    return first_proxy([found[scheme]]) if scheme in found else None


def bypassed(host: str, bypass: str) -> bool:
    """Windows' bypass list (``<local>;*.council.local;10.*``) says to go direct to ``host``."""
    for pattern in bypass.replace(",", ";").replace(" ", ";").split(";"):
        pattern = pattern.strip().lower()
        if not pattern:
            continue
        if pattern == "<local>":
            if "." not in host:
                return True
        elif fnmatch.fnmatch(host.lower(), pattern):
            return True
    return False


def _windows(url: str) -> str | None:  # pragma: no cover - Windows only
    if sys.platform != "win32":
        return None
    import ctypes
    from ctypes import wintypes

    winhttp = ctypes.WinDLL("winhttp", use_last_error=True)
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)

    class IEConfig(ctypes.Structure):
        _fields_ = [
            ("fAutoDetect", wintypes.BOOL),
            ("lpszAutoConfigUrl", wintypes.LPWSTR),
            ("lpszProxy", wintypes.LPWSTR),
            ("lpszProxyBypass", wintypes.LPWSTR),
        ]

    class AutoProxyOptions(ctypes.Structure):
        _fields_ = [
            ("dwFlags", wintypes.DWORD),
            ("dwAutoDetectFlags", wintypes.DWORD),
            ("lpszAutoConfigUrl", wintypes.LPCWSTR),
            ("lpvReserved", wintypes.LPVOID),
            ("dwReserved", wintypes.DWORD),
            ("fAutoLogonIfChallenged", wintypes.BOOL),
        ]

    class ProxyInfo(ctypes.Structure):
        _fields_ = [
            ("dwAccessType", wintypes.DWORD),
            ("lpszProxy", wintypes.LPWSTR),
            ("lpszProxyBypass", wintypes.LPWSTR),
        ]

    def free(pointer: object) -> None:
        if pointer:
            kernel32.GlobalFree(ctypes.cast(pointer, wintypes.HGLOBAL))

    config = IEConfig()
    if not winhttp.WinHttpGetIEProxyConfigForCurrentUser(ctypes.byref(config)):
        raise OSError(ctypes.get_last_error(), "WinHttpGetIEProxyConfigForCurrentUser failed")
    try:
        host = urlsplit(url).hostname or ""
        if config.fAutoDetect or config.lpszAutoConfigUrl:
            options = AutoProxyOptions()
            options.dwFlags = (0x1 if config.fAutoDetect else 0) | (
                0x2 if config.lpszAutoConfigUrl else 0
            )
            options.dwAutoDetectFlags = (0x1 | 0x2) if config.fAutoDetect else 0  # DHCP, DNS
            options.lpszAutoConfigUrl = config.lpszAutoConfigUrl
            options.fAutoLogonIfChallenged = True
            session = winhttp.WinHttpOpen("Fieldcase", 1, None, None, 0)  # no proxy itself
            if not session:
                raise OSError(ctypes.get_last_error(), "WinHttpOpen failed")
            info = ProxyInfo()
            try:
                if winhttp.WinHttpGetProxyForUrl(
                    session, url, ctypes.byref(options), ctypes.byref(info)
                ):
                    try:
                        if info.dwAccessType == 3 and info.lpszProxy:  # a named proxy
                            if info.lpszProxyBypass and bypassed(host, info.lpszProxyBypass):
                                return None
                            return first_proxy(info.lpszProxy.replace(";", " ").split())
                        return None
                    finally:
                        free(info.lpszProxy)
                        free(info.lpszProxyBypass)
                log.info("no PAC answer for %s (error %s)", url, ctypes.get_last_error())
            finally:
                winhttp.WinHttpCloseHandle(session)
        if config.lpszProxy:
            if config.lpszProxyBypass and bypassed(host, config.lpszProxyBypass):
                return None
            entries = config.lpszProxy.replace(";", " ").split()
            https = [e for e in entries if e.lower().startswith("https=")]
            return first_proxy(https or [e for e in entries if "=" not in e] or entries)
        return None
    finally:
        free(config.lpszAutoConfigUrl)
        free(config.lpszProxy)
        free(config.lpszProxyBypass)
