"""Organization → Gateway access over HTTP, on both databases: the rule table in order, adding (with the form
shown again on an error), editing, moving up and down, deleting after a confirmation, the preset's switch;
plain forms (no JavaScript); refusals for a Viewer; the audit records."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from gatehouse.store.database import Database
from support.dashboard import add_user, audit, browser, post_form

BASE = "/organization/gateway-access"
FORM = {
    "method": "GET",
    "path": "/api/gateway_groups/{gg}",
    "query": "",
    "action": "gateway:GetGatewayGroup",
    "resource": "arn:api7:gateway:gatewaygroup/{gg}",
    "labels": "",
    "description": "read a group",
    "position": "",
}


def paths(client: TestClient) -> list[str]:
    page = client.get(BASE).text
    table = page.split("Rules, in the order they apply")[1].split("Preset:")[0]
    return re.findall(r'<code class="path">([^<]+)</code>', table)


def rule_ids(client: TestClient) -> list[str]:
    return re.findall(rf'href="{BASE}/([0-9a-f-]{{36}})/edit"', client.get(BASE).text)


def add(client: TestClient, **change: str) -> None:
    response = post_form(client, f"{BASE}/new", {**FORM, **change})
    assert response.status_code == 303, response.text
    assert response.headers["location"] == BASE


def test_an_empty_table_says_everything_is_denied(console: TestClient) -> None:
    page = console.get(BASE)
    assert page.status_code == 200 and "<title>Gateway access · Gatehouse</title>" in page.text
    assert 'aria-current="page">Gateway access</a>' in page.text
    assert "No custom rules. With the preset off too, every proxied request is denied." in page.text
    assert "The preset is <strong>off</strong>" in page.text and "Turn the preset on" in page.text
    assert page.text.count("/apisix/admin/routes/{id}") >= 2  # the preset's rules, listed in a <details>


def test_add_edit_move_delete(console: TestClient, db: Database) -> None:
    assert console.get(f"{BASE}/new").status_code == 200
    add(console)
    routes = "arn:api7:gateway:gatewaygroup/{gg}/publishedservice/*"
    add(console, path="/apisix/admin/routes/{id}", query="gg=gateway_group_id", method="PUT",
        action="gateway:UpdatePublishedService", resource=routes)  # fmt: skip
    add(console, path="/first", resource="arn:api7:gateway:gatewaygroup/*", position="1")
    assert paths(console) == ["/first", "/api/gateway_groups/{gg}", "/apisix/admin/routes/{id}"]
    page = console.get(BASE).text
    assert "?gateway_group_id=" in page and "read a group" in page
    first, second, third = rule_ids(console)
    # move: the second down, the first down
    assert post_form(console, f"{BASE}/{second}/move", {"direction": "down"}).status_code == 303
    assert paths(console) == ["/first", "/apisix/admin/routes/{id}", "/api/gateway_groups/{gg}"]
    post_form(console, f"{BASE}/{third}/move", {"direction": "up"})
    assert paths(console) == ["/apisix/admin/routes/{id}", "/first", "/api/gateway_groups/{gg}"]
    # edit: the form shows the rule, saving keeps its place unless told otherwise
    form = console.get(f"{BASE}/{first}/edit").text
    assert 'value="/first"' in form and 'value="2"' in form
    version = re.search(r'name="version" value="(\d+)"', form)
    assert version is not None
    saved = post_form(
        console, f"{BASE}/{first}/edit", {**FORM, "path": "/renamed/{gg}", "position": "2", "version": version.group(1)}
    )
    assert saved.status_code == 303, saved.text
    assert paths(console) == ["/apisix/admin/routes/{id}", "/renamed/{gg}", "/api/gateway_groups/{gg}"]
    # delete asks first
    question = console.get(f"{BASE}/{first}/delete")
    assert question.status_code == 200 and "Delete rule 2?" in question.text and "/renamed/{gg}" in question.text
    assert post_form(console, f"{BASE}/{first}/delete").status_code == 303
    assert paths(console) == ["/apisix/admin/routes/{id}", "/api/gateway_groups/{gg}"]
    events = audit(db, "iam:UpdateAuthzRule")
    assert [row["outcome"] for row in events] == ["success"] * 7
    assert events[0]["summary"]["created"]["path"] == "/api/gateway_groups/{gg}"
    assert events[-1]["summary"]["deleted"]["path"] == "/renamed/{gg}"


def test_a_bad_rule_shows_the_form_again_with_why(console: TestClient, db: Database) -> None:
    response = post_form(console, f"{BASE}/new", {**FORM, "resource": "arn:api7:gateway:gatewaygroup/{group}"})
    assert response.status_code == 400
    assert "resource: {group} is not a part of the path or query (they define: {gg})." in response.text
    assert 'value="/api/gateway_groups/{gg}"' in response.text  # as typed
    for change, message in (
        ({"query": "gateway_group_id"}, "query, line 1"),
        ({"labels": "[1]"}, "labels: a JSON object"),
        ({"position": "zero"}, "position: a number from 1"),
        ({"method": ""}, "methods: name at least one"),
    ):
        again = post_form(console, f"{BASE}/new", {**FORM, **change})
        assert again.status_code == 400 and message in again.text, change
    assert paths(console) == []
    assert {row["outcome"] for row in audit(db, "iam:UpdateAuthzRule")} == {"failed"}


def test_the_preset_switch(console: TestClient, db: Database) -> None:
    on = post_form(console, f"{BASE}/preset", {"enabled": "on"})
    assert on.status_code == 303
    page = console.get(BASE).text
    assert "The preset is <strong>on</strong>" in page and "Turn the preset off" in page
    post_form(console, f"{BASE}/preset", {"enabled": ""})
    assert "The preset is <strong>off</strong>" in console.get(BASE).text
    assert [row["summary"] for row in audit(db, "iam:UpdateAuthzRule")] == [{"enabled": True}, {"enabled": False}]


def test_a_viewer_sees_the_table_and_changes_nothing(console: TestClient, db: Database) -> None:
    add(console)
    [rule_id] = rule_ids(console)
    add_user(db, "vera", "Viewer")
    vera = browser(console, "vera")
    page = vera.get(BASE)
    assert page.status_code == 200 and "/api/gateway_groups/{gg}" in page.text
    assert "Add rule" not in page.text and "/edit" not in page.text and "Turn the preset" not in page.text
    assert vera.get(f"{BASE}/new").status_code == 403
    assert vera.get(f"{BASE}/{rule_id}/edit").status_code == 403
    assert vera.get(f"{BASE}/{rule_id}/delete").status_code == 403
    for url, data in (
        (f"{BASE}/new", FORM),
        (f"{BASE}/{rule_id}/edit", FORM),
        (f"{BASE}/{rule_id}/delete", {}),
        (f"{BASE}/{rule_id}/move", {"direction": "down"}),
        (f"{BASE}/preset", {"enabled": "on"}),
    ):
        assert post_form(vera, url, data).status_code == 403, url
    assert paths(console) == ["/api/gateway_groups/{gg}"]
    add_user(db, "nora")
    nora = browser(console, "nora")
    assert nora.get(BASE).status_code == 403
    assert "Gateway access" not in nora.get("/account/password").text


def test_a_missing_rule(console: TestClient) -> None:
    assert console.get(f"{BASE}/00000000-0000-0000-0000-000000000000/edit").status_code == 404
    assert (
        post_form(console, f"{BASE}/00000000-0000-0000-0000-000000000000/move", {"direction": "up"}).status_code == 404
    )
    assert post_form(console, f"{BASE}/x/move", {"direction": "sideways"}).status_code == 400


def test_deleting_a_missing_rule_answers_with_the_refusal_page(console: TestClient) -> None:
    """The confirmation's question raises NotFound: the refusal page, with its way back, for the GET and the POST."""
    for answer in (
        console.get(f"{BASE}/00000000-0000-0000-0000-000000000000/delete"),
        post_form(console, f"{BASE}/00000000-0000-0000-0000-000000000000/delete"),
    ):
        assert answer.status_code == 404
        assert "<h1>Not found</h1>" in answer.text and "Nothing was changed." in answer.text
        assert f'<a href="{BASE}">' in answer.text
