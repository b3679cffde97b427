"""The OpenID Connect authorization code flow, as messages: built and read here, sent elsewhere.

Pure functions: no HTTP, no database (:mod:`gatehouse.sso.provider` does the calls). Authlib builds the
OAuth 2.0 messages (RFC 6749 §4.1.1 authorization request, §4.1.3 token request, client authentication
§2.3.1); this module adds what OpenID Connect and this product require of them:

* :func:`parse_metadata` — OpenID Connect Discovery 1.0 §3 provider metadata, with §4.3: "The issuer value
  returned MUST be identical to the Issuer URL that was used as the prefix to /.well-known/openid-configuration".
* :func:`authorization_url` — OIDC Core 1.0 §3.1.2.1: ``response_type=code``, ``scope`` with ``openid``,
  ``state``, ``nonce``, and RFC 7636 PKCE (``code_challenge`` with ``S256``).
* :func:`read_callback` — §3.1.2.5/§3.1.2.6: the code, or the provider's error, and the ``state``.
* :func:`token_request` / :func:`read_token_response` — §3.1.3.1–§3.1.3.4 (RFC 6749 §5.1/§5.2).
* :func:`end_session_url` — OpenID Connect RP-Initiated Logout 1.0 §2.

Failures are :class:`ProviderError` (the provider misbehaves or is misconfigured: 502) or
:class:`CallbackRefused` (the browser brought back something unusable: 400), each with a stable
``reason`` for the audit log and a message for the page. No message contains a secret or a token.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode, urlsplit

from authlib.oauth2.auth import encode_client_secret_basic, encode_client_secret_post  # type: ignore[import-untyped]
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request  # type: ignore[import-untyped]

from gatehouse.sso.failure import Reasoned
from gatehouse.sso.tokens import PKCE_METHOD

DISCOVERY_SUFFIX: Final = "/.well-known/openid-configuration"
MAX_ERROR_TEXT: Final = 200
_CLIENT_AUTH: Final = ("client_secret_basic", "client_secret_post")


class ProviderError(Reasoned):
    """The OpenID provider cannot be used for this sign-in (unreachable, misconfigured, or it refused)."""

    status = 502
    default_detail = "The identity provider could not be reached or gave an unusable answer. Try again later."


class CallbackRefused(Reasoned):
    """The callback request cannot complete a sign-in (no state, unknown state, the provider's error)."""

    status = 400
    default_detail = "This sign-in link is not valid. Start again from the sign-in page."


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    """What Gatehouse uses of a provider's discovery document (OIDC Discovery 1.0 §3)."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None = None
    end_session_endpoint: str | None = None
    token_auth_method: str = "client_secret_basic"
    signing_algs: tuple[str, ...] = ("RS256",)
    scopes: tuple[str, ...] | None = None
    """``scopes_supported`` when the provider lists them (RECOMMENDED, not required: §3)."""


def discovery_url(issuer: str) -> str:
    """Where the issuer's discovery document is (§4: the issuer, without a trailing ``/``, then the suffix)."""
    return issuer.rstrip("/") + DISCOVERY_SUFFIX


def parse_metadata(issuer: str, document: object) -> ProviderMetadata:
    """The usable parts of a discovery document fetched for ``issuer``; :class:`ProviderError` if unusable."""
    if not isinstance(document, Mapping):
        raise ProviderError("discovery_invalid", "The identity provider's discovery document is not a JSON object.")
    if document.get("issuer") != issuer:
        raise ProviderError(
            "issuer_mismatch",
            f"The identity provider calls itself {str(document.get('issuer'))[:200]!r}, not {issuer!r}: "
            "set the login option's issuer to exactly that value.",
        )
    endpoints = {}
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        endpoints[name] = _url(document, name, required=True)
    methods = document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    method = next((m for m in _CLIENT_AUTH if isinstance(methods, list) and m in methods), None)
    if method is None:
        raise ProviderError(
            "client_auth_unsupported",
            "The identity provider supports neither client_secret_basic nor client_secret_post at its token endpoint.",
        )
    listed = document.get("scopes_supported")
    scopes = tuple(s for s in listed if isinstance(s, str)) if isinstance(listed, list) else None
    algs = document.get("id_token_signing_alg_values_supported")
    signing = tuple(a for a in algs if isinstance(a, str)) if isinstance(algs, list) else ("RS256",)
    return ProviderMetadata(
        issuer=issuer,
        authorization_endpoint=endpoints["authorization_endpoint"],
        token_endpoint=endpoints["token_endpoint"],
        jwks_uri=endpoints["jwks_uri"],
        userinfo_endpoint=_url(document, "userinfo_endpoint", required=False) or None,
        end_session_endpoint=_url(document, "end_session_endpoint", required=False) or None,
        token_auth_method=method,
        signing_algs=signing or ("RS256",),
        scopes=scopes,
    )


def _url(document: Mapping[str, Any], name: str, *, required: bool) -> str:
    value = document.get(name)
    if value is None and not required:
        return ""
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("https", "http") or not parts.hostname:
        raise ProviderError("discovery_invalid", f"The identity provider's discovery document has no valid {name}.")
    return str(value)


def authorization_url(
    metadata: ProviderMetadata,
    *,
    client_id: str,
    redirect_uri: str,
    scopes: str,
    state: str,
    nonce: str,
    code_challenge: str,
) -> str:
    """The authentication request (OIDC Core §3.1.2.1) the browser is sent to."""
    return str(
        prepare_grant_uri(
            metadata.authorization_endpoint,
            client_id,
            "code",
            redirect_uri=redirect_uri,
            scope=scopes,
            state=state,
            nonce=nonce,
            code_challenge=code_challenge,
            code_challenge_method=PKCE_METHOD,
        )
    )


@dataclass(frozen=True, slots=True)
class Callback:
    """A callback that carries an authorization code."""

    state: str
    code: str


def read_callback(params: Mapping[str, str]) -> Callback:
    """The ``state`` and ``code`` of a callback (§3.1.2.5), or :class:`CallbackRefused`.

    Without a ``state`` nothing ties the request to a sign-in Gatehouse started; an ``error`` (§3.1.2.6,
    e.g. ``access_denied`` when the user is not assigned to the application) is reported as the
    provider's refusal. The caller consumes the state first in every case that has one.
    """
    state = params.get("state", "")
    if not state or len(state) > 512:
        raise CallbackRefused(
            "state_missing", "This sign-in link has no valid state. Start again from the sign-in page."
        )
    error = params.get("error")
    if error:
        description = params.get("error_description", "")
        text = f"{error[:60]}" + (f": {description[:MAX_ERROR_TEXT]}" if description else "")
        raise CallbackRefused("provider_refused", f"The identity provider refused the sign-in ({text}).")
    code = params.get("code", "")
    if not code or len(code) > 4096:
        raise CallbackRefused("code_missing", "The identity provider sent no authorization code. Start again.")
    return Callback(state, code)


@dataclass(frozen=True, slots=True)
class TokenRequest:
    """A token request ready to POST: form body and headers (client authentication included)."""

    url: str
    body: str
    headers: dict[str, str]


def token_request(
    metadata: ProviderMetadata,
    *,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
    code_verifier: str,
) -> TokenRequest:
    """The token request of §3.1.3.1 with the PKCE verifier (RFC 7636 §4.5), authenticated with the
    method the provider supports (§9: ``client_secret_basic`` preferred, else ``client_secret_post``)."""
    body = prepare_token_request(
        "authorization_code", code=code, redirect_uri=redirect_uri, code_verifier=code_verifier
    )
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    client = _ClientCredentials(client_id, client_secret)
    encode = (
        encode_client_secret_basic if metadata.token_auth_method == "client_secret_basic" else encode_client_secret_post
    )
    _, headers, body = encode(client, "POST", metadata.token_endpoint, headers, body)
    return TokenRequest(metadata.token_endpoint, body, headers)


@dataclass(frozen=True, slots=True)
class _ClientCredentials:
    """The two attributes Authlib's client-authentication encoders read."""

    client_id: str
    client_secret: str


@dataclass(frozen=True, slots=True)
class TokenResponse:
    """The parts of a successful token response (§3.1.3.3) that a sign-in uses."""

    id_token: str
    access_token: str | None


def read_token_response(status: int, document: object) -> TokenResponse:
    """The ID token and access token of a token response, or :class:`ProviderError` (RFC 6749 §5.2 errors,
    a non-JSON body, or a success without ``id_token``)."""
    if not isinstance(document, Mapping):
        raise ProviderError("token_response_invalid", "The identity provider's token endpoint did not answer in JSON.")
    if status != 200 or "error" in document:
        error = str(document.get("error", f"HTTP {status}"))[:60]
        description = str(document.get("error_description", ""))[:MAX_ERROR_TEXT]
        hint = " Check the login option's client ID and secret." if error == "invalid_client" else ""
        detail = f"The identity provider refused the sign-in code ({error}{': ' + description if description else ''})."
        raise ProviderError("token_refused", detail + hint)
    id_token = document.get("id_token")
    if not isinstance(id_token, str) or not id_token:
        raise ProviderError(
            "token_response_invalid", "The identity provider returned no ID token: is 'openid' in the scopes?"
        )
    access = document.get("access_token")
    return TokenResponse(id_token, access if isinstance(access, str) and access else None)


def end_session_url(metadata: ProviderMetadata, *, client_id: str, post_logout_redirect_uri: str) -> str | None:
    """Where to send the browser to sign out at the provider too (RP-Initiated Logout 1.0 §2: ``client_id``
    in place of ``id_token_hint``), or ``None`` when the provider has no end-session endpoint."""
    if metadata.end_session_endpoint is None:
        return None
    separator = "&" if urlsplit(metadata.end_session_endpoint).query else "?"
    query = urlencode({"client_id": client_id, "post_logout_redirect_uri": post_logout_redirect_uri})
    return f"{metadata.end_session_endpoint}{separator}{query}"
