"""The public conformance checker scim2-tester, run against the live app on SQLite and PostgreSQL.

scim2-tester discovers the server (ServiceProviderConfig, ResourceTypes, Schemas), then creates,
reads, lists, searches, replaces, patches and deletes Users and Groups, checking every answer against
RFC 7643/7644. Its counts per check are printed (visible with ``pytest -s``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
from scim2_client import BaseSyncSCIMClient
from scim2_client.client import RawResponse
from scim2_tester import CheckResult, Status, check_server
from starlette.testclient import TestClient

from gatehouse.config import Settings
from support.scim import ENTERPRISE, GROUP, SCIM, okta_user, patch

BASE_URL = f"http://testserver{SCIM}"
FAILED = {Status.ERROR, Status.CRITICAL}


class StarletteSCIMClient(BaseSyncSCIMClient):
    """A scim2-client synchronous engine over Starlette's TestClient (an httpx-style client).

    It mirrors scim2-client's own httpx engine, without tying the test to one httpx package.
    """

    def __init__(self, client: TestClient, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client = client

    def _stays_under_base_url(self, endpoint: str) -> bool:
        base = self.client.base_url
        try:
            url = self.client.build_request("GET", endpoint).url
        except Exception:  # an unparseable endpoint is not under the base URL
            return False
        return url.host == base.host and url.scheme == base.scheme and url.raw_path.startswith(base.raw_path)

    def _parse_json(self, response: RawResponse) -> Any:
        return response.json()  # type: ignore[attr-defined]

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        return self.client.request(method, url, **kwargs)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The guard off: scim2-tester deactivates more users than the guard lets through in a small organization
    (the guard has its own tests, tests/scim/test_guard.py)."""
    return settings.model_copy(update={"scim_guard_enabled": False})


@pytest.fixture
def scim_client(app_client: TestClient, scim_token: str) -> Iterator[StarletteSCIMClient]:
    with TestClient(
        app_client.app,
        base_url=BASE_URL,
        headers={"Authorization": f"Bearer {scim_token}"},
    ) as client:
        yield StarletteSCIMClient(client)


def summarize(results: list[CheckResult]) -> dict[str, Counter[str]]:
    """Counts of each status per check (``resource type / check name``)."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for result in results:
        name = f"{result.resource_type or '-'} / {result.title}"
        counts[name][result.status.name] += 1
    return counts


def test_scim2_tester_reports_no_error_and_skips_nothing(scim_client: StarletteSCIMClient, db_url: str) -> None:
    """scim2-tester 0.5.2's whole suite passes: no ERROR or CRITICAL result and no SKIPPED check."""
    results = check_server(scim_client)
    counts = summarize(results)
    backend = db_url.split(":", 1)[0].split("+")[0]
    print(f"\nscim2-tester on {backend}: {len(results)} results")
    for name, statuses in sorted(counts.items()):
        print(f"  {name}: " + ", ".join(f"{status}={n}" for status, n in sorted(statuses.items())))
    totals = Counter(result.status.name for result in results)
    print("  totals: " + ", ".join(f"{status}={n}" for status, n in sorted(totals.items())))
    failed = [
        f"{r.resource_type or '-'} / {r.title}: {r.status.name}: {r.reason}" for r in results if r.status in FAILED
    ]
    skipped = [f"{r.resource_type or '-'} / {r.title}: {r.reason}" for r in results if r.status is Status.SKIPPED]
    for line in failed + skipped:
        print("  " + line)
    assert {r.resource_type for r in results} >= {"User", "Group"}, counts
    assert failed == [], "\n".join(failed)
    assert skipped == [], "\n".join(skipped)


# -- The two behaviours behind scim2-tester's failures, pinned down over plain HTTP ----------------


def test_manager_is_returned_with_its_ref(scim: TestClient) -> None:
    """RFC 7643 §4.3 makes ``manager.$ref`` REQUIRED and /Schemas publish it so: responses carry it."""
    boss = scim.post(f"{SCIM}/Users", json=okta_user("boss@x.test", "boss")).json()
    body = okta_user("report@x.test", "report")
    body[ENTERPRISE] = {"manager": {"value": boss["id"], "$ref": boss["meta"]["location"]}}
    created = scim.post(f"{SCIM}/Users", json=body)
    assert created.status_code == 201, created.text
    manager = scim.get(f"{SCIM}/Users/{created.json()['id']}").json()[ENTERPRISE]["manager"]
    assert manager["value"] == boss["id"]
    assert manager.get("$ref") == boss["meta"]["location"], manager


def test_member_display_is_kept_as_the_schema_publishes(scim: TestClient) -> None:
    """/Schemas publish ``members.display`` as readWrite, so a display sent in a PATCH comes back as sent."""
    schema = scim.get(f"{SCIM}/Schemas/{GROUP}").json()
    members = next(a for a in schema["attributes"] if a["name"] == "members")
    display = next(sub for sub in members["subAttributes"] if sub["name"] == "display")
    assert display["mutability"] == "readWrite"
    user = scim.post(f"{SCIM}/Users", json=okta_user("member@x.test", "member")).json()
    group = scim.post(f"{SCIM}/Groups", json={"schemas": [GROUP], "displayName": "Shown"}).json()
    add = patch({"op": "add", "path": "members", "value": [{"value": user["id"], "display": "Shown As Sent"}]})
    assert scim.patch(f"{SCIM}/Groups/{group['id']}", json=add).status_code == 204
    member = scim.get(f"{SCIM}/Groups/{group['id']}").json()["members"][0]
    assert member["value"] == user["id"]
    assert member.get("display") == "Shown As Sent", member
