"""Bearer secrets: generation, hashing and constant-time comparison.

Tokens are 256-bit random values, shown once and stored only as SHA-256 digests. A fast digest is
right here (unlike passwords): the input is high-entropy, and the check runs on every request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SCIM_TOKEN_PREFIX = "ghs_"


def generate_token(prefix: str = SCIM_TOKEN_PREFIX) -> str:
    """A new random token; the prefix lets secret scanners recognise a leaked one."""
    return prefix + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The SHA-256 hex digest under which a token is stored and looked up."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def token_hint(token: str) -> str:
    """A short, non-secret reminder of which token this is (its last four characters)."""
    return "…" + token[-4:]


def same_digest(left: str, right: str) -> bool:
    """Constant-time comparison of two digests."""
    return hmac.compare_digest(left.encode(), right.encode())
