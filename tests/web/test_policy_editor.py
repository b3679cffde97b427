"""The policy editor and simulator with API7's gateway, on both databases: the gateway examples to start from,
the catalog's gateway groups, resource names, label keys and API7's aliases beside the editor, and the
simulator deciding gateway actions with labels given (``gateway_group_label:env=dev``) or kept."""

from __future__ import annotations

import json

from starlette.testclient import TestClient

from gatehouse.iam.gateway_examples import DEV_GROUPS_FULL_CONTROL, EXAMPLES
from gatehouse.iam.policy import parse_policy
from gatehouse.store.database import Database
from gatehouse.web.policy_editor import ALIASES, CATALOG, EXAMPLES_BY_KEY, RESOURCE_NAMES
from support.dashboard import POLICIES, add_policy, add_role, add_user
from support.gateway import GG, label

SIMULATOR = f"{POLICIES}/simulator"


def test_the_gateway_examples_are_offered_and_valid() -> None:
    titles = {example.title for example in EXAMPLES}
    assert titles == {
        "Read-only on every gateway group",
        "Full control of gateway groups labelled env=dev",
        "Publish services to gateway group team-x only",
    }
    for example in EXAMPLES:
        shown = EXAMPLES_BY_KEY[example.key]
        assert parse_policy(json.loads(shown.text)).as_dict() == json.loads(shown.text)


def test_the_editor_lists_gateway_actions_and_names() -> None:
    titles = [title for title, _ in CATALOG]
    assert "Gateway groups" in titles and "Published services" in titles and "Consumers" in titles
    assert ("iam:UpdateCustomRole", "iam:UpdateRole") in ALIASES
    kinds = {kind: (names, keys) for kind, names, keys in RESOURCE_NAMES}
    assert kinds["publishedservice"] == (
        f"{GG}/{{id}}/publishedservice/{{id}}, {GG}/{{id}}/publishedservice/*",
        "service_label, gateway_group_label",
    )
    assert kinds["alert"][0] == "arn:api7:gateway:alert/*"


def test_the_editor_page(console: TestClient) -> None:
    page = console.get(f"{POLICIES}/new")
    assert page.status_code == 200
    assert (
        "Read-only on every gateway group" in page.text
        and "Full control of gateway groups labelled env=dev" in page.text
    )
    assert "<code>gateway:PublishServices</code>" in page.text and "Resource names and labels" in page.text
    assert "<code>iam:CreateCustomRole</code> for <code>iam:CreateRole</code>" in page.text
    started = console.get(f"{POLICIES}/new", params={"example": "gateway-dev"})
    assert "gateway_group_label" in started.text and "exact_match" in started.text


def test_the_simulator_decides_gateway_actions_with_labels(console: TestClient, db: Database) -> None:
    add_role(db, "dev editors", (add_policy(db, "dev groups", DEV_GROUPS_FULL_CONTROL),))
    add_user(db, "devon", "dev editors")
    label(db, f"{GG}/dev", env="dev")
    update = {"user": "devon", "action": "gateway:UpdateGatewayGroup"}
    kept = console.get(SIMULATOR, params={**update, "resource": f"{GG}/dev"})
    assert kept.status_code == 200 and "ALLOWED" in kept.text  # the labels kept for dev
    assert "DENIED" in console.get(SIMULATOR, params={**update, "resource": f"{GG}/prod"}).text
    given = console.get(SIMULATOR, params={**update, "resource": f"{GG}/prod", "labels": "env=dev"})
    assert "ALLOWED" in given.text  # a group's own labels: gateway_group_label
    service = {
        "user": "devon",
        "action": "gateway:UpdatePublishedService",
        "resource": f"{GG}/prod/publishedservice/s1",
    }
    assert (
        "DENIED" in console.get(SIMULATOR, params={**service, "labels": "env=dev"}).text
    )  # service_label, not the group's
    keyed = console.get(SIMULATOR, params={**service, "labels": "gateway_group_label:env=dev"})
    assert "ALLOWED" in keyed.text
    default = console.get(SIMULATOR, params={"user": "devon", "action": "gateway:GetGatewayGroup"})
    assert f"{GG}/*" in default.text and "DENIED" in default.text  # every group: none is labelled *
    bad = console.get(SIMULATOR, params={**service, "labels": "role_label:x=y"})
    assert bad.status_code == 400 and "condition key of publishedservice resources" in bad.text
    alias = console.get(SIMULATOR, params={"user": "devon", "action": "iam:UpdateCustomRole"})
    assert alias.status_code == 400  # the form offers the catalog's names
