"""What may be bound to a statement, checked before every statement on both databases.

Input from any surface ends up as bound parameters: a SCIM filter value, a path id, an admin API query.
Some values cannot be bound at all, and the driver's error would be a 500: PostgreSQL stores no NUL
character in text, neither driver encodes a lone surrogate (which Python's JSON parser lets through), and an
integer beyond 64 bits overflows both (SQLite raises ``OverflowError``, PostgreSQL "bigint out of range").
:func:`check` refuses them with :class:`~gatehouse.errors.InvalidInput` (400) whatever the database, so the
same request gets the same answer on SQLite and PostgreSQL. Nothing Gatehouse stores contains them: the
documents are JSON text, where a NUL is written ``\\u0000``, and every surface validates its values first.

Records written about requests (the audit log, the SCIM activity) must never fail because of what a
request held: :func:`clean_text` makes a string storable instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gatehouse.errors import InvalidInput

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def _check_value(value: Any) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidInput("A value contains the NUL character (U+0000), which is not accepted.")
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidInput("A value is not valid Unicode text (it contains a lone surrogate).") from None
    elif isinstance(value, int) and not isinstance(value, bool) and not INT64_MIN <= value <= INT64_MAX:
        raise InvalidInput("A number is out of range: integers must fit in 64 bits.")


def check(parameters: Any) -> None:
    """Refuse parameters that no database can bind (see the module's text); ``parameters`` is what a DBAPI
    ``execute`` or ``executemany`` takes: a mapping, a sequence, or a list of either."""
    if parameters is None:
        return
    if isinstance(parameters, list | tuple):  # before Mapping: an ABC check costs more than the whole of a tuple's
        for item in parameters:
            if isinstance(item, str):
                _check_value(item)
            elif isinstance(item, Mapping | list | tuple):
                check(item)
            else:
                _check_value(item)
        return
    if isinstance(parameters, Mapping):
        for value in parameters.values():
            _check_value(value)


def clean_text(value: str | None) -> str | None:
    """``value`` made storable: NUL characters and lone surrogates become U+FFFD."""
    if value is None:
        return None
    if not value.isascii():
        value = value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return value.replace("\x00", "\ufffd") if "\x00" in value else value
