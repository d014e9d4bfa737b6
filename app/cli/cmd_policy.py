"""``fieldcase policy check FILE...``: IT checks a site policy (a site.toml, regedit exports of
the policy keys, or both) before deploying it, and sees the settings a laptop would use and
where each comes from. Offline and light: it loads no profile, network or doctor code.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from app.errors import UsageError
from app.logs import setup_logging
from app.site import KEYS, ORIGIN_SHOWN, SiteConfig, SiteConfigError, combined
from app.site_registry import INSTALLER_KEY, POLICY_KEY, RegExport, RegExportError, RegValue
from sync.proxy import proxy_shown


def _policy_sources(files: list[str]) -> tuple[Path | None, RegExport | None]:
    """The one site.toml and the registry exports (merged, later files winning) named."""
    toml: Path | None = None
    keys: dict[str, dict[str, RegValue]] = {}
    for name in files:
        path = Path(name).expanduser()
        try:
            head = path.read_bytes()[:80]
        except OSError as err:
            raise SiteConfigError(path, f"it cannot be read ({err.strerror})") from None
        if path.suffix.lower() == ".reg" or head.startswith((b"\xff\xfe", b"\xfe\xff")):
            try:
                export = RegExport.read(path)
            except RegExportError as err:
                raise SiteConfigError(path, err.problem, line=err.line) from None
            for key in (POLICY_KEY, INSTALLER_KEY):
                keys.setdefault(key, {}).update(export.values(key) or {})
        elif toml is None:
            toml = path
        else:
            raise UsageError(f"Name one site.toml at most: {toml} and {path} are both given.")
    return toml, (RegExport(keys) if keys else None)


def check_policy(args: argparse.Namespace) -> int:
    setup_logging()
    try:
        toml, registry = _policy_sources(list(args.files))
        # A laptop's relative ca_bundle is in ProgramData\Fieldcase; here, beside the file.
        folder = toml.parent if toml is not None else None
        site = combined(toml, registry, folder, here=False)
    except SiteConfigError as err:
        raise err.for_it() from None
    shown = {key: _shown_value(site, key) for key in KEYS}
    if args.json:
        doc = {key: {"value": shown[key], "from": site.origin_of(key)} for key in KEYS} | {
            "ignored": list(site.ignored)
        }
        print(json.dumps(doc, indent=2))
        return 0
    print("The policy is valid. A laptop with it would use:")
    width = max(len(key) for key in KEYS)
    for key in KEYS:
        value = "not set" if shown[key] is None else shown[key]
        print(f"  {key:<{width}}  {value}  ({ORIGIN_SHOWN[site.origin_of(key)]})")
    for name in site.ignored:
        print(f"Not applied, as this version of Fieldcase has no such setting: {name}")
    return 0


def _shown_value(site: SiteConfig, key: str) -> str | int | None:
    value = getattr(site, key)
    if key == "proxy":
        return proxy_shown(str(value))
    return str(value) if isinstance(value, Path) else value
