"""Site policy from the Windows registry, fed as regedit exports: parsing, precedence
(Group Policy > the MSI's values > site.toml > defaults), origins, and the plain refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.site import (
    ORIGIN_DEFAULT,
    ORIGIN_FILE,
    ORIGIN_INSTALLER,
    ORIGIN_POLICY,
    SiteConfigError,
    combined,
    load_site_config,
)
from app.site_registry import INSTALLER_KEY, POLICY_KEY, OtherType, RegExport, RegExportError

HEADER = "Windows Registry Editor Version 5.00\r\n\r\n"
POLICY = r"[HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Fieldcase]"
INSTALLER = r"[HKEY_LOCAL_MACHINE\SOFTWARE\Fieldcase]"


def export(*lines: str) -> str:
    return HEADER + "\r\n".join(lines) + "\r\n"


def saved_by_regedit(path: Path, text: str) -> Path:
    """As regedit saves: UTF-16 little-endian with a byte order mark."""
    path.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    return path


def utf16_hex(text: str) -> str:
    return ",".join(f"{b:02x}" for b in (text + "\x00").encode("utf-16-le"))


def test_group_policy_beats_the_installer_which_beats_the_file(tmp_path: Path) -> None:
    site_toml = tmp_path / "site.toml"
    site_toml.write_text(
        'server_url = "https://file.example"\nmax_auto_lock_minutes = 30\n'
        "min_password_length = 12\nbackup_daily_days = 3\n",
        encoding="utf-8",
    )
    reg = saved_by_regedit(
        tmp_path / "policy.reg",
        export(
            POLICY,
            '"server_url"="https://policy.example"',
            '"max_auto_lock_minutes"=dword:00000005',
            "",
            INSTALLER,
            '"server_url"="https://installer.example"',
            '"max_auto_lock_minutes"=dword:0000000a',
            '"sync_interval_minutes"=dword:00000014',
        ),
    )
    site = combined(site_toml, RegExport.read(reg), tmp_path)
    assert site.server_url == "https://policy.example"
    assert site.max_auto_lock_minutes == 5
    assert site.sync_interval_minutes == 20  # the installer's: no policy sets it
    assert site.min_password_length == 12  # the file's
    assert site.backup_daily_days == 3
    assert site.backup_weekly_weeks == 4  # nobody's: the default
    assert [site.origin_of(k) for k in ("server_url", "sync_interval_minutes")] == [
        ORIGIN_POLICY,
        ORIGIN_INSTALLER,
    ]
    assert site.origin_of("min_password_length") == ORIGIN_FILE
    assert site.origin_of("backup_weekly_weeks") == ORIGIN_DEFAULT


def test_load_site_config_takes_a_registry_reader_beside_the_platform_file(tmp_path: Path) -> None:
    site_toml = tmp_path / "site.toml"
    site_toml.write_text("max_auto_lock_minutes = 30\n", encoding="utf-8")
    registry = RegExport.parse(export(POLICY, '"max_auto_lock_minutes"=dword:00000002'))
    site = load_site_config(
        {"FIELDCASE_SITE_CONFIG": str(site_toml)}, source_tree=True, registry=registry
    )
    assert site.max_auto_lock_minutes == 2
    assert site.source == site_toml
    assert site.origin_of("max_auto_lock_minutes") == ORIGIN_POLICY


def test_value_kinds_regedit_writes_are_read(tmp_path: Path) -> None:
    text = export(
        POLICY,
        '"Server_URL"="https://fieldcase.example.gov.uk"',  # value names ignore case
        '"proxy"=hex(2):' + utf16_hex("system")[:20] + ",\\",  # split as regedit splits
        "  " + utf16_hex("system")[21:],
        '"min_password_length"="14"',  # REG_SZ digits, as some MDM tools write numbers
        '"council_name"="Northshire \\"North\\" Council"',
        '"ca_bundle"="C:\\\\ProgramData\\\\Fieldcase\\\\ca-bundle.pem"',
        "; a comment",
        '"blob"=hex:01,02',
        '"big"=hex(b):01,00,00,00,00,00,00,00',
    )
    values = RegExport.read(saved_by_regedit(tmp_path / "p.reg", text)).values(POLICY_KEY)
    assert values == {
        "server_url": "https://fieldcase.example.gov.uk",
        "proxy": "system",
        "min_password_length": "14",
        "council_name": 'Northshire "North" Council',
        "ca_bundle": "C:\\ProgramData\\Fieldcase\\ca-bundle.pem",
        "blob": OtherType("REG_BINARY"),
        "big": OtherType("REG_QWORD"),
    }
    # a key path is case-blind too, as Windows' is
    assert RegExport.parse(text).values(POLICY_KEY.upper()) == values


def test_deletions_and_other_hives(tmp_path: Path) -> None:
    text = export(
        POLICY,
        '"max_auto_lock_minutes"=dword:00000005',
        '"sync_interval_minutes"=dword:00000005',
        '"sync_interval_minutes"=-',
        r"[HKEY_CURRENT_USER\SOFTWARE\Policies\Fieldcase]",
        '"max_auto_lock_minutes"=dword:000000f0',  # a user's own "policy": never read
        INSTALLER,
        '"proxy"="system"',
        r"[-HKEY_LOCAL_MACHINE\SOFTWARE\Fieldcase]",
    )
    registry = RegExport.parse(text)
    assert registry.values(POLICY_KEY) == {"max_auto_lock_minutes": 5}
    assert registry.values(INSTALLER_KEY) is None
    site = combined(None, registry, None)
    assert (site.max_auto_lock_minutes, site.sync_interval_minutes, site.proxy) == (5, 15, "none")


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('"max_auto_lock_minutes"=dword:000000f1', "between 1 and 240"),
        ('"max_auto_lock_minutes"=hex:01', "REG_BINARY value; write it as a REG_DWORD"),
        ('"max_auto_lock_minutes"="soon"', "whole number of minutes"),
        ('"server_url"=dword:00000001', "REG_DWORD number; write it as REG_SZ text"),
        ('"server_url"="http://fieldcase.example.gov.uk"', "https"),
        ('"proxy"="socks5://proxy:1080"', "SOCKS proxies are not supported"),
        ('"ca_bundle"="ca.pem"', "full path"),
    ],
)
def test_a_wrong_policy_value_is_refused_naming_the_registry_value(line: str, problem: str) -> None:
    registry = RegExport.parse(export(POLICY, line))
    with pytest.raises(SiteConfigError) as caught:
        combined(None, registry, None)
    name = line.split('"')[1]
    message = str(caught.value)
    assert message.startswith(
        f"The Group Policy setting HKLM\\SOFTWARE\\Policies\\Fieldcase\\{name} has a problem"
    )
    assert problem in message
    assert "ask your IT team" in message
    assert caught.value.exit_code == 78


def test_the_installers_values_are_named_as_such_when_wrong() -> None:
    registry = RegExport.parse(export(INSTALLER, '"sync_interval_minutes"=dword:00000000'))
    with pytest.raises(
        SiteConfigError, match=r"^The installer's setting HKLM\\SOFTWARE\\Fieldcase"
    ):
        combined(None, registry, None)


def test_a_setting_from_a_newer_template_is_not_applied_but_does_not_stop_fieldcase() -> None:
    registry = RegExport.parse(
        export(POLICY, '"future_setting"=dword:00000001', '"min_password_length"=dword:0000000c')
    )
    site = combined(None, registry, None)
    assert site.min_password_length == 12
    assert site.ignored == ("HKLM\\SOFTWARE\\Policies\\Fieldcase\\future_setting",)


def test_a_relative_ca_bundle_from_the_registry_is_in_the_site_folder(tmp_path: Path) -> None:
    (tmp_path / "ca-bundle.pem").write_text("not checked here\n", encoding="utf-8")
    registry = RegExport.parse(export(INSTALLER, '"ca_bundle"="ca-bundle.pem"'))
    assert combined(None, registry, tmp_path).ca_bundle == tmp_path / "ca-bundle.pem"
    registry = RegExport.parse(export(INSTALLER, '"ca_bundle"="missing.pem"'))
    with pytest.raises(SiteConfigError, match="no such file"):
        combined(None, registry, tmp_path)


@pytest.mark.parametrize(
    ("text", "problem", "line"),
    [
        ("[HKEY_LOCAL_MACHINE\\SOFTWARE\\Fieldcase]\n", "not a registry export", 1),
        (export(POLICY, "server_url=https://x"), "neither", 4),
        (export(POLICY, '"a"=dword:xyz'), "up to 8 hex digits", 4),
        (export(POLICY, '"a"=hex:0g'), "list of bytes", 4),
        (export(POLICY, '"a"="unfinished'), "double quote", 4),
        (export(POLICY, '"a"="C:\\path"'), "written twice", 4),
    ],
)
def test_a_malformed_export_says_what_and_where(text: str, problem: str, line: int) -> None:
    with pytest.raises(RegExportError) as caught:
        RegExport.parse(text)
    assert problem in caught.value.problem
    assert caught.value.line == line


def test_an_export_that_is_neither_utf16_nor_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "odd.reg"
    path.write_bytes(b"Windows Registry Editor Version 5.00\r\n\xff\xfe\xfa")
    with pytest.raises(RegExportError, match="neither UTF-16"):
        RegExport.read(path)
