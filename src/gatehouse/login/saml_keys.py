"""The SAML SP's signing key and certificate: generated for an option that signs its requests without an
uploaded pair, or an uploaded pair checked to belong together. Pure computation (``cryptography``), no I/O.
"""

from __future__ import annotations

import datetime
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from gatehouse.errors import InvalidInput

KEY_BITS: Final = 3072
VALIDITY: Final = datetime.timedelta(days=3650)


def generate(common_name: str, now: datetime.datetime) -> tuple[str, str]:
    """A new RSA key and a self-signed certificate for it (PEM, PEM): SAML metadata carries the certificate,
    and IdPs trust what the metadata says, so a self-signed one is what Okta and Entra ID expect."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64] or "Gatehouse SAML SP")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM).decode()


def check_pair(key_pem: str, certificate_pem: str) -> None:
    """An uploaded key and certificate: PEM, unencrypted, RSA, and the certificate's key is this key's."""
    try:
        key = serialization.load_pem_private_key(key_pem.strip().encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise InvalidInput("The SP private key must be an unencrypted PEM private key.") from exc
    try:
        certificate = x509.load_pem_x509_certificate(certificate_pem.strip().encode())
    except ValueError as exc:
        raise InvalidInput("The SP certificate must be a PEM certificate.") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise InvalidInput("The SP private key must be an RSA key (SAML's rsa-sha256 signatures).")
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if certificate.public_key().public_bytes(*spki) != key.public_key().public_bytes(*spki):
        raise InvalidInput("The SP certificate is not the certificate of this private key.")
