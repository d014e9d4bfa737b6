"""A pull cursor the service never gave out (a corrupt or hand-edited store) is refused with
``bad_cursor``; the laptop then pulls again from the start and ends up with everything."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from app.store import state
from tests.sync.helpers import Laptop


@pytest.mark.parametrize("junk", ["c1.99999999999999999999", "c1.²", "c1." + "9" * 5000])
def test_a_bad_cursor_makes_the_laptop_pull_from_the_start(
    laptops: Callable[..., list[Laptop]], junk: str
) -> None:
    a, b = laptops(2)
    a.work.create_case("housing_repair", "Cursor Person")
    a.sync()
    with b.profile.session() as s, s.begin():
        state.set_cursor(s, junk)
    report = b.sync()
    assert b.state() == a.state() and len(b.state()) > 0
    assert b.store.cursor() not in (None, junk)
    assert report.summary()
