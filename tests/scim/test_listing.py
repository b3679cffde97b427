"""List and search parameters (``gatehouse.scim.listing``): integers of any size and form are either read
and clamped as RFC 7644 §3.4.2.4 says, or refused with 400 ``invalidValue``; never passed on unbounded."""

from __future__ import annotations

from typing import Any

import pytest

from gatehouse.errors import InvalidInput
from gatehouse.scim.listing import MAX_START_INDEX, _names, build, from_search_request

LIMITS = {"default_count": 100, "max_results": 1000}

HUGE = ["99999999999999999999", "18446744073709551616", "9223372036854775808", "1" + "0" * 400, "9" * 5000]


@pytest.mark.parametrize("raw", HUGE)
def test_a_start_index_beyond_64_bits_is_read_as_the_largest_start_index(raw: str) -> None:
    query = build({"startIndex": raw}, **LIMITS)
    assert query.start_index == MAX_START_INDEX == 2**53 - 1


@pytest.mark.parametrize("raw", HUGE)
def test_a_count_beyond_64_bits_is_clamped_to_max_results(raw: str) -> None:
    assert build({"count": raw}, **LIMITS).count == 1000
    assert build({"count": "-" + raw}, **LIMITS).count == 0
    assert build({"startIndex": "-" + raw}, **LIMITS).start_index == 1


@pytest.mark.parametrize(
    ("raw", "start"),
    [("0", 1), ("-0", 1), ("+5", 5), (" 7 ", 7), ("0005", 5), ("9223372036854775807", MAX_START_INDEX)],
)
def test_decimal_forms_are_read(raw: str, start: int) -> None:
    assert build({"startIndex": raw}, **LIMITS).start_index == start


@pytest.mark.parametrize(
    "raw", ["1e400", "1.5", "1.0", "0x10", "1_000", "١٢٣", "²", "NaN", "Infinity", "abc", "1,2", "- 1", "+-1"]
)
def test_what_is_not_a_decimal_integer_is_invalid_value(raw: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        build({"count": raw}, **LIMITS)
    assert refused.value.scim_type == "invalidValue"
    assert len(refused.value.detail) < 120  # the value is cut when shown


@pytest.mark.parametrize(
    ("value", "expected"),
    [(2**64 + 1, MAX_START_INDEX), (1e20, MAX_START_INDEX), (-(2**70), 1), (-0.0, 1), (3.0, 3)],
)
def test_search_request_numbers_of_any_size_are_clamped(value: Any, expected: int) -> None:
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "startIndex": value, "count": value}
    query = from_search_request(body, **LIMITS)
    assert query.start_index == expected
    assert query.count in (0, 3, 1000)


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan"), 1.5, True, "1e400", [], {}])
def test_search_request_numbers_that_are_no_integers_are_invalid_value(value: Any) -> None:
    with pytest.raises(InvalidInput):
        from_search_request({"count": value}, **LIMITS)


def test_attribute_names_split_on_commas_outside_value_filters() -> None:
    assert _names('emails[value ew ",x" and type eq "w]o,rk"].value, userName ,,name.givenName') == (
        'emails[value ew ",x" and type eq "w]o,rk"].value',
        "userName",
        "name.givenName",
    )
    assert _names(["userName", 'emails[type eq "work"]']) == ("userName", 'emails[type eq "work"]')
    assert _names('emails[type eq "a\\",b"],id') == ('emails[type eq "a\\",b"]', "id")
