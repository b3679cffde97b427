"""Timestamps as the hot path's driver statements read them back (``gatehouse.store.driver.from_db_time``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from gatehouse.store.driver import SQLITE_TIME_FORMAT, from_db_time

MOMENT = datetime(2026, 12, 6, 14, 38, 1, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        (MOMENT.strftime(SQLITE_TIME_FORMAT), MOMENT),  # SQLite's text form, as to_db_time writes it
        ("2026-12-06 14:38:01", MOMENT.replace(microsecond=0)),  # without a fraction
        ("2026-12-06T16:38:01.123456+02:00", MOMENT),  # a text form with an offset keeps it
        (MOMENT.replace(tzinfo=None), MOMENT),  # a naive datetime is UTC
        (MOMENT.astimezone(timezone(timedelta(hours=-5))), MOMENT),  # PostgreSQL's aware value, as it is
    ],
)
def test_a_stored_timestamp_reads_back_as_the_same_aware_moment(stored: object, expected: datetime) -> None:
    read = from_db_time(stored)
    assert read == expected and read.utcoffset() is not None
    if isinstance(stored, str) and "+" not in stored:
        assert read.tzinfo is UTC


def test_a_text_that_is_no_timestamp_is_an_error() -> None:
    with pytest.raises(ValueError):
        from_db_time("not a time")
