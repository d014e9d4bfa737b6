"""The style sheets fill in for every text size and both themes, with the required colours."""

from __future__ import annotations

import pytest

from app.ui import theme


@pytest.mark.parametrize("size", theme.TEXT_SIZES)
@pytest.mark.parametrize("high", [False, True])
def test_every_sheet_fills_in(size: int, high: bool) -> None:
    sheet = theme.style_sheet(size, high)
    assert "$" not in sheet
    assert "#ffdd00" in sheet  # the focus colour, in both themes
    assert f"font-size: {round(theme.BASE_POINTS * size / 100)}pt" in sheet


def test_standard_colours_are_the_gov_uk_ones() -> None:
    sheet = theme.style_sheet(100, False)
    for colour in ("#0b0c0c", "#ffffff", "#1d70b8", "#d4351c", "#00703c"):
        assert colour in sheet
    assert theme.BASE_POINTS >= 11
