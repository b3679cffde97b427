"""ID token validation (OIDC Core §3.1.3.7), UserInfo merging (§5.3.2), email_verified and PKCE (RFC 7636).

Keys are generated here and tokens really signed (joserfc); the attacks — alg ``none``, HS256 keyed with
the provider's public key, a key from elsewhere, a tampered payload — are built byte by byte.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from joserfc import jws, jwt
from joserfc.jwk import ECKey, RSAKey

from gatehouse.errors import Unauthorized
from gatehouse.sso.tokens import (
    IdTokenClaims,
    IdTokenInvalid,
    UserInfoInvalid,
    email_verified,
    merge_userinfo,
    new_nonce,
    new_pkce,
    new_state,
    pkce_challenge,
    validate_id_token,
)

ISSUER = "https://idp.example.com/realms/acme"
CLIENT_ID = "gatehouse-dashboard"
NONCE = "n-0S6_WzA2Mj"
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

RSA = RSAKey.generate_key(2048, parameters={"kid": "rsa-1", "use": "sig"})
EC = ECKey.generate_key("P-256", parameters={"kid": "ec-1"})
OTHER_RSA = RSAKey.generate_key(2048, parameters={"kid": "rsa-1"})  # same kid, another provider's key
JWKS: dict[str, Any] = {"keys": [RSA.as_dict(private=False), EC.as_dict(private=False)]}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "248289761001",
        "aud": CLIENT_ID,
        "exp": int((NOW + timedelta(minutes=5)).timestamp()),
        "iat": int(NOW.timestamp()),
        "nonce": NONCE,
        "email": "jane@example.com",
    }
    base.update(changes)
    return {name: value for name, value in base.items() if value is not None}


def sign(payload: dict[str, Any], key: RSAKey | ECKey = RSA, alg: str = "RS256", **header: Any) -> str:
    registry = jws.JWSRegistry(algorithms=[alg], strict_check_header=False)
    return jwt.encode({"alg": alg, "kid": key.kid, **header}, payload, key, registry=registry)


def validate(token: str, **options: Any) -> IdTokenClaims:
    arguments: dict[str, Any] = {"jwks": JWKS, "issuer": ISSUER, "client_id": CLIENT_ID, "nonce": NONCE, "now": NOW}
    arguments.update(options)
    return validate_id_token(token, **arguments)


def refused(token: str, reason: str, **options: Any) -> None:
    with pytest.raises(IdTokenInvalid) as caught:
        validate(token, **options)
    assert caught.value.reason == reason
    assert caught.value.status == 401
    assert token not in caught.value.detail


# --- accepted tokens ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "alg"), [(RSA, "RS256"), (RSA, "PS256"), (EC, "ES256")], ids=["RS256", "PS256", "ES256"]
)
def test_valid_token_is_accepted(key: RSAKey | ECKey, alg: str) -> None:
    result = validate(sign(claims(name="Jane Doe"), key, alg))
    assert result.subject == "248289761001"
    assert result.issuer == ISSUER
    assert result.audience == (CLIENT_ID,)
    assert result.expires_at == NOW + timedelta(minutes=5)
    assert result.issued_at == NOW
    assert result.claims["name"] == "Jane Doe"
    with pytest.raises(TypeError):
        result.claims["sub"] = "someone else"  # type: ignore[index]


def test_id_token_invalid_is_unauthorized() -> None:
    assert issubclass(IdTokenInvalid, Unauthorized)
    assert issubclass(UserInfoInvalid, Unauthorized)


def test_list_audience_with_only_the_client_needs_no_azp() -> None:
    assert validate(sign(claims(aud=[CLIENT_ID]))).audience == (CLIENT_ID,)


def test_several_audiences_with_azp_of_the_client_are_accepted() -> None:
    result = validate(sign(claims(aud=[CLIENT_ID, "https://api.example.com"], azp=CLIENT_ID)))
    assert result.audience == (CLIENT_ID, "https://api.example.com")


def test_single_key_jwks_without_kid_header() -> None:
    token = jwt.encode({"alg": "RS256"}, claims(), RSA)
    assert validate(token, jwks={"keys": [RSA.as_dict(private=False)]}).subject == "248289761001"


def test_private_members_in_the_jwks_are_ignored() -> None:
    assert validate(sign(claims()), jwks={"keys": [RSA.as_dict(private=True)]}).subject == "248289761001"


def test_leeway_accepts_small_clock_skew() -> None:
    expired_30s_ago = int((NOW - timedelta(seconds=30)).timestamp())
    assert validate(sign(claims(exp=expired_30s_ago))).subject
    issued_30s_ahead = int((NOW + timedelta(seconds=30)).timestamp())
    assert validate(sign(claims(iat=issued_30s_ahead))).subject


def test_naive_now_is_utc() -> None:
    assert validate(sign(claims()), now=NOW.replace(tzinfo=None)).subject


def test_empty_expected_nonce_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="nonce"):
        validate(sign(claims(nonce="")), nonce="")


# --- signature and header ----------------------------------------------------------------------------------


def test_signature_of_another_key_is_refused() -> None:
    refused(sign(claims(), OTHER_RSA), "bad_signature")


def test_unknown_kid_is_refused() -> None:
    refused(sign(claims(), RSA, kid="rotated-away"), "unknown_key")


def test_missing_kid_with_several_keys_is_refused() -> None:
    refused(jwt.encode({"alg": "RS256"}, claims(), RSA), "unknown_key")


def test_alg_none_is_refused() -> None:
    header = b64(json.dumps({"alg": "none", "kid": "rsa-1"}).encode())
    payload = b64(json.dumps(claims()).encode())
    refused(f"{header}.{payload}.", "alg_not_allowed")
    refused(f"{header}.{payload}.", "alg_not_allowed", allowed_algs=("RS256", "none"))


@pytest.mark.parametrize("secret", ["pem", "jwk-json", "n"])
def test_hs256_keyed_with_the_public_key_is_refused(secret: str) -> None:
    """The key-confusion attack: an HMAC "signed" with what the verifier would use as an RSA public key."""
    material = {
        "pem": RSA.as_pem(private=False),
        "jwk-json": json.dumps(RSA.as_dict(private=False)).encode(),
        "n": str(RSA.as_dict(private=False)["n"]).encode(),
    }[secret]
    signing_input = f"{b64(json.dumps({'alg': 'HS256', 'kid': 'rsa-1'}).encode())}.{b64(json.dumps(claims()).encode())}"
    signature = b64(hmac.new(material, signing_input.encode(), hashlib.sha256).digest())
    refused(f"{signing_input}.{signature}", "alg_not_allowed")
    refused(f"{signing_input}.{signature}", "alg_not_allowed", allowed_algs=("RS256", "HS256"))


def test_algorithm_outside_allowed_algs_is_refused() -> None:
    refused(sign(claims(), EC, "ES256"), "alg_not_allowed", allowed_algs=("RS256",))


def test_algorithm_that_does_not_fit_the_key_is_refused() -> None:
    forged = sign(claims(), EC, "ES256", kid="rsa-1")  # claims the RSA key's kid
    refused(forged, "unknown_key")
    p384 = ECKey.generate_key("P-384", parameters={"kid": "ec-1"})  # ES256 needs P-256
    refused(sign(claims(), EC, "ES256"), "bad_signature", jwks={"keys": [p384.as_dict(private=False)]})


def test_keys_for_encryption_are_never_used() -> None:
    jwks = {"keys": [{**RSA.as_dict(private=False), "use": "enc"}]}
    refused(sign(claims()), "unknown_key", jwks=jwks)


def test_same_kid_on_keys_of_different_types() -> None:
    """RFC 7517 §4.5 allows one ``kid`` on keys of different ``kty``: the algorithm picks the type."""
    twin_ec = ECKey.generate_key("P-256", parameters={"kid": "rsa-1"})
    jwks = {"keys": [RSA.as_dict(private=False), twin_ec.as_dict(private=False)]}
    assert validate(sign(claims()), jwks=jwks).subject
    assert validate(sign(claims(), twin_ec, "ES256"), jwks=jwks).subject


def test_key_restricted_to_another_alg_is_refused() -> None:
    jwks = {"keys": [{**RSA.as_dict(private=False), "alg": "RS256"}]}
    refused(sign(claims(), RSA, "PS256"), "bad_signature", jwks=jwks)


def test_symmetric_key_in_the_jwks_is_never_used() -> None:
    jwks = {"keys": [{"kty": "oct", "kid": "rsa-1", "k": b64(b"secret" * 6)}]}
    refused(sign(claims()), "unknown_key", jwks=jwks)


@pytest.mark.parametrize("jwks", [{}, {"keys": "nope"}, {"keys": [1]}, {"keys": [{"kty": "RSA", "kid": "rsa-1"}]}])
def test_invalid_jwks_is_refused(jwks: dict[str, Any]) -> None:
    refused(sign(claims()), "jwks_invalid", jwks=jwks)


def test_key_embedded_in_the_header_is_ignored() -> None:
    """Only the provider's JWKS counts: a ``jwk``/``jku`` header naming the attacker's key changes nothing."""
    forged = sign(claims(), OTHER_RSA, jwk=OTHER_RSA.as_dict(private=False), jku="https://evil.example.com/jwks")
    refused(forged, "bad_signature")


def test_critical_header_extensions_are_refused() -> None:
    header = b64(json.dumps({"alg": "RS256", "kid": "rsa-1", "crit": ["exp"], "exp": 1}).encode())
    signing_input = f"{header}.{b64(json.dumps(claims()).encode())}"
    signature = b64(RSA.get_op_key("sign").sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()))
    refused(f"{signing_input}.{signature}", "malformed")


def test_unknown_header_parameters_are_ignored() -> None:
    assert validate(sign(claims(), RSA, "RS256", x5t="bm90LWEtdGh1bWJwcmludA", **{"x-vendor": "idp-7"})).subject


def test_tampered_payload_is_refused() -> None:
    header, _, signature = sign(claims()).split(".")
    forged = b64(json.dumps(claims(sub="admin")).encode())
    refused(f"{header}.{forged}.{signature}", "bad_signature")


@pytest.mark.parametrize(
    "token", ["", "a.b", "a.b.c.d", "!!.@@.##", "x" * 20000, "eyJhbGciOiJSUzI1NiJ9.e30", "e30.e30.e30"]
)
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(IdTokenInvalid) as caught:
        validate(token)
    assert caught.value.reason == "malformed"


def test_payload_that_is_no_json_object_is_refused() -> None:
    for payload in (b"[1, 2]", b"not json", b"\xff\xfe"):
        refused(jws.serialize_compact({"alg": "RS256", "kid": "rsa-1"}, payload, RSA), "malformed")


# --- claims ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"iss": "https://idp.example.com/realms/acme/"}, "issuer_mismatch"),  # exact comparison
        ({"iss": "https://evil.example.com/realms/acme"}, "issuer_mismatch"),
        ({"iss": None}, "issuer_mismatch"),
        ({"aud": "another-client"}, "audience_mismatch"),
        ({"aud": ["another-client"]}, "audience_mismatch"),
        ({"aud": None}, "audience_mismatch"),
        ({"aud": [CLIENT_ID, 7]}, "audience_mismatch"),
        ({"aud": [CLIENT_ID, "https://api.example.com"]}, "azp_mismatch"),  # several audiences, no azp
        ({"aud": [CLIENT_ID, "https://api.example.com"], "azp": "https://api.example.com"}, "azp_mismatch"),
        ({"azp": "another-client"}, "azp_mismatch"),
        ({"exp": int((NOW - timedelta(minutes=2)).timestamp())}, "expired"),
        ({"exp": None}, "exp_invalid"),
        ({"exp": "2099-01-01"}, "exp_invalid"),
        ({"exp": True}, "exp_invalid"),
        ({"exp": 10**20}, "exp_invalid"),
        ({"iat": int((NOW + timedelta(minutes=5)).timestamp())}, "iat_in_future"),
        ({"iat": None}, "iat_invalid"),
        ({"nbf": int((NOW + timedelta(minutes=3)).timestamp())}, "not_yet_valid"),
        ({"nonce": "another-attempt"}, "nonce_mismatch"),
        ({"nonce": None}, "nonce_mismatch"),
        ({"nonce": 12}, "nonce_mismatch"),
        ({"sub": None}, "subject_invalid"),
        ({"sub": ""}, "subject_invalid"),
        ({"sub": 42}, "subject_invalid"),
        ({"sub": "x" * 256}, "subject_invalid"),
    ],
)
def test_claim_checks(changes: dict[str, Any], reason: str) -> None:
    payload = claims()
    payload.update(changes)
    refused(sign({name: value for name, value in payload.items() if value is not None}), reason)


def test_expired_signed_token_is_refused_just_past_the_leeway() -> None:
    token = sign(claims(exp=int((NOW - timedelta(seconds=60)).timestamp())))
    refused(token, "expired")
    assert validate(token, leeway=61).subject


def test_longest_subject_is_accepted() -> None:
    assert validate(sign(claims(sub="s" * 255))).subject == "s" * 255


# --- UserInfo ----------------------------------------------------------------------------------------------


def test_userinfo_adds_and_overrides_profile_claims() -> None:
    id_claims = validate(sign(claims(email="old@example.com", email_verified=False)))
    userinfo = {
        "sub": "248289761001",
        "email": "jane@example.com",
        "email_verified": True,
        "preferred_username": "jane",
        "groups": ["ops"],
        "iss": "https://evil.example.com",
        "aud": "another-client",
        "exp": 1,
        "iat": 1,
        "nonce": "other",
        "acr": "none",
    }
    merged = merge_userinfo(id_claims, userinfo)
    assert merged["email"] == "jane@example.com"
    assert merged["email_verified"] is True
    assert merged["preferred_username"] == "jane"
    assert merged["groups"] == ["ops"]
    assert (merged["iss"], merged["aud"], merged["nonce"], merged["sub"]) == (ISSUER, CLIENT_ID, NONCE, "248289761001")
    assert merged["exp"] == id_claims.claims["exp"]
    assert merged["iat"] == id_claims.claims["iat"]
    assert "acr" not in merged


def test_userinfo_merge_accepts_a_plain_mapping() -> None:
    assert merge_userinfo({"sub": "a", "iss": ISSUER}, {"sub": "a", "name": "A"}) == {
        "sub": "a",
        "iss": ISSUER,
        "name": "A",
    }


@pytest.mark.parametrize("userinfo", [{"sub": "someone-else", "email": "x@example.com"}, {"email": "x@example.com"}])
def test_userinfo_of_another_subject_is_refused(userinfo: dict[str, Any]) -> None:
    id_claims = validate(sign(claims()))
    with pytest.raises(UserInfoInvalid) as caught:
        merge_userinfo(id_claims, userinfo)
    assert caught.value.reason == "subject_mismatch"
    assert caught.value.status == 401


# --- email_verified ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        ("true", True),
        ("TRUE", True),
        ("True", True),
        (False, False),
        ("false", False),
        ("yes", False),
        ("1", False),
        (1, False),
        (None, False),
        ("", False),
        (" true", False),
        (["true"], False),
    ],
)
def test_email_verified(value: object, expected: bool) -> None:
    assert email_verified({"email_verified": value}) is expected


def test_email_verified_absent() -> None:
    assert email_verified({"email": "jane@example.com"}) is False


# --- PKCE, state and nonce ---------------------------------------------------------------------------------


def test_pkce_rfc7636_appendix_b_vector() -> None:
    """RFC 7636 Appendix B: the verifier is the base64url of these 32 octets; its S256 challenge is given."""
    octets = [116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186,
              22, 212, 37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121]  # fmt: skip
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert b64(bytes(octets)) == verifier
    assert pkce_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_new_pkce_pair() -> None:
    verifier, challenge = new_pkce()
    assert re.fullmatch(r"[A-Za-z0-9\-._~]{43,128}", verifier)
    assert challenge == pkce_challenge(verifier)
    assert challenge == b64(hashlib.sha256(verifier.encode()).digest())
    assert new_pkce().verifier != verifier


@pytest.mark.parametrize("verifier", ["short", "a" * 42, "a" * 129, "a" * 42 + "+", "a" * 42 + "=", "é" * 43])
def test_pkce_challenge_refuses_invalid_verifiers(verifier: str) -> None:
    with pytest.raises(ValueError, match="RFC 7636"):
        pkce_challenge(verifier)


@pytest.mark.parametrize("make", [new_state, new_nonce])
def test_state_and_nonce_are_url_safe_and_at_least_128_bits(make: Any) -> None:
    values = {make() for _ in range(50)}
    assert len(values) == 50
    for value in values:
        assert re.fullmatch(r"[A-Za-z0-9_-]+", value)
        assert len(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))) >= 16
