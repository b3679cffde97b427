"""Whole numbers as people and forms write them (numerals.py): ASCII digits only, never more than a caller can
use, so that "²" or 5,000 digits get a clear answer instead of a ValueError."""

from __future__ import annotations

import pytest

from gatehouse.numerals import MOST_DIGITS, whole_number


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0", 0), ("42", 42), (" 7 ", 7), ("007", 7), (12, 12), ("9" * MOST_DIGITS, int("9" * MOST_DIGITS))],
)
def test_ascii_digits_are_read(text: object, expected: int) -> None:
    assert whole_number(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "  ", "²", "٣", "1²", "-1", "+1", "1.0", "1e3", "1_000", "0x10", "9" * (MOST_DIGITS + 1), "1" * 5_000,
     -1, True, 1.5, None, ["1"]],
)  # fmt: skip
def test_anything_else_is_none(text: object) -> None:
    assert whole_number(text) is None


def test_a_caller_bounds_the_digits() -> None:
    assert whole_number("123456", 6) == 123456 and whole_number("1234567", 6) is None
