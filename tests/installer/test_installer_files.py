"""What can be checked of the installers without building them: the Inno Setup script (it
cannot be compiled on Linux), the Windows CI workflow, the .deb's templates and the site
configuration template. Each check ties a file to the code or docs it must agree with."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.site import KEYS, SiteConfig, SiteConfigError, load_site_config

ROOT = Path(__file__).resolve().parents[2]
ISS = ROOT / "installer" / "windows" / "fieldcase.iss"
DOCS = ROOT / "docs" / "it-deployment.md"
WORKFLOW = ROOT / ".github" / "workflows" / "windows-installer.yml"
DEB = ROOT / "installer" / "deb"
TEMPLATE = ROOT / "installer" / "site.toml.template"

SITE_PARAMS = {
    "PROXY",
    "SERVER",
    "CABUNDLE",
    "AUTOLOCK",
    "MINPASSWORD",
    "SYNCINTERVAL",
    "BACKUPDAYS",
    "BACKUPWEEKS",
    "BACKUPMAXMB",
    "COUNCIL",
}


def iss_text() -> str:
    return ISS.read_text(encoding="utf-8")


def iss_sections(text: str) -> dict[str, str]:
    parts = re.split(r"^\[(\w+)\]\s*$", text, flags=re.MULTILINE)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def setup_directives(text: str) -> dict[str, str]:
    body = iss_sections(text)["Setup"]
    return dict(
        (line.split("=", 1)[0].strip(), line.split("=", 1)[1].strip())
        for line in body.splitlines()
        if "=" in line and not line.lstrip().startswith((";", "#"))
    )


def test_the_iss_has_every_section_a_per_machine_installer_needs() -> None:
    sections = iss_sections(iss_text())
    for name in ("Setup", "Languages", "Files", "Icons", "Registry", "Run", "Code", "Dirs"):
        assert name in sections, f"[{name}] missing from {ISS.name}"
    setup = setup_directives(iss_text())
    assert setup["PrivilegesRequired"] == "admin"
    assert "PrivilegesRequiredOverridesAllowed" not in setup  # no per-user fallback
    assert setup["DefaultDirName"] == r"{autopf}\Fieldcase"
    assert setup["AppId"].startswith("{{")  # a fixed id, so upgrades replace the same app
    assert "x64" in setup["ArchitecturesInstallIn64BitMode"]


def test_the_iss_wraps_the_same_bundle_and_template_the_linux_build_makes() -> None:
    text = iss_text()
    bundle = re.search(r'#define BundleDir "([^"]+)"', text)
    assert bundle is not None
    bundle_dir = (ISS.parent / bundle.group(1).replace("\\", "/")).resolve()
    assert bundle_dir == ROOT / "dist" / "fieldcase"
    assert re.search(r'Source: "\{#BundleDir\}\\\*";.*recursesubdirs', text)
    template = re.search(r'Source: "([^"]*site\.toml\.template)"', text)
    assert template is not None
    assert (ISS.parent / template.group(1).replace("\\", "/")).resolve() == TEMPLATE
    # fieldcase.exe is the console CLI; the shortcuts open the window without a console.
    spec = (ROOT / "installer" / "fieldcase.spec").read_text(encoding="utf-8")
    assert 'executable("fieldcasew", console=False)' in spec
    assert re.search(r'Filename: "\{app\}\\fieldcasew\.exe"', iss_sections(text)["Icons"])


def test_the_iss_reads_exactly_the_documented_site_parameters() -> None:
    text = iss_text()
    read = set(re.findall(r"\{param:(\w+)\|\}", text))
    assert read == SITE_PARAMS
    docs = DOCS.read_text(encoding="utf-8")
    for param in sorted(read | {"REMOVEUSERDATA"}):
        assert f"/{param}" in docs, f"/{param} is not documented in {DOCS.name}"
        assert f"/{param}" in text.split("[Setup]")[0], f"/{param} not in the script's header"
    for switch in ("/VERYSILENT", "/SUPPRESSMSGBOXES"):
        assert switch in docs
    assert "cannot be built on Linux" in docs


def code_section() -> str:
    return iss_sections(iss_text())["Code"]


def written_keys() -> dict[str, str]:
    """site.toml key -> the Pascal variable whose value the installer writes for it."""
    return dict(re.findall(r"'(\w+) = ' \+ (?:TomlString\()?(\w+)", code_section()))


def test_the_keys_the_installer_writes_are_the_site_configs_keys() -> None:
    keys = written_keys()
    assert set(keys) == set(KEYS)
    assert keys["ca_bundle"] == "CaFileName"  # a copy beside site.toml, read relative to it


def iss_range(variable: str) -> tuple[int, int]:
    stem = variable.removesuffix("Param")
    low = re.search(rf"\b{stem}Min = (\d+);", code_section())
    high = re.search(rf"\b{stem}Max = (\d+);", code_section())
    assert low and high, f"no range constants for {stem}"
    return int(low.group(1)), int(high.group(1))


@pytest.mark.parametrize(
    "key", ["max_auto_lock_minutes", "min_password_length", "sync_interval_minutes"]
)
def test_the_installers_ranges_are_the_ones_the_app_accepts(key: str, tmp_path: Path) -> None:
    low, high = iss_range(written_keys()[key])
    site = tmp_path / "site.toml"

    def loads(value: int) -> bool:
        site.write_text(f"{key} = {value}\n", encoding="utf-8")
        try:
            load_site_config({"FIELDCASE_SITE_CONFIG": str(site)})
        except SiteConfigError:
            return False
        return True

    assert loads(low) and loads(high)
    assert not loads(low - 1) and not loads(high + 1)


def test_the_code_section_is_balanced() -> None:
    code = re.sub(r"//[^\n]*|'[^'\n]*'", "", code_section())
    opens = len(re.findall(r"\b(begin|case|try)\b", code, flags=re.IGNORECASE))
    closes = len(re.findall(r"\bend\b", code, flags=re.IGNORECASE))
    assert opens == closes
    for event in ("InitializeSetup", "CurStepChanged", "CurUninstallStepChanged"):
        assert re.search(rf"\b(function|procedure) {event}\b", code)


def test_uninstall_keeps_user_data_unless_asked() -> None:
    code = code_section()
    assert "HasSwitch('REMOVEUSERDATA')" in code
    assert "MB_DEFBUTTON2" in code  # asked interactively, "No" (keep) is the default
    removal = code[code.index("procedure CurUninstallStepChanged") :]
    assert re.search(r"if RemoveUserData then\s+RemoveEveryUsersData\(\)", removal)
    assert r"\AppData\Local\Fieldcase" in code  # where app/paths.py puts profiles on Windows


def test_the_windows_workflow_builds_with_the_same_spec_and_iscc() -> None:
    yaml = pytest.importorskip("yaml")  # PyYAML comes with the dev tools (schemathesis)
    flow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    job = flow["jobs"]["build"]
    assert job["runs-on"] == "windows-latest"
    steps = job["steps"]
    setup_python = [s for s in steps if str(s.get("uses", "")).startswith("actions/setup-python")]
    assert setup_python and setup_python[0]["with"]["python-version"] == "3.11"
    commands = "\n".join(str(s.get("run", "")) for s in steps)
    # the lock's versions (as pins: its hashes are of Linux files), desktop and server extras
    assert "python -m tools.lock --pins" in commands
    assert '-c "$env:RUNNER_TEMP\\pins.txt" -e ".[desktop,server,dev]"' in commands
    assert "python -m installer.build" in commands
    assert "ISCC.exe" in commands and r"installer\windows\fieldcase.iss" in commands
    assert "/VERYSILENT" in commands and "/SERVER=" in commands
    # the bundle and the installed program are run with IT's policy in ProgramData and a
    # user's override beside it, and must report the override ignored (issue 10)
    assert commands.count("override_ignored -ne $true") == 2
    assert r'"$env:ProgramData\Fieldcase\site.toml"' in commands
    assert "$env:PROGRAMDATA = " in commands  # the variable moved: the policy must not move


def test_the_deb_templates() -> None:
    assert (DEB / "conffiles").read_text().split() == ["/etc/fieldcase/site.toml"]
    control = (DEB / "control.in").read_text(encoding="utf-8")
    for field in (
        "Package: fieldcase",
        "Version: {version}",
        "Architecture: {arch}",
        "Depends: {depends}",  # computed by dpkg-shlibdeps, never kept by hand
        "Maintainer: {maintainer}",
    ):
        assert field in control
    assert not (DEB / "prerm").exists()  # it had nothing to do (lintian: an empty script)
    for script in ("postinst", "postrm"):
        path = DEB / script
        text = path.read_text(encoding="utf-8")
        assert text.startswith("#!/bin/sh\n") and "\nset -e\n" in text
        assert path.stat().st_mode & 0o111
        assert subprocess.run(["sh", "-n", str(path)], check=False).returncode == 0
        # User data lives in home folders; no maintainer script goes near them.
        assert "/home" not in text and "~" not in text and ".local" not in text
    desktop = (DEB / "fieldcase.desktop").read_text(encoding="utf-8")
    assert "Exec=/usr/bin/fieldcase" in desktop and "Icon=fieldcase" in desktop


def test_the_site_template_is_valid_and_documents_every_key(tmp_path: Path) -> None:
    text = TEMPLATE.read_text(encoding="utf-8")
    env = {"FIELDCASE_SITE_CONFIG": str(TEMPLATE)}
    as_shipped = load_site_config(env)
    assert as_shipped == SiteConfig(source=TEMPLATE)  # all commented out: the defaults
    # Uncommenting each example line gives a valid policy with the documented defaults.
    settings = [
        line[2:]
        for line in text.splitlines()
        if re.match(r"# (\w+) = ", line) and line[2:].split(" ")[0] in KEYS
    ]
    assert {line.split(" ")[0] for line in settings} == set(KEYS)
    (tmp_path / "council-ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    site = tmp_path / "site.toml"
    site.write_text("\n".join(settings) + "\n", encoding="utf-8")
    active = load_site_config({"FIELDCASE_SITE_CONFIG": str(site)})
    defaults = SiteConfig()
    assert active.max_auto_lock_minutes == defaults.max_auto_lock_minutes
    assert active.min_password_length == defaults.min_password_length
    assert active.sync_interval_minutes == defaults.sync_interval_minutes
    assert active.server_url is not None and active.server_url.startswith("https://")


def test_the_windows_icon_is_rendered_from_the_svg(tmp_path: Path, qapp: object) -> None:
    """The .ico the .iss and the Windows executables use is made on the Windows runner by
    this same function; here it is made and read back with Qt (offscreen). ``qapp`` makes the
    test process's one QApplication first, so the build's own QGuiApplication is never made
    here (a bare QGuiApplication would abort every later widget test in this process)."""
    from PySide6.QtGui import QImage

    # By path: under pytest the name "installer" is this test folder's package.
    spec = importlib.util.spec_from_file_location("fieldcase_build", ROOT / "installer/build.py")
    assert spec is not None and spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, build)
    spec.loader.exec_module(build)

    icon = tmp_path / "fieldcase.ico"
    build.write_ico(icon)
    assert icon.read_bytes()[:4] == b"\x00\x00\x01\x00"  # an ICO file's header
    image = QImage(str(icon))
    assert (image.width(), image.height()) == (256, 256)
    assert image.pixelColor(128, 20).name() == "#1d70b8"  # the icon's blue, not blank
