"""A stand-in for the system browser, named by the BROWSER variable Python's webbrowser
module reads (``BROWSER="python browser_child.py %s"``): it visits the address as the person
signed in at the loopback provider would, and follows the provider's redirect back to the
laptop. It stays until the laptop has answered, as a blocking browser command would."""

from __future__ import annotations

import sys

import requests


def main() -> int:
    url = sys.argv[1]
    at_provider = requests.get(url, allow_redirects=False, timeout=30)
    if at_provider.status_code not in (302, 303):
        print(f"the provider answered {at_provider.status_code}", file=sys.stderr)
        return 1
    back = requests.get(at_provider.headers["Location"], timeout=30)
    return 0 if back.ok else 1


if __name__ == "__main__":
    sys.exit(main())
