"""Colours, type and the style sheets (standard and high contrast).

The sheets live in ``resources/styles/*.qss`` with ``$name`` placeholders filled in here, so
the text size (100% to 200%) scales every font and the control heights that follow them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from string import Template

from app.ui.qt import QApplication, QColor, QFont, QPalette

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
BASE_POINTS = 12  # at 100%; never below 11 pt
TEXT_SIZES = (100, 125, 150, 175, 200)


@dataclass(frozen=True)
class Palette:
    text: str
    bg: str
    panel: str
    field: str
    border: str  # lines that divide (not the edges of controls)
    edge: str  # the edge of a button: 3:1 against every background (WCAG 1.4.11)
    secondary: str
    blue: str
    red: str  # fills and borders that warn (the banner)
    red_text: str  # words that warn: 4.5:1 on the page and on the grey panel
    green: str
    focus: str
    focustext: str


STANDARD = Palette(
    text="#0b0c0c",
    bg="#ffffff",
    panel="#f3f2f1",
    field="#ffffff",
    border="#b1b4b6",
    edge="#6f777b",
    secondary="#505a5f",
    blue="#1d70b8",
    red="#d4351c",
    red_text="#c2301a",
    green="#00703c",
    focus="#ffdd00",
    focustext="#0b0c0c",
)

HIGH_CONTRAST = Palette(
    text="#ffffff",
    bg="#000000",
    panel="#000000",
    field="#000000",
    border="#ffffff",
    edge="#ffffff",
    secondary="#ffffff",
    blue="#ffdd00",
    red="#ff8080",
    red_text="#ff8080",
    green="#7fff7f",
    focus="#ffdd00",
    focustext="#000000",
)


#: The focus frame painted around the control that has focus: yellow bars with a dark line
#: inside them (GOV.UK's focus style), the same in both themes.
FOCUS_FRAME = "#ffdd00"
FOCUS_LINE = "#0b0c0c"

_current: list[Palette] = [STANDARD]


def palette_for(high_contrast: bool) -> Palette:
    return HIGH_CONTRAST if high_contrast else STANDARD


def current() -> Palette:
    """The palette the window was last given (:func:`apply`)."""
    return _current[0]


def highlighted_text(pal: Palette) -> str:
    """The text of a chosen row, on the palette's blue."""
    return pal.bg if pal is HIGH_CONTRAST else "#ffffff"


def warning_text(pal: Palette) -> str:
    """Words that warn inside a table ("Overdue", a person's warnings), on either row colour."""
    return pal.red_text


def style_sheet(text_size: int = 100, high_contrast: bool = False) -> str:
    pal = palette_for(high_contrast)
    scale = max(100, min(200, text_size)) / 100
    template = Template((RESOURCES / "styles" / "standard.qss").read_text(encoding="utf-8"))
    sheet = template.substitute(
        **pal.__dict__,
        base=round(BASE_POINTS * scale),
        h1=round(BASE_POINTS * 1.6 * scale),
        h2=round(BASE_POINTS * 1.3 * scale),
        h3=round(BASE_POINTS * 1.1 * scale),
    )
    if high_contrast:
        extra = RESOURCES / "styles" / "high_contrast.qss"
        sheet += "\n" + Template(extra.read_text(encoding="utf-8")).substitute(**pal.__dict__)
    return sheet


def apply(app: QApplication, text_size: int = 100, high_contrast: bool = False) -> None:
    """Set the font, palette and sheet for the whole application."""
    pal = palette_for(high_contrast)
    _current[0] = pal
    font = QFont()
    font.setFamilies(["Segoe UI", "Helvetica Neue", "Arial", "DejaVu Sans", "sans-serif"])
    font.setPointSizeF(BASE_POINTS * max(100, min(200, text_size)) / 100)
    app.setFont(font)
    qp = QPalette()
    qp.setColor(QPalette.ColorRole.Window, QColor(pal.bg))
    qp.setColor(QPalette.ColorRole.WindowText, QColor(pal.text))
    qp.setColor(QPalette.ColorRole.Base, QColor(pal.field))
    qp.setColor(QPalette.ColorRole.AlternateBase, QColor(pal.panel))
    qp.setColor(QPalette.ColorRole.Text, QColor(pal.text))
    qp.setColor(QPalette.ColorRole.Button, QColor(pal.panel))
    qp.setColor(QPalette.ColorRole.ButtonText, QColor(pal.text))
    qp.setColor(QPalette.ColorRole.Highlight, QColor(pal.blue))
    qp.setColor(QPalette.ColorRole.HighlightedText, QColor(highlighted_text(pal)))
    qp.setColor(QPalette.ColorRole.Link, QColor(pal.blue))
    app.setPalette(qp)
    app.setStyleSheet(style_sheet(text_size, high_contrast))
