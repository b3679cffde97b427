"""The OIDC messages (``gatehouse.sso.protocol``) and the provider client's failures (``gatehouse.sso.provider``).

The client's failures are provoked against real sockets on localhost: a closed port, a server that never
answers, one that answers HTML or too much.
"""

from __future__ import annotations

import base64
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from gatehouse.sso.protocol import (
    CallbackRefused,
    ProviderError,
    ProviderMetadata,
    authorization_url,
    discovery_url,
    end_session_url,
    parse_metadata,
    read_callback,
    read_token_response,
    token_request,
)
from gatehouse.sso.provider import MAX_RESPONSE_BYTES, ProviderClient
from support.coroutines import run_apart

ISSUER = "https://idp.example.com/tenant"


def document(**changes: Any) -> dict[str, Any]:
    doc = {
        "issuer": ISSUER,
        "authorization_endpoint": f"{ISSUER}/authorize",
        "token_endpoint": f"{ISSUER}/token",
        "jwks_uri": f"{ISSUER}/keys",
        "userinfo_endpoint": f"{ISSUER}/userinfo",
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
    }
    doc.update(changes)
    return {key: value for key, value in doc.items() if value is not None}


def test_discovery_url_strips_a_trailing_slash() -> None:
    assert discovery_url(ISSUER + "/") == f"{ISSUER}/.well-known/openid-configuration"


def test_metadata_is_read_and_the_issuer_must_be_identical() -> None:
    metadata = parse_metadata(ISSUER, document())
    assert metadata.token_endpoint == f"{ISSUER}/token" and metadata.end_session_endpoint is None
    assert metadata.token_auth_method == "client_secret_basic" and metadata.signing_algs == ("RS256", "ES256")
    with pytest.raises(ProviderError) as mismatch:
        parse_metadata(ISSUER, document(issuer=ISSUER + "/"))
    assert mismatch.value.reason == "issuer_mismatch" and "set the login option's issuer" in mismatch.value.detail


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"token_endpoint": None}, "discovery_invalid"),
        ({"jwks_uri": "ftp://idp.example.com/keys"}, "discovery_invalid"),
        ({"authorization_endpoint": 42}, "discovery_invalid"),
        ({"userinfo_endpoint": "not a url"}, "discovery_invalid"),
        ({"token_endpoint_auth_methods_supported": ["private_key_jwt"]}, "client_auth_unsupported"),
    ],
)
def test_unusable_metadata_is_refused_with_a_reason(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(ProviderError) as refused:
        parse_metadata(ISSUER, document(**changes))
    assert refused.value.reason == reason and refused.value.status == 502


def test_not_a_json_object_is_refused() -> None:
    with pytest.raises(ProviderError):
        parse_metadata(ISSUER, ["not", "an", "object"])


def test_client_secret_post_is_used_when_basic_is_not_offered() -> None:
    metadata = parse_metadata(ISSUER, document(token_endpoint_auth_methods_supported=["client_secret_post"]))
    request = token_request(
        metadata, client_id="gh", client_secret="s3cr3t", code="c0de", redirect_uri="https://gh/cb", code_verifier="v"
    )
    body = parse_qs(request.body)
    assert (
        body["client_id"] == ["gh"] and body["client_secret"] == ["s3cr3t"] and "Authorization" not in request.headers
    )


def test_the_token_request_carries_the_code_verifier_and_basic_authentication() -> None:
    metadata = parse_metadata(ISSUER, document())
    request = token_request(
        metadata, client_id="gh", client_secret="s:3", code="c0de", redirect_uri="https://gh/cb", code_verifier="v" * 43
    )
    body = parse_qs(request.body)
    assert body == {
        "grant_type": ["authorization_code"],
        "code": ["c0de"],
        "redirect_uri": ["https://gh/cb"],
        "code_verifier": ["v" * 43],
    }
    scheme, _, credentials = request.headers["Authorization"].partition(" ")
    # As Authlib sends it: not form-encoded first (RFC 6749 §2.3.1 says to), which is what providers accept.
    assert scheme == "Basic" and base64.b64decode(credentials) == b"gh:s:3"
    assert request.url == f"{ISSUER}/token"


def test_the_authorization_url_has_pkce_state_and_nonce() -> None:
    metadata = ProviderMetadata(ISSUER, f"{ISSUER}/authorize?tenant=x", f"{ISSUER}/token", f"{ISSUER}/keys")
    url = authorization_url(
        metadata, client_id="gh", redirect_uri="https://gh/cb", scopes="openid email", state="st", nonce="no",
        code_challenge="ch",
    )  # fmt: skip
    parts = urlsplit(url)
    assert parts.path == "/tenant/authorize"
    assert parse_qs(parts.query) == {
        "tenant": ["x"],
        "response_type": ["code"],
        "client_id": ["gh"],
        "redirect_uri": ["https://gh/cb"],
        "scope": ["openid email"],
        "state": ["st"],
        "nonce": ["no"],
        "code_challenge": ["ch"],
        "code_challenge_method": ["S256"],
    }


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({}, "state_missing"),
        ({"code": "x"}, "state_missing"),
        ({"state": "s" * 513, "code": "x"}, "state_missing"),
        ({"state": "s", "error": "access_denied", "error_description": "User not assigned"}, "provider_refused"),
        ({"state": "s"}, "code_missing"),
    ],
)
def test_callbacks_that_cannot_sign_in(params: dict[str, str], reason: str) -> None:
    with pytest.raises(CallbackRefused) as refused:
        read_callback(params)
    assert refused.value.reason == reason and refused.value.status == 400
    if reason == "provider_refused":
        assert "access_denied: User not assigned" in refused.value.detail


def test_a_callback_with_code_and_state() -> None:
    callback = read_callback({"state": "s", "code": "c", "iss": ISSUER})
    assert (callback.state, callback.code) == ("s", "c")


def test_token_responses() -> None:
    ok = read_token_response(200, {"id_token": "a.b.c", "access_token": "at", "token_type": "Bearer"})
    assert (ok.id_token, ok.access_token) == ("a.b.c", "at")
    assert read_token_response(200, {"id_token": "a.b.c"}).access_token is None
    with pytest.raises(ProviderError) as refused:
        read_token_response(401, {"error": "invalid_client", "error_description": "bad secret"})
    assert refused.value.reason == "token_refused" and "invalid_client: bad secret" in refused.value.detail
    assert "client ID and secret" in refused.value.detail
    with pytest.raises(ProviderError) as no_id_token:
        read_token_response(200, {"access_token": "at"})
    assert no_id_token.value.reason == "token_response_invalid" and "openid" in no_id_token.value.detail
    with pytest.raises(ProviderError):
        read_token_response(502, None)


def test_end_session_url() -> None:
    metadata = parse_metadata(ISSUER, document(end_session_endpoint=f"{ISSUER}/logout?x=1"))
    url = end_session_url(metadata, client_id="gh", post_logout_redirect_uri="https://gh/login")
    assert parse_qs(urlsplit(url or "").query) == {
        "x": ["1"], "client_id": ["gh"], "post_logout_redirect_uri": ["https://gh/login"]
    }  # fmt: skip
    assert end_session_url(parse_metadata(ISSUER, document()), client_id="gh", post_logout_redirect_uri="/") is None


# ------------------------------------------------------------------------------------------ the client


class _Handler(BaseHTTPRequestHandler):
    mode = "html"

    def do_GET(self) -> None:
        self.server.requests += 1  # type: ignore[attr-defined]
        if self.server.mode == "redirect":  # type: ignore[attr-defined]
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.server.mode == "hang":  # type: ignore[attr-defined]
            self.server.release.wait(5)  # type: ignore[attr-defined]
            return
        body = b"<html>maintenance</html>" if self.server.mode == "html" else b"[" + b"1," * MAX_RESPONSE_BYTES + b"1]"  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def odd_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.mode = "html"  # type: ignore[attr-defined]
    server.requests = 0  # type: ignore[attr-defined]
    server.release = threading.Event()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.release.set()  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()


def _issuer(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def test_an_unreachable_provider_is_a_clear_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ProviderError) as failed:
        run_apart(ProviderClient(timeout=2, ttl=60).metadata(f"http://127.0.0.1:{port}"))
    assert failed.value.reason == "unreachable" and "could not be reached" in failed.value.detail


def test_a_provider_that_does_not_answer_times_out(odd_server: ThreadingHTTPServer) -> None:
    odd_server.mode = "hang"  # type: ignore[attr-defined]
    with pytest.raises(ProviderError) as failed:
        run_apart(ProviderClient(timeout=0.3, ttl=60).metadata(_issuer(odd_server)))
    assert failed.value.reason == "timeout"


def test_a_discovery_document_that_is_not_json(odd_server: ThreadingHTTPServer) -> None:
    with pytest.raises(ProviderError) as failed:
        run_apart(ProviderClient(timeout=2, ttl=60).metadata(_issuer(odd_server)))
    assert failed.value.reason == "discovery_invalid"


def test_an_oversized_answer_is_cut_off(odd_server: ThreadingHTTPServer) -> None:
    odd_server.mode = "huge"  # type: ignore[attr-defined]
    with pytest.raises(ProviderError) as failed:
        run_apart(ProviderClient(timeout=5, ttl=60).metadata(_issuer(odd_server)))
    assert failed.value.reason == "response_too_large"


def test_a_redirect_is_not_followed(odd_server: ThreadingHTTPServer) -> None:
    """A provider (or someone in its place) answering 302 to another host, here the cloud metadata address,
    is an error: nothing is fetched from where it points."""
    odd_server.mode = "redirect"  # type: ignore[attr-defined]
    with pytest.raises(ProviderError) as failed:
        run_apart(ProviderClient(timeout=2, ttl=60).metadata(_issuer(odd_server)))
    assert failed.value.reason == "discovery_failed" and "HTTP 302" in failed.value.detail
    assert odd_server.requests == 1  # type: ignore[attr-defined]


def test_private_addresses_are_refused_when_the_setting_says_so(odd_server: ThreadingHTTPServer) -> None:
    """With GATEHOUSE_OUTBOUND_DENY_PRIVATE on, a provider on loopback (by address or by a name that resolves
    to it) is refused before any connection; with it off (the default) it is called."""
    for issuer in (_issuer(odd_server), f"http://localhost:{odd_server.server_address[1]}"):
        with pytest.raises(ProviderError) as failed:
            run_apart(ProviderClient(timeout=2, ttl=60, deny_private=True).metadata(issuer))
        assert failed.value.reason == "refused" and "GATEHOUSE_OUTBOUND_DENY_PRIVATE" in failed.value.detail
    assert odd_server.requests == 0  # type: ignore[attr-defined]
    with pytest.raises(ProviderError) as answered:  # the default: called (and its HTML is not a document)
        run_apart(ProviderClient(timeout=2, ttl=60).metadata(_issuer(odd_server)))
    assert answered.value.reason == "discovery_invalid" and odd_server.requests == 1  # type: ignore[attr-defined]


def test_metadata_is_cached_for_the_ttl(iam_server: Any) -> None:
    clock = [1000.0]
    client = ProviderClient(timeout=5, ttl=60, clock=lambda: clock[0])
    issuer = iam_server.url.rstrip("/")

    async def twice() -> tuple[object, object, object]:
        first = await client.metadata(issuer)
        second = await client.metadata(issuer)
        clock[0] += 61
        third = await client.metadata(issuer)
        return first, second, third

    first, second, third = run_apart(twice())
    assert first is second and third is not first and third == first
