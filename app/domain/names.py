"""Person names: the local sort key used to order lists."""

from __future__ import annotations

import unicodedata


def sort_name(name: str) -> str:
    """Surname first, case- and accent-insensitive: "Pat O'Neill" -> "oneill pat".

    The last word is taken as the family name (the most common case in UK records); a single
    word sorts as it is. Punctuation inside words is dropped so "O'Neill" sorts with "Oneill".
    """
    if name.isascii():  # most names: nothing to decompose, and casefold is lower
        plain = name.lower()
    else:
        decomposed = unicodedata.normalize("NFKD", name)
        plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    words = ["".join(filter(str.isalnum, word)) for word in plain.split()]
    words = [w for w in words if w]
    if len(words) <= 1:
        return "".join(words)
    return " ".join([words[-1], *words[:-1]])
