"""Whole numbers as people and forms write them (foundation: imports nothing of Gatehouse).

``str.isdigit`` is true of ``"²"`` and of other characters ``int`` refuses, and ``int`` refuses more than 4,300
digits: a check with ``isdigit`` alone lets such a value through to a ``ValueError``, a 500 where a clear answer
belongs. :func:`whole_number` reads ASCII digits only, and only as many as a caller can use.
"""

from __future__ import annotations

from typing import Final

MOST_DIGITS: Final = 18
"""Digits read at most unless a caller says otherwise (any 18-digit number fits a 64-bit integer)."""


def whole_number(text: object, most: int = MOST_DIGITS) -> int | None:
    """The number ``text`` writes in ASCII digits (spaces around it ignored), at most ``most`` of them; ``None`` for
    anything else (empty, a sign, a decimal point, other digits, too long, not text)."""
    if isinstance(text, int) and not isinstance(text, bool):
        text = str(text)
    if not isinstance(text, str):
        return None
    digits = text.strip()
    if not digits or len(digits) > most or not (digits.isascii() and digits.isdigit()):
        return None
    return int(digits)
