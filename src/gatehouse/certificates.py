"""Certificates pasted into a form as PEM text (a CA bundle to trust, a SAML SP's own certificate): read when
saved, so that a truncated or mangled paste is named on the form rather than failing at the first connection.

A PEM certificate is RFC 7468 §5.1's textual encoding (``-----BEGIN CERTIFICATE-----``, base64 of the DER
form, ``-----END CERTIFICATE-----``) of an RFC 5280 certificate; every such block must decode. Text around the
blocks (the comments of a system bundle) is allowed, as OpenSSL allows it. Pure: no I/O.
"""

from __future__ import annotations

from typing import Final

PEM_HEADER: Final = "-----BEGIN CERTIFICATE-----"


def readable_certificates(text: str, *, limit: int, one: bool = False) -> bool:
    """Whether ``text`` (at most ``limit`` characters) holds PEM certificates that all decode: at least one,
    or exactly one with ``one``."""
    if len(text) > limit or PEM_HEADER not in text:
        return False
    from cryptography import x509  # imported on use: most processes never read a certificate

    try:
        found = x509.load_pem_x509_certificates(text.encode("utf-8", "replace"))
    except ValueError:  # a block that is not base64, not DER, or not a certificate
        return False
    return len(found) == 1 if one else bool(found)
