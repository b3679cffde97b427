"""``GET /api/scim/activity``: the provisioning log as JSON, filtered and paged like the dashboard's view, with the
redacted bodies of failed requests; readable with ``iam:GetSCIMProvisioning`` only; bad filters are a clear 400
or 422 (on both databases)."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from gatehouse.iam import scim_control
from gatehouse.store.database import Database
from support.api import World, assert_error, bearer, key, roleless
from support.scim import okta_user

SCIM = "/scim/v2"
SECRET = "Sup3r-Secret-Passw0rd"
URL = "/api/scim/activity"


@pytest.fixture
def logged(client: TestClient, db: Database) -> str:
    """A few SCIM requests, one succeeding and three failing, recorded and flushed; the token's secret."""
    with db.transaction() as connection:
        scim_control.enable(connection)
        token = scim_control.issue_token(connection, "Okta").token
    idp = {**bearer(token), "User-Agent": "Okta SCIM Client 1.0.0"}
    user = {**okta_user("jane@example.com"), "password": SECRET}
    assert client.post(f"{SCIM}/Users", json=user, headers=idp).status_code == 201
    assert client.post(f"{SCIM}/Users", json=user, headers=idp).status_code == 409
    assert client.get(f"{SCIM}/Groups/nope", headers=idp).status_code == 404
    assert client.get(f"{SCIM}/ServiceProviderConfig", headers=bearer("wrong")).status_code == 401
    client.app.state.scim_activity.flush(db)  # type: ignore[attr-defined]
    return token


def _get(client: TestClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = client.get(URL, headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_the_log_as_json_with_the_bodies_of_failures(client: TestClient, admin: dict[str, str], logged: str) -> None:
    found = _get(client, admin)
    assert (found["total"], found["offset"], found["limit"]) == (4, 0, 50)
    summary = [(i["method"], i["path"], i["resource"], i["status"], i["token_name"]) for i in found["items"]]
    assert summary == [
        ("GET", f"{SCIM}/ServiceProviderConfig", "discovery", 401, None),
        ("GET", f"{SCIM}/Groups/nope", "Groups", 404, "Okta"),
        ("POST", f"{SCIM}/Users", "Users", 409, "Okta"),
        ("POST", f"{SCIM}/Users", "Users", 201, "Okta"),
    ]
    refused, missing, conflict, created = found["items"]
    assert conflict["user_agent"] == "Okta SCIM Client 1.0.0" and conflict["ip"] == "testclient"
    assert '"password": "[redacted]"' in conflict["request_body"] and "jane@example.com" in conflict["request_body"]
    assert '"status": "409"' in conflict["response_body"] and conflict["detail"]
    assert created["request_body"] is None and created["response_body"] is None
    assert {item["repeats"] for item in found["items"]} == {1}  # no read past the budget
    assert missing["request_body"] is None and '"status": "404"' in missing["response_body"]
    assert refused["token_name"] is None and "invalid or has been revoked" in refused["response_body"]
    text = client.get(URL, headers=admin).text
    assert SECRET not in text and logged not in text and "Bearer" not in text


def test_filters_and_paging(client: TestClient, admin: dict[str, str], logged: str) -> None:
    def statuses(**params: Any) -> list[int]:
        return [item["status"] for item in _get(client, admin, **params)["items"]]

    assert statuses(status="failed") == [401, 404, 409]
    assert statuses(status="4xx", resource="Users") == [409]
    assert statuses(status="2xx") == [201] and statuses(status="5xx") == []
    assert statuses(token="Okta", method="GET") == [404]
    assert statuses(resource="discovery") == [401]
    assert statuses(period="1h") == [401, 404, 409, 201] and statuses(period="7d", status="succeeded") == [201]
    assert statuses(since="2000-01-01T00:00:00Z", until="2000-01-02T00:00:00") == []
    for beyond in ({"since": "0001-01-01T00:00:00+05:00"}, {"until": "9999-12-31T23:00:00-05:00"}):
        refused = client.get(URL, headers=admin, params=beyond)
        assert refused.status_code == 400 and "between the years 1 and 9999 in UTC" in refused.text
    page = _get(client, admin, limit=2, offset=1)
    assert [i["status"] for i in page["items"]] == [404, 409] and page["total"] == 4


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"status": "6xx"}, 422),
        ({"method": "TRACE"}, 422),
        ({"resource": "Roles"}, 422),
        ({"period": "2h"}, 422),
        ({"limit": 0}, 422),
        ({"limit": 501}, 422),
        ({"limit": "ten"}, 422),
        ({"offset": -1}, 422),
        ({"since": "yesterday"}, 400),
        ({"until": "2026-02-30T00:00:00"}, 400),
        ({"since": "2026-12-06T10:00:00Z", "until": "2026-12-06T09:00:00Z"}, 400),
        ({"since": "2026-12-06T10:00:00Z", "period": "1h"}, 400),
    ],
)
def test_bad_filters_are_refused(
    client: TestClient, admin: dict[str, str], params: dict[str, Any], status: int
) -> None:
    assert_error(client.get(URL, headers=admin, params=params), status)


def test_reading_needs_the_scim_read_permission(client: TestClient, db: Database, world: World) -> None:
    assert client.get(URL, headers=key(world.viewer_token)).status_code == 200  # a Viewer reads it
    _, token = roleless(db, "nobody")
    assert_error(client.get(URL, headers=key(token)), 403)
    assert_error(client.get(URL), 401)
