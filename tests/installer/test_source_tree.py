"""The one answer to "is Fieldcase running from its source tree?" (sync/source_tree.py)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sync import source_tree
from tests.installer.conftest import ROOT


@pytest.fixture
def fresh_answer() -> Iterator[None]:
    source_tree.running_from_source_tree.cache_clear()
    yield
    source_tree.running_from_source_tree.cache_clear()


def test_this_checkout_is_an_editable_install_of_itself() -> None:
    assert ROOT.resolve() in source_tree.editable_roots()
    assert source_tree.running_from_source_tree()


@pytest.mark.usefixtures("fresh_answer")
def test_a_frozen_bundle_is_never_the_source_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert source_tree.running_from_source_tree() is False


@pytest.mark.usefixtures("fresh_answer")
def test_an_editable_install_of_another_folder_is_not_this_code(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(source_tree, "editable_roots", lambda: [tmp_path])
    assert source_tree.running_from_source_tree() is False
    monkeypatch.setattr(source_tree, "editable_roots", lambda: [])
    assert source_tree.running_from_source_tree() is False


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"url": "file:///work/repo", "dir_info": {"editable": True}}, Path("/work/repo")),
        ({"url": "file:///work/my%20repo", "dir_info": {"editable": True}}, Path("/work/my repo")),
        ({"url": "file:///work/repo", "dir_info": {}}, None),  # pip install /work/repo
        ({"url": "file:///work/repo", "dir_info": {"editable": "yes"}}, None),
        ({"url": "https://example.org/f.whl", "archive_info": {}}, None),
        ({"url": "https://example.org/r", "dir_info": {"editable": True}}, None),
        ([], None),
    ],
)
def test_only_an_editable_record_of_a_local_folder_counts(
    record: object, expected: Path | None
) -> None:
    assert source_tree._editable_root(json.dumps(record)) == (
        expected.resolve() if expected else None
    )


def test_a_missing_or_broken_record_is_not_editable() -> None:
    assert source_tree._editable_root(None) is None
    assert source_tree._editable_root("") is None
    assert source_tree._editable_root("{not json") is None
