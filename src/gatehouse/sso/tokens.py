"""OpenID Connect ID token validation, UserInfo merging and the PKCE/state/nonce values of a login.

Pure functions: no HTTP, no database. The caller fetches the provider's JWKS and the token response; this
module decides whether the ID token may be trusted (OpenID Connect Core 1.0 §3.1.3.7), merges the UserInfo
response into its claims (§5.3.2) and makes the one-time values of the authorization request (RFC 7636
PKCE with ``S256``, ``state`` and ``nonce`` per §3.1.2.1).

JOSE comes from ``joserfc``, the successor of ``authlib.jose`` that Authlib itself depends on (Authlib 1.7+
deprecates ``authlib.jose`` in its favour).

Every refusal is an :class:`IdTokenInvalid` (or :class:`UserInfoInvalid`) with a stable ``reason`` code
for the audit log and a message that never contains the token. Nothing here logs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Final, NamedTuple

from joserfc import jws
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import JWKRegistry, Key

from gatehouse.errors import Unauthorized
from gatehouse.sso.failure import Reasoned

DEFAULT_ALGORITHMS: Final = ("RS256", "ES256", "PS256")
"""Asymmetric algorithms accepted by default. RS256 is the one every provider must support (§15.1)."""

SUPPORTED_ALGORITHMS: Final = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
"""Every asymmetric algorithm (RFC 7518 §3.1) an ID token may be signed with here: a sign-in accepts those of
them the provider advertises (``id_token_signing_alg_values_supported``), else :data:`DEFAULT_ALGORITHMS`."""

MAX_TOKEN_LENGTH: Final = 16 * 1024
"""A longer ID token is refused before any parsing (real ones are a few kilobytes at most)."""

MAX_SUBJECT_LENGTH: Final = 255
"""§2: ``sub`` "MUST NOT exceed 255 ASCII characters in length"."""

ID_TOKEN_ONLY_CLAIMS: Final = frozenset(
    {"iss", "aud", "exp", "iat", "nonce", "sub", "azp", "auth_time", "acr", "amr", "at_hash", "c_hash", "nbf", "jti"}
)
"""Claims describing the authentication itself: in :func:`merge_userinfo` the ID token's values stand."""

PKCE_METHOD: Final = "S256"
_PRIVATE_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth"})  # RFC 7518 §6.2.2, §6.3.2
_PKCE_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")  # RFC 7636 §4.1: 43–128 unreserved characters
_RANDOM_BYTES: Final = 32  # 256 bits for state and nonce; RFC 7636 §7.1 recommends 32 octets for PKCE


class _Registry(jws.JWSRegistry):
    """JWS limits for ID tokens: headers up to 4 KiB (joserfc's default is 512 bytes, too tight for a
    header carrying ``x5t``/``x5c``). Unknown non-critical header parameters are ignored (RFC 7515 §4)."""

    max_header_length = 4096


class SsoResponseInvalid(Reasoned, Unauthorized):
    """A response of the identity provider may not be trusted; ``reason`` is a stable code."""

    default_detail = "The identity provider's response could not be verified."


class IdTokenInvalid(SsoResponseInvalid):
    """The ID token fails one of the checks of OpenID Connect Core 1.0 §3.1.3.7.

    Reasons: ``malformed``, ``alg_not_allowed``, ``jwks_invalid``, ``unknown_key``, ``bad_signature``,
    ``issuer_mismatch``, ``audience_mismatch``, ``azp_mismatch``, ``exp_invalid``, ``expired``,
    ``iat_invalid``, ``iat_in_future``, ``not_yet_valid``, ``nonce_mismatch``, ``subject_invalid``.
    """

    default_detail = "The identity provider's ID token could not be verified."


class UserInfoInvalid(SsoResponseInvalid):
    """The UserInfo response may not be used (§5.3.2); reasons: ``subject_mismatch``."""

    default_detail = "The identity provider's user information does not belong to the signed-in user."


@dataclass(frozen=True)
class IdTokenClaims:
    """A validated ID token: the checked claims, and every claim as sent (read-only)."""

    subject: str
    issuer: str
    audience: tuple[str, ...]
    expires_at: datetime
    issued_at: datetime
    claims: Mapping[str, Any]


def validate_id_token(
    token: str,
    *,
    jwks: Mapping[str, Any],
    issuer: str,
    client_id: str,
    nonce: str,
    now: datetime,
    leeway: int = 60,
    allowed_algs: Collection[str] = DEFAULT_ALGORITHMS,
) -> IdTokenClaims:
    """Validate an ID token received from the token endpoint (OpenID Connect Core 1.0 §3.1.3.7).

    In the order of §3.1.3.7:

    * Signature (step 6, §10.1): JWS Compact Serialization signed with an asymmetric ``alg`` listed in
      ``allowed_algs``. ``none`` and the HMAC algorithms ``HS*`` are refused even when listed: the
      provider's keys are public, so a token "signed" with one of them as an HMAC secret proves nothing.
      The key is the JWKS entry whose ``kid`` the header names; a header without ``kid`` is accepted only
      when the JWKS holds exactly one key (§10.1: with several keys "a kid value MUST be provided").
      The key's ``kty``/``crv``, and its ``use`` and ``alg`` when present, must fit the algorithm.
    * ``iss`` exactly equals ``issuer`` (step 2).
    * ``aud`` (string or array) contains ``client_id`` (step 3); with several audiences ``azp`` must be
      present, and whenever ``azp`` is present it must equal ``client_id`` (steps 4–5).
    * ``exp`` is a number and ``now`` is before it, give or take ``leeway`` seconds (step 9); ``nbf``, if
      present, is not after ``now`` + ``leeway``.
    * ``iat`` is a number and not later than ``now`` + ``leeway`` (step 10).
    * ``nonce`` equals the value sent in the authentication request, compared in constant time (step 11).
    * ``sub`` is a non-empty string of at most 255 characters (§2).

    ``now`` without a time zone is taken as UTC. Raises :class:`IdTokenInvalid` with the first failing
    check's reason.
    """
    if not nonce:
        raise ValueError("The expected nonce must be the non-empty value sent in the authentication request.")
    moment = (now if now.tzinfo else now.replace(tzinfo=UTC)).timestamp()
    claims = _parse_claims(_verify_signature(token, jwks, allowed_algs))

    if not isinstance(claims.get("iss"), str) or claims["iss"] != issuer:
        raise IdTokenInvalid("issuer_mismatch", "The ID token was not issued by this login option's issuer.")

    audience = _audience(claims.get("aud"))
    if client_id not in audience:
        raise IdTokenInvalid("audience_mismatch", "The ID token was not issued for this client.")
    azp = claims.get("azp")
    if (len(audience) > 1 or azp is not None) and azp != client_id:
        raise IdTokenInvalid("azp_mismatch", "The ID token was issued to another authorized party.")

    exp = _numeric_date(claims.get("exp"))
    if exp is None:
        raise IdTokenInvalid("exp_invalid", "The ID token has no valid expiry time.")
    if moment >= exp + leeway:
        raise IdTokenInvalid("expired", "The ID token has expired; please sign in again.")
    if "nbf" in claims:
        nbf = _numeric_date(claims["nbf"])
        if nbf is None or nbf > moment + leeway:
            raise IdTokenInvalid("not_yet_valid", "The ID token is not valid yet; check the server clocks.")

    iat = _numeric_date(claims.get("iat"))
    if iat is None:
        raise IdTokenInvalid("iat_invalid", "The ID token has no valid issue time.")
    if iat > moment + leeway:
        raise IdTokenInvalid("iat_in_future", "The ID token was issued in the future; check the server clocks.")

    sent = claims.get("nonce")
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), nonce.encode()):
        raise IdTokenInvalid("nonce_mismatch", "The ID token does not belong to this sign-in attempt.")

    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > MAX_SUBJECT_LENGTH:
        raise IdTokenInvalid("subject_invalid", "The ID token does not identify the user (no valid 'sub').")

    return IdTokenClaims(
        subject=subject,
        issuer=issuer,
        audience=audience,
        expires_at=datetime.fromtimestamp(exp, UTC),
        issued_at=datetime.fromtimestamp(iat, UTC),
        claims=MappingProxyType(claims),
    )


def _verify_signature(token: str, jwks: Mapping[str, Any], allowed_algs: Collection[str]) -> bytes:
    """Check the JWS signature of ``token``; returns its payload."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
        raise IdTokenInvalid("malformed", "The ID token is not a signed JWT.")
    try:
        obj = jws.extract_compact(token.encode("ascii"), registry=_Registry(strict_check_header=False))
    except (JoseError, ValueError, TypeError) as error:
        raise IdTokenInvalid("malformed", "The ID token is not a signed JWT.") from error
    header = obj.headers()
    if "b64" in header or "crit" in header:  # RFC 7797 payloads are no JWT; no extension is understood here
        raise IdTokenInvalid("malformed", "The ID token is not a signed JWT.")

    alg = header.get("alg")
    if isinstance(allowed_algs, str):  # a lone name, not a collection of its letters
        allowed_algs = (allowed_algs,)
    if not isinstance(alg, str) or alg.lower() == "none" or alg.upper().startswith("HS") or alg not in allowed_algs:
        raise IdTokenInvalid("alg_not_allowed", "The ID token is signed with an algorithm that is not allowed.")

    key = _select_key(jwks, header.get("kid"), "EC" if alg.startswith("ES") else "RSA")
    try:
        verified = jws.validate_compact(obj, key, registry=_Registry(algorithms=[alg], strict_check_header=False))
    except BadSignatureError:
        verified = False
    except (JoseError, ValueError, TypeError) as error:  # key type, curve, ``use`` or ``alg`` do not fit
        raise IdTokenInvalid("bad_signature", "The ID token's key does not fit its algorithm.") from error
    if not verified or obj.payload is None:
        raise IdTokenInvalid("bad_signature", "The ID token's signature is not valid.")
    return obj.payload


def _select_key(jwks: Mapping[str, Any], kid: object, kty: str) -> Key:
    """The public signing key of the JWKS (RFC 7517 §5) that the header's ``kid`` names (OIDC Core §10.1).

    Only keys of the algorithm's type (``RSA`` for RS*/PS*, ``EC`` for ES*) meant for signatures (``use``
    absent or ``sig``) are considered: never a symmetric (``oct``) key, whatever the JWKS holds. Private
    members, if a careless JWKS carries them, are dropped.
    """
    keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(keys, list) or not all(isinstance(entry, Mapping) for entry in keys):
        raise IdTokenInvalid("jwks_invalid", "The identity provider's key set (JWKS) is not valid.")
    usable = [entry for entry in keys if entry.get("kty") == kty and entry.get("use", "sig") == "sig"]
    if kid is None:  # "If there are multiple keys in the referenced JWK Set document, a kid value MUST be provided"
        matches = usable if len(keys) == 1 else []
    else:
        matches = [entry for entry in usable if entry.get("kid") == kid]
    if len(matches) != 1:
        raise IdTokenInvalid("unknown_key", "The ID token is signed with a key the identity provider does not publish.")
    public = {name: value for name, value in matches[0].items() if name not in _PRIVATE_MEMBERS}
    try:
        return JWKRegistry.import_key(public)
    except (JoseError, ValueError, TypeError) as error:
        raise IdTokenInvalid("jwks_invalid", "The identity provider's key set (JWKS) is not valid.") from error


def _parse_claims(payload: bytes) -> dict[str, Any]:
    try:
        claims = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as error:
        raise IdTokenInvalid("malformed", "The ID token's claims are not valid JSON.") from error
    if not isinstance(claims, dict):
        raise IdTokenInvalid("malformed", "The ID token's claims are not a JSON object.")
    return claims


def _audience(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    return ()


def _numeric_date(value: object) -> float | None:
    """A NumericDate (RFC 7519 §2) that a ``datetime`` can hold, or None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return float(value)


def merge_userinfo(id_claims: IdTokenClaims | Mapping[str, Any], userinfo: Mapping[str, Any]) -> dict[str, Any]:
    """The claims of a login: the ID token's, completed by the UserInfo response (OIDC Core §5.3.2).

    §5.3.2: "The sub Claim in the UserInfo Response MUST be verified to exactly match the sub Claim in
    the ID Token; if they do not match, the UserInfo Response values MUST NOT be used" — a mismatch (or a
    missing ``sub``) raises :class:`UserInfoInvalid`. Profile claims (``email``, ``email_verified``,
    ``name``, ``preferred_username``, ``groups``…) from UserInfo add to or replace the ID token's; the
    claims about the authentication itself (:data:`ID_TOKEN_ONLY_CLAIMS`: ``iss``, ``aud``, ``exp``,
    ``iat``, ``nonce``, ``sub``, ``azp``, ``auth_time``, ``acr``, ``amr``…) keep the ID token's values.
    """
    base = dict(id_claims.claims if isinstance(id_claims, IdTokenClaims) else id_claims)
    subject = base.get("sub")
    if not isinstance(subject, str) or userinfo.get("sub") != subject:
        raise UserInfoInvalid("subject_mismatch")
    merged = dict(base)
    for name, value in userinfo.items():
        if name not in ID_TOKEN_ONLY_CLAIMS:
            merged[name] = value
    return merged


def email_verified(claims: Mapping[str, Any]) -> bool:
    """Whether the provider vouches for ``email`` (OIDC Core §5.1 ``email_verified``).

    True only for the JSON boolean ``true`` or the string ``"true"`` in any case (some providers send the
    claim as a string); anything else — absent, ``false``, ``1``, ``"yes"`` — is False.
    """
    value = claims.get("email_verified")
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.lower() == "true"


class Pkce(NamedTuple):
    """A PKCE pair (RFC 7636): keep ``verifier`` in the session, send ``challenge`` with ``S256``."""

    verifier: str
    challenge: str


def pkce_challenge(verifier: str) -> str:
    """``code_challenge = BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))`` (RFC 7636 §4.2, ``S256``)."""
    if not _PKCE_VERIFIER.fullmatch(verifier):
        raise ValueError("A PKCE code verifier is 43 to 128 unreserved characters (RFC 7636 §4.1).")
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def new_pkce() -> Pkce:
    """A fresh code verifier (RFC 7636 §4.1: 64 random octets, base64url — 86 characters) and its challenge."""
    verifier = secrets.token_urlsafe(64)
    return Pkce(verifier, pkce_challenge(verifier))


def new_state() -> str:
    """An unguessable ``state`` binding the callback to the browser session (OIDC Core §3.1.2.1): 256 bits."""
    return secrets.token_urlsafe(_RANDOM_BYTES)


def new_nonce() -> str:
    """An unguessable ``nonce`` binding the ID token to the session (OIDC Core §3.1.2.1, §15.5.2): 256 bits."""
    return secrets.token_urlsafe(_RANDOM_BYTES)
