"""Per-token rate limits of the SCIM endpoint (gatehouse.scim.rate_limit): 429 with Retry-After and a SCIM
Error body past a token's burst, other tokens unaffected, unauthenticated floods limited per address, settings
checked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import ValidationError
from starlette.testclient import TestClient

from gatehouse.app import create_app
from gatehouse.config import Settings
from gatehouse.iam import scim_control
from gatehouse.scim.rate_limit import Buckets, retry_after
from gatehouse.store.database import Database

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
USERS = "/scim/v2/Users"


def test_a_bucket_grants_its_burst_then_refills_at_its_rate() -> None:
    buckets = Buckets(rate=2.0, burst=3)
    assert [buckets.take("a", 0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a", 0.0) == pytest.approx(0.5)  # one token comes back after 1/rate s
    assert buckets.take("b", 0.0) == 0.0  # another key has its own bucket
    assert buckets.take("a", 0.5) == 0.0  # refilled by then
    assert buckets.take("a", 0.5) > 0
    assert buckets.take("a", 100.0) == 0.0 and buckets.take("a", 100.0) == 0.0  # capped at the burst…
    assert buckets.take("a", 100.0) == 0.0 and buckets.take("a", 100.0) > 0  # …never more


def test_the_map_of_buckets_is_bounded() -> None:
    buckets = Buckets(rate=1.0, burst=1, max_keys=2)
    for key in ("a", "b", "c"):
        buckets.take(key, 0.0)
    assert buckets.take("a", 0.0) == 0.0  # "a" was forgotten: it comes back full
    assert buckets.take("c", 0.0) > 0


def test_retry_after_is_whole_seconds_of_at_least_one() -> None:
    assert retry_after(0.01) == 1 and retry_after(1.0) == 1 and retry_after(1.2) == 2 and retry_after(99.5) == 100


@pytest.fixture
def limited(settings: Settings, db: Database) -> Iterator[tuple[TestClient, str, str]]:
    """The app with a slow limit (a token per 100 s, bursts of 3) and two SCIM tokens."""
    with db.transaction() as connection:
        scim_control.enable(connection)
        okta = scim_control.issue_token(connection, "Okta").token
        entra = scim_control.issue_token(connection, "Entra").token
    slow = settings.model_copy(update={"scim_rate_per_second": 0.01, "scim_burst": 3})
    with TestClient(create_app(slow, db), base_url="https://testserver") as client:
        yield client, okta, entra


def test_past_its_burst_a_token_gets_429_with_retry_after_and_a_scim_error(
    limited: tuple[TestClient, str, str],
) -> None:
    client, okta, entra = limited
    assert [client.get(USERS, headers={"Authorization": f"Bearer {okta}"}).status_code for _ in range(3)] == [200] * 3
    refused = client.get(USERS, headers={"Authorization": f"Bearer {okta}"})
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/scim+json")
    assert 90 <= int(refused.headers["retry-after"]) <= 100
    body = refused.json()
    assert body["schemas"] == [ERROR] and body["status"] == "429"
    assert "this SCIM token" in body["detail"] and "Retry after" in body["detail"]
    assert okta not in refused.text
    # Another token is not slowed by the first one's burst.
    assert client.get(USERS, headers={"Authorization": f"Bearer {entra}"}).status_code == 200


def test_unauthenticated_requests_are_limited_per_address_but_a_good_token_still_passes(
    limited: tuple[TestClient, str, str],
) -> None:
    client, okta, _ = limited
    assert client.get(USERS, headers={"Authorization": f"Bearer {okta}"}).status_code == 200  # known good
    statuses = [client.get(USERS, headers={"Authorization": f"Bearer wrong-{n}"}).status_code for n in range(3)]
    assert statuses == [401] * 3
    # The address's bucket is empty: more bad tokens (each new) and requests without a token are refused early.
    flood = client.get(USERS, headers={"Authorization": "Bearer wrong-4"})
    assert flood.status_code == 429 and "unauthenticated requests from this address" in flood.json()["detail"]
    assert client.get(USERS).status_code == 429
    # A token that authenticated before is not held back by strangers on its address.
    assert client.get(USERS, headers={"Authorization": f"Bearer {okta}"}).status_code == 200


def test_a_rate_of_zero_turns_the_limit_off(settings: Settings, db: Database) -> None:
    with db.transaction() as connection:
        scim_control.enable(connection)
        token = scim_control.issue_token(connection, "Okta").token
    off = settings.model_copy(update={"scim_rate_per_second": 0, "scim_burst": 1})
    with TestClient(create_app(off, db), base_url="https://testserver") as client:
        headers = {"Authorization": f"Bearer {token}"}
        assert {client.get(USERS, headers=headers).status_code for _ in range(5)} == {200}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("scim_rate_per_second", "-1"),
        ("scim_rate_per_second", "fast"),
        ("scim_rate_per_second", "1e400"),
        ("scim_burst", "0"),
        ("scim_burst", "-5"),
        ("scim_burst", "lots"),
        ("scim_burst", "99999999999999999999999"),
    ],
)
def test_bad_limit_settings_are_refused_with_their_name(name: str, value: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(database_url="sqlite://", **{name: value})  # type: ignore[arg-type]
    assert name in str(refused.value)
