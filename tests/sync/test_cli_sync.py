"""End to end through the ``fieldcase`` command: enrol, sync, clashes, recover."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.profile import run_cli, run_cli_inprocess
from tests.support.server import TEST_PASSWORD, ServerProcess, admin
from tests.sync.helpers import add_users, unique


def test_enrol_sync_clash_resolve_and_recover_through_the_command(
    service: ServerProcess, tmp_path: Path
) -> None:
    team = unique("team")
    ann, ben = unique("ann"), unique("ben")
    add_users(service.db_url, [(ann, team, "caseworker"), (ben, team, "caseworker")])
    pa, pb = tmp_path / "ann", tmp_path / "ben"

    def cli(args: list[str], profile: Path, **kw: str) -> tuple[int, str, str]:
        """The real ``main()`` in this process (a child process per call is slow)."""
        result = run_cli_inprocess(args, profile, password=kw.pop("password", TEST_PASSWORD), **kw)
        return result.returncode, result.out, result.stderr.strip()

    def command(args: list[str], profile: Path) -> tuple[int, str, str]:
        """The installed ``fieldcase`` command as a child process."""
        result = run_cli(args, profile, password=TEST_PASSWORD)
        return result.returncode, result.out, result.stderr.strip()

    # enrol in this process, so the profile is wrapped at the cheap test KDF cost (a child
    # would wrap it at the tuned production cost and every later unlock would pay for it)
    code, out, err = cli(["enrol", "--server", service.url, "--user", ann], pa)
    assert code == 0, err
    assert "enrolled" in out
    code, _, err = cli(["enrol", "--server", service.url, "--user", ann], pa)
    assert code != 0 and "already a Fieldcase profile" in err  # never overwritten
    assert cli(["enrol", "--server", service.url, "--user", ben], pb)[0] == 0

    code, ref, err = cli(["case", "new", "--type", "housing_repair", "--person", "Cli Person"], pa)
    assert code == 0, err
    code, out, err = command(["sync"], pa)
    assert code == 0, err
    assert out.startswith("Sent ")
    code, out, err = cli(["sync"], pb)
    assert code == 0 and "Received" in out, err

    assert cli(["case", "edit", ref, "--set", "summary=ann says"], pa)[0] == 0
    assert cli(["case", "edit", ref, "--set", "summary=ben says"], pb)[0] == 0
    assert cli(["sync"], pa)[0] == 0
    code, out, err = cli(["sync"], pb)
    assert code == 0, err  # a clash is reported, not an error
    assert "1 clash needs your decision" in out
    code, out, _ = cli(["conflicts", "--json"], pb)
    clashes = json.loads(out)
    assert len(clashes) == 1
    clash = clashes[0]
    assert set(clash) == {"id", "ref", "field", "mine", "theirs", "changed_by", "changed_at"}
    assert (clash["ref"], clash["field"], clash["mine"], clash["theirs"]) == (
        ref,
        "summary",
        "ben says",
        "ann says",
    )
    assert clash["changed_by"] == ann
    code, out, err = cli(["conflicts", "resolve", clash["id"], "--keep", "mine"], pb)
    assert code == 0, err
    assert cli(["sync"], pb)[0] == 0
    code, out, err = cli(["sync"], pa)
    assert code == 0, err
    # ann, whose version lost, is told, and can see who chose what; the clash is settled
    assert f"{ben} settled the clash on the summary first, and your version was not kept" in out
    code, out, err = cli(["conflicts", "--settled"], pa)
    assert code == 0, err
    assert f"{ref}  summary: {ben} chose 'ben says', " in out
    assert out.rstrip().endswith("yours 'ann says' was not kept")
    (told,) = json.loads(cli(["conflicts", "--settled", "--json"], pa)[1])
    assert (told["settled_by"], told["chosen"], told["mine_kept"]) == (ben, "ben says", False)
    code, out, err = cli(["conflicts", "resolve", clash["id"], "--keep", "mine"], pa)
    assert code == 2 and "Traceback" not in err
    assert f"This clash was already settled by {ben} on " in err
    assert "The first decision settles a clash for everyone, so nothing was changed." in err
    assert cli(["conflicts", "--settled"], pb)[1].startswith("No one else settled a clash")
    for profile in (pa, pb):
        assert json.loads(cli(["conflicts", "--json"], profile)[1]) == []
        shown = json.loads(cli(["case", "show", ref, "--json"], profile)[1])
        assert shown["fields"]["summary"] == "ben says"

    # forgotten password: IT resets the account password; the unsynced note survives
    assert cli(["note", "add", ref, "--text", "written offline"], pa)[0] == 0
    assert admin(service.db_url, "reset-password", ann, password="reset by IT 99").returncode == 0
    code, out, err = cli(
        ["recover"], pa, password="reset by IT 99", new_password="brand new password 1"
    )
    assert code == 0, err
    assert "Nothing on this laptop was lost" in out
    code, _, err = cli(["case", "show", ref, "--json"], pa)
    assert code != 0  # the old laptop password no longer opens it
    code, out, err = cli(["case", "show", ref, "--json"], pa, password="brand new password 1")
    assert code == 0, err
    assert "written offline" in [n["text"] for n in json.loads(out)["notes"]]


def test_sync_problems_are_plain_and_non_zero(service: ServerProcess, tmp_path: Path) -> None:
    code = run_cli_inprocess(
        ["enrol", "--server", "http://fieldcase.example.org", "--user", "x"], tmp_path
    )
    assert code.returncode != 0
    assert "plain http" in code.stderr and "Traceback" not in code.stderr
    team, user = unique("team"), unique("ann")
    add_users(service.db_url, [(user, team, "caseworker")])
    profile = tmp_path / "p"
    enrolled = run_cli_inprocess(
        ["enrol", "--server", service.url, "--user", user], profile, password=TEST_PASSWORD
    )
    assert enrolled.returncode == 0, enrolled.stderr
    assert admin(service.db_url, "revoke-device", "--user", user).returncode == 0
    result = run_cli(["sync"], profile, password=TEST_PASSWORD)
    assert result.returncode == 6
    assert "erased" in result.stderr and "Traceback" not in result.stderr
    assert not (profile / "fieldcase.db").exists()
