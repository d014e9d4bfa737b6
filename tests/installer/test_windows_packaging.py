"""The Windows packaging, checked on Linux without building it: the MSI's WiX source
(installer/windows/fieldcase.wxs), the Inno Setup script's folder permissions, the Windows CI
workflow that builds, signs, installs, upgrades and uninstalls both, and the executables'
version resources. Each check ties a file to the code it must agree with (app/site.py, the
Inno Setup script, app.__version__), so that one cannot drift from the other unseen.

The MSI's launch conditions are evaluated here by a small reading of Windows Installer's
condition syntax (only what the .wxs uses), so that the values the MSI lets through can be put
to Fieldcase's own checks of the same settings."""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

import app
from app.site import _RANGES, KEYS
from sync.address import service_address_problem
from sync.proxy import proxy_setting_problem
from tests.installer.test_installer_files import SITE_PARAMS, code_section, iss_text

ROOT = Path(__file__).resolve().parents[2]
WXS = ROOT / "installer" / "windows" / "fieldcase.wxs"
WORKFLOW = ROOT / ".github" / "workflows" / "windows-installer.yml"
SPEC = ROOT / "installer" / "fieldcase.spec"
DOCS = ROOT / "docs" / "it-deployment.md"

#: Made once and kept for ever: every later MSI finds and replaces the installed one by it.
UPGRADE_CODE = "{9327B3C3-1542-4457-9914-4541CA33BE5B}"
#: Where the MSI writes the settings given as properties (the app reads them there).
SETTINGS_KEY = r"SOFTWARE\Fieldcase"
#: The Inno Setup script's AppId: the MSI refuses to install over that copy.
INNO_APP_ID = "{9B3F6C2E-4D1A-4F7B-8E55-2C6A1D0F9A41}"

NS = {"w": "http://wixtoolset.org/schemas/v4/wxs"}
W = "{http://wixtoolset.org/schemas/v4/wxs}"

# ----------------------------------------------------------------------------- the .wxs


def wxs_text() -> str:
    return WXS.read_text(encoding="utf-8")


def wxs() -> ET.Element:
    return ET.fromstring(wxs_text())  # noqa: S314 (the repository's own file)


def defines() -> dict[str, str]:
    """The preprocessor's <?define NAME = "value" ?> lines."""
    return dict(re.findall(r'<\?define\s+(\w+)\s*=\s*"([^"]*)"\s*\?>', wxs_text()))


def resolved(value: str) -> str:
    """``value`` with the .wxs's own $(var.NAME) defines put in."""
    found = defines()
    return re.sub(r"\$\(var\.(\w+)\)", lambda m: found[m.group(1)], value)


def package() -> ET.Element:
    found = wxs().find("w:Package", NS)
    assert found is not None, "the .wxs has no Package"
    return found


@dataclass(frozen=True)
class Setting:
    """One site setting as the .wxs writes it: the component that writes the value given on
    the command line, and the one that writes back the value an earlier version wrote."""

    param: str
    given: ET.Element
    kept: ET.Element

    @staticmethod
    def value_of(component: ET.Element) -> ET.Element:
        values = component.findall("w:RegistryValue", NS)
        assert len(values) == 1, f"{component.get('Id')} writes {len(values)} values, not 1"
        return values[0]

    @property
    def key(self) -> str:
        return self.value_of(self.given).get("Name", "")


def settings() -> dict[str, Setting]:
    """PARAM -> its Setting, from the SiteSettings component group."""
    group = wxs().find(".//w:ComponentGroup[@Id='SiteSettings']", NS)
    assert group is not None, "the .wxs has no SiteSettings component group"
    given: dict[str, ET.Element] = {}
    kept: dict[str, ET.Element] = {}
    for component in group.findall("w:Component", NS):
        condition = component.get("Condition", "")
        if re.fullmatch(r"[A-Z]+", condition):
            given[condition] = component
        else:
            found = re.fullmatch(r"NOT ([A-Z]+) AND KEPT_\1", condition)
            assert found, f"{component.get('Id')} has an unexpected condition {condition!r}"
            kept[found.group(1)] = component
    assert set(given) == set(kept), "each setting needs a given and a kept component"
    return {param: Setting(param, given[param], kept[param]) for param in given}


def inno_keys() -> dict[str, str]:
    """PARAM -> the site.toml key the Inno Setup script writes for it."""
    code = code_section()
    stems = dict(re.findall(r"(\w+)Param := Trim\(ExpandConstant\('\{param:(\w+)\|\}'\)\)", code))
    body = code[code.index("procedure WriteSiteConfig") :]
    body = body[: body.index("\nend;")]
    mapping: dict[str, str] = {}
    for found in re.finditer(r"'(\w+) = '", body):
        guards = re.findall(r"if (\w+)Param <> '' then", body[: found.start()])
        assert guards, f"{found.group(1)} is written without a parameter guarding it"
        mapping[stems[guards[-1]]] = found.group(1)
    return mapping


def test_the_package_is_per_machine_with_the_stable_upgrade_code() -> None:
    pkg = package()
    assert pkg.get("UpgradeCode") == UPGRADE_CODE
    assert pkg.get("Scope") == "perMachine"
    assert pkg.get("Version") == "$(var.Version)"  # given by the build, never a stale literal
    # MsiLockPermissionsEx (the site folder's permissions) needs Windows Installer 5.0
    assert int(pkg.get("InstallerVersion", "0")) >= 500
    upgrade = pkg.find("w:MajorUpgrade", NS)
    assert upgrade is not None
    message = upgrade.get("DowngradeErrorMessage", "")
    assert "newer version of Fieldcase" in message and "nothing was changed" in message
    # the old version's values are removed before the kept ones are written again
    assert upgrade.get("Schedule") == "afterInstallValidate"


def test_it_installs_the_whole_bundle_into_program_files_with_a_shortcut_and_path() -> None:
    pkg = package()
    program_files = pkg.find("w:StandardDirectory[@Id='ProgramFiles64Folder']", NS)
    assert program_files is not None
    folder = program_files.find("w:Directory[@Id='INSTALLFOLDER']", NS)
    assert folder is not None and folder.get("Name") == "Fieldcase"
    files = pkg.find(".//w:ComponentGroup[@Id='Program']/w:Files", NS)
    assert files is not None and files.get("Include") == "$(var.BundleDir)\\**"
    excluded = [e.get("Files") for e in files.findall("w:Exclude", NS)]
    assert excluded == ["$(var.BundleDir)\\fieldcase.exe"]  # authored beside its PATH entry
    cli = pkg.find(".//w:Component[@Id='CommandLine']", NS)
    assert cli is not None
    exe = cli.find("w:File", NS)
    assert exe is not None and exe.get("Source") == "$(var.BundleDir)\\fieldcase.exe"
    path = cli.find("w:Environment", NS)
    assert path is not None
    assert (path.get("Name"), path.get("Value"), path.get("System")) == (
        "PATH",
        "[INSTALLFOLDER]",
        "yes",
    )
    assert path.get("Part") == "last" and path.get("Permanent") == "no"
    shortcut = pkg.find(".//w:StandardDirectory[@Id='ProgramMenuFolder']//w:Shortcut", NS)
    assert shortcut is not None and shortcut.get("Target") == "[INSTALLFOLDER]fieldcasew.exe"
    assert pkg.find("w:Property[@Id='ARPPRODUCTICON']", NS) is not None
    icon = pkg.find("w:Icon", NS)
    assert icon is not None and icon.get("SourceFile") == "$(var.IconFile)"
    # the defaults point at what installer/build.py makes
    bundle = defines()["BundleDir"].replace("$(sys.SOURCEFILEDIR)", "").replace("\\", "/")
    assert (WXS.parent / bundle).resolve() == ROOT / "dist" / "fieldcase"
    # every component group is in the one feature
    feature = pkg.find("w:Feature", NS)
    assert feature is not None
    groups = {ref.get("Id") for ref in feature.findall("w:ComponentGroupRef", NS)}
    assert groups == {"Program", "SiteSettings"}


def test_the_public_properties_are_the_inno_scripts_parameters() -> None:
    pkg = package()
    public = {
        p.get("Id", "")
        for p in pkg.findall("w:Property", NS)
        if p.get("Secure") == "yes" and p.get("Value") is None and len(p) == 0
    }
    assert public == SITE_PARAMS
    assert set(settings()) == SITE_PARAMS


def test_each_property_writes_the_key_the_inno_script_writes() -> None:
    inno = inno_keys()
    assert set(inno) == SITE_PARAMS
    found = {param: setting.key for param, setting in settings().items()}
    assert found == inno
    assert set(found.values()) == set(KEYS)


def test_the_values_go_under_hklm_software_fieldcase_with_their_types() -> None:
    for param, setting in settings().items():
        given, kept = setting.value_of(setting.given), setting.value_of(setting.kept)
        for component, value in ((setting.given, given), (setting.kept, kept)):
            assert value.get("Root") == "HKLM", param
            assert resolved(value.get("Key", "")) == SETTINGS_KEY, param
            assert value.get("Name") == setting.key, param
            assert value.get("KeyPath") == "yes", param
            assert component.get("Bitness") == "always64", param  # the 64-bit view
        if setting.key in _RANGES:
            assert (given.get("Type"), given.get("Value")) == ("integer", f"[{param}]")  # DWORD
        elif param == "CABUNDLE":
            assert (given.get("Type"), given.get("Value")) == (
                "string",
                "[SITEFOLDER]ca-bundle.pem",
            )
        else:
            assert (given.get("Type"), given.get("Value")) == ("string", f"[{param}]")  # REG_SZ
        # a kept value is written back exactly as it was read ("#10" is the same DWORD again)
        assert (kept.get("Type"), kept.get("Value")) == ("string", f"[KEPT_{param}]")
    numbers = {s.key for s in settings().values() if s.value_of(s.given).get("Type") == "integer"}
    assert numbers == set(_RANGES)


def test_an_upgrade_reads_back_what_the_previous_version_wrote() -> None:
    pkg = package()
    for param, setting in settings().items():
        prop = pkg.find(f"w:Property[@Id='KEPT_{param}']", NS)
        assert prop is not None, f"KEPT_{param} is not declared"
        search = prop.find("w:RegistrySearch", NS)
        assert search is not None
        assert search.get("Root") == "HKLM"
        assert resolved(search.get("Key", "")) == SETTINGS_KEY
        assert search.get("Name") == setting.key
        assert search.get("Type") == "raw" and search.get("Bitness") == "always64"
    # given and kept write the same value, so their component ids must differ by GUID
    guids = [s.kept.get("Guid") for s in settings().values()]
    assert all(guids) and len(set(guids)) == len(guids)


def test_cabundle_is_copied_into_the_protected_site_folder() -> None:
    pkg = package()
    setting = settings()["CABUNDLE"]
    copy = setting.given.find("w:CopyFile", NS)
    assert copy is not None
    assert copy.get("SourceProperty") == "CABUNDLE"  # the full path of the file given
    assert copy.get("DestinationDirectory") == "SITEFOLDER"
    assert copy.get("DestinationName") == "ca-bundle.pem"
    common = pkg.find("w:StandardDirectory[@Id='CommonAppDataFolder']", NS)
    assert common is not None
    site = common.find("w:Directory[@Id='SITEFOLDER']", NS)
    assert site is not None and site.get("Name") == "Fieldcase"
    assert site.find("w:Component/w:CreateFolder/w:PermissionEx", NS) is not None


# --------------------------------------------------------------- the site folder's DACL

#: Rights that let a holder change a file or folder, its permissions or owner.
WRITE_RIGHTS = (
    0x2  # write data / add file
    | 0x4  # append data / add subfolder
    | 0x10  # write extended attributes
    | 0x40  # delete children
    | 0x100  # write attributes
    | 0x10000  # delete
    | 0x40000  # change permissions
    | 0x80000  # take ownership
    | 0x10000000  # generic all
    | 0x40000000  # generic write
)
SDDL_RIGHTS = {
    "FA": 0x1F01FF,
    "FR": 0x120089,
    "FW": 0x120116,
    "FX": 0x1200A0,
    "GA": 0x10000000,
    "GR": 0x80000000,
    "GW": 0x40000000,
    "GX": 0x20000000,
    "RC": 0x20000,
    "SD": 0x10000,
    "WD": 0x40000,
    "WO": 0x80000,
}
ADMINS = {"SY", "BA", "S-1-5-18", "S-1-5-32-544"}


@dataclass(frozen=True)
class Ace:
    kind: str
    flags: str
    rights: int
    sid: str


def sddl_rights(text: str) -> int:
    if text.lower().startswith("0x"):
        return int(text, 16)
    codes = [text[i : i + 2] for i in range(0, len(text), 2)]
    assert all(code in SDDL_RIGHTS for code in codes), f"unknown rights {text}"
    mask = 0
    for code in codes:
        mask |= SDDL_RIGHTS[code]
    return mask


def parse_dacl(sddl: str) -> tuple[str, list[Ace]]:
    found = re.fullmatch(r"D:([A-Z]*)((?:\([^)]*\))+)", sddl)
    assert found, f"not a DACL in SDDL: {sddl}"
    aces = []
    for body in re.findall(r"\(([^)]*)\)", found.group(2)):
        kind, flags, rights, _object, _inherited, sid = body.split(";")
        aces.append(Ace(kind, flags, sddl_rights(rights), sid))
    return found.group(1), aces


def test_the_sddl_parser_knows_a_writable_dacl_when_it_sees_one() -> None:
    _, aces = parse_dacl("D:(A;OICI;FA;;;BU)(A;;FRFX;;;WD)")
    assert aces[0].rights & WRITE_RIGHTS and not aces[1].rights & WRITE_RIGHTS


def test_the_site_folder_dacl_is_protected_and_users_only_read() -> None:
    permission = package().find(".//w:Directory[@Id='SITEFOLDER']//w:PermissionEx", NS)
    assert permission is not None
    flags, aces = parse_dacl(permission.get("Sddl", ""))
    assert "P" in flags  # protected: nothing inherited from ProgramData
    assert all(ace.kind == "A" and ace.flags == "OICI" for ace in aces)  # passed to every file
    by_sid = {ace.sid: ace.rights for ace in aces}
    assert by_sid.get("SY") == SDDL_RIGHTS["FA"] and by_sid.get("BA") == SDDL_RIGHTS["FA"]
    users = by_sid.get("BU")
    assert users is not None and users & 0x1 and users & 0x20  # read data, execute/traverse
    for ace in aces:
        if ace.sid not in ADMINS:
            assert not ace.rights & WRITE_RIGHTS, f"{ace.sid} may change the site folder"


def test_the_inno_script_gives_the_site_folder_the_same_permissions() -> None:
    code = code_section()
    lock = code[code.index("procedure LockSiteFolder") :]
    lock = lock[: lock.index("\nend;")]
    assert "/reset" in lock and "/inheritance:r /grant:r" in lock
    grants = dict(re.findall(r"\*(S-1-5-[\d-]+):\(OI\)\(CI\)(\w+)", lock))
    assert grants == {"S-1-5-18": "F", "S-1-5-32-544": "F", "S-1-5-32-545": "RX"}
    assert "{sys}\\icacls.exe" in code and "SW_HIDE" in code and "ewWaitUntilTerminated" in code
    step = code[code.index("procedure CurStepChanged") :]
    # locked on every install, before any site.toml is written into it
    assert step.index("LockSiteFolder();") < step.index("WriteSiteConfig();")
    assert "if HasSiteParams() then" in step.split("LockSiteFolder();")[1]
    assert "{commonappdata}\\Fieldcase" in iss_text()


# ------------------------------------------------------- the launch conditions, evaluated

_TOKEN = re.compile(
    r'\s*(?:(?P<text>"[^"]*")|(?P<op>~?(?:>=|<=|<>|><|<<|>>|=|<|>))|(?P<paren>[()])'
    r"|(?P<number>-?\d+)|(?P<word>[A-Za-z_][\w.]*))"
)
_INTEGER = re.compile(r"[+-]?\d+")


def _as_value(raw: str) -> int | str:
    """A property's value as Windows Installer compares it: a whole number when it is one."""
    if _INTEGER.fullmatch(raw) and -(2**31) <= int(raw) < 2**31:
        return int(raw)
    return raw


def _compare(left: int | str, op: str, right: int | str) -> bool:
    fold = op.startswith("~")
    op = op.removeprefix("~")
    if isinstance(left, int) and isinstance(right, int):
        numbers = {
            "=": left == right,
            "<>": left != right,
            ">": left > right,
            "<": left < right,
            ">=": left >= right,
            "<=": left <= right,
        }
        return numbers[op]
    if isinstance(left, int) or isinstance(right, int):
        return op == "<>"  # a number and text: only "differs" holds
    if fold:
        left, right = left.lower(), right.lower()
    texts = {
        "=": left == right,
        "<>": left != right,
        "><": right in left,
        "<<": left.startswith(right),
        ">>": left.endswith(right),
        ">": left > right,
        "<": left < right,
        ">=": left >= right,
        "<=": left <= right,
    }
    return texts[op]


class Condition:
    """Windows Installer's condition syntax, as far as the .wxs uses it: NOT, AND, OR,
    parentheses, properties, "text" and numbers, and the comparisons with their ~ forms."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str]] = []
        position = 0
        while position < len(text.rstrip()):
            found = _TOKEN.match(text, position)
            assert found and found.end() > position, f"cannot read {text[position:]!r}"
            kind = found.lastgroup or ""
            self.tokens.append((kind, found.group(kind)))
            position = found.end()

    def __call__(self, props: Mapping[str, str]) -> bool:
        self._props = props
        self._at = 0
        result = self._or()
        assert self._at == len(self.tokens), f"left over in {self.text!r}"
        return result

    def _peek(self) -> tuple[str, str]:
        return self.tokens[self._at] if self._at < len(self.tokens) else ("", "")

    def _take(self) -> tuple[str, str]:
        token = self._peek()
        self._at += 1
        return token

    def _or(self) -> bool:
        result = self._and()
        while self._peek() == ("word", "OR"):
            self._take()
            right = self._and()
            result = result or right
        return result

    def _and(self) -> bool:
        result = self._not()
        while self._peek() == ("word", "AND"):
            self._take()
            right = self._not()
            result = result and right
        return result

    def _not(self) -> bool:
        if self._peek() == ("word", "NOT"):
            self._take()
            return not self._not()
        if self._peek() == ("paren", "("):
            self._take()
            result = self._or()
            assert self._take() == ("paren", ")"), f"unbalanced {self.text!r}"
            return result
        left, truth = self._operand()
        if self._peek()[0] == "op":
            op = self._take()[1]
            right, _ = self._operand()
            return _compare(left, op, right)
        return truth

    def _operand(self) -> tuple[int | str, bool]:
        kind, token = self._take()
        if kind == "text":
            return token[1:-1], bool(token[1:-1])
        if kind == "number":
            return int(token), int(token) != 0
        assert kind == "word", f"unexpected {token!r} in {self.text!r}"
        raw = self._props.get(token, "")
        return _as_value(raw), raw != ""


def _format(message: str, props: Mapping[str, str]) -> str:
    return re.sub(r"\[(\w+)\]", lambda m: props.get(m.group(1), ""), message)


def msi_refusals(given: Mapping[str, str]) -> list[str]:
    """The messages the MSI stops with for these command-line properties (none: it installs),
    after its SetProperty actions ran as they do before LaunchConditions."""
    pkg = package()
    props = dict(given)
    for action in pkg.findall("w:SetProperty", NS):
        if Condition(action.get("Condition", ""))(props):
            props[action.get("Id", "")] = action.get("Value", "")
    return [
        _format(launch.get("Message", ""), props)
        for launch in pkg.findall("w:Launch", NS)
        if not Condition(launch.get("Condition", ""))(props)
    ]


def test_the_condition_reader_follows_windows_installer() -> None:
    assert Condition("NOT A OR (A >= 1 AND A <= 5)")({"A": "3"})
    assert not Condition("NOT A OR (A >= 1 AND A <= 5)")({"A": "x"})  # text is not a number
    assert Condition('A ~<< "HTTP"')({"A": "http://x"}) and not Condition('A << "HTTP"')({"A": "h"})
    assert Condition("NOT A")({}) and not Condition("NOT A")({"A": "0"})  # set at all is true


def test_every_condition_fits_its_column() -> None:
    """Windows Installer's condition columns hold at most 255 characters."""
    conditions = [e.get("Condition", "") for e in wxs().iter() if e.get("Condition") is not None]
    assert conditions
    for condition in conditions:
        assert len(condition) <= 255, condition
        Condition(condition)  # and each one can be read


def test_nothing_given_installs() -> None:
    assert msi_refusals({}) == []


@pytest.mark.parametrize("key", sorted(_RANGES))
def test_the_number_ranges_are_the_apps(key: str) -> None:
    param = next(p for p, s in settings().items() if s.key == key)
    low, high, unit = _RANGES[key]
    launch = next(
        launch
        for launch in package().findall("w:Launch", NS)
        if re.search(rf"\b{param} >= ", launch.get("Condition", ""))
    )
    found = re.fullmatch(
        rf"NOT {param} OR \({param} >= (\d+) AND {param} <= (\d+)\)", launch.get("Condition", "")
    )
    assert found and (int(found.group(1)), int(found.group(2))) == (low, high)
    message = launch.get("Message", "")
    assert f"{param}=[{param}] is not allowed" in message
    assert f"{unit} from {low} to {high}" in message and "Nothing was changed" in message
    for value in (low, high, (low + high) // 2):
        assert msi_refusals({param: str(value)}) == [], value
    for value in (str(low - 1), str(high + 1), "ten", "12.5", "99999999999"):
        refused = msi_refusals({param: value})
        assert refused == [_format(message, {param: value})], value
        assert f"{param}={value} is not allowed" in refused[0]


#: Service addresses the MSI must take, and ones it must refuse (each also by Fieldcase).
GOOD_SERVERS = [
    "https://fieldcase.example.gov.uk",
    "https://fieldcase.example.gov.uk:8443/fieldcase/",
    "HTTPS://FIELDCASE.EXAMPLE.GOV.UK",
    "http://127.0.0.1:8000",
    "http://localhost",
    "http://LOCALHOST:8080/api",
    "http://[::1]:8000",
]
BAD_SERVERS = [
    "http://fieldcase.example.gov.uk",
    "http://localhost.example.com",
    "http://127.0.0.1.nip.io",
    "ftp://fieldcase.example.gov.uk",
    "fieldcase.example.gov.uk",
    "https://",
    "https:///fieldcase",
    "https://caseworker:secret@fieldcase.example.gov.uk",
]
#: Addresses the MSI lets through that Fieldcase refuses when it reads the setting (doctor
#: names it): Windows Installer's conditions cannot read a port number.
SERVERS_FIELDCASE_REFUSES_LATER = ["https://fieldcase.example.gov.uk:port"]


def test_server_takes_what_fieldcase_takes_and_refuses_plain_http_elsewhere() -> None:
    for url in GOOD_SERVERS:
        assert service_address_problem(url) is None, url  # the table itself is right
        assert msi_refusals({"SERVER": url}) == [], url
    for url in BAD_SERVERS:
        assert service_address_problem(url) is not None, url
        refused = msi_refusals({"SERVER": url})
        assert refused and all(f"SERVER={url} is not allowed" in r for r in refused), url
    for url in SERVERS_FIELDCASE_REFUSES_LATER:
        assert msi_refusals({"SERVER": url}) == [] and service_address_problem(url) is not None


GOOD_PROXIES = [
    "none",
    "system",
    "http://proxy.council.local:3128",
    "http://fieldcase:secret@proxy.council.local:3128",
    "https://proxy.council.local",
]
BAD_PROXIES = ["None", "SYSTEM", "socks5://proxy:1080", "proxy.council.local:3128", "http://"]


def test_proxy_takes_what_fieldcase_takes() -> None:
    for value in GOOD_PROXIES:
        assert proxy_setting_problem(value) is None, value
        assert msi_refusals({"PROXY": value}) == [], value
    for value in BAD_PROXIES:
        assert proxy_setting_problem(value) is not None, value
        refused = msi_refusals({"PROXY": value})
        assert refused and f"PROXY={value} is not allowed" in refused[0], value
    assert msi_refusals({"PROXY": "http:///path"})  # no host


def test_cabundle_council_and_the_inno_copy() -> None:
    for path in (r"\\fileserver\it\council-ca.pem", r"C:\Temp\council-ca.pem"):
        assert msi_refusals({"CABUNDLE": path}) == [], path
    assert "give the full path" in msi_refusals({"CABUNDLE": "council-ca.pem"})[0]
    assert msi_refusals({"COUNCIL": "Northshire Council"}) == []
    assert msi_refusals({"COUNCIL": "#1 Council"})  # would read back as a number
    refused = msi_refusals({"INNO_SETUP_COPY": '"C:\\Program Files\\Fieldcase\\unins000.exe"'})
    assert refused and "by its .exe installer" in refused[0]
    search = package().find("w:Property[@Id='INNO_SETUP_COPY']/w:RegistrySearch", NS)
    assert search is not None
    assert search.get("Key", "").endswith(f"\\Uninstall\\{INNO_APP_ID}_is1")
    assert f"AppId={{{INNO_APP_ID}" in iss_text()  # the .iss writes its AppId with {{


# ------------------------------------------------------------------------- the workflow


def workflow() -> dict[str, Any]:
    yaml = pytest.importorskip("yaml")  # PyYAML comes with the dev tools
    return dict(yaml.safe_load(WORKFLOW.read_text(encoding="utf-8")))


def steps() -> list[dict[str, Any]]:
    return list(workflow()["jobs"]["build"]["steps"])


def step(name_start: str) -> tuple[int, dict[str, Any]]:
    for index, found in enumerate(steps()):
        if str(found.get("name", "")).startswith(name_start):
            return index, found
    raise AssertionError(f"no step named {name_start!r}...")


def test_every_action_is_pinned_to_a_commit_with_its_version_beside_it() -> None:
    lines = [line for line in WORKFLOW.read_text(encoding="utf-8").splitlines() if "uses:" in line]
    used = [s["uses"] for s in steps() if "uses" in s]
    assert len(lines) == len(used) >= 3
    shas: dict[str, set[str]] = {}
    for line in lines:
        found = re.fullmatch(
            r"\s*(?:- )?uses: ([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # v\d+\.\d+\.\d+\s*", line
        )
        assert found, f"not pinned to a full commit with a # vX.Y.Z comment: {line.strip()}"
        shas.setdefault(found.group(1), set()).add(found.group(2))
    assert all(len(found) == 1 for found in shas.values()), shas  # one version of each
    assert {"actions/checkout", "actions/setup-python", "actions/upload-artifact"} <= set(shas)


def test_wix_and_inno_setup_are_pinned() -> None:
    env = workflow()["env"]
    assert re.fullmatch(r"5\.\d+\.\d+", env["WIX_VERSION"])  # WiX v5, whose schema the .wxs uses
    assert re.fullmatch(r"6\.\d+\.\d+", env["INNO_SETUP_VERSION"])
    _, tools = step("Install WiX and Inno Setup")
    run = tools["run"]
    assert "dotnet tool install --global wix --version $env:WIX_VERSION" in run
    assert "choco install innosetup --version=$env:INNO_SETUP_VERSION" in run
    # and each checks that the version it asked for is the one it got
    assert '-notlike "$env:WIX_VERSION*"' in run and '-notlike "$env:INNO_SETUP_VERSION*"' in run
    text = WORKFLOW.read_text(encoding="utf-8")
    for extension in re.findall(r"wix extension add[^\n]*", text):
        assert extension.endswith("/$env:WIX_VERSION"), extension
    assert 'xmlns="http://wixtoolset.org/schemas/v4/wxs"' in wxs_text()


def test_the_bundle_is_built_once_then_both_installers() -> None:
    commands = [str(s.get("run", "")) for s in steps()]
    assert sum("python -m installer.build" in c for c in commands) == 1
    index, build = step("Build the installers")
    run = build["run"]
    assert "ISCC.exe" in run and run.count(r"installer\windows\fieldcase.iss") == 2
    assert run.count(r"installer\windows\fieldcase.wxs") == 2 and '"build", "-arch", "x64"' in run
    assert '"Version=$version"' in run and '"Version=$env:OLD_VERSION"' in run
    assert '"/DAppVersion=$env:OLD_VERSION"' in run  # the older Inno Setup package too
    assert re.fullmatch(r"0\.0\.\d+", workflow()["env"]["OLD_VERSION"])
    assert app.__version__ != workflow()["env"]["OLD_VERSION"]
    built_bundle, _ = step("Build the bundle")
    assert built_bundle < index


def test_the_msi_is_installed_upgraded_and_uninstalled() -> None:
    refused_at, refused = step("MSI: a setting out of range")
    install_at, install = step("MSI: silent install")
    upgrade_at, upgrade = step("MSI: upgrade")
    remove_at, remove = step("MSI: silent uninstall")
    assert refused_at < install_at < upgrade_at < remove_at
    checks = step("Write the checks")[1]["run"]
    assert '"/qn", "/norestart", "/l*v"' in checks  # every msiexec run is silent and logged
    assert "AUTOLOCK=999" in refused["run"] and "is not allowed" in refused["run"]
    run = install["run"]
    assert r"old\fieldcase-$env:OLD_VERSION.msi" in run and 'Invoke-Msi @("/i"' in run
    for param in SITE_PARAMS - {"BACKUPDAYS", "BACKUPWEEKS"}:
        assert f"{param}=" in run, param
    assert 'Assert-Setting "max_auto_lock_minutes" 10 "DWord"' in run
    assert 'Assert-Setting "server_url" $Server "String"' in run
    assert "Assert-SiteFolderLocked" in run
    assert "$site.facts.max_auto_lock_minutes -ne 10" in run
    assert '$site.facts.origin.max_auto_lock_minutes -ne "installer"' in run
    run = upgrade["run"]
    assert r"dist\fieldcase-$env:FIELDCASE_VERSION.msi" in run and 'Invoke-Msi @("/i"' in run
    assert "Assert-OneProduct $env:FIELDCASE_VERSION" in run
    assert 'Assert-Setting "max_auto_lock_minutes" 10 "DWord"' in run  # kept, still a DWORD
    run = remove["run"]
    assert 'Invoke-Msi @("/x"' in run
    for check in ("Assert-NoSettings", "Assert-UserDataKept", "site.toml"):
        assert check in run, check
    assert "$SettingNames" in checks and all(f'"{key}"' in checks for key in KEYS)


def test_the_inno_package_is_installed_upgraded_and_uninstalled() -> None:
    install_at, install = step("Inno Setup: silent install")
    upgrade_at, upgrade = step("Inno Setup: upgrade")
    assert step("MSI: silent uninstall")[0] < install_at < upgrade_at
    assert r"old\fieldcase-$env:OLD_VERSION-setup.exe" in install["run"]
    assert "Assert-SiteFolderLocked" in install["run"]
    run = upgrade["run"]
    assert r"dist\fieldcase-$env:FIELDCASE_VERSION-setup.exe" in run
    assert "Assert-OneProduct $env:FIELDCASE_VERSION" in run and "unins000.exe" in run
    assert "Assert-UserDataKept" in run


def test_signing_runs_only_with_a_certificate_and_signs_before_and_after_packaging() -> None:
    check_at, check = step("Is a code-signing certificate configured?")
    assert check["env"]["PFX_BASE64"] == "${{ secrets.WINDOWS_SIGNING_PFX_BASE64 }}"
    assert check["id"] == "signing"
    enabled = "steps.signing.outputs.enabled == 'true'"
    signing = [
        (index, s) for index, s in enumerate(steps()) if "signtool sign" in str(s.get("run", ""))
    ]
    assert len(signing) == 2
    build_at, build = step("Build the installers")
    (bundle_at, bundle), (after_at, after) = signing
    assert check_at < bundle_at < build_at < after_at
    for _, s in signing:
        assert s.get("if") == enabled
        run = s["run"]
        assert "/fd sha256" in run and "/tr $env:TIMESTAMP_URL" in run and "/td sha256" in run
    assert "fieldcase.exe" in bundle["run"] and "fieldcasew.exe" in bundle["run"]
    assert (
        ".msi" in after["run"]
        and "-setup.exe" in after["run"]
        and "signtool verify" in after["run"]
    )
    load = step("Load the signing certificate")[1]
    assert load.get("if") == enabled
    assert load["env"]["PFX_PASSWORD"] == "${{ secrets.WINDOWS_SIGNING_PFX_PASSWORD }}"
    # Inno Setup signs the setup program and its uninstaller only when a certificate is loaded
    assert "if ($env:SIGNING_THUMBPRINT)" in build["run"] and '"/DSign"' in build["run"]
    assert re.match(r"https?://", workflow()["env"]["TIMESTAMP_URL"])
    text = WORKFLOW.read_text(encoding="utf-8")
    assert "secrets." not in text.split("jobs:")[0]  # no secret at workflow level
    # steps with a secret in their environment: the detection and the loading, nothing else
    with_secrets = [s.get("name") for s in steps() if "secrets." in str(s.get("env", ""))]
    assert len(with_secrets) == 2


def test_both_installers_are_uploaded() -> None:
    uploads = [s for s in steps() if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    paths = str(uploads[0]["with"]["path"])
    assert "dist/fieldcase-*-setup.exe" in paths and "dist/fieldcase-*.msi" in paths
    assert uploads[0]["with"]["if-no-files-found"] == "error"


# ------------------------------------------------------------------- version resources


def load_build() -> ModuleType:
    """installer/build.py, by path (under pytest ``installer`` may name a test package)."""
    spec = importlib.util.spec_from_file_location("fieldcase_build", ROOT / "installer/build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def versioninfo(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """PyInstaller's own reader of version-info files. Its module imports two Windows-only
    helpers (pefile, and win32api through PyInstaller.compat) that only writing into an .exe
    uses; where they are missing, empty stand-ins take their place while it loads."""
    import PyInstaller.compat as compat

    name = "PyInstaller.utils.win32.versioninfo"
    if importlib.util.find_spec("pefile") is None:
        monkeypatch.setitem(sys.modules, "pefile", ModuleType("pefile"))
    if not hasattr(compat, "win32api"):
        monkeypatch.setattr(compat, "win32api", None, raising=False)
    earlier = sys.modules.pop(name, None)
    try:
        yield importlib.import_module(name)
    finally:
        sys.modules.pop(name, None)
        if earlier is not None:
            sys.modules[name] = earlier


def strings_of(info: Any) -> dict[str, str]:
    (string_info, var_info) = info.kids
    (table,) = string_info.kids
    (translation,) = var_info.kids
    assert table.name == f"{translation.kids[0]:04X}{translation.kids[1]:04X}"
    return {s.name: s.val for s in table.kids}


def test_the_version_files_parse_and_carry_the_apps_version(
    tmp_path: Path, versioninfo: ModuleType
) -> None:
    build = load_build()
    written = build.write_version_files(tmp_path)
    assert set(written) == {"fieldcase", "fieldcasew"}
    major, minor, patch, extra = build.version_numbers(app.__version__)
    assert ".".join(map(str, (major, minor, patch))) in app.__version__
    descriptions = set()
    for name, path in written.items():
        assert path == tmp_path / f"{name}.txt"
        info = versioninfo.load_version_info_from_text_file(str(path))
        ffi = info.ffi
        assert (ffi.fileVersionMS, ffi.fileVersionLS) == (
            (major << 16) | minor,
            (patch << 16) | extra,
        )
        assert (ffi.productVersionMS, ffi.productVersionLS) == (
            ffi.fileVersionMS,
            ffi.fileVersionLS,
        )
        strings = strings_of(info)
        assert strings["OriginalFilename"] == f"{name}.exe"
        assert strings["InternalName"] == name
        assert strings["ProductName"] == "Fieldcase"
        assert strings["FileVersion"] == strings["ProductVersion"] == app.__version__
        assert "Apache License 2.0" in strings["LegalCopyright"]
        assert strings["LegalCopyright"].startswith("Copyright ")
        assert strings["CompanyName"]
        descriptions.add(strings["FileDescription"])
    assert len(descriptions) == 2  # the command line and the window say which they are


def test_version_numbers() -> None:
    build = load_build()
    assert build.version_numbers("0.1.0") == (0, 1, 0, 0)
    assert build.version_numbers("2.3") == (2, 3, 0, 0)
    assert build.version_numbers("1.2.0rc1") == (1, 2, 0, 0)
    assert build.version_numbers("1.2.3.4") == (1, 2, 3, 4)
    with pytest.raises(build.BuildError, match="65535"):
        build.version_numbers("70000.0.0")
    with pytest.raises(build.BuildError, match="does not start with a number"):
        build.version_numbers("dev")


def test_the_build_hands_the_version_files_to_the_spec(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build = load_build()
    seen: dict[str, str] = {}

    class PyInstallerStarted(Exception):
        """Stands for PyInstaller: what build_bundle hands it is all this test needs."""

    def fake_run(command: list[str], **kwargs: Any) -> SimpleNamespace:
        seen.update(kwargs["env"])
        raise PyInstallerStarted

    monkeypatch.setattr(build, "subprocess", SimpleNamespace(run=fake_run))
    monkeypatch.setattr(build.sys, "platform", "linux")  # no icon to render here
    with pytest.raises(PyInstallerStarted):
        build.build_bundle(tmp_path / "dist", tmp_path / "work")
    folder = Path(seen[build.VERSION_INFO_ENV])
    assert sorted(p.name for p in folder.iterdir()) == ["fieldcase.txt", "fieldcasew.txt"]
    spec = SPEC.read_text(encoding="utf-8")
    assert f'os.environ.get("{build.VERSION_INFO_ENV}")' in spec
    assert 'Path(VERSION_INFO_DIR) / f"{name}.txt"' in spec  # the names build.py writes
    assert "version=version_info(name)," in spec
    assert set(build.WINDOWS_EXECUTABLES) == {"fieldcase", "fieldcasew"}
    for name in build.WINDOWS_EXECUTABLES:
        assert f'executable("{name}", console=' in spec


# ------------------------------------------------------------------------------- the docs


def test_the_deployment_guide_covers_the_msi_and_signing() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    windows = docs[docs.index("### Windows", docs.index("## Deploy silently")) :]
    windows = windows[: windows.index("\n## ")]
    for text in ("msiexec /i", "/qn", "/l*v", "msiexec /x", "HKLM\\SOFTWARE\\Fieldcase"):
        assert text in windows, text
    assert "HKLM\\SOFTWARE\\Policies\\Fieldcase" in windows  # Group Policy beats them
    for param in SITE_PARAMS:
        assert f"{param}=" in windows, param
    sign = docs[docs.index("## Sign") :]
    sign = sign[: sign.index("\n## ")]
    for text in ("WINDOWS_SIGNING_PFX_BASE64", "WINDOWS_SIGNING_PFX_PASSWORD", "signtool"):
        assert text in sign, text
    assert ".msi" in sign
