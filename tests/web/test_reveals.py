"""A secret sealed for the page after a redirect (:mod:`gatehouse.web.reveals`): it opens only with the session
cookie it was sealed under and for that session, and anything changed or foreign opens to nothing."""

from __future__ import annotations

import base64
from collections.abc import Callable

import orjson
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gatehouse.web.reveals import _key, seal, unseal

COOKIE, SESSION = "the-session-cookie-value", "sha256-of-the-cookie"
VALUE = {"token": "ghs_example", "name": "Okta"}


def flipped(text: str, index: int) -> str:
    raw = bytearray(base64.urlsafe_b64decode(text))
    raw[index] ^= 1
    return base64.urlsafe_b64encode(bytes(raw)).decode()


def test_a_sealed_value_opens_with_its_cookie_and_session_only() -> None:
    sealed = seal(COOKIE, SESSION, VALUE)
    assert unseal(COOKIE, SESSION, sealed) == VALUE
    assert "ghs_example" not in sealed and seal(COOKIE, SESSION, VALUE) != sealed  # a fresh nonce each time
    assert unseal("another-cookie", SESSION, sealed) is None
    assert unseal(COOKIE, "another-session", sealed) is None


@pytest.mark.parametrize(
    "mangle",
    [
        lambda text: flipped(text, -1),  # one bit of the tag
        lambda text: flipped(text, 14),  # one bit of the sealed value
        lambda text: flipped(text, 0),  # one bit of the nonce
        lambda text: text[:20],  # cut
        lambda text: "not base64 at all!",
        lambda text: "",
    ],
    ids=["tag", "value", "nonce", "cut", "not-base64", "empty"],
)
def test_a_changed_value_opens_to_nothing(mangle: Callable[[str], str]) -> None:
    assert unseal(COOKIE, SESSION, mangle(seal(COOKIE, SESSION, VALUE))) is None


def test_only_an_object_is_a_value() -> None:
    nonce = b"\0" * 12
    for opened in (b"[1, 2]", b"not json"):
        sealed = AESGCM(_key(COOKIE)).encrypt(nonce, opened, SESSION.encode())
        assert unseal(COOKIE, SESSION, base64.urlsafe_b64encode(nonce + sealed).decode()) is None
    good = AESGCM(_key(COOKIE)).encrypt(nonce, orjson.dumps(VALUE), SESSION.encode())
    assert unseal(COOKIE, SESSION, base64.urlsafe_b64encode(nonce + good).decode()) == VALUE
