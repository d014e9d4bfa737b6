"""Site configuration: where it is found, what a malformed file says, and precedence."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import site
from app.errors import FieldcaseError
from app.site import SiteConfig, SiteConfigError, effective_setting, load_site_config

GOOD = """\
# Preset by IT for every laptop
server_url = "https://fieldcase.example.gov.uk/"
ca_bundle = "council-ca.pem"
max_auto_lock_minutes = 5
min_password_length = 14
sync_interval_minutes = 10
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def env_for(path: Path) -> dict[str, str]:
    return {"FIELDCASE_SITE_CONFIG": str(path)}


def problem(tmp_path: Path, text: str) -> SiteConfigError:
    path = write(tmp_path / "site.toml", text)
    with pytest.raises(SiteConfigError) as caught:
        load_site_config(env_for(path))
    err = caught.value
    assert isinstance(err, FieldcaseError)
    assert str(path) in str(err), "the message names the file"
    assert "will not start" in str(err)
    return err


# --------------------------------------------------------------------------- finding the file


@pytest.fixture
def program_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Windows' ProgramData as the known folder API would answer it: a tmp folder."""
    folder = tmp_path / "ProgramData"
    folder.mkdir()
    monkeypatch.setattr(site, "windows_program_data", lambda: folder)
    return folder


def test_no_file_gives_the_defaults(program_data: Path) -> None:
    assert site.site_config_path({}, platform="win32") is None
    config = load_site_config({}, platform="win32")
    assert config == SiteConfig()
    assert (config.max_auto_lock_minutes, config.min_password_length) == (15, 10)
    assert (config.sync_interval_minutes, config.server_url, config.source) == (15, None, None)


def test_a_full_file_is_read(tmp_path: Path) -> None:
    write(tmp_path / "council-ca.pem", "-----BEGIN CERTIFICATE-----\n")
    path = write(tmp_path / "site.toml", GOOD)
    config = load_site_config(env_for(path))
    assert config == SiteConfig(
        server_url="https://fieldcase.example.gov.uk",
        ca_bundle=tmp_path / "council-ca.pem",
        max_auto_lock_minutes=5,
        min_password_length=14,
        sync_interval_minutes=10,
        source=path,
    )


def test_the_platform_file_is_used_when_no_env_names_one(program_data: Path) -> None:
    system = write(program_data / "Fieldcase" / "site.toml", "max_auto_lock_minutes = 7\n")
    assert site.site_config_path({}, platform="win32") == system
    assert load_site_config({}, platform="win32").max_auto_lock_minutes == 7


def test_from_the_source_tree_the_env_file_beats_the_platform_file(
    tmp_path: Path, program_data: Path
) -> None:
    write(program_data / "Fieldcase" / "site.toml", "max_auto_lock_minutes = 7\n")
    named = write(tmp_path / "elsewhere" / "mine.toml", "max_auto_lock_minutes = 3\n")
    env = env_for(named)
    assert site.site_config_path(env, platform="win32", source_tree=True) == named
    config = load_site_config(env, platform="win32", source_tree=True)
    assert (config.max_auto_lock_minutes, config.source) == (3, named)
    assert site.ignored_override(env, platform="win32", source_tree=True) is None


def test_an_installed_copy_ignores_the_env_file_and_says_so(
    tmp_path: Path, program_data: Path
) -> None:
    system = write(program_data / "Fieldcase" / "site.toml", "max_auto_lock_minutes = 7\n")
    mine = write(tmp_path / "home" / "mine.toml", "max_auto_lock_minutes = 240\n")
    env = env_for(mine)
    assert site.site_config_path(env, platform="win32", source_tree=False) == system
    config = load_site_config(env, platform="win32", source_tree=False)
    assert (config.max_auto_lock_minutes, config.source) == (7, system)
    assert site.ignored_override(env, platform="win32", source_tree=False) == (
        "FIELDCASE_SITE_CONFIG is set but ignored: this installed copy follows only the policy "
        f"IT set in {system}."
    )
    assert site.ignored_override({}, platform="win32", source_tree=False) is None
    # a file that is not there is not an error either: it is simply not looked at
    gone = env_for(tmp_path / "missing.toml")
    assert load_site_config(gone, platform="win32", source_tree=False).source == system


def test_an_installed_copy_on_linux_follows_etc_only(tmp_path: Path) -> None:
    mine = write(tmp_path / "mine.toml", "max_auto_lock_minutes = 240\n")
    expected = site.LINUX_SITE_CONFIG if site.LINUX_SITE_CONFIG.is_file() else None
    env = env_for(mine)
    assert site.site_config_path(env, platform="linux", source_tree=False) == expected
    assert site.ignored_override(env, platform="linux", source_tree=False) == (
        "FIELDCASE_SITE_CONFIG is set but ignored: this installed copy follows only the policy "
        "IT set in /etc/fieldcase/site.toml."
    )


def test_the_source_tree_is_the_default_answer_in_this_checkout(tmp_path: Path) -> None:
    from sync.source_tree import running_from_source_tree

    assert running_from_source_tree()  # the suite runs from an editable install
    named = write(tmp_path / "mine.toml", "max_auto_lock_minutes = 3\n")
    assert site.site_config_path(env_for(named)) == named


def test_windows_asks_the_known_folder_api_not_the_programdata_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from platformdirs import windows

    real = tmp_path / "real"
    fake = tmp_path / "fake"
    write(real / "Fieldcase" / "site.toml", "max_auto_lock_minutes = 7\n")
    write(fake / "Fieldcase" / "site.toml", "max_auto_lock_minutes = 240\n")
    asked: list[str] = []

    def known_folder(name: str) -> str:
        asked.append(name)
        return str(real)

    monkeypatch.setattr(windows, "get_win_folder_via_ctypes", known_folder)
    for variable in ("PROGRAMDATA", "ALLUSERSPROFILE", "WIN_PD_OVERRIDE_COMMON_APPDATA"):
        monkeypatch.setenv(variable, str(fake))
    env = {"PROGRAMDATA": str(fake)}
    assert site.windows_program_data() == real
    assert site.site_config_path(env, platform="win32") == real / "Fieldcase" / "site.toml"
    assert load_site_config(env, platform="win32").max_auto_lock_minutes == 7
    assert asked and set(asked) == {"CSIDL_COMMON_APPDATA"}  # FOLDERID_ProgramData


def test_windows_without_an_answer_from_the_api_has_no_site_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from platformdirs import windows

    def broken(name: str) -> str:
        raise OSError("no shell here")

    monkeypatch.setattr(windows, "get_win_folder_via_ctypes", broken)
    assert site.windows_program_data() is None
    assert site.site_config_path({"PROGRAMDATA": "C:\\ProgramData"}, platform="win32") is None


def test_linux_looks_in_etc_only_when_the_file_exists() -> None:
    expected = site.LINUX_SITE_CONFIG if site.LINUX_SITE_CONFIG.is_file() else None
    assert site.site_config_path({}, platform="linux") == expected
    assert Path("/etc/fieldcase/site.toml") == site.LINUX_SITE_CONFIG


def test_an_env_naming_a_missing_file_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(SiteConfigError) as caught:
        load_site_config(env_for(missing))
    assert str(missing) in str(caught.value)
    assert "FIELDCASE_SITE_CONFIG names this file, but there is no such file" in str(caught.value)


# --------------------------------------------------------------------------- malformed files


def test_bad_toml_names_the_line(tmp_path: Path) -> None:
    err = problem(tmp_path, "server_url = 'https://a.example'\n\nmax_auto_lock_minutes = \n")
    assert err.line == 3
    assert ", line 3 has a problem: it is not valid TOML" in str(err)


def test_a_repeated_key_names_the_line(tmp_path: Path) -> None:
    err = problem(tmp_path, "max_auto_lock_minutes = 5\nmax_auto_lock_minutes = 6\n")
    assert err.line == 2


def test_an_unknown_key_lists_the_valid_ones(tmp_path: Path) -> None:
    err = problem(tmp_path, "server_url = 'https://a.example'\nauto_lock = 5\n")
    assert err.line == 2
    assert '"auto_lock" is not a setting Fieldcase knows' in str(err)
    for key in site.KEYS:
        assert key in str(err)


def test_a_table_is_an_unknown_key(tmp_path: Path) -> None:
    err = problem(tmp_path, "max_auto_lock_minutes = 5\n\n[sync]\ninterval = 5\n")
    assert '"sync" is not a setting' in str(err)
    assert err.line == 3
    err = problem(tmp_path, "proxies.host = 'x'\n")
    assert '"proxies" is not a setting' in str(err)
    assert err.line == 1


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            'max_auto_lock_minutes = "15"',
            "max_auto_lock_minutes must be a whole number of minutes between 1 and 240",
        ),
        (
            "max_auto_lock_minutes = 0",
            "max_auto_lock_minutes must be a whole number of minutes between 1 and 240",
        ),
        (
            "max_auto_lock_minutes = 241",
            "max_auto_lock_minutes must be a whole number of minutes between 1 and 240",
        ),
        (
            "max_auto_lock_minutes = 7.5",
            "max_auto_lock_minutes must be a whole number of minutes between 1 and 240",
        ),
        (
            "max_auto_lock_minutes = true",
            "max_auto_lock_minutes must be a whole number of minutes between 1 and 240",
        ),
        (
            "min_password_length = 8",
            "min_password_length must be a whole number of characters between 10 and 128",
        ),
        (
            "sync_interval_minutes = -1",
            "sync_interval_minutes must be a whole number of minutes between 1 and 1440",
        ),
        ("server_url = 5", "server_url must be a web address in quotes"),
        ('server_url = ""', "server_url must be a web address in quotes"),
        ('server_url = "fieldcase.example.gov.uk"', "is not a web address"),
        ('server_url = "ftp://fieldcase.example.gov.uk"', "is not a web address"),
        ('server_url = "http://fieldcase.example.gov.uk"', "use https://"),
        ('server_url = "https://me:pw@fieldcase.example.gov.uk"', "must not contain a user name"),
        ('ca_bundle = "no-such.pem"', "but there is no such file"),
        ("ca_bundle = 3", "ca_bundle must be the path of a PEM file"),
    ],
)
def test_wrong_values_are_explained(tmp_path: Path, line: str, expected: str) -> None:
    err = problem(tmp_path, f"# policy\n{line}\n")
    assert expected in str(err)
    assert err.line == 2


def test_plain_http_is_allowed_on_loopback_only(tmp_path: Path) -> None:
    for url in ("http://127.0.0.1:8765", "http://localhost:9000/", "http://[::1]:8000"):
        path = write(tmp_path / "site.toml", f'server_url = "{url}"\n')
        assert load_site_config(env_for(path)).server_url == url.rstrip("/")


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_bytes(b"server_url = '\xff\xfe'\n")
    with pytest.raises(SiteConfigError, match="not UTF-8 text"):
        load_site_config(env_for(path))


# --------------------------------------------------------------------------- precedence


def test_site_policy_beats_user_settings() -> None:
    policy = SiteConfig(
        server_url="https://central.example",
        max_auto_lock_minutes=10,
        min_password_length=14,
        sync_interval_minutes=30,
    )
    assert effective_setting(60, policy, "max_auto_lock_minutes") == 10
    assert effective_setting(5, policy, "max_auto_lock_minutes") == 5
    assert effective_setting(None, policy, "max_auto_lock_minutes") == 10
    assert site.auto_lock_minutes(0, policy) == 10  # "never lock" is not allowed
    assert effective_setting(12, policy, "min_password_length") == 14
    assert effective_setting(20, policy, "min_password_length") == 20
    assert site.sync_interval_minutes(120, policy) == 30
    assert site.sync_interval_minutes(5, policy) == 5
    assert site.server_url("https://my.own.example", policy) == "https://central.example"
    assert site.server_url("https://my.own.example", SiteConfig()) == "https://my.own.example"
    assert effective_setting(None, SiteConfig(), "ca_bundle") is None
    with pytest.raises(KeyError, match="max_auto_lock_minutes"):
        effective_setting(1, policy, "autolock")


def test_the_council_name_is_one_line_of_text(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text('council_name = "  Northshire\tCouncil "\n', encoding="utf-8")
    env = {site.SITE_CONFIG_ENV: str(path)}
    assert site.load_site_config(env, source_tree=True).council_name == "Northshire Council"
    for bad in ('council_name = " "', "council_name = 3", 'council_name = "a\\u0007b"'):
        err = problem(tmp_path, bad + "\n")
        assert "council_name must be the council's name in quotes" in str(err), bad


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ('"none"', "none"),
        ('"system"', "system"),
        ('"http://proxy.council.local:3128"', "http://proxy.council.local:3128"),
        ('" https://u:p@proxy:8443 "', "https://u:p@proxy:8443"),
    ],
)
def test_the_proxy_is_none_system_or_an_address(tmp_path: Path, value: str, kept: str) -> None:
    path = write(tmp_path / "site.toml", f"proxy = {value}\n")
    assert load_site_config(env_for(path)).proxy == kept


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ('"socks5://proxy:1080"', "SOCKS proxies are not supported"),
        ('"proxy.council.local:3128"', 'such as "http://proxy.council.local:3128"'),
        ("3128", 'proxy must be "none", "system" or a proxy\'s address in quotes'),
        ('"http://proxy:port"', "write it as a number"),
    ],
)
def test_a_proxy_that_cannot_be_used_is_refused_plainly(
    tmp_path: Path, value: str, said: str
) -> None:
    err = problem(tmp_path, f"max_auto_lock_minutes = 5\nproxy = {value}\n")
    assert said in str(err) and err.line == 2
