"""A login option's role-mapping rules in the dashboard, on both databases: one row per rule, rows moved,
removed and added without saving (no JavaScript), every problem beside its field at once in sentences, the
JSON as the advanced view with its own save button, and Post/Redirect/Get, for all three kinds of option."""

from __future__ import annotations

import html
import re
import uuid
from typing import Any

import httpx
import orjson
import pytest
from starlette.testclient import TestClient

from gatehouse.iam import policies
from gatehouse.iam import roles as rbac
from gatehouse.iam.authorizer import load_principal
from gatehouse.iam.rbac_forms import policy_input, role_input
from gatehouse.login import options
from gatehouse.passwords import hash_password
from gatehouse.store import login_options as store
from gatehouse.store import roles as role_store
from gatehouse.store import users as user_store
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from support.web import ADMIN_PASSWORD, csrf_of, sign_in

BASE = "/organization/settings/login-options"
READ_ONLY = {"statement": [{"effect": "allow", "actions": ["iam:GetUser"], "resources": ["*"]}]}


@pytest.fixture
def ids(console: TestClient, db: Database) -> dict[str, str]:
    """A role "Ops" and a policy "read-only" to map to (their ids by name); ``console`` is the Super Admin."""
    with db.transaction() as connection:
        admin = load_principal(connection, user_store.get_by_user_name(connection, "admin").id)  # type: ignore[union-attr]
        ops = rbac.create_role(connection, admin, role_input("Ops", "", None), []).role.id
        boundary = policies.create_policy(connection, admin, policy_input("read-only", READ_ONLY)).id
        viewer = role_store.get_by_name(connection, "Viewer")
    assert viewer is not None
    return {"Ops": ops, "read-only": boundary, "Viewer": viewer.id}


def oidc(**changes: str) -> dict[str, str]:
    """The OpenID Connect form's fields, its rules left to the caller."""
    return {
        "name": "Okta", "issuer": "https://example.okta.com", "client_id": "0oa123", "secret_mode": "stored",
        "client_secret": "a-client-secret-0123", "client_secret_env": "", "scopes": "openid profile email groups",
        "username_claim": "preferred_username", "email_claim": "email", "name_claim": "name",
        "subject_claim": "sub", "scim_only": "default", **changes,
    }  # fmt: skip


def rows(*rules: tuple[str, str, str, str, str], spare: int = 2, json: str = "[]") -> dict[str, str]:
    """Rule rows as the form posts them (kind, target, attribute, operation, value), then empty ones."""
    fields = {"rules-count": str(len(rules) + spare), "rules": json}
    for index, rule in enumerate((*rules, *[("role", "", "", "exact_match", "")] * spare)):
        for name, value in zip(("kind", "target", "attribute", "operation", "value"), rule, strict=True):
            fields[f"rules-{index}-{name}"] = value
    return fields


def post(client: TestClient, url: str, page: str, data: dict[str, str]) -> httpx.Response:
    token = csrf_of(client.get(page).text)
    return client.post(url, data={"csrf_token": token, **data}, follow_redirects=False)


def new_option(client: TestClient, data: dict[str, str], kind: str = "oidc") -> httpx.Response:
    page = client.get(f"{BASE}/new?kind={kind}").text
    found = re.search(r'name="option_id" value="([0-9a-f-]{36})"', page)
    assert found
    sent = {"csrf_token": csrf_of(page), "option_id": found.group(1), **data}
    return client.post(BASE, data=sent, follow_redirects=False)


def shown_rows(page: str) -> list[tuple[str, str, str, str, str]]:
    """The rows of a rendered form that hold a rule: (kind, target, attribute, operation, value)."""
    count = re.search(r'name="rules-count" value="(\d+)"', page)
    assert count
    found = []
    for index in range(int(count.group(1))):
        row = page.split(f'id="rule-{index}"')[1].split("</li>")[0]

        def chosen(name: str, row: str = row, index: int = index) -> str:
            select = re.search(rf'name="rules-{index}-{name}"[^>]*>(.*?)</select>', row, re.S)
            assert select
            option = re.search(r'<option value="([^"]*)" selected>', select.group(1))
            return html.unescape(option.group(1)) if option else ""

        def typed(name: str, row: str = row, index: int = index) -> str:
            field = re.search(rf'name="rules-{index}-{name}" value="([^"]*)"', row)
            assert field
            return html.unescape(field.group(1))

        shown = (chosen("kind"), chosen("target"), typed("attribute"), chosen("operation"), typed("value"))
        if shown[1] or shown[2] or shown[4]:
            found.append(shown)
    return found


def stored(db: Database, option_id: str) -> options.LoginOption:
    with db.snapshot() as connection:
        found = store.get(connection, option_id)
    assert found is not None
    return found


def test_the_form_has_a_row_per_rule_and_empty_rows_and_the_json_apart(console: TestClient, ids: Any) -> None:
    page = console.get(f"{BASE}/new").text
    assert 'name="rules-count" value="3"' in page and shown_rows(page) == []
    assert 'id="rules-0-kind" name="rules-0-kind"' in page and 'id="rules-2-value" name="rules-2-value"' in page
    assert f'<option value="{ids["Ops"]}">Ops</option>' in page
    assert f'<option value="{ids["read-only"]}">read-only</option>' in page
    assert (
        '<label for="rules-0-operation">Operation</label>' in page
        and '<option value="regex">matches the regex</option>' in page
    )
    assert "<summary>Advanced: edit the rules as JSON</summary>" in page and 'value="json">Save with these JSON' in page
    assert 'class="visually-hidden" tabindex="-1" aria-hidden="true">Save</button>' in page  # Enter saves


def test_rows_are_saved_in_order_and_a_reload_changes_nothing(console: TestClient, db: Database, ids: Any) -> None:
    sent = rows(
        ("role", ids["Ops"], "$.groups[*]", "exact_match", "ops"),
        ("boundary", ids["read-only"], "$.department", "regex", "Sales|Support"),
        json='[{"target_id": "Viewer", "attribute": "$.x", "operation": "exact_match", "value": "ignored"}]',
    )
    created = new_option(console, oidc(**sent))
    assert created.status_code == 303, created.text  # Post/Redirect/Get
    url = created.headers["location"]
    saved = [(r.kind, r.target_id, r.attribute, r.operation.value, r.value) for r in stored(db, url[-36:]).rules()]
    assert saved == [("role", ids["Ops"], "$.groups[*]", "exact_match", "ops"),
                     ("boundary", ids["read-only"], "$.department", "regex", "Sales|Support")]  # fmt: skip
    first, again = console.get(url), console.get(url)
    assert first.status_code == again.status_code == 200
    assert shown_rows(first.text) == shown_rows(again.text) == saved
    assert 'name="rules-count" value="5"' in first.text  # the two rules and three empty rows
    assert stored(db, url[-36:]).version == 1


def test_move_remove_and_add_show_the_form_again_without_saving(console: TestClient, db: Database, ids: Any) -> None:
    one, two, three = (
        ("role", ids["Ops"], "$.groups[*]", "exact_match", "ops"),
        ("role", ids["Viewer"], "$.groups[*]", "contains_string", "view"),
        ("boundary", ids["read-only"], "$.department", "exact_match", "Sales"),
    )
    url = new_option(console, oidc(**rows(one, two, three))).headers["location"]
    option_id, version = url[-36:], str(stored(db, url[-36:]).version)
    moved = post(console, url, url, oidc(**rows(one, two, three), version=version, rules_action="down:0"))
    assert moved.status_code == 200 and shown_rows(moved.text) == [two, one, three]
    assert f'name="version" value="{version}"' in moved.text  # still the version the form was loaded at
    removed = post(console, url, url, oidc(**rows(two, one, three), **{"rules-1-remove": "on"}, rules_action="up:2"))
    assert removed.status_code == 200 and shown_rows(removed.text) == [three, two]  # removed, then moved up
    added = post(console, url, url, oidc(**rows(one, spare=3), rules_action="add"))
    assert 'name="rules-count" value="7"' in added.text  # the rule, the three empty rows and three more
    assert [r.value for r in stored(db, option_id).rules()] == ["ops", "view", "Sales"]  # nothing saved
    assert stored(db, option_id).version == 1
    saved = post(console, url, url, oidc(**rows(three, two), version=version))
    assert saved.status_code == 303 and saved.headers["location"] == url
    assert [r.value for r in stored(db, option_id).rules()] == ["Sales", "view"]


def test_every_problem_is_shown_beside_its_field_at_once(console: TestClient, db: Database, ids: Any) -> None:
    sent = rows(
        ("role", ids["Ops"], "groups", "exact_match", "ops"),
        ("role", "", "$.groups[*]", "regex", "(a+)+"),
        ("boundary", "Nope", "$.department", "exact_match", ""),
    )
    refused = new_option(console, oidc(**sent))
    assert refused.status_code == 400
    page = refused.text
    expected = {
        "rules-0-attribute": "The attribute must be a JSONPath starting with $, such as $.groups[*] or $.department.",
        "rules-1-target": "Choose the role to grant.",
        "rules-1-value": "The value is an unsafe regular expression: the repetition at position 4 applies",
        "rules-2-value": "Give the value to compare with.",
    }
    for where, message in expected.items():
        assert f'id="{where}" name="{where}" aria-invalid="true" aria-describedby="{where}-error"' in page or (
            f'id="{where}" name="{where}"' in page and f'aria-invalid="true" aria-describedby="{where}-error"' in page
        )
        beside = re.search(rf'<p class="field-error" id="{where}-error">([^<]*)</p>', page)
        assert beside and html.unescape(beside.group(1)).startswith(message), (where, beside)
    summary = page.split('id="form-error"')[1].split("</div>")[0]
    assert "Nothing was saved. 4 problems need fixing." in summary
    links = re.findall(r'<li><a href="#([^"]+)">([^<]*)</a></li>', summary)
    assert [where for where, _ in links] == list(expected)
    assert html.unescape(links[1][1]) == "In rule 2, choose the role to grant."
    for _, sentence in links:  # sentences: no field-name prefixes, no raw backticks, no JSON locations
        assert "`" not in sentence and "rules[" not in sentence and "_id:" not in sentence
    assert shown_rows(page)[2] == ("boundary", "Nope", "$.department", "exact_match", "")  # as typed
    with db.snapshot() as connection:
        assert store.list_all(connection) == []

    missing = new_option(console, oidc(**rows(("boundary", "Nope", "$.department", "exact_match", "x"))))
    assert missing.status_code == 400  # targets are checked once the fields are right, each beside its row
    beside = re.search(r'<p class="field-error" id="rules-0-target-error">([^<]*)</p>', missing.text)
    assert beside and html.unescape(beside.group(1)) == "There is no permission policy with the id or name “Nope”."


def test_the_json_view_saves_only_with_its_own_button(console: TestClient, db: Database, ids: Any) -> None:
    as_json = orjson.dumps([{"target_id": "Ops", "attribute": "$.groups[*]", "operation": "exact_match",
                             "value": "from-json"}]).decode()  # fmt: skip
    row = ("role", ids["Viewer"], "$.groups[*]", "exact_match", "from-rows")
    url = new_option(console, oidc(**rows(row, json=as_json), rules_action="json")).headers["location"]
    [rule] = stored(db, url[-36:]).rules()
    assert (rule.target_id, rule.value) == (ids["Ops"], "from-json")
    shown = post(console, url, url, oidc(**rows(row, json=as_json), rules_action="load"))
    assert shown.status_code == 200 and shown_rows(shown.text) == [("role", ids["Ops"], "$.groups[*]", "exact_match",
                                                                  "from-json")]  # fmt: skip
    assert [r.value for r in stored(db, url[-36:]).rules()] == ["from-json"]

    bad = orjson.dumps([{"target_id": "Ops", "attribute": "x", "operation": "exact_match", "value": ""}]).decode()
    refused = post(console, url, url, oidc(**rows(row, json=bad), rules_action="json"))
    assert refused.status_code == 400 and '<details id="rules-json" open>' in refused.text
    beside = re.search(r'<p class="field-error" id="rules-error">([^<]*)</p>', refused.text)
    assert beside and html.unescape(beside.group(1)) == (
        "In rule 1, the attribute must be a JSONPath starting with $, such as $.groups[*] or $.department. "
        "In rule 1, give the value to compare with."
    )
    assert 'aria-describedby="rules-0-value-error"' in refused.text  # and beside the rows made of the JSON
    broken = post(console, url, url, oidc(**rows(row, json="[{"), rules_action="json"))
    assert broken.status_code == 400 and "The rules are not valid JSON (" in html.unescape(broken.text)
    assert [r.value for r in stored(db, url[-36:]).rules()] == ["from-json"]


@pytest.mark.parametrize("kind", ["ldap", "saml"])
def test_ldap_and_saml_forms_have_the_same_rows(console: TestClient, ids: Any, kind: str) -> None:
    one = ("role", ids["Ops"], "$.memberOf[*]", "contains_string", "cn=sre")
    two = ("boundary", ids["read-only"], "$.groups[*]", "exact_match", "dev")
    moved = new_option(console, {"kind": kind, "name": "Corp", **rows(one, two), "rules_action": "up:1"}, kind)
    assert moved.status_code == 200 and shown_rows(moved.text) == [two, one]
    assert f'<input type="hidden" name="kind" value="{kind}">' in moved.text
    refused = new_option(console, {"kind": kind, "name": "Corp", **rows(("role", "", "$.x", "regex", "("))}, kind)
    assert refused.status_code == 400
    assert 'id="rules-0-target-error">Choose the role to grant.</p>' in refused.text, refused.text.split(
        'id="form-error"'
    )[1][:300]
    assert 'id="rules-0-value-error">The value is not a valid regular expression (' in refused.text


def test_a_secret_typed_is_never_sent_back_and_the_form_says_so(console: TestClient, ids: Any) -> None:
    one = ("role", ids["Ops"], "$.groups[*]", "exact_match", "ops")
    two = ("role", ids["Viewer"], "$.groups[*]", "exact_match", "dev")
    moved = new_option(console, oidc(**rows(one, two), rules_action="up:1"))
    assert moved.status_code == 200 and shown_rows(moved.text) == [two, one]
    assert "a-client-secret-0123" not in moved.text and 'id="secret-dropped"' in moved.text
    quiet = new_option(console, oidc(**rows(one, two), client_secret="", rules_action="up:1"))
    assert 'id="secret-dropped"' not in quiet.text


def test_only_those_who_may_save_the_form_may_change_its_rows(console: TestClient, db: Database, ids: Any) -> None:
    one = ("role", ids["Ops"], "$.groups[*]", "exact_match", "ops")
    url = new_option(console, oidc(**rows(one))).headers["location"]
    with db.transaction() as connection:
        admin = load_principal(connection, user_store.get_by_user_name(connection, "admin").id)  # type: ignore[union-attr]
        doc = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "vera", "active": True}
        secret = hash_password(ADMIN_PASSWORD)
        write = user_store.UserWrite(str(uuid.uuid4()), doc, source="local", password_hash=secret)
        rbac.assign_role(connection, admin, user_store.insert(connection, write, utcnow()).id, ids["Viewer"])
    vera = TestClient(console.app, base_url="https://testserver")
    assert sign_in(vera, "vera").status_code == 303
    assert vera.get(url).status_code == 200  # a viewer reads the option, its rows disabled
    refused = post(vera, url, url, oidc(**rows(one, one), rules_action="up:1"))
    assert refused.status_code == 403 and "iam:UpdateLoginOption" in refused.text
