"""Authentication of SCIM clients (RFC 7644 §2, RFC 6750) and the SCIM on/off switch."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from gatehouse.iam import scim_control
from gatehouse.store import scim_tokens
from gatehouse.store.database import Database
from support.scim import SCIM, assert_scim_error, okta_user


@pytest.mark.parametrize(
    "header",
    [None, "non-token", "Bearer", "Basic dXNlcjpwYXNz", "Bearer ghs_not-a-real-token"],
)
def test_missing_or_invalid_token_is_401_with_challenge(
    app_client: TestClient, scim_token: str, header: str | None
) -> None:
    """No or a wrong token: 401, a SCIM Error and a WWW-Authenticate challenge."""
    headers = {"Authorization": header} if header is not None else {}
    response = app_client.get(f"{SCIM}/Users", headers=headers)
    assert_scim_error(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_scheme_is_case_insensitive(app_client: TestClient, scim_token: str) -> None:
    """'bearer' and 'BEARER' work as well as 'Bearer'."""
    for scheme in ("bearer", "BEARER"):
        assert app_client.get(f"{SCIM}/Users", headers={"Authorization": f"{scheme} {scim_token}"}).status_code == 200


def test_every_endpoint_requires_the_token(app_client: TestClient, scim_token: str) -> None:
    """Discovery and resources alike refuse anonymous callers."""
    for path in ("/ServiceProviderConfig", "/Schemas", "/ResourceTypes", "/Users", "/Groups", "/Users/x"):
        assert_scim_error(app_client.get(f"{SCIM}{path}"), 401)


def test_disabled_scim_is_403_and_enabling_restores_access(scim: TestClient, db: Database) -> None:
    """Turning SCIM off refuses every request at once; the tokens are kept and work again when on."""
    with db.transaction() as connection:
        scim_control.disable(connection)
    body = assert_scim_error(scim.get(f"{SCIM}/Users"), 403)
    assert "disabled" in body["detail"]
    assert_scim_error(scim.post(f"{SCIM}/Users", json=okta_user()), 403)
    with db.transaction() as connection:
        scim_control.enable(connection)
    assert scim.get(f"{SCIM}/Users").status_code == 200


def test_revoked_token_is_refused_at_once(scim: TestClient, db: Database) -> None:
    """A revoked token stops working on the very next request; another token keeps working."""
    assert scim.get(f"{SCIM}/Users").status_code == 200
    with db.transaction() as connection:
        other = scim_control.issue_token(connection, "Entra").token
        scim_control.revoke_token(connection, "Okta")
    assert_scim_error(scim.get(f"{SCIM}/Users"), 401)
    assert scim.get(f"{SCIM}/Users", headers={"Authorization": f"Bearer {other}"}).status_code == 200


def test_tokens_are_stored_only_as_hashes_and_last_use_is_recorded(
    scim: TestClient, db: Database, scim_token: str
) -> None:
    """The database never holds the token; its last use (time, IP, agent) is recorded."""
    scim.get(f"{SCIM}/Users", headers={"User-Agent": "Okta SCIM Client 1.0.0"})
    with db.snapshot() as connection:
        rows = connection.exec_driver_sql(
            "SELECT token_hash, hint, last_used_at, last_used_user_agent FROM scim_tokens"
        ).all()
    assert len(rows) == 1
    token_hash, hint, last_used_at, agent = rows[0]
    assert scim_token not in token_hash and len(token_hash) == 64
    assert hint.endswith(scim_token[-4:])
    assert last_used_at is not None and agent == "Okta SCIM Client 1.0.0"
    with db.snapshot() as connection:
        assert [t.name for t in scim_tokens.live(connection)] == ["Okta"]


def test_token_names_are_unique_among_live_tokens(db: Database, scim_token: str) -> None:
    """A second live token with the same name is refused; after revocation the name is free."""
    from gatehouse.errors import Conflict

    with pytest.raises(Conflict), db.transaction() as connection:
        scim_control.issue_token(connection, "Okta")
    with db.transaction() as connection:
        scim_control.revoke_token(connection, "Okta")
        assert scim_control.issue_token(connection, "Okta").token != scim_token


def test_me_is_not_implemented_and_bulk_is_not_supported(scim: TestClient) -> None:
    """/Me answers 501 (RFC 7644 §3.11); /Bulk is advertised unsupported and answers 501."""
    assert_scim_error(scim.get(f"{SCIM}/Me"), 501)
    assert_scim_error(scim.post(f"{SCIM}/Bulk", json={}), 501)
    config = scim.get(f"{SCIM}/ServiceProviderConfig").json()
    assert config["bulk"]["supported"] is False


def test_unknown_paths_and_methods_are_scim_errors(scim: TestClient) -> None:
    """404 and 405 inside /scim/v2 use the SCIM Error schema."""
    assert_scim_error(scim.get(f"{SCIM}/Nope"), 404)
    assert_scim_error(scim.post(f"{SCIM}/ServiceProviderConfig", content=b"test"), 405)
    assert_scim_error(scim.post(f"{SCIM}/ResourceTypes", json={}), 405)
    assert_scim_error(scim.delete(f"{SCIM}/Schemas"), 405)
