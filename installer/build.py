"""Build the Fieldcase desktop bundle (PyInstaller, one folder) and, on Linux, its .deb.

``make installer`` runs ``python -m installer.build``: the bundle goes to
``dist/fieldcase/`` and the package to ``dist/fieldcase_<version>_<arch>.deb``.
Set ``FIELDCASE_FAST_PACKAGE=1`` for a quickly compressed .deb (the tests do); releases use xz.
On Windows the same command builds the bundle (and the icon the Inno Setup script needs);
``iscc installer/windows/fieldcase.iss`` then wraps it (see docs/it-deployment.md).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "installer"
SPEC = HERE / "fieldcase.spec"
DEB_TEMPLATES = HERE / "deb"
SITE_TEMPLATE = HERE / "site.toml.template"
ICON_SVG = HERE / "fieldcase.svg"
BUNDLE_NAME = "fieldcase"
FAST_ENV = "FIELDCASE_FAST_PACKAGE"


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
    result = subprocess.run(command, cwd=ROOT, env=env, check=False)
    bundle = dist / BUNDLE_NAME
    if result.returncode != 0 or not bundle.is_dir():
        raise BuildError(
            f"PyInstaller could not build the bundle (exit code {result.returncode}). "
            "Read its output above; `make venv` first if a module is missing."
        )
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


def debian_arch() -> str:
    dpkg = shutil.which("dpkg")
    if dpkg:
        out = subprocess.run([dpkg, "--print-architecture"], capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    machine = os.uname().machine
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


GLIBC_VERSION = re.compile(rb"GLIBC_2\.(\d+)(?:\.(\d+))?\x00")


def glibc_floor(bundle: Path) -> str:
    """The newest glibc symbol version any bundled binary asks for: the package's libc6
    floor (what dpkg-shlibdeps would find, without needing the build tools)."""
    newest: tuple[int, ...] = (2, 17, 0)
    for path in bundle.rglob("*"):
        if not path.is_file() or path.is_symlink():
            continue
        with path.open("rb") as handle:
            if handle.read(4) != b"\x7fELF":
                continue
            data = handle.read()
        for match in GLIBC_VERSION.finditer(data):
            found = (2, int(match.group(1)), int(match.group(2) or 0))
            newest = max(newest, found)
    major, minor, patch = newest
    return f"{major}.{minor}" + (f".{patch}" if patch else "")


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

    debian = staging / "DEBIAN"
    debian.mkdir()
    control = (DEB_TEMPLATES / "control.in").read_text(encoding="utf-8")
    (debian / "control").write_text(
        control.format(
            version=app_version(),
            arch=debian_arch(),
            installed_size=_tree_size_kib(staging),
            glibc=glibc_floor(prefix),
        ),
        encoding="utf-8",
    )
    place(DEB_TEMPLATES / "conffiles", "DEBIAN/conffiles", 0o644)
    for script in ("postinst", "prerm", "postrm"):
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
