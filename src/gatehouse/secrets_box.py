"""Encryption at rest of the secrets Gatehouse must give back (SSO client secrets): AES-256-GCM.

The key is 32 random bytes, from ``GATEHOUSE_SECRET_KEY`` (base64url, padding optional) or, when that is
unset, from a key file created on first use with permissions 0600 (where it lives is configuration:
:attr:`gatehouse.config.Settings.secret_key_path`). The box itself only takes a key.
Several hosts sharing one PostgreSQL database must share the key: set ``GATEHOUSE_SECRET_KEY`` on each
(or reference the client secret from an environment variable instead of storing it).

A ciphertext reads ``v1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>``: a random 96-bit nonce per
encryption (NIST SP 800-38D §8.2.2), and the *context* (for a login option's secret, its id) as associated
data, so a ciphertext copied onto another option does not decrypt. The key id (a digest of the key, which
reveals nothing of it) tells "encrypted under another key" apart from "tampered or moved". Every failure
is a :class:`SecretBoxError` whose message says what to do; none shows a traceback to users.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Final

from gatehouse.errors import GatehouseError

if TYPE_CHECKING:  # imported by the first box: a process that stores no secret saves its memory (7 MiB)
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_ENV: Final = "GATEHOUSE_SECRET_KEY"
VERSION: Final = "v1"
KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12
_KEY_ID_LABEL: Final = b"gatehouse secrets_box key id v1\x00"


class SecretBoxError(GatehouseError):
    """A secret cannot be encrypted or decrypted; the message is for administrators (no secret in it)."""

    status = 500
    default_detail = "A stored secret could not be read."


class SecretKeyInvalid(SecretBoxError):
    """The configured key (environment variable or key file) is not 32 base64url-encoded bytes."""


class SecretUnreadable(SecretBoxError):
    """A ciphertext does not decrypt: another key, another context, or damaged."""


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    text = text.strip()
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_key() -> str:
    """A fresh key in the form ``GATEHOUSE_SECRET_KEY`` takes (base64url, 43 characters)."""
    return _b64encode(secrets.token_bytes(KEY_BYTES))


def parse_key(text: str, where: str) -> bytes:
    """The 32 bytes of a base64url key; anything else raises :class:`SecretKeyInvalid` naming ``where``."""
    try:
        key = _b64decode(text)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise SecretKeyInvalid(
            f"{where} is not a valid secret key: it must be {KEY_BYTES} random bytes, base64url-encoded "
            f'(43 characters), e.g. from `python -c "import secrets; print(secrets.token_urlsafe(32))"`.'
        )
    return key


def load_key(key_path: Path, environ: Mapping[str, str] | None = None) -> bytes:
    """The key from ``GATEHOUSE_SECRET_KEY`` if set, else from ``key_path``, created (0600) if missing.

    Creation is atomic (the full file is linked into place), so processes starting together agree on
    one key.
    """
    env = os.environ if environ is None else environ
    configured = env.get(KEY_ENV, "").strip()
    if configured:
        return parse_key(configured, f"The environment variable {KEY_ENV}")
    try:
        return parse_key(key_path.read_text("ascii"), f"The key file {key_path}")
    except FileNotFoundError:
        pass
    except (OSError, UnicodeDecodeError) as exc:
        raise SecretKeyInvalid(f"The key file {key_path} cannot be read ({type(exc).__name__}).") from exc
    return _create_key_file(key_path)


def _create_key_file(key_path: Path) -> bytes:
    key_path.parent.mkdir(parents=True, exist_ok=True)
    temporary = key_path.with_name(f".{key_path.name}.{secrets.token_hex(8)}.tmp")
    text = new_key()
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(text + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, key_path)  # fails if another process created it first: use theirs
        except FileExistsError:
            return parse_key(key_path.read_text("ascii"), f"The key file {key_path}")
    finally:
        temporary.unlink(missing_ok=True)
    return parse_key(text, f"The key file {key_path}")


def key_id(key: bytes) -> str:
    """A short, non-secret name of a key (8 characters), stored with each ciphertext."""
    return _b64encode(hashlib.sha256(_KEY_ID_LABEL + key).digest()[:6])


class SecretBox:
    """Encrypts and decrypts short secrets under one key, each bound to a context (a login option id)."""

    __slots__ = ("_aead", "_key_id")

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise SecretKeyInvalid(f"A secret key is {KEY_BYTES} bytes, not {len(key)}.")
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._aead: AESGCM = AESGCM(key)
        self._key_id = key_id(key)

    @classmethod
    def from_config(cls, key_path: Path, environ: Mapping[str, str] | None = None) -> SecretBox:
        """The box for the configured key (see :func:`load_key`)."""
        return cls(load_key(key_path, environ))

    def encrypt(self, plaintext: str, context: str) -> str:
        """``plaintext`` encrypted for ``context``, as ``v1:<key id>:<data>``."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), _associated_data(context))
        return f"{VERSION}:{self._key_id}:{_b64encode(nonce + sealed)}"

    def decrypt(self, ciphertext: str, context: str) -> str:
        """The plaintext of a ciphertext made by :meth:`encrypt` for the same ``context``.

        Raises :class:`SecretUnreadable` with an administrator's message when it cannot be read.
        """
        version, _, rest = ciphertext.partition(":")
        stored_key_id, _, data = rest.partition(":")
        if version != VERSION or not data:
            raise SecretUnreadable(
                "The stored secret is not in a format this version of Gatehouse reads. Enter it again."
            )
        if stored_key_id != self._key_id:
            raise SecretUnreadable(
                f"The stored secret was encrypted with another key than the current one ({KEY_ENV} or the key "
                "file changed). Restore that key, or enter the secret again."
            )
        from cryptography.exceptions import InvalidTag

        try:
            raw = _b64decode(data)
            if len(raw) < NONCE_BYTES + 16:
                raise ValueError("too short")
            plain = self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _associated_data(context))
            return plain.decode("utf-8")
        except (InvalidTag, ValueError) as exc:  # binascii.Error and UnicodeDecodeError are ValueErrors
            raise SecretUnreadable(
                "The stored secret does not decrypt: it was damaged or copied from another login option. "
                "Enter it again."
            ) from exc


def _associated_data(context: str) -> bytes:
    return b"gatehouse secret for:" + context.encode("utf-8")


class LazySecretBox:
    """The configured box, its key loaded (and its key file created) on first use, not at start-up: an
    installation without stored SSO secrets never needs a key."""

    __slots__ = ("_box", "_environ", "_key_path")

    def __init__(self, key_path: Path, environ: Mapping[str, str] | None = None) -> None:
        self._key_path = key_path
        self._environ = environ
        self._box: SecretBox | None = None

    def __call__(self) -> SecretBox:
        if self._box is None:
            self._box = SecretBox.from_config(self._key_path, self._environ)
        return self._box
