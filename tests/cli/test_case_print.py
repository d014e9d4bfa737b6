"""``fieldcase case print REF --pdf FILE``: a printed record a person can be handed, made
offline. The PDF opens, its text (read back with pypdf) holds the person's name and what the
caseworker chose (warnings and notes only when ticked), it is tagged for screen readers
(structure tree, language, title), owner-only, and printing is audited."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
from pypdf import PdfReader

from app.core import Casework
from tests.support.profile import make_profile, run_cli_inprocess


def _text(path: Path) -> str:
    reader = PdfReader(path)
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


@pytest.fixture
def profile_dir(tmp_path: Path) -> tuple[Path, str, str]:
    folder = tmp_path / "p"
    with make_profile(folder, user="ajones", team="Housing North") as profile:
        work = Casework(profile)
        ref = work.create_case(
            "housing_repair",
            "Siân Łukasz-O'Neill",
            {"summary": "Damp in the back bedroom", "person.address": "19 Hughes Road, Llandeilo"},
        )
        work.add_warning(ref, "Dog on premises")
        note = work.add_note(ref, "Spoke to the landlord about the damp.")
        work.add_note(ref, "Neighbour said the tenant was away (third party).")
        work.add_visit(ref, "2020-01-06T09:00", "Office")  # long past: not the next visit
        work.add_visit(ref, "2099-12-10T10:30", "19 Hughes Road")
    return folder, ref, str(note)


def test_a_printed_record_holds_what_was_chosen_and_is_tagged(
    profile_dir: tuple[Path, str, str], tmp_path: Path
) -> None:
    folder, ref, note = profile_dir
    plain = tmp_path / "plain.pdf"
    done = run_cli_inprocess(["case", "print", ref, "--pdf", str(plain)], folder)
    assert done.returncode == 0, done.stderr
    assert "left out: warnings" in done.out
    text = _text(plain)
    assert "Siân Łukasz-O'Neill" in text and "19 Hughes Road, Llandeilo" in text
    assert "housing repair" in text and "Damp in the back bedroom" in text
    assert "10 Dec 2099" in text and "6 Jan 2020" not in text and "ajones" in text
    assert "Dog on premises" not in text and "landlord" not in text and "Neighbour" not in text
    assert "Housing North team" in text  # no council name set: the team heads the page
    assert stat.S_IMODE(plain.stat().st_mode) == 0o600

    chosen = tmp_path / "chosen.pdf"
    args = ["case", "print", ref, "--pdf", str(chosen), "--note", note, "--warnings"]
    site = tmp_path / "site.toml"
    site.write_text('council_name = "Northshire   Council"\n', encoding="utf-8")
    council = {"FIELDCASE_SITE_CONFIG": str(site)}
    done = run_cli_inprocess([*args, "--large-print"], folder, env=council)
    assert done.returncode == 0, done.stderr
    text = _text(chosen)
    assert "Northshire Council" in text
    assert "in the Housing North team at Northshire Council" in text
    assert "Dog on premises" in text and "Spoke to the landlord about the damp." in text
    assert "Neighbour" not in text  # not ticked: third parties' words stay off the handout
    reader = PdfReader(chosen)
    catalog = reader.trailer["/Root"]
    assert "/StructTreeRoot" in catalog and bool(catalog["/MarkInfo"]["/Marked"])
    assert catalog["/Lang"] == "en-GB"
    assert reader.metadata is not None and reader.metadata.title == f"Your record: {ref}"

    history = run_cli_inprocess(["history", ref, "--json"], folder)
    assert history.out.count('"printed"') == 2


def test_a_wrong_note_or_folder_is_one_plain_line(
    profile_dir: tuple[Path, str, str], tmp_path: Path
) -> None:
    folder, ref, _note = profile_dir
    out = str(tmp_path / "x.pdf")
    done = run_cli_inprocess(["case", "print", ref, "--pdf", out, "--note", "nope"], folder)
    assert done.returncode != 0 and "is not a note's id" in done.stderr
    other = "3f2b9c1e-8a4d-4f6b-9e2a-1c5d7b8e9f00"
    done = run_cli_inprocess(["case", "print", ref, "--pdf", out, "--note", other], folder)
    assert done.returncode != 0 and "Traceback" not in done.stderr and other in done.stderr
    missing = str(tmp_path / "nowhere" / "x.pdf")
    done = run_cli_inprocess(["case", "print", ref, "--pdf", missing], folder)
    assert done.returncode != 0 and "There is no folder" in done.stderr
    assert not Path(out).exists()
