"""The command line reads its arguments before it loads any command's work, and a command loads
only what it needs: ``fieldcase --version`` (and ``--help``, and a bad argument) loads no
store, core, vault, sync engine, HTTP client, pydantic or Qt; ``fieldcase cases`` loads no Qt,
HTTP client, sync engine or doctor. Each is checked in a fresh ``python`` process, the way a
person starts the command (issue 11; the timings are in bench/bench_cli.py, not here)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from app.cli import parser as cli_parser
from app.cli.main import COMMAND_MODULES, build_parser, command_of, open_window
from tests.support.profile import cli_env, make_casework

#: Nothing ``--version`` or ``--help`` may load.
HEAVY = (
    "sqlalchemy",
    "sqlmodel",
    "sqlcipher3",
    "alembic",
    "PySide6",
    "requests",
    "urllib3",
    "pydantic",
    "argon2",
    "cryptography",
    "platformdirs",
    "app.store",
    "app.core",
    "app.vault",
    "app.online",
    "app.doctor",
    "app.domain",
    "app.site",
    "app.ui",
    "sync.engine",
    "sync.client",
    "sync.records",
    "sync.protocol",
    *COMMAND_MODULES,
)

#: Nothing ``cases`` may load: the window, the network, the other commands' work, and Alembic
#: (a profile already at the newest schema is opened without it).
NOT_FOR_CASES = (
    "alembic",
    "PySide6",
    "requests",
    "urllib3",
    "app.ui",
    "app.online",
    "app.doctor",
    "sync.engine",
    "sync.client",
    "app.cli.cmd_sync",
    "app.cli.cmd_doctor",
)

#: Run in the child: the command as ``python -m app.cli.main ARGS`` runs it (``runpy``), or as
#: the installed ``fieldcase`` script does (``main(ARGS)``); then print its exit code and which
#: of the named modules (or their submodules) are loaded.
CHILD = """
import json, runpy, sys
args, watched, how = json.loads(sys.argv[1])
sys.argv = ["fieldcase", *args]
try:
    if how == "module":
        runpy.run_module("app.cli.main", run_name="__main__")
        code = 0
    else:
        from app.cli.main import main
        code = main(args)
except SystemExit as stop:
    code = stop.code
loaded = sorted(
    name for name in watched
    if any(m == name or m.startswith(name + ".") for m in list(sys.modules))
)
print("LOADED " + json.dumps({"code": code, "loaded": loaded}))
"""


def _run(
    args: Sequence[str], watched: Sequence[str], how: str, env: dict[str, str], cwd: Path
) -> tuple[int, list[str], str]:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps([list(args), list(watched), how])],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = proc.stdout.splitlines()
    assert lines and lines[-1].startswith("LOADED "), (proc.stdout, proc.stderr)
    found = json.loads(lines[-1].removeprefix("LOADED "))
    return found["code"], found["loaded"], "\n".join(lines[:-1]) + proc.stderr


@pytest.mark.parametrize("how", ["module", "script"])
@pytest.mark.parametrize(
    "args",
    [["--version"], ["--help"], ["case", "--help"], ["cases", "--status", "nonsense"]],
    ids=["--version", "--help", "case --help", "bad choice"],
)
def test_reading_the_arguments_loads_no_command_work(
    args: list[str], how: str, tmp_path: Path
) -> None:
    code, loaded, output = _run(args, HEAVY, how, cli_env(None), tmp_path)
    assert loaded == [], f"{' '.join(args)} loaded {loaded}"
    if args == ["--version"]:
        assert (code, output.strip()) == (0, "Fieldcase 0.1.0")
    elif args[-1] == "--help":
        assert code == 0 and "usage: fieldcase" in output
    else:
        assert code == 2 and "invalid choice: 'nonsense'" in output


def test_the_heavy_modules_named_here_are_real(tmp_path: Path) -> None:
    """The check above could pass only because a name is misspelt: a command that does real
    work loads the store, core, vault and its own module (so the names match something)."""
    profile, _work = make_casework(tmp_path / "profile")
    profile.close()
    code, loaded, output = _run(["cases"], HEAVY, "script", cli_env(tmp_path / "profile"), tmp_path)
    assert code == 0, output
    assert {"sqlalchemy", "sqlmodel", "sqlcipher3", "pydantic", "app.store", "app.core"} <= set(
        loaded
    )
    assert {"app.vault", "cryptography", "app.cli.cmd_cases", "app.cli.cmd_profile"} <= set(loaded)


@pytest.mark.parametrize("how", ["module", "script"])
def test_cases_loads_no_window_network_sync_engine_or_doctor(how: str, tmp_path: Path) -> None:
    profile, work = make_casework(tmp_path / "profile")
    with profile:
        ref = work.create_case("housing_repair", "Pat Morgan", {"summary": "Damp"})
    code, loaded, output = _run(
        ["cases", "--json"], NOT_FOR_CASES, how, cli_env(tmp_path / "profile"), tmp_path
    )
    assert code == 0, output
    assert [row["ref"] for row in json.loads(output)] == [ref]
    assert loaded == [], f"fieldcase cases loaded {loaded}"


def test_every_command_names_a_function_that_exists() -> None:
    """Each command's ``"module:function"`` is one of the command modules and resolves to a
    function; no command is left without one (a group alone says what to do)."""
    named: set[str] = set()

    def walk(parser: object, path: tuple[str, ...]) -> None:
        import argparse

        assert isinstance(parser, argparse.ArgumentParser)
        func = parser.get_default("func")
        if path:
            assert func is not None, f"fieldcase {' '.join(path)} runs nothing"
        if isinstance(func, str):
            module, _, name = func.partition(":")
            assert module in COMMAND_MODULES, func
            named.add(module)
            runner = command_of(argparse.Namespace(func=func))
            assert callable(runner) and runner.__name__ == name, func
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for child_name, child in action.choices.items():
                    walk(child, (*path, child_name))

    walk(build_parser(), ())
    assert named == set(COMMAND_MODULES)


def test_no_command_opens_the_window() -> None:
    args = build_parser().parse_args(["--profile", "elsewhere"])
    assert command_of(args) is open_window


def test_a_group_without_its_action_says_what_to_do() -> None:
    from app.errors import UsageError

    args = build_parser().parse_args(["case"])
    with pytest.raises(UsageError, match="Say what to do: usage: fieldcase case"):
        command_of(args)(args)


def test_the_parsers_copies_of_the_cores_values_are_the_cores() -> None:
    """The parser spells out the core's choices so as not to load it: they must not drift."""
    from app.core import CaseSort
    from app.core.fields import SETTABLE_FIELDS
    from app.domain.enums import CaseStatus, Priority

    assert tuple(s.value for s in CaseStatus) == cli_parser.CASE_STATUSES
    assert tuple(p.value for p in Priority) == cli_parser.PRIORITIES
    assert tuple(s.value for s in CaseSort) == cli_parser.CASE_SORTS
    assert tuple(SETTABLE_FIELDS) == cli_parser.SETTABLE_FIELDS


def test_policy_check_loads_no_profile_network_window_or_doctor(tmp_path: Path) -> None:
    """IT runs ``policy check`` on its own machine: it needs the policy rules, nothing else."""
    site = tmp_path / "site.toml"
    site.write_text('proxy = "system"\nmax_auto_lock_minutes = 9\n', encoding="utf-8")
    watched = (*NOT_FOR_CASES, "sqlalchemy", "sqlcipher3", "app.store", "app.vault", "app.core")
    code, loaded, output = _run(
        ["policy", "check", "--json", str(site)], watched, "script", cli_env(None), tmp_path
    )
    assert code == 0, output
    assert json.loads(output)["max_auto_lock_minutes"] == {"value": 9, "from": "file"}
    assert loaded == [], f"fieldcase policy check loaded {loaded}"
