"""Is Fieldcase running from its source tree? The one answer to that question.

Overrides that can weaken security (another site policy file, cheap password hashes on the
service) are for developers and tests only. They work when Fieldcase runs from its source
tree, which means all of:

* it is not a frozen bundle (PyInstaller sets ``sys.frozen``);
* the installed ``fieldcase`` distribution is an editable install (its ``direct_url.json``
  says ``dir_info.editable``: ``pip install -e``), and
* the code running now lies inside the folder that editable install points at.

An installed wheel, a .deb or a Windows bundle answers False, whatever the environment says.
Callers take the answer as a parameter defaulting to :func:`running_from_source_tree`, so a
test can ask for either answer without faking an installation.
"""

from __future__ import annotations

import json
import sys
from functools import cache
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

DISTRIBUTION = "fieldcase"


def editable_roots(distribution: str = DISTRIBUTION) -> list[Path]:
    """The folders editable installs of ``distribution`` on ``sys.path`` point at (none when it
    is installed as a wheel, or not at all). A source checkout may also hold a build's
    ``*.egg-info`` without that record: every copy of the distribution found is looked at."""
    roots: list[Path] = []
    for found in metadata.distributions(name=distribution):
        root = _editable_root(found.read_text("direct_url.json"))
        if root is not None and root not in roots:
            roots.append(root)
    return roots


def _editable_root(text: str | None) -> Path | None:
    if not text:
        return None
    try:
        info = json.loads(text)
    except ValueError:
        return None
    if not isinstance(info, dict):
        return None
    dir_info = info.get("dir_info")
    url = info.get("url")
    if not isinstance(dir_info, dict) or dir_info.get("editable") is not True:
        return None
    if not isinstance(url, str) or not url.startswith("file:"):
        return None
    return Path(url2pathname(unquote(urlsplit(url).path))).resolve()


@cache
def running_from_source_tree() -> bool:
    """True only for an editable install whose code is running from its own folder."""
    if getattr(sys, "frozen", False):
        return False
    here = Path(__file__).resolve()
    return any(here.is_relative_to(root) for root in editable_roots())
