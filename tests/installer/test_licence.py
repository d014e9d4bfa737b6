"""Fieldcase is released under the Apache License 2.0 (issue 15): the licence and the notice
are in the repository and named in the package's metadata (so they travel in its wheel); the Debian
package says so."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_project_is_under_the_apache_licence() -> None:
    licence = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in licence and "Version 2.0, January 2004" in licence
    assert licence.rstrip().endswith("limitations under the License.")
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in licence
    notice = (ROOT / "NOTICE").read_text(encoding="utf-8")
    assert notice.startswith("Fieldcase\n") and "Apache License, Version 2.0" in notice
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "Apache-2.0"
    assert set(project["license-files"]) == {"LICENSE", "NOTICE"}
    copyright_file = (ROOT / "installer" / "deb" / "copyright").read_text(encoding="utf-8")
    assert "License: Apache-2.0" in copyright_file and "Proprietary" not in copyright_file
