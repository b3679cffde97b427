"""Password hashing with Argon2id (argon2-cffi's defaults, RFC 9106 parameters)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """The Argon2id hash to store; the password itself is never stored or logged."""
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; always spends the hashing time, even with no stored hash."""
    if not stored_hash:
        _hasher.hash(password)
        return False
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def rehashed(stored_hash: str, password: str) -> str | None:
    """A new hash of ``password`` (just verified against ``stored_hash``) when ``stored_hash`` was made with
    other parameters than today's (RFC 9106 §4: parameters are raised as hardware grows), else ``None``: a
    sign-in brings an old hash up to date, the only moment the password is at hand."""
    try:
        return _hasher.hash(password) if _hasher.check_needs_rehash(stored_hash) else None
    except InvalidHashError:
        return None
