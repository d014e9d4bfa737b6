"""The one renderer of printed documents (a handout a caseworker gives a person, a subject
access record, later letters from templates): Typst markup in ``sync/templates/``, filled with
data passed as JSON, so nothing a person typed is ever read as markup.

Shared by the laptop (offline: no network, no system fonts, the fonts inside Typst) and the
service (no Qt anywhere). Every PDF is tagged for screen readers (headings, paragraphs, lists
in a structure tree, the document's language and title), checked against PDF/UA-1 as it is
made; ``large_print`` sets the text larger for people who need it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sync.errors import FieldcaseError

log = logging.getLogger("fieldcase.paper")

TEMPLATES = Path(__file__).resolve().with_name("templates")
#: Text sizes, in points: ordinary and large print.
TEXT_PT, LARGE_PT = 11, 16


class PaperError(FieldcaseError):
    """A document could not be made (the details are in the log, never the data)."""


def render(template: str, data: Mapping[str, Any], *, large_print: bool = False) -> bytes:
    """The PDF of ``template`` (a file in ``sync/templates``) filled with ``data``."""
    made = _compile(template, data, large_print, pdf_standards=["ua-1"])
    if not isinstance(made, bytes):  # pragma: no cover - a PDF is one piece of bytes
        raise PaperError("The document could not be made.")
    return made


def render_pages(
    template: str, data: Mapping[str, Any], *, large_print: bool = False, ppi: int = 300
) -> list[bytes]:
    """The same document as one PNG picture per page, at ``ppi`` (for a printer)."""
    made = _compile(template, data, large_print, format="png", ppi=ppi)
    return [made] if isinstance(made, bytes) else list(made)


def _compile(template: str, data: Mapping[str, Any], large_print: bool, **options: Any) -> Any:
    path = TEMPLATES / template
    if path.parent != TEMPLATES or not path.is_file():
        raise PaperError(f"There is no document template called {template!r}.")
    inputs = {
        "data": json.dumps(data, default=str),
        "size": str(LARGE_PT if large_print else TEXT_PT),
    }
    import typst  # 80 MB of native code: loaded when a document is made, not at every start

    try:
        return typst.compile(
            str(path),
            root=str(TEMPLATES),
            sys_inputs=inputs,
            ignore_system_fonts=True,
            **options,
        )
    except Exception as err:  # typst raises its own error types, named differently by version
        log.error("the document %s could not be made: %s", template, type(err).__name__)
        raise PaperError(
            "The document could not be made. Nothing was changed; try again, and if it keeps "
            "happening contact your IT team (the log has the details)."
        ) from None
