"""The real thing: build the PyInstaller bundle and the .deb once per session, then run the
built app (CLI and window) and the unpacked package, as a laptop would."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app import __version__
from tests.installer.conftest import ROOT, Ran, clean_env, run

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

PASSWORD = "correct horse battery"
PERSON = "Ophelia Packagetest"


@dataclass(frozen=True)
class Built:
    bundle: Path
    deb: Path
    root: Path  # scratch space for this session's runs


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """``python -m installer.build`` into a temporary folder (fast .deb compression)."""
    if sys.platform != "linux":
        pytest.skip("the .deb is built on Linux")
    base = tmp_path_factory.mktemp("packaging")
    env = {**os.environ, "FIELDCASE_FAST_PACKAGE": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "installer.build",
            "--dist",
            str(base / "dist"),
            "--work",
            str(base / "work"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=800,
        check=False,
        # the package's files must be readable by every user, whatever umask an earlier test
        # in this process left (opening a profile makes this process owner-only: 077)
        umask=0o022,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    debs = sorted((base / "dist").glob("fieldcase_*.deb"))
    assert len(debs) == 1, done.stdout
    yield Built(base / "dist" / "fieldcase", debs[0], base)


def bundled(built: Built, home: Path, *args: str, **extra: str) -> Ran:
    return run([str(built.bundle / "fieldcase"), *args], clean_env(home, extra), cwd=home)


ETC_FIELDCASE = Path("/etc/fieldcase")
Policy = Callable[..., Ran]


@pytest.fixture
def it_policy() -> Iterator[Policy]:
    """Run a command with a folder of IT's policy seen at /etc/fieldcase, where IT puts it.

    ``it_policy(folder, env, command...)``: the folder is bind-mounted over /etc/fieldcase in
    a private mount namespace of that command only (``unshare --mount``, as root), so the rest
    of the suite, running at the same time, never sees it and the machine's own file, if it
    has one, is untouched. /etc/fieldcase is made (empty) when missing, and removed after.
    """
    if sys.platform != "linux" or os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("putting the policy in /etc/fieldcase needs root and unshare on Linux")
    made = not ETC_FIELDCASE.exists()
    try:
        ETC_FIELDCASE.mkdir(mode=0o755, exist_ok=True)
    except OSError as err:
        pytest.skip(f"/etc is not writable here ({err.strerror})")
    probe = subprocess.run(
        ["unshare", "--mount", "--", "mount", "--bind", "/tmp", str(ETC_FIELDCASE)],
        capture_output=True,
        check=False,
    )
    if probe.returncode != 0:
        if made:
            ETC_FIELDCASE.rmdir()
        pytest.skip(f"no private mount namespace here: {probe.stderr.decode()[-200:]}")

    def go(folder: Path, env: dict[str, str], *command: str) -> Ran:
        mount = 'mount --bind "$1" /etc/fieldcase && shift && exec "$@"'
        wrapped = ["unshare", "--mount", "--", "sh", "-c", mount, "sh", str(folder), *command]
        return run(wrapped, env, cwd=Path(env["FIELDCASE_PROFILE"]).parent)

    try:
        yield go
    finally:
        if made:
            with contextlib.suppress(OSError):  # another run may be using it
                ETC_FIELDCASE.rmdir()


def test_the_bundle_holds_what_the_app_needs_and_not_what_it_does_not(built: Built) -> None:
    inside = built.bundle / "_internal"
    plugins = inside / "PySide6" / "Qt" / "plugins"
    names = {p.relative_to(plugins).as_posix() for p in plugins.rglob("*.so")}
    for needed in (
        "platforms/libqoffscreen.so",
        "platforms/libqxcb.so",
        "imageformats/libqsvg.so",
        "iconengines/libqsvgicon.so",
    ):
        assert needed in names
    assert not any(n.startswith(("platforms/libqeglfs", "imageformats/libqpdf")) for n in names)
    libraries = {p.name for p in inside.rglob("*.so*")}
    for unused in ("Qml", "Quick", "WebEngine", "3D", "Multimedia", "Pdf"):
        assert not any(name.startswith(f"libQt6{unused}") for name in libraries), unused
    # a local socket between launches (one window per profile), and D-Bus for sleep
    for used in ("Network", "DBus"):
        assert any(name.startswith(f"libQt6{used}") for name in libraries), used
    assert any(name.startswith("_sqlite3") for name in os.listdir(inside / "sqlcipher3"))
    migrations = inside / "app" / "store" / "migrations"
    assert (migrations / "env.py").is_file() and (migrations / "script.py.mako").is_file()
    assert list((migrations / "versions").glob("*.py"))
    assert list((inside / "resources" / "styles").glob("*.qss"))
    assert list((inside / "PySide6" / "Qt" / "translations").glob("qtbase_*.qm"))


@pytest.mark.skipif(shutil.which("readelf") is None, reason="needs binutils' readelf")
def test_every_qt_library_a_bundled_file_needs_is_bundled(built: Built) -> None:
    files = [p for p in built.bundle.rglob("*.so*") if p.is_file() and not p.is_symlink()]
    present = {p.name for p in built.bundle.rglob("*.so*")}
    missing: dict[str, set[str]] = {}
    for path in files:
        dynamic = subprocess.run(
            ["readelf", "-d", str(path)], capture_output=True, text=True, check=False
        ).stdout
        for needed in re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic):
            ours = needed.startswith(("libQt6", "libpyside6", "libshiboken6", "libicu"))
            if ours and needed not in present:
                missing.setdefault(needed, set()).add(path.name)
    assert missing == {}


def test_the_built_cli_makes_and_shows_a_case_and_doctor_checks_it(
    built: Built, tmp_path: Path
) -> None:
    version = bundled(built, tmp_path, "--version")
    assert version.code == 0 and version.out.strip() == f"Fieldcase {__version__}"

    env = {"FIELDCASE_PASSWORD": PASSWORD}
    made = bundled(built, tmp_path, "init", "--user", "pkgtester", **env)
    assert made.code == 0, made.out + made.err
    new = bundled(
        built, tmp_path, "case", "new", "--type", "housing_repair", "--person", PERSON, **env
    )
    assert new.code == 0, new.out + new.err
    ref = re.search(r"FC-\d{4}-[A-Z0-9-]+", new.out)
    assert ref, new.out
    shown = bundled(built, tmp_path, "case", "show", ref.group(0), **env)
    assert shown.code == 0, shown.err
    assert PERSON in shown.out and ref.group(0) in shown.out
    assert not (tmp_path / "profile" / "fieldcase.db").read_bytes().startswith(b"SQLite format 3")

    doctor = bundled(built, tmp_path, "doctor", "--json", **env)  # IT's policy: tests below
    assert doctor.check("profile")["status"] == "OK"
    assert doctor.check("integrity")["status"] == "OK"  # SQLCipher and migrations work inside
    assert doctor.check("outbox")["facts"]["waiting"] >= 1
    assert PERSON not in doctor.out and ref.group(0) not in doctor.out


def test_the_bundle_ignores_a_users_site_config_override_and_doctor_says_so(
    built: Built, tmp_path: Path, it_policy: Policy
) -> None:
    policy = tmp_path / "policy"
    policy.mkdir()
    (policy / "site.toml").write_text("max_auto_lock_minutes = 5\n", encoding="utf-8")
    mine = tmp_path / "mine.toml"
    mine.write_text("max_auto_lock_minutes = 240\n", encoding="utf-8")
    env = clean_env(tmp_path, {"FIELDCASE_SITE_CONFIG": str(mine)})
    fieldcase = str(built.bundle / "fieldcase")

    doctor = it_policy(policy, env, fieldcase, "doctor", "--json")
    site = doctor.check("site_config")
    assert site["facts"]["max_auto_lock_minutes"] == 5  # IT's policy, not the user's 240
    assert site["facts"]["source"] == "/etc/fieldcase/site.toml"
    assert site["facts"]["override_ignored"] is True
    assert site["message"].startswith(
        "FIELDCASE_SITE_CONFIG is set but ignored: this installed copy follows only the policy "
        "IT set in /etc/fieldcase/site.toml."
    )
    text = it_policy(policy, env, fieldcase, "doctor").out
    assert "FIELDCASE_SITE_CONFIG is set but ignored" in " ".join(text.split())

    # without IT's file the override is still ignored: the built-in defaults apply
    alone = bundled(built, tmp_path, "doctor", "--json", FIELDCASE_SITE_CONFIG=str(mine))
    if not Path("/etc/fieldcase/site.toml").exists():
        assert alone.check("site_config")["facts"]["max_auto_lock_minutes"] == 15
    assert alone.check("site_config")["facts"]["override_ignored"] is True


def test_the_built_app_renders_its_unlock_window_offscreen(built: Built, tmp_path: Path) -> None:
    made = bundled(built, tmp_path, "init", "--user", "pkgtester", FIELDCASE_PASSWORD=PASSWORD)
    assert made.code == 0, made.err
    png = tmp_path / "unlock.png"
    shot = bundled(built, tmp_path, FIELDCASE_SMOKE_UNLOCK_PNG=str(png))
    assert shot.code == 0, shot.out + shot.err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    from PySide6.QtGui import QImage

    image = QImage(str(png))
    assert image.width() >= 400 and image.height() >= 300
    colours = {
        image.pixel(x, y) for x in range(0, image.width(), 4) for y in range(0, image.height(), 4)
    }
    assert len(colours) > 20  # text, a field and buttons drawn, not a blank window


def test_the_deb_installs_the_bundle_launcher_menu_entry_and_conffile(
    built: Built, tmp_path: Path
) -> None:
    info = subprocess.run(
        ["dpkg-deb", "--field", str(built.deb), "Package", "Version", "Architecture"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Package: fieldcase" in info and f"Version: {__version__}" in info
    depends = subprocess.run(
        ["dpkg-deb", "--field", str(built.deb), "Depends"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    floor = re.search(r"libc6 \(>= ([\d.]+)\)", depends)
    assert floor, depends
    if shutil.which("objdump"):
        symbols = subprocess.run(
            ["objdump", "-T", str(built.bundle / "_internal" / "libpython3.11.so.1.0")],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        needed = max(
            (tuple(map(int, v.split("."))) for v in re.findall(r"GLIBC_(2\.\d+)", symbols)),
            default=(2, 0),
        )
        assert tuple(map(int, floor.group(1).split("."))) >= needed
    conffiles = subprocess.run(
        ["dpkg-deb", "--ctrl-tarfile", str(built.deb)], capture_output=True, check=True
    ).stdout
    assert b"./conffiles" in conffiles and b"./postinst" in conffiles and b"./postrm" in conffiles
    # dpkg-shlibdeps worked the list out: Qt's system libraries are in, and the libraries the
    # bundle carries itself (its SBOM traced them to Debian packages) are not
    listed = {part.split()[0] for part in depends.removeprefix("Depends:").split(",")}
    assert {"libxcb-cursor0", "libxkbcommon0", "libfontconfig1", "libgl1"} <= listed
    assert not listed & {"libssl3", "libsqlite3-0", "libffi8", "libreadline8"}
    listing = subprocess.run(
        ["dpkg-deb", "--contents", str(built.deb)], capture_output=True, text=True, check=True
    ).stdout
    for path in (
        "./opt/fieldcase/fieldcase",
        "./usr/bin/fieldcase",
        "./usr/share/applications/fieldcase.desktop",
        "./usr/share/icons/hicolor/scalable/apps/fieldcase.svg",
        "./etc/fieldcase/site.toml",
        "./opt/fieldcase/sbom.cdx.json",
        "./opt/fieldcase/licences/LGPL-NOTICE.txt",
        "./usr/share/doc/fieldcase/copyright",
        "./usr/share/doc/fieldcase/changelog.gz",
        "./usr/share/man/man1/fieldcase.1.gz",
        "./usr/share/lintian/overrides/fieldcase",
    ):
        assert re.search(rf"root/root .* {re.escape(path)}$", listing, re.MULTILINE), path
    # shared libraries are not executable (lintian: shared-library-is-executable)
    assert not re.search(r"^-rwx\S* root/root .*\.so(\.[\d.]+)?$", listing, re.MULTILINE)

    root = tmp_path / "root"
    subprocess.run(["dpkg-deb", "-x", str(built.deb), str(root)], check=True)
    launcher = (root / "usr" / "bin" / "fieldcase").read_text()
    assert 'exec /opt/fieldcase/fieldcase "$@"' in launcher
    assert os.access(root / "usr" / "bin" / "fieldcase", os.X_OK)

    binary = root / "opt" / "fieldcase" / "fieldcase"
    env = clean_env(tmp_path)
    version = run([str(binary), "--version"], env, cwd=tmp_path)
    assert version.code == 0 and version.out.strip() == f"Fieldcase {__version__}"
    doctor = run([str(binary), "doctor", "--json"], env, cwd=tmp_path)
    assert doctor.check("profile")["status"] == "Problem"  # no profile yet: explained
    assert "fieldcase init" in doctor.check("profile")["action"]


def test_the_debs_site_toml_in_etc_is_the_policy_the_installed_app_reads(
    built: Built, tmp_path: Path, it_policy: Policy
) -> None:
    root = tmp_path / "root"
    subprocess.run(["dpkg-deb", "-x", str(built.deb), str(root)], check=True)
    binary = root / "opt" / "fieldcase" / "fieldcase"
    doctor = it_policy(
        root / "etc" / "fieldcase", clean_env(tmp_path), str(binary), "doctor", "--json"
    )
    site = doctor.check("site_config")
    assert site["status"] == "OK"  # the shipped template is valid, and sets nothing yet
    assert site["facts"]["source"] == "/etc/fieldcase/site.toml"
    assert site["facts"]["server_url"] is None
    assert site["facts"]["override_ignored"] is False


@pytest.mark.skipif(os.geteuid() != 0, reason="dpkg --root must set root as the files' owner")
def test_dpkg_keeps_a_preseeded_site_toml_and_never_touches_user_data(
    built: Built, tmp_path: Path
) -> None:
    """Install into a scratch root with dpkg itself (maintainer scripts run, honouring
    DPKG_ROOT), then remove and purge: the machine's own dpkg database is not touched."""
    root = tmp_path / "root"
    admin = root / "var" / "lib" / "dpkg"
    for folder in (admin / "info", admin / "updates", root / "etc" / "fieldcase"):
        folder.mkdir(parents=True)
    (admin / "status").touch()
    (admin / "available").touch()
    policy = 'server_url = "https://fieldcase.example.gov.uk"\nmax_auto_lock_minutes = 7\n'
    site = root / "etc" / "fieldcase" / "site.toml"
    site.write_text(policy, encoding="utf-8")  # IT dropped its policy before installing
    dpkg = [
        "dpkg",
        f"--root={root}",
        "--force-script-chrootless",
        "--force-depends",  # the scratch root has no libraries installed
        "--force-confold",
        f"--log={tmp_path / 'dpkg.log'}",
    ]

    def run_dpkg(*args: str) -> None:
        done = subprocess.run([*dpkg, *args], capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr

    run_dpkg("--install", str(built.deb))
    assert site.read_text(encoding="utf-8") == policy  # kept, not replaced by the template
    assert (site.parent / "site.toml.dpkg-dist").is_file()
    assert (site.stat().st_mode & 0o777) == 0o644
    assert (root / "opt" / "fieldcase" / "fieldcase").is_file()

    profile = root / "home" / "caseworker" / ".local" / "share" / "Fieldcase"
    profile.mkdir(parents=True)
    (profile / "key.json").write_text("{}", encoding="utf-8")
    (profile / "fieldcase.db").write_bytes(b"\x00encrypted")

    run_dpkg("--remove", "fieldcase")
    assert not (root / "opt" / "fieldcase").exists()
    assert site.read_text(encoding="utf-8") == policy  # remove keeps the conffile
    assert sorted(p.name for p in profile.iterdir()) == ["fieldcase.db", "key.json"]

    run_dpkg("--purge", "fieldcase")
    assert not site.exists()
    assert (profile / "fieldcase.db").read_bytes() == b"\x00encrypted"


def test_the_sbom_names_every_component_and_each_licence_text_is_in_the_bundle(
    built: Built,
) -> None:
    sbom = json.loads((built.bundle / "sbom.cdx.json").read_text(encoding="utf-8"))
    assert (sbom["bomFormat"], sbom["specVersion"]) == ("CycloneDX", "1.5")
    assert re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", sbom["serialNumber"])
    assert sbom["metadata"]["component"]["version"] == __version__
    components = {c["name"]: c for c in sbom["components"]}
    for needed in (
        "pyside6-essentials",  # Qt
        "shiboken6",
        "icu",
        "openssl",  # inside cryptography
        "libssl3",  # Python's own ssl module's, from Debian
        "sqlcipher",
        "sqlcipher3",
        "certifi",
        "CPython",
        "pyinstaller",  # its bootloader starts each executable
    ):
        assert needed in components, f"{needed} missing from the SBOM"
    assert "libreadline8" not in components  # GPL-only: left out of the bundle on purpose
    referenced: set[str] = set()
    for component in [sbom["metadata"]["component"], *sbom["components"]]:
        texts = [
            p["value"]
            for p in component.get("properties", [])
            if p["name"] == "fieldcase:licence-file"
        ]
        assert texts, f"{component['name']} has no licence text"
        sizes = [(built.bundle / text).stat().st_size for text in texts]  # each one there
        assert max(sizes) > 300 and min(sizes) > 0, (component["name"], texts)  # a licence
        referenced.update(texts)
        if component is not sbom["metadata"]["component"]:
            assert component["licenses"] and component["purl"], component["name"]
    on_disk = {
        p.relative_to(built.bundle).as_posix()
        for p in (built.bundle / "licences").rglob("*")
        if p.is_file() and p.name != "LGPL-NOTICE.txt"
    }
    assert on_disk == referenced  # nothing unlisted, nothing missing
    hashed = components["requests"]["hashes"][0]
    assert hashed["alg"] == "SHA-256" and len(hashed["content"]) == 64  # from the lock
    # every Python distribution the bundle carries metadata of is in the SBOM
    for info in (built.bundle / "_internal").glob("*.dist-info"):
        name = re.sub(r"[-_.]+", "-", info.name.removesuffix(".dist-info").rsplit("-", 1)[0])
        name = name.lower()
        assert name in components, info.name
    note = (built.bundle / "licences" / "LGPL-NOTICE.txt").read_text(encoding="utf-8")
    assert "replace" in note and "download.qt.io" in note and "three years" in note
    qt = components["pyside6-essentials"]
    assert "LGPL-3.0-only" in json.dumps(qt["licenses"])
    assert any(p["value"].endswith("/LGPL-3") for p in qt["properties"])


def test_the_deb_carries_the_sbom_and_every_licence_and_lints_its_own_man_page(
    built: Built, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    subprocess.run(["dpkg-deb", "-x", str(built.deb), str(root)], check=True)
    prefix = root / "opt" / "fieldcase"
    sbom = json.loads((prefix / "sbom.cdx.json").read_text(encoding="utf-8"))
    for component in sbom["components"]:
        for prop in component["properties"]:
            if prop["name"] == "fieldcase:licence-file":
                assert (prefix / prop["value"]).is_file(), prop["value"]
    copyright_text = (root / "usr" / "share" / "doc" / "fieldcase" / "copyright").read_text()
    assert "/opt/fieldcase/sbom.cdx.json" in copyright_text
    assert "beside each component" not in copyright_text  # the old, untrue sentence
    page = root / "usr" / "share" / "man" / "man1" / "fieldcase.1.gz"
    shown = subprocess.run(
        ["man", "--warnings", "-l", str(page)],
        capture_output=True,
        text=True,
        env={**os.environ, "MANWIDTH": "80"},
        check=True,
    )
    assert shown.stderr == "", shown.stderr  # groff's own warnings: none
    flat = " ".join(re.sub(".\x08", "", shown.stdout).split())  # no bold or underline
    for command in ("doctor", "policy check", "sync", "case new --type TYPE", "EXIT STATUS"):
        assert command in flat, command
