"""Every colour pair of both themes meets WCAG 2.2 AA: text 4.5:1 against what it sits on,
focus indicators and the edges of controls 3:1 (success criteria 1.4.3, 1.4.11, 2.4.13).

The pairs come from the style sheets as the window gets them (each rule's text colour against
its own background, or against its container's, or against every page background when it
sits on any), from the Qt palette, and from the colours the tables paint in code."""

from __future__ import annotations

import re

import pytest

from app.ui import theme

TEXT = 4.5
NON_TEXT = 3.0
_HEX = re.compile(r"#[0-9a-fA-F]{6}\b")


def luminance(colour: str) -> float:
    """WCAG relative luminance of ``#rrggbb``."""
    channels = []
    for at in (1, 3, 5):
        c = int(colour[at : at + 2], 16) / 255
        channels.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    r, g, b = channels
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def ratio(one: str, two: str) -> float:
    light, dark = sorted((luminance(one), luminance(two)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_ratio_is_wcags() -> None:
    assert ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert ratio("#ffffff", "#ffffff") == pytest.approx(1.0)
    assert ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)  # the classic 4.5:1 grey
    assert ratio("#ffffff", "#767676") == ratio("#767676", "#ffffff")


def rules(sheet: str) -> list[tuple[str, dict[str, str]]]:
    """(selector, declarations) of a filled-in sheet, one entry per selector with what every
    rule for it declares (a later rule's declaration wins, as in Qt)."""
    merged: dict[str, dict[str, str]] = {}
    for selectors, body in re.findall(r"([^{}]+)\{([^}]*)\}", re.sub(r"/\*.*?\*/", "", sheet)):
        declared = {}
        for part in body.split(";"):
            if ":" in part:
                name, value = part.split(":", 1)
                declared[name.strip()] = value.strip()
        for selector in selectors.split(","):
            merged.setdefault(" ".join(selector.split()), {}).update(declared)
    return list(merged.items())


def _colour(value: str | None) -> str | None:
    match = _HEX.search(value or "")
    return match.group(0).lower() if match else None


def _background(declared: dict[str, str]) -> str | None:
    return _colour(declared.get("background") or declared.get("background-color"))


def _borders(declared: dict[str, str]) -> list[str]:
    return [
        colour
        for name, value in declared.items()
        if name.startswith("border") and (colour := _colour(value))
    ]


def _pages(pal: theme.Palette) -> set[str]:
    return {pal.bg.lower(), pal.panel.lower(), pal.field.lower()}


def _under(found: list[tuple[str, dict[str, str]]], selector: str, pal: theme.Palette) -> set[str]:
    """What a rule's text sits on: its own background, else its container's (the first part of
    a descendant selector), else any page background."""
    own = [_background(d) for s, d in found if s == selector and _background(d)]
    if own:
        return {own[-1]}  # type: ignore[arg-type]
    container = selector.split(" ")[0]
    if container != selector:
        outer = [_background(d) for s, d in found if s == container and _background(d)]
        if outer:
            return {outer[-1]}  # type: ignore[arg-type]
    return _pages(pal)


def text_pairs(high: bool) -> list[tuple[str, str, str]]:
    """(where, text colour, background) for every text colour the window shows."""
    pal = theme.palette_for(high)
    found = rules(theme.style_sheet(100, high))
    pairs = []
    for selector, declared in found:
        fg = _colour(declared.get("color")) or _colour(declared.get("selection-color"))
        if fg is None:
            continue
        backgrounds = (
            {_colour(declared["selection-background-color"])}
            if "selection-color" in declared and "color" not in declared
            else _under(found, selector, pal)
        )
        pairs += [(selector, fg, bg) for bg in backgrounds if bg]
    palette = [
        ("palette text", pal.text, pal.bg),
        ("palette text on fields", pal.text, pal.field),
        ("palette text on rows", pal.text, pal.panel),
        ("chosen row", theme.highlighted_text(pal), pal.blue),
        ("link", pal.blue, pal.bg),
        ("hint", pal.secondary, pal.bg),
    ]
    # what the tables paint in code: overdue and warnings, on either row colour
    painted = [
        (f"table warning text on {bg}", theme.warning_text(pal), bg)
        for bg in (pal.field, pal.panel)
    ]
    return pairs + palette + painted


def focus_pairs(high: bool) -> list[tuple[str, list[str], str]]:
    """(where, the focus indicator's colours, a background it shows against)."""
    pal = theme.palette_for(high)
    found = rules(theme.style_sheet(100, high))
    pairs = []
    for selector, declared in found:
        if ":focus" not in selector:
            continue
        colours = [c for c in [_background(declared), *_borders(declared)] if c]
        # against what is around the control: its container's background (the header's
        # search on the dark bar), else every page background
        base = selector.split(":")[0]
        container = base.split(" ")[0]
        outer = [_background(d) for s, d in found if s == container and _background(d)]
        around = {outer[-1]} if container != base and outer else _pages(pal)
        for bg in around:
            pairs.append((selector, colours, bg))  # type: ignore[arg-type]
    # the focus frame painted around a control: yellow bars and a dark line inside them
    frame = [theme.FOCUS_FRAME, theme.FOCUS_LINE]
    pairs += [("focus frame", frame, bg) for bg in _pages(pal)]
    return pairs


@pytest.mark.parametrize("high", [False, True], ids=["standard", "high contrast"])
def test_all_text_has_4_5_to_1(high: bool) -> None:
    pairs = text_pairs(high)
    assert len(pairs) > 20
    poor = [
        f"{where}: {fg} on {bg} is {ratio(fg, bg):.2f}:1"
        for where, fg, bg in pairs
        if ratio(fg, bg) < TEXT
    ]
    assert not poor, "\n".join(poor)


@pytest.mark.parametrize("high", [False, True], ids=["standard", "high contrast"])
def test_focus_shows_at_3_to_1(high: bool) -> None:
    pairs = focus_pairs(high)
    assert len(pairs) > 5
    poor = [
        f"{where}: none of {colours} reaches 3:1 on {bg}"
        for where, colours, bg in pairs
        if max((ratio(c, bg) for c in colours), default=0) < NON_TEXT
    ]
    assert not poor, "\n".join(poor)


@pytest.mark.parametrize("high", [False, True], ids=["standard", "high contrast"])
def test_the_edges_of_controls_show_at_3_to_1(high: bool) -> None:
    """A button's or a field's edge (or fill) tells it from the page."""
    pal = theme.palette_for(high)
    found = rules(theme.style_sheet(100, high))
    controls = (
        "QPushButton",
        "QLineEdit",
        "QPlainTextEdit",
        "QComboBox",
        "QSpinBox",
        "QCheckBox::indicator",
    )
    poor = []
    seen: list[str] = []
    for selector, declared in found:
        if selector not in controls and selector != 'QPushButton[primary="true"]':
            continue
        seen.append(selector)
        colours = [c for c in [_background(declared), *_borders(declared)] if c]
        for bg in _pages(pal):
            if colours and max(ratio(c, bg) for c in colours) < NON_TEXT:
                poor.append(f"{selector}: none of {colours} reaches 3:1 on {bg}")
    assert set(controls) <= set(seen), "a control the sheet should style is not in it"
    assert not poor, "\n".join(poor)


def test_a_poor_pair_is_caught() -> None:
    """The checks can fail: GOV.UK red on the light grey panel is under 4.5:1."""
    assert ratio("#d4351c", "#f3f2f1") < TEXT
    assert ratio("#ffdd00", "#ffffff") < NON_TEXT
