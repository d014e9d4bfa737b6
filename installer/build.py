"""Build the Fieldcase desktop bundle (PyInstaller, one folder) and, on Linux, its .deb.

``make installer`` runs ``python -m installer.build``: the bundle goes to
``dist/fieldcase/`` and the package to ``dist/fieldcase_<version>_<arch>.deb``.
Set ``FIELDCASE_FAST_PACKAGE=1`` for a quickly compressed .deb (the tests do); releases use xz.
On Windows the same command builds the bundle (and the icon the installers need, and the
version resources of ``fieldcase.exe`` and ``fieldcasew.exe``); Inno Setup
(``installer/windows/fieldcase.iss``) and WiX (``installer/windows/fieldcase.wxs``) then wrap it
(see docs/it-deployment.md).
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from installer import manpage, sbom

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "installer"
SPEC = HERE / "fieldcase.spec"
DEB_TEMPLATES = HERE / "deb"
SITE_TEMPLATE = HERE / "site.toml.template"
ICON_SVG = HERE / "fieldcase.svg"
NOTICE = ROOT / "NOTICE"
BUNDLE_NAME = "fieldcase"
FAST_ENV = "FIELDCASE_FAST_PACKAGE"
MANIFEST_ENV = "FIELDCASE_BUNDLE_MANIFEST"  # the spec writes what it bundled there
# The .deb's Maintainer: a council building its own package names its packaging contact.
MAINTAINER_ENV = "FIELDCASE_DEB_MAINTAINER"
DEFAULT_MAINTAINER = "Fieldcase maintainers <maintainers@fieldcase.example>"
#: The folder of the version resources the spec gives the Windows executables.
VERSION_INFO_ENV = "FIELDCASE_VERSION_INFO_DIR"
#: The Windows executables the spec makes, and what each says it is (Properties > Details).
WINDOWS_EXECUTABLES: dict[str, str] = {
    "fieldcase": "Fieldcase command line",
    "fieldcasew": "Fieldcase",
}
PRODUCT_NAME = "Fieldcase"
COMPANY_NAME = "Fieldcase"
LICENCE_NAME = "Apache License 2.0"
# English (United Kingdom), Unicode: the language and code page of the resource's strings.
VERSION_LANGUAGE = 0x0809
VERSION_CODEPAGE = 1200


class BuildError(Exception):
    """A build step failed; the message says which and what to do."""


@dataclass(frozen=True)
class DebLayout:
    """Where each part of the package goes on the installed system."""

    prefix: str = "opt/fieldcase"
    launcher: str = "usr/bin/fieldcase"
    desktop: str = "usr/share/applications/fieldcase.desktop"
    icon: str = "usr/share/icons/hicolor/scalable/apps/fieldcase.svg"
    site_config: str = "etc/fieldcase/site.toml"
    doc: str = "usr/share/doc/fieldcase"
    manpage: str = "usr/share/man/man1/fieldcase.1.gz"
    lintian_overrides: str = "usr/share/lintian/overrides/fieldcase"


def app_version() -> str:
    from app import __version__

    return __version__


def build_bundle(dist: Path, work: Path, *, clean: bool = False) -> Path:
    """Run PyInstaller on the spec; return the bundle folder (``dist/fieldcase``)."""
    dist.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if sys.platform == "win32":
        icon = work / "fieldcase.ico"
        write_ico(icon)
        env["FIELDCASE_ICON_ICO"] = str(icon)
    # PyInstaller gives these to the executables on Windows only; elsewhere they are unused.
    version_dir = work / "version-info"
    write_version_files(version_dir)
    env[VERSION_INFO_ENV] = str(version_dir)
    command = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--log-level",
        "WARN",
        "--distpath",
        str(dist),
        "--workpath",
        str(work),
    ]
    if clean:
        command.append("--clean")
    command.append(str(SPEC))
    manifest = work / "bundle-manifest.json"
    env[MANIFEST_ENV] = str(manifest)
    result = subprocess.run(command, cwd=ROOT, env=env, check=False)
    bundle = dist / BUNDLE_NAME
    if result.returncode != 0 or not bundle.is_dir():
        raise BuildError(
            f"PyInstaller could not build the bundle (exit code {result.returncode}). "
            "Read its output above; `make venv` first if a module is missing."
        )
    # The SBOM and every licence text, in the bundle: so in the .deb and the Windows
    # installers too, which package the bundle whole.
    try:
        sbom.write(bundle, sbom.sources_of(manifest))
    except sbom.SbomError as err:
        raise BuildError(f"The bundle cannot ship: {err}") from None
    return bundle


def write_ico(path: Path) -> None:
    """Render the SVG icon to a 256-pixel .ico for Windows (Qt draws it; no extra tools)."""
    from PySide6.QtCore import QSize
    from PySide6.QtGui import QGuiApplication, QIcon

    app = QGuiApplication.instance() or QGuiApplication(["fieldcase-build"])
    icon = QIcon(str(ICON_SVG))
    image = icon.pixmap(QSize(256, 256)).toImage()
    path.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(path)):  # the format follows the .ico suffix
        raise BuildError(f"Could not write the Windows icon to {path}.")
    del app


def version_numbers(version: str) -> tuple[int, int, int, int]:
    """The four numbers of a Windows version resource for ``version`` ("0.1.0" gives
    (0, 1, 0, 0); a pre-release's letters, as in "0.2.0rc1", are left out: Windows wants
    numbers only, each at most 65535)."""
    found = re.match(r"(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.(\d+))?", version.strip())
    if found is None:
        raise BuildError(
            f'The version "{version}" does not start with a number, so Windows cannot show it. '
            "Write it as major.minor.patch, such as 0.1.0, in sync/version.py."
        )
    major, minor, patch, build = (int(part or 0) for part in found.groups())
    if max(major, minor, patch, build) > 0xFFFF:
        raise BuildError(
            f'The version "{version}" has a part above 65535, which a Windows version resource '
            "cannot hold. Use smaller numbers in sync/version.py."
        )
    return major, minor, patch, build


def copyright_line(notice: Path = NOTICE) -> str:
    """The project's copyright line, as NOTICE states it."""
    for line in notice.read_text(encoding="utf-8").splitlines():
        if line.startswith("Copyright "):
            return line.strip()
    raise BuildError(f'{notice} has no line that starts with "Copyright "; put it back.')


def version_info_text(name: str, description: str, version: str) -> str:
    """A PyInstaller version-info file (Python syntax that PyInstaller evaluates) for
    ``<name>.exe``: the numbers and the strings Windows shows in the file's properties."""
    numbers = version_numbers(version)
    strings = {
        "CompanyName": COMPANY_NAME,
        "FileDescription": description,
        "FileVersion": version,
        "InternalName": name,
        "LegalCopyright": f"{copyright_line()}. {LICENCE_NAME}",
        "OriginalFilename": f"{name}.exe",
        "ProductName": PRODUCT_NAME,
        "ProductVersion": version,
    }
    table = ",\n".join(
        f"                        StringStruct({key!r}, {value!r})"
        for key, value in strings.items()
    )
    language = f"{VERSION_LANGUAGE:04X}{VERSION_CODEPAGE:04X}"
    return f"""# -*- coding: utf-8 -*-
# The Windows version resource of {name}.exe, written by installer/build.py from
# app.__version__ for PyInstaller (installer/fieldcase.spec passes it as version=).
VSVersionInfo(
    ffi=FixedFileInfo(
        filevers={numbers!r},
        prodvers={numbers!r},
        mask=0x3F,
        flags=0x0,
        OS=0x40004,
        fileType=0x1,
        subtype=0x0,
        date=(0, 0),
    ),
    kids=[
        StringFileInfo(
            [
                StringTable(
                    {language!r},
                    [
{table},
                    ],
                )
            ]
        ),
        VarFileInfo([VarStruct("Translation", [{VERSION_LANGUAGE}, {VERSION_CODEPAGE}])]),
    ],
)
"""


def write_version_files(folder: Path, version: str | None = None) -> dict[str, Path]:
    """Write ``<name>.txt`` in ``folder`` for each Windows executable; return name -> file."""
    version = app_version() if version is None else version
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for name, description in WINDOWS_EXECUTABLES.items():
        path = folder / f"{name}.txt"
        path.write_text(version_info_text(name, description, version), encoding="utf-8")
        written[name] = path
    return written


def debian_arch() -> str:
    dpkg = shutil.which("dpkg")
    if dpkg:
        out = subprocess.run([dpkg, "--print-architecture"], capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    machine = os.uname().machine
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def gzipped(source: Path, target: Path) -> None:
    """``source`` gzipped at level 9 with no name or time in the header (reproducible)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with (
        target.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=raw, mtime=0) as packed,
    ):
        packed.write(source.read_bytes())
    target.chmod(0o644)


def _is_elf(path: Path) -> bool:
    if not path.is_file() or path.is_symlink():
        return False
    with path.open("rb") as handle:
        return handle.read(4) == b"\x7fELF"


def shlib_depends(staging: Path, prefix: Path) -> str:
    """The package's Depends, computed by dpkg-shlibdeps from every ELF file in the bundle:
    the system libraries they need that the bundle does not carry, with their versions."""
    tool = shutil.which("dpkg-shlibdeps")
    if tool is None:
        raise BuildError(
            "dpkg-shlibdeps is not installed, so the package's dependencies cannot be worked "
            "out. On Debian or Ubuntu install dpkg-dev (.ci/run does)."
        )
    elves = sorted(str(p) for p in prefix.rglob("*") if _is_elf(p))
    # the system packages whose libraries the bundle carries (the SBOM traced them) are not
    # dependencies: the bundle's own copies are the ones loaded
    carried = [f"-x{name}" for name in sbom.debian_packages(prefix)]
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "debian").mkdir()
        (Path(tmp) / "debian" / "control").write_text(
            "Source: fieldcase\n\nPackage: fieldcase\nArchitecture: any\n", encoding="utf-8"
        )
        ran = subprocess.run(
            [tool, "-O", "--ignore-missing-info", f"-l{prefix / '_internal'}", *carried, *elves],
            cwd=tmp,
            capture_output=True,
            text=True,
            check=False,
        )
    found = re.search(r"^shlibs:Depends=(.*)$", ran.stdout, re.MULTILINE)
    if ran.returncode != 0 or found is None:
        missing = sorted(set(re.findall(r"cannot find library (\S+)", ran.stderr)))
        hint = (
            "These libraries the bundle needs are not installed here, so their packages "
            f"cannot be named: {', '.join(missing)}. Install them (.ci/run lists them)."
            if missing
            else ran.stderr.strip()[-2000:]
        )
        raise BuildError(f"dpkg-shlibdeps could not work out the dependencies. {hint}")
    return found.group(1).strip()


def _tree_size_kib(root: Path) -> int:
    total = 0
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            total += path.stat().st_size
    return max(1, (total + 1023) // 1024)


def stage_deb(bundle: Path, staging: Path, layout: DebLayout = DebLayout()) -> Path:
    """Lay out the package's file tree (and DEBIAN/) under ``staging``; return it."""
    if staging.exists():
        shutil.rmtree(staging)
    prefix = staging / layout.prefix
    prefix.parent.mkdir(parents=True)
    shutil.copytree(bundle, prefix, symlinks=True)

    def place(source: Path, relative: str, mode: int) -> None:
        target = staging / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        target.chmod(mode)

    place(DEB_TEMPLATES / "fieldcase.sh", layout.launcher, 0o755)
    place(DEB_TEMPLATES / "fieldcase.desktop", layout.desktop, 0o644)
    place(ICON_SVG, layout.icon, 0o644)
    place(SITE_TEMPLATE, layout.site_config, 0o644)
    place(DEB_TEMPLATES / "copyright", f"{layout.doc}/copyright", 0o644)
    place(DEB_TEMPLATES / "lintian-overrides", layout.lintian_overrides, 0o644)
    gzipped(DEB_TEMPLATES / "changelog", staging / layout.doc / "changelog.gz")
    manpage.write(staging / layout.manpage, app_version())
    for library in prefix.rglob("*.so*"):  # shared libraries are not programs
        if library.is_file() and not library.is_symlink():
            library.chmod(0o644)

    debian = staging / "DEBIAN"
    debian.mkdir()
    control = (DEB_TEMPLATES / "control.in").read_text(encoding="utf-8")
    (debian / "control").write_text(
        control.format(
            version=app_version(),
            arch=debian_arch(),
            installed_size=_tree_size_kib(staging),
            depends=shlib_depends(staging, prefix),
            maintainer=os.environ.get(MAINTAINER_ENV, DEFAULT_MAINTAINER),
        ),
        encoding="utf-8",
    )
    place(DEB_TEMPLATES / "conffiles", "DEBIAN/conffiles", 0o644)
    for script in ("postinst", "postrm"):
        place(DEB_TEMPLATES / script, f"DEBIAN/{script}", 0o755)
    for folder in [staging, *(p for p in staging.rglob("*") if p.is_dir())]:
        folder.chmod(0o755)
    return staging


def build_deb(bundle: Path, out_dir: Path, work: Path, *, fast: bool) -> Path:
    """Build ``fieldcase_<version>_<arch>.deb`` from the bundle with dpkg-deb."""
    dpkg_deb = shutil.which("dpkg-deb")
    if dpkg_deb is None:
        raise BuildError(
            "dpkg-deb is not installed, so the .deb cannot be built here. "
            "On Debian or Ubuntu install the dpkg package; the bundle itself is ready."
        )
    staging = stage_deb(bundle, work / "deb-root")
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"fieldcase_{app_version()}_{debian_arch()}.deb"
    compression = ["-Zgzip", "-z1"] if fast else ["-Zxz", "-z6"]
    result = subprocess.run(
        [dpkg_deb, "--root-owner-group", *compression, "--build", str(staging), str(target)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BuildError(f"dpkg-deb could not build the package: {result.stderr.strip()}")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m installer.build",
        description="Build the Fieldcase bundle (PyInstaller) and, on Linux, the .deb.",
    )
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="output folder")
    parser.add_argument(
        "--work", type=Path, default=ROOT / "build" / "installer", help="scratch folder"
    )
    parser.add_argument("--no-deb", action="store_true", help="build the bundle only")
    parser.add_argument(
        "--deb-only", action="store_true", help="package an existing dist/fieldcase bundle"
    )
    parser.add_argument("--clean", action="store_true", help="empty PyInstaller's cache first")
    args = parser.parse_args(argv)
    fast = os.environ.get(FAST_ENV) == "1"
    try:
        if args.deb_only:
            bundle = args.dist / BUNDLE_NAME
            if not bundle.is_dir():
                raise BuildError(f"No bundle at {bundle}: run without --deb-only first.")
        else:
            bundle = build_bundle(args.dist, args.work, clean=args.clean)
            print(f"Bundle: {bundle}")
        if sys.platform.startswith("linux") and not args.no_deb:
            deb = build_deb(bundle, args.dist, args.work, fast=fast)
            print(f"Package: {deb}")
    except BuildError as err:
        print(err, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
