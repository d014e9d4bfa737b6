"""What is in the bundle and under which licences: a CycloneDX SBOM and every licence text.

The PyInstaller spec writes a manifest of every file it bundles, with the file it came from
(``FIELDCASE_BUNDLE_MANIFEST``). Each source file is traced to the component that provides it:

* a Python distribution, by the files its ``RECORD`` lists (PySide6, requests, ...);
* CPython itself (the standard library, libpython);
* a Debian package, by ``dpkg -S``, for the system libraries PyInstaller takes along
  (OpenSSL's libssl3, libsqlite3-0, libffi8, ...);
* Fieldcase's own files.

A bundled file that cannot be traced stops the build: nothing ships without its licence. Each
component's licence texts are copied into ``licences/<component>/`` of the bundle (its own
licence files; for Debian packages their ``copyright`` file; where a distribution ships none,
the licence's text from the system's ``/usr/share/common-licenses``), libraries that a
distribution carries inside it (ICU in the Qt wheel) get a component of their own, and the
LGPL components get a note on relinking and where their source is. ``sbom.cdx.json``
(CycloneDX 1.5) lists every component with its version, package URL, licence, the sha256 the
lock file pinned, and its licence files. The About box reads both.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SBOM_NAME = "sbom.cdx.json"
LICENCES = "licences"
LOCK = ROOT / "requirements" / "lock-linux-x86_64.txt"
COMMON_LICENSES = Path("/usr/share/common-licenses")
# SPDX id -> the system's copy of that licence's text (used only when a distribution ships
# no licence file of its own, as the Qt for Python wheels do)
COMMON_TEXTS = {
    "LGPL-3.0-only": ("LGPL-3", "GPL-3"),  # the LGPL 3 is the GPL 3 plus its permissions
    "LGPL-3.0-or-later": ("LGPL-3", "GPL-3"),
    "GPL-2.0-only": ("GPL-2",),
    "GPL-3.0-only": ("GPL-3",),
    "Apache-2.0": ("Apache-2.0",),
    "MPL-2.0": ("MPL-2.0",),
}
CLASSIFIERS = {
    "MIT License": "MIT",
    "Apache Software License": "Apache-2.0",
    "BSD License": "BSD-3-Clause",
    "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "Python Software Foundation License": "PSF-2.0",
    "GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0-only",
    "ISC License (ISCL)": "ISC",
    "zlib/libpng License": "Zlib",
}
# distributions whose metadata names no licence a machine can read
KNOWN_LICENCES = {
    "pyinstaller": "GPL-2.0-or-later WITH Bootloader-exception",  # its COPYING.txt says so
    "sqlcipher3": "Zlib",  # pysqlite's licence, in its LICENSE
}
OWN_TEXTS = ROOT / "installer" / "licences"  # texts no package on the build machine carries
LICENCE_FILE = re.compile(r"^(LICEN[CS]E|COPYING|NOTICE|AUTHORS|COPYRIGHT)", re.IGNORECASE)
LGPL_NOTE = "LGPL-NOTICE.txt"


class SbomError(Exception):
    """The bundle holds something whose origin or licence cannot be established."""


@dataclass
class Component:
    key: str  # unique, also the folder name under licences/
    name: str
    version: str
    kind: str  # "pypi", "deb", "cpython", "embedded", "project"
    licence: str  # an SPDX expression where known, else the licence's name(s)
    texts: list[Path] = field(default_factory=list)  # licence files to copy
    files: int = 0  # bundled files it provides
    sha256: str | None = None
    purl: str | None = None
    source: str | None = None  # where its source code is (for the LGPL note)


# ------------------------------------------------------------------------------ tracing


def _dist_index() -> dict[Path, metadata.Distribution]:
    index: dict[Path, metadata.Distribution] = {}
    for dist in metadata.distributions():
        for record in dist.files or []:
            try:
                index[Path(str(dist.locate_file(record))).resolve()] = dist
            except OSError:
                continue
    return index


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _stdlib_roots() -> list[Path]:
    roots = {Path(sysconfig.get_paths()[key]).resolve() for key in ("stdlib", "platstdlib")}
    roots.add(Path(sys.base_prefix).resolve())
    return sorted(roots)


def _under(path: Path, roots: Iterable[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def _dpkg_owners(paths: list[Path]) -> dict[Path, str]:
    """Debian package owning each path (tries the path, its real path and the /lib alias)."""
    if not paths or shutil.which("dpkg-query") is None:
        return {}
    owners: dict[Path, str] = {}
    for path in paths:
        candidates = {str(path), str(path.resolve())}
        for text in list(candidates):
            if text.startswith("/usr/lib/"):
                candidates.add(text[len("/usr") :])
            elif text.startswith("/lib/"):
                candidates.add("/usr" + text)
        ran = subprocess.run(
            ["dpkg-query", "-S", *sorted(candidates)],
            capture_output=True,
            text=True,
            check=False,
        )
        for line in ran.stdout.splitlines():
            package, _, _owned = line.partition(": ")
            if package and "," not in package and "diversion" not in line:
                owners[path] = package.split(":")[0]
                break
    return owners


def _deb_version(package: str) -> str:
    ran = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True, check=False
    )
    return ran.stdout.strip() or "unknown"


def _deb_licences(copyright_file: Path) -> str:
    """The licence names a machine-readable Debian copyright file gives (else a pointer)."""
    try:
        text = copyright_file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "see its copyright file"
    names = []
    for found in re.findall(r"^License:\s*(.+)$", text, re.MULTILINE):
        name = found.strip()
        if name and name not in names:
            names.append(name)
    return " AND ".join(f"({n})" if " " in n else n for n in names) or "see its copyright file"


def _pypi_licence(dist: metadata.Distribution) -> str:
    meta = dist.metadata
    known = KNOWN_LICENCES.get(_canonical(meta["Name"]))
    if known:
        return known
    expression = meta.get("License-Expression")
    if expression:
        return expression.strip()
    text = (meta.get("License") or "").strip()
    if text and "\n" not in text and len(text) <= 120:
        return text
    for classifier in meta.get_all("Classifier") or []:
        if classifier.startswith("License :: "):
            tail = classifier.split(" :: ")[-1]
            if tail in CLASSIFIERS:
                return CLASSIFIERS[tail]
    return "see its licence file"


def _pypi_texts(dist: metadata.Distribution) -> list[Path]:
    texts = []
    for record in dist.files or []:
        parts = Path(str(record)).parts
        if not parts or not parts[0].endswith(".dist-info"):
            continue
        if "licenses" in parts or "license_files" in parts or LICENCE_FILE.match(parts[-1]):
            path = Path(str(dist.locate_file(record)))
            if path.is_file():
                texts.append(path)
    return texts


def _common_texts(expression: str) -> list[Path]:
    texts: list[Path] = []
    for spdx in re.findall(r"[A-Za-z0-9.+-]+", expression):
        for name in COMMON_TEXTS.get(spdx, ()):
            path = COMMON_LICENSES / name
            if path.is_file() and path not in texts:
                texts.append(path)
    return texts


def _cpython() -> Component:
    version = ".".join(map(str, sys.version_info[:3]))
    texts = [root / "LICENSE.txt" for root in _stdlib_roots() if (root / "LICENSE.txt").is_file()]
    return Component(
        key="cpython",
        name="CPython",
        version=version,
        kind="cpython",
        licence="PSF-2.0",
        texts=texts[:1],
        purl=f"pkg:generic/cpython@{version}",
    )


def _lock_hashes() -> dict[str, str]:
    hashes: dict[str, str] = {}
    if not LOCK.is_file():
        return hashes
    found = re.findall(
        r"^(\S+)==\S+ \\\n\s+--hash=sha256:([0-9a-f]{64})", LOCK.read_text("utf-8"), re.M
    )
    for name, digest in found:
        hashes[_canonical(name)] = digest
    return hashes


def trace(sources: Iterable[Path]) -> dict[str, Component]:
    """The components providing ``sources`` (the bundle's files' origins), by key."""
    index = _dist_index()
    stdlib = _stdlib_roots()
    hashes = _lock_hashes()
    components: dict[str, Component] = {}
    unowned: list[Path] = []
    project = Component(
        key="fieldcase",
        name="fieldcase",
        version=_project_version(),
        kind="project",
        licence="Apache-2.0",
        texts=[ROOT / "LICENSE", ROOT / "NOTICE"],
        purl=f"pkg:pypi/fieldcase@{_project_version()}",
    )
    for source in sources:
        path = source.resolve()
        dist = index.get(path)
        if dist is not None and _canonical(dist.metadata["Name"]) != "fieldcase":
            name = _canonical(dist.metadata["Name"])
            found = components.get(name)
            if found is None:
                expression = _pypi_licence(dist)
                texts = _pypi_texts(dist) or _common_texts(expression)
                found = components[name] = Component(
                    key=name,
                    name=name,
                    version=dist.version,
                    kind="pypi",
                    licence=expression,
                    texts=texts,
                    sha256=hashes.get(name),
                    purl=f"pkg:pypi/{name}@{dist.version}",
                )
            found.files += 1
            _embedded(components, found, path)
        elif _under(path, [ROOT]) and not _under(path, [ROOT / ".venv"]):
            components.setdefault("fieldcase", project).files += 1
        elif _under(path, stdlib) or path.name == "base_library.zip":  # the stdlib, zipped
            components.setdefault("cpython", _cpython()).files += 1
        else:
            unowned.append(path)
    owners = _dpkg_owners(unowned)
    for path in unowned:
        package = owners.get(path)
        if package is None:
            continue
        key = f"deb-{package}"
        if key not in components:
            copyright_file = Path("/usr/share/doc") / package / "copyright"
            version = _deb_version(package)
            components[key] = Component(
                key=key,
                name=package,
                version=version,
                kind="deb",
                licence=_deb_licences(copyright_file),
                texts=[copyright_file] if copyright_file.is_file() else [],
                purl=f"pkg:deb/debian/{package}@{version}",
            )
        components[key].files += 1
    missing = [str(p) for p in unowned if p not in owners]
    if missing:
        raise SbomError(
            "These bundled files come from nothing the build can name, so their licences are "
            "unknown: " + ", ".join(sorted(missing)[:20])
        )
    without = sorted(c.key for c in components.values() if not c.texts)
    if without:
        raise SbomError(
            "These components have no licence text to ship: " + ", ".join(without) + ". Add "
            "their SPDX id to COMMON_TEXTS in installer/sbom.py if the system has the text."
        )
    return components


_ICU = re.compile(r"^(?:libicu(?:uc|data|i18n)\.so\.|icu(?:uc|dt|in))(\d+)")


def _sqlcipher_version() -> str:
    import sqlcipher3  # type: ignore[import-untyped,unused-ignore]

    with sqlcipher3.connect(":memory:") as db:
        return str(db.execute("PRAGMA cipher_version").fetchone()[0]).split()[0]


def _openssl_version() -> str:
    from cryptography.hazmat.backends.openssl.backend import backend

    return str(backend.openssl_version_text()).split()[1]


def _embedded(components: dict[str, Component], parent: Component, path: Path) -> None:
    """Libraries a wheel carries inside it get components of their own: ICU in Qt's,
    SQLCipher in sqlcipher3's, OpenSSL in cryptography's."""
    found = None
    if parent.name == "pyside6-essentials" and (icu := _ICU.match(path.name)):
        found = ("icu", icu.group(1), "Unicode-3.0", [_icu_licence_text()])
    elif parent.name == "sqlcipher3" and path.name.startswith("_sqlite3"):
        text = OWN_TEXTS / "sqlcipher.txt"
        found = ("sqlcipher", _sqlcipher_version(), "BSD-3-Clause", [text])
    elif parent.name == "cryptography" and path.name.startswith("_rust"):
        found = ("openssl", _openssl_version(), "Apache-2.0", _common_texts("Apache-2.0"))
    if found is None:
        return
    name, version, licence, texts = found
    key = f"{name}-in-{parent.name}"
    if key not in components:
        components[key] = Component(
            key=key,
            name=name,
            version=version,
            kind="embedded",
            licence=licence,
            texts=[t for t in texts if t is not None],
            purl=f"pkg:generic/{name}@{version}",
            source=f"inside {parent.name} {parent.version}",
        )
    components[key].files += 1


def _icu_licence_text() -> Path | None:
    """The ICU licence: the system's ICU package's copyright file carries the same terms."""
    for folder in sorted(Path("/usr/share/doc").glob("libicu[0-9]*")):
        if (folder / "copyright").is_file():
            return folder / "copyright"
    return None


def _project_version() -> str:
    from sync.version import VERSION  # the build runs from the source tree's root

    return VERSION


# ------------------------------------------------------------------------------ writing


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "licence"


def _lgpl_note(components: dict[str, Component]) -> str:
    lgpl = [c for c in components.values() if "LGPL" in c.licence]
    lines = [
        "Fieldcase uses these components under the GNU Lesser General Public License, v3:",
        "",
    ]
    for c in sorted(lgpl, key=lambda c: c.name):
        lines.append(f"  {c.name} {c.version} ({c.licence})")
    qt = next((c.version for c in lgpl if c.name == "pyside6-essentials"), None)
    lines += [
        "",
        "They are not compiled into Fieldcase: each is a separate shared library in this",
        "folder's _internal directory (libQt6*.so.6 or Qt6*.dll, libpyside6*, libshiboken6*,",
        "and the PySide6/ and shiboken6/ modules). You may replace any of them with your own",
        "build of the same version, modified as you wish, and Fieldcase will load yours: that",
        "is the relinking the LGPL provides for. Fieldcase's own source is at the same place",
        "as this product's release, under the Apache License 2.0.",
        "",
        "Their source code:",
        f"  Qt {qt or ''}: https://download.qt.io/official_releases/qt/ (the submodules of",
        "  this version)",
        f"  Qt for Python (PySide6, Shiboken6) {qt or ''}:",
        "  https://download.qt.io/official_releases/QtForPython/",
        "Or ask the council's IT team or the Fieldcase project for a copy, which we will",
        "provide for at least three years from this release at no more than the cost of",
        "sending it.",
        "",
        "The licence texts are in the folders of those components beside this file.",
    ]
    return "\n".join(lines) + "\n"


def write(bundle: Path, sources: Iterable[Path]) -> dict[str, Component]:
    """Trace ``sources``, copy the licence texts to ``bundle/licences``, and write
    ``bundle/sbom.cdx.json``; return the components."""
    components = trace(sources)
    folder = bundle / LICENCES
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    placed: dict[str, list[str]] = {}
    for component in components.values():
        target = folder / _slug(component.key)
        target.mkdir()
        names: list[str] = []
        for text in component.texts:
            name = _slug(text.name)
            while name in names:
                name = f"{_slug(text.parent.name)}-{name}"
            shutil.copyfile(text, target / name)
            names.append(name)
        placed[component.key] = [f"{LICENCES}/{target.name}/{n}" for n in names]
    if any("LGPL" in c.licence for c in components.values()):
        (folder / LGPL_NOTE).write_text(_lgpl_note(components), encoding="utf-8")
    (bundle / SBOM_NAME).write_text(
        json.dumps(_cyclonedx(components, placed), indent=2) + "\n", encoding="utf-8"
    )
    return components


def _licence_entry(licence: str) -> dict[str, object]:
    if " WITH " in licence:  # its exception is not on SPDX's list: said by name
        return {"license": {"name": licence}}
    if re.fullmatch(r"[A-Za-z0-9.+-]+", licence):
        return {"license": {"id": licence}}
    if re.fullmatch(r"[A-Za-z0-9.+() -]+", licence) and re.search(r" (OR|AND|WITH) ", licence):
        return {"expression": licence}
    return {"license": {"name": licence}}


def _timestamp() -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = datetime.fromtimestamp(int(epoch), UTC) if epoch else datetime.now(UTC)
    return when.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _cyclonedx(components: dict[str, Component], placed: dict[str, list[str]]) -> dict[str, object]:
    project = components.get("fieldcase")
    version = project.version if project else _project_version()
    entries = []
    for c in sorted(components.values(), key=lambda c: c.key):
        if c.kind == "project":
            continue
        entry: dict[str, object] = {
            "type": "library",
            "bom-ref": c.purl or c.key,
            "name": c.name,
            "version": c.version,
            "licenses": [_licence_entry(c.licence)],
            "properties": [
                {"name": "fieldcase:origin", "value": c.kind},
                {"name": "fieldcase:bundled-files", "value": str(c.files)},
                *({"name": "fieldcase:licence-file", "value": p} for p in placed[c.key]),
            ],
        }
        if c.purl:
            entry["purl"] = c.purl
        if c.sha256:
            entry["hashes"] = [{"alg": "SHA-256", "content": c.sha256}]
        if c.source:
            entry["description"] = c.source
        entries.append(entry)
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{uuid.uuid4()}",
        "version": 1,
        "metadata": {
            "timestamp": _timestamp(),
            "tools": {"components": [{"type": "application", "name": "installer/sbom.py"}]},
            "component": {
                "type": "application",
                "bom-ref": f"pkg:pypi/fieldcase@{version}",
                "name": "fieldcase",
                "version": version,
                "purl": f"pkg:pypi/fieldcase@{version}",
                "licenses": [{"license": {"id": "Apache-2.0"}}],
                "properties": [
                    {"name": "fieldcase:licence-file", "value": p}
                    for p in placed.get("fieldcase", [])
                ],
            },
        },
        "components": entries,
        "dependencies": [
            {
                "ref": f"pkg:pypi/fieldcase@{version}",
                "dependsOn": [e["bom-ref"] for e in entries],
            }
        ],
    }


def bootloaders() -> list[Path]:
    """PyInstaller's bootloader, which is the start of each of the bundle's executables."""
    import PyInstaller

    folder = Path(PyInstaller.__file__).parent / "bootloader" / PyInstaller.PLATFORM
    return [folder / name for name in ("run", "run.exe", "runw.exe") if (folder / name).is_file()]


def sources_of(manifest: Path) -> list[Path]:
    """The source files the spec's manifest lists (modules, binaries, data, runtime hooks)
    and the bootloader the executables are made of."""
    found = json.loads(manifest.read_text(encoding="utf-8"))
    paths = bootloaders()
    for group in ("pure", "binaries", "datas", "scripts"):
        for entry in found[group]:
            source, kind = entry[1], (entry[2] if len(entry) > 2 else "")
            # a symbolic link points at another bundled file; "-" is a namespace package
            if source and source != "-" and kind != "SYMLINK":
                paths.append(Path(source))
    return paths


def debian_packages(bundle: Path) -> list[str]:
    """The Debian packages whose files the bundle carries, from its SBOM."""
    path = bundle / SBOM_NAME
    if not path.is_file():
        return []
    found = json.loads(path.read_text(encoding="utf-8"))
    names = []
    for component in found.get("components", []):
        origin = {p["name"]: p["value"] for p in component.get("properties", [])}
        if origin.get("fieldcase:origin") == "deb":
            names.append(str(component["name"]))
    return sorted(names)
