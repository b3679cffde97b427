"""Reading a bearer token (credentials.bearer_of, RFC 6750 §2.1): the one reading of ``Authorization`` that the
SCIM endpoint, its rate limit, the admin API, forward authentication and the metrics endpoint share."""

from __future__ import annotations

import pytest

from gatehouse.credentials import bearer_of


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer ghs_abc", "ghs_abc"),
        ("bearer ghs_abc", "ghs_abc"),  # the scheme is case-insensitive (RFC 7235 §2.1)
        ("BEARER   ghs_abc  ", "ghs_abc"),
        ("  Bearer ghs_abc", "ghs_abc"),
        ("Bearer", None),
        ("Bearer   ", None),
        ("Basic dXNlcjpwYXNz", None),
        ("ghs_abc", None),  # a token alone, as Okta sends the API Token field without 'Bearer '
        ("", None),
        (None, None),
    ],
)
def test_the_token_of_an_authorization_header(header: str | None, token: str | None) -> None:
    assert bearer_of(header) == token
