"""The Group Policy template (installer/windows/fieldcase.admx and en-US/fieldcase.adml)
against the site policy Fieldcase reads: one policy per site.toml key and one key per policy,
the same ranges, types and defaults; and ``fieldcase policy check`` on what a configured
policy writes."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from app.site import _RANGES, KEYS, SiteConfig, SiteConfigError, combined
from app.site_registry import POLICY_KEY, RegExport
from tests.installer.conftest import Ran

ROOT = Path(__file__).resolve().parents[2]
ADMX = ROOT / "installer" / "windows" / "fieldcase.admx"
ADML = ROOT / "installer" / "windows" / "en-US" / "fieldcase.adml"
NS = {"p": "http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions"}


def policies() -> list[ET.Element]:
    return ET.parse(ADMX).getroot().findall("p:policies/p:policy", NS)  # noqa: S314 - ours


def element_of(policy: ET.Element) -> ET.Element:
    elements = list(policy.find("p:elements", NS) or [])
    assert len(elements) == 1, f"{policy.get('name')} must set exactly one value"
    return elements[0]


def kind(element: ET.Element) -> str:
    return element.tag.split("}")[1]


def test_the_policies_and_the_site_keys_match_one_to_one() -> None:
    names = [element_of(p).get("valueName") for p in policies()]
    assert sorted(n for n in names if n) == sorted(KEYS)
    assert len(names) == len(set(names))


def test_every_policy_is_a_machine_policy_under_fieldcases_policies_key() -> None:
    for policy in policies():
        assert policy.get("class") == "Machine", policy.get("name")
        assert policy.get("key", "").lower() == POLICY_KEY.lower()
        assert policy.find("p:parentCategory", NS) is not None


def test_numbers_are_decimals_with_fieldcases_ranges_and_text_is_text() -> None:
    for policy in policies():
        element = element_of(policy)
        key = element.get("valueName", "")
        if key in _RANGES:
            low, high, _unit = _RANGES[key]
            assert kind(element) == "decimal", key
            assert (element.get("minValue"), element.get("maxValue")) == (str(low), str(high))
            assert element.get("storeAsText", "false") == "false"  # REG_DWORD
        else:
            assert kind(element) == "text", key
            assert element.get("expandable", "false") == "false"
        assert element.get("required") == "true"


def test_every_word_and_box_the_template_names_is_in_the_adml() -> None:
    admx = ADMX.read_text(encoding="utf-8")
    adml = ET.parse(ADML).getroot()  # noqa: S314 - our own file
    strings = {s.get("id"): (s.text or "") for s in adml.iterfind(".//p:string", NS)}
    presentations = {p.get("id"): p for p in adml.iterfind(".//p:presentation", NS)}
    for name in re.findall(r"\$\(string\.(\w+)\)", admx):
        assert strings.get(name, "").strip(), f"no words for {name}"
    defaults = SiteConfig()
    for policy in policies():
        name = policy.get("presentation", "")[len("$(presentation.") : -1]
        boxes = list(presentations[name])
        element = element_of(policy)
        assert [b.get("refId") for b in boxes] == [element.get("id")]
        key = element.get("valueName", "")
        if key in _RANGES:
            assert boxes[0].get("defaultValue") == str(getattr(defaults, key))
        help_text = strings[policy.get("explainText", "")[len("$(string.") : -1]]
        assert "Not configured" in help_text, f"{key}'s help says nothing of its default"


def configured(value_for: Callable[[str, ET.Element], str | None]) -> str:
    """A regedit export of every policy configured with ``value_for(key, element)``."""
    lines = ["Windows Registry Editor Version 5.00", "", rf"[HKEY_LOCAL_MACHINE\{POLICY_KEY}]"]
    for policy in policies():
        element = element_of(policy)
        key = element.get("valueName", "")
        data = value_for(key, element)
        if data is not None:
            lines.append(f'"{key}"={data}')
    return "\r\n".join(lines) + "\r\n"


TEXT = {
    "server_url": '"https://fieldcase.northshire.gov.uk"',
    "ca_bundle": '"C:\\\\ProgramData\\\\Fieldcase\\\\ca-bundle.pem"',
    "proxy": '"http://proxy.northshire.local:3128"',
    "council_name": '"Northshire Council"',
}


@pytest.mark.parametrize("end", ["minValue", "maxValue"])
def test_what_a_configured_policy_writes_at_its_limits_is_accepted(end: str) -> None:
    def value(key: str, element: ET.Element) -> str:
        return TEXT[key] if kind(element) == "text" else f"dword:{int(element.get(end, '')):08x}"

    site = combined(None, RegExport.parse(configured(value)), None, here=False)
    assert set(site.origin.values()) == {"policy"}
    assert len(site.origin) == len(KEYS)
    for key, (low, high, _unit) in _RANGES.items():
        assert getattr(site, key) == (low if end == "minValue" else high)


def test_one_past_a_limit_is_refused() -> None:
    for key, (_low, high, _unit) in _RANGES.items():
        past = f"dword:{high + 1:08x}"
        export = configured(lambda k, _e, key=key, past=past: past if k == key else None)
        with pytest.raises(SiteConfigError, match=rf"Fieldcase\\{key} has a problem"):
            combined(None, RegExport.parse(export), None, here=False)


def test_policy_check_reports_each_setting_and_its_source(
    tmp_path: Path, cli: Callable[..., Ran]
) -> None:
    reg = tmp_path / "gpo.reg"
    text = configured(lambda k, e: TEXT.get(k) if kind(e) == "text" else None)
    text += (
        '[HKEY_LOCAL_MACHINE\\SOFTWARE\\Fieldcase]\r\n"sync_interval_minutes"=dword:00000005\r\n'
    )
    reg.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    site = tmp_path / "site.toml"
    site.write_text('server_url = "https://file.example"\nmin_password_length = 12\n', "utf-8")
    ran = cli("policy", "check", str(site), str(reg))
    assert ran.code == 0, ran.out + ran.err
    lines = {line.split()[0]: line for line in ran.out.splitlines()[1:]}
    assert "https://fieldcase.northshire.gov.uk  (Group Policy)" in lines["server_url"]
    assert "(with a user name" not in lines["proxy"]
    assert "12  (site file)" in lines["min_password_length"]
    assert "5  (installer)" in lines["sync_interval_minutes"]
    assert "15  (default)" in lines["max_auto_lock_minutes"]
    as_json = json.loads(cli("policy", "check", "--json", str(reg)).out)
    assert as_json["server_url"] == {
        "value": "https://fieldcase.northshire.gov.uk",
        "from": "policy",
    }
    assert as_json["min_password_length"] == {"value": 10, "from": "default"}


def test_policy_check_refuses_a_wrong_policy_in_one_line_with_exit_78(
    tmp_path: Path, cli: Callable[..., Ran]
) -> None:
    reg = tmp_path / "gpo.reg"
    reg.write_text(
        configured(lambda k, _e: "dword:00000000" if k == "min_password_length" else None),
        encoding="utf-8",
    )
    ran = cli("policy", "check", str(reg))
    assert ran.code == 78
    assert ran.out == ""
    message = ran.err.strip()
    assert "\n" not in message and "Traceback" not in message
    assert "HKLM\\SOFTWARE\\Policies\\Fieldcase\\min_password_length" in message
    assert "between 10 and 128" in message
    assert message.endswith(
        "Laptops given this policy would refuse to start Fieldcase: correct it first."
    )
    broken = tmp_path / "broken.reg"
    broken.write_text('REGEDIT4\r\n\r\n[HKEY_LOCAL_MACHINE\\X]\r\n"a"=dword:zz\r\n', "utf-8")
    ran = cli("policy", "check", str(broken))
    assert ran.code == 78
    assert f"{broken}, line 4 has a problem: a dword value" in ran.err
