"""How error messages name the type of a parsed JSON value (json_types.py), one wording for every caller."""

from __future__ import annotations

import pytest

from gatehouse.json_types import json_type


@pytest.mark.parametrize(
    ("value", "named"),
    [
        (None, "null"),
        (True, "a boolean"),
        (0, "a number"),
        (1.5, "a number"),
        ("x", "a string"),
        ([1], "an array"),
        ((1,), "an array"),
        ({"a": 1}, "an object"),
        (b"x", "bytes"),
        ({1}, "set"),
    ],
)
def test_json_type(value: object, named: str) -> None:
    assert json_type(value) == named
