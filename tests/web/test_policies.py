"""Organization → Permission Policies over HTTP, on both databases: the list, the JSON editor (examples,
the action catalog, precise validation errors next to the editor), a policy's page, edit, delete (refused
while in use), refusals for a Viewer, the audit records, and the policy simulator's answers."""

from __future__ import annotations

import html
import re
import uuid

import orjson
import pytest
from starlette.testclient import TestClient

from gatehouse.iam.authorizer import SUPER_ADMIN_POLICY_ID
from gatehouse.iam.catalog import ACTIONS_BY_NAME
from gatehouse.iam.catalog import GROUPS as CATALOG_GROUPS
from gatehouse.iam.policy import parse_policy
from gatehouse.iam.simulator import default_resource
from gatehouse.store import policies as policy_store
from gatehouse.store import roles as role_store
from gatehouse.store.database import Database
from gatehouse.store.policies import StoredPolicy
from gatehouse.web.policy_editor import EXAMPLES, LABELLED_EXAMPLE
from support.dashboard import POLICIES, READ_ONLY, add_policy, add_role, add_user, audit, browser, post_form

SIMULATOR = f"{POLICIES}/simulator"
DENY_DELETE = {
    "statement": [
        {"effect": "allow", "actions": ["iam:<.*>User"], "resources": ["*"]},
        {"effect": "deny", "actions": ["iam:DeleteUser"], "resources": ["arn:gatehouse:iam:user/*"]},
    ]
}


def find_policy(db: Database, name: str) -> StoredPolicy | None:
    with db.snapshot() as connection:
        return policy_store.get_by_name(connection, name)


def document_of(text: str) -> str:
    """The editor's text as the page holds it."""
    match = re.search(r'<textarea id="document"[^>]*>(.*?)</textarea>', text, re.S)
    assert match, "no editor on the page"
    return html.unescape(match.group(1))


# ------------------------------------------------------------------------------------------ list and page


def test_the_list_shows_policies_and_the_simulator(console: TestClient, db: Database) -> None:
    add_policy(db, "read-users")
    page = console.get(POLICIES)
    assert page.status_code == 200 and 'aria-current="page">Permission Policies</a>' in page.text
    names = re.findall(r'<a href="/organization/permission-policies/[0-9a-f-]{36}">([^<]+)</a>', page.text)
    assert names == [
        "organization-admin-permission-policy",
        "read-users",
        "super-admin-permission-policy",
        "viewer-permission-policy",
    ]
    assert "Built-in" in page.text and f'href="{SIMULATOR}"' in page.text and f'href="{POLICIES}/new"' in page.text


def test_a_policy_page_shows_the_document_and_where_it_is_used(console: TestClient, db: Database) -> None:
    policy_id = add_policy(db, "read-users")
    role_id = add_role(db, "Helpdesk", (policy_id,))
    page = console.get(f"{POLICIES}/{policy_id}")
    assert page.status_code == 200
    shown = re.search(r'<pre class="policy-json"[^>]*>(.*?)</pre>', page.text, re.S)
    assert shown and orjson.loads(html.unescape(shown.group(1))) == READ_ONLY
    assert '\n  "statement": [' in html.unescape(shown.group(1))  # pretty-printed
    assert f'href="/organization/roles/{role_id}">Helpdesk</a>' in page.text
    assert "Not the permission boundary of any user." in page.text
    assert f"{policy_id}/edit" in page.text and f"{policy_id}/delete" in page.text
    built_in = console.get(f"{POLICIES}/{SUPER_ADMIN_POLICY_ID}")
    assert "cannot be edited or deleted" in built_in.text and f"{SUPER_ADMIN_POLICY_ID}/edit" not in built_in.text
    assert console.get(f"{POLICIES}/{SUPER_ADMIN_POLICY_ID}/edit").status_code == 403
    assert console.get(f"{POLICIES}/{uuid.uuid4()}").status_code == 404


# ------------------------------------------------------------------------------------------ the editor


def test_the_editor_offers_examples_and_the_catalog_by_group(console: TestClient) -> None:
    page = console.get(f"{POLICIES}/new")
    assert page.status_code == 200 and 'src="/static/policy-editor.js"' in page.text
    for title in CATALOG_GROUPS.values():
        assert f"<summary>{html.escape(title)} " in page.text
    assert "<code>iam:UpdateGroupBinding</code>" in page.text and "arn:gatehouse:iam:group/{id}" in page.text
    for example in EXAMPLES:
        assert f'id="example-{example.key}"' in page.text and f"?example={example.key}" in page.text
    started = console.get(f"{POLICIES}/new", params={"example": "labelled"})
    assert orjson.loads(document_of(started.text)) == parse_policy(LABELLED_EXAMPLE).as_dict()


def test_create_a_policy_through_the_editor(console: TestClient, db: Database) -> None:
    text = '{"statement": [{"effect": "allow", "actions": ["iam:GetUser"], "resources": ["*"]}]}'
    response = post_form(
        console,
        f"{POLICIES}/new",
        {"name": "read-users", "description": "Reads", "labels": "team=sre", "document": text},
    )
    assert response.status_code == 303, response.text
    policy = find_policy(db, "read-users")
    assert policy is not None and dict(policy.labels) == {"team": "sre"} and orjson.loads(policy.document) == READ_ONLY
    assert response.headers["location"] == f"{POLICIES}/{policy.id}"
    assert "Permission policy read-users created." in console.get(response.headers["location"]).text
    [record] = audit(db, "iam:CreatePermissionPolicy")
    assert record["outcome"] == "success" and record["resource_type"] == "permissionpolicy"
    assert record["resource_id"] == policy.id and record["summary"]["document"] == text


def test_invalid_json_is_shown_next_to_the_editor_with_the_text_kept(console: TestClient, db: Database) -> None:
    text = '{"statement": [ {"effect": "allow",, } ]}'
    response = post_form(console, f"{POLICIES}/new", {"name": "broken", "document": text})
    assert response.status_code == 400
    error = re.search(r'<p class="field-error" id="document-error" role="alert">([^<]+)</p>', response.text)
    assert error and error.group(1).startswith("document: not valid JSON") and "line 1 column" in error.group(1)
    assert 'aria-invalid="true" aria-describedby="document-error"' in response.text
    assert document_of(response.text) == text and 'value="broken"' in response.text
    assert find_policy(db, "broken") is None
    assert [(r["outcome"], r["status"]) for r in audit(db, "iam:CreatePermissionPolicy")] == [("failed", 400)]


def test_an_invalid_policy_names_the_statement_and_the_field(console: TestClient, db: Database) -> None:
    document = {
        "statement": [
            {"effect": "allow", "actions": ["iam:GetUser"], "resources": ["*"]},
            {"effect": "allow", "actions": ["iam:GetRole", "iam:getuser"], "resources": ["*"]},
        ]
    }
    response = post_form(console, f"{POLICIES}/new", {"name": "typo", "document": orjson.dumps(document).decode()})
    assert response.status_code == 400
    assert (
        "statement[1].actions[1]: &#39;iam:getuser&#39; matches no action of the catalog; "
        "did you mean &#39;iam:GetUser&#39;? Actions are case-sensitive"
    ) in response.text
    assert 'id="document-error"' in response.text and "The problem is in statement 1" in response.text
    effect = {"statement": [{"effect": "permit", "actions": ["*"], "resources": ["*"]}]}
    bad_effect = post_form(console, f"{POLICIES}/new", {"name": "typo", "document": orjson.dumps(effect).decode()})
    assert bad_effect.status_code == 400 and "statement[0].effect: unknown effect &#39;permit&#39;" in bad_effect.text
    name = post_form(console, f"{POLICIES}/new", {"name": "", "document": orjson.dumps(READ_ONLY).decode()})
    assert name.status_code == 400 and 'id="name-error"' in name.text and "a policy needs a name" in name.text
    assert find_policy(db, "typo") is None


def test_a_taken_name_is_a_conflict(console: TestClient, db: Database) -> None:
    add_policy(db, "read-users")
    response = post_form(
        console, f"{POLICIES}/new", {"name": "READ-users", "document": orjson.dumps(READ_ONLY).decode()}
    )
    assert response.status_code == 409 and "already exists (policy names ignore case)" in response.text
    assert [(r["outcome"], r["status"]) for r in audit(db, "iam:CreatePermissionPolicy")] == [("failed", 409)]


def test_edit_a_policy_moves_its_version(console: TestClient, db: Database) -> None:
    policy_id = add_policy(db, "read-users")
    form = console.get(f"{POLICIES}/{policy_id}/edit")
    assert form.status_code == 200 and orjson.loads(document_of(form.text)) == READ_ONLY
    assert 'name="version" value="1"' in form.text
    saved = post_form(
        console,
        f"{POLICIES}/{policy_id}/edit",
        {"name": "people-admin", "document": orjson.dumps(DENY_DELETE).decode(), "version": "1"},
    )
    assert saved.status_code == 303
    policy = find_policy(db, "people-admin")
    assert policy is not None and policy.version == 2 and orjson.loads(policy.document) == DENY_DELETE
    invalid = post_form(
        console, f"{POLICIES}/{policy_id}/edit", {"name": "people-admin", "document": "[]", "version": "2"}
    )
    assert invalid.status_code == 400 and "document: must be a JSON object" in invalid.text
    stale = post_form(
        console,
        f"{POLICIES}/{policy_id}/edit",
        {"name": "x", "document": orjson.dumps(READ_ONLY).decode(), "version": "1"},
    )
    assert stale.status_code == 412 and "changed since you loaded it" in stale.text
    built_in = post_form(
        console, f"{POLICIES}/{SUPER_ADMIN_POLICY_ID}/edit", {"name": "x", "document": orjson.dumps(READ_ONLY).decode()}
    )
    assert built_in.status_code == 403 and "cannot be edited or deleted" in built_in.text
    outcomes = [(r["outcome"], r["status"]) for r in audit(db, "iam:UpdatePermissionPolicy")]
    assert outcomes == [("success", 200), ("failed", 400), ("failed", 412), ("refused", 403)]


def test_delete_asks_first_and_is_refused_while_in_use(console: TestClient, db: Database) -> None:
    policy_id = add_policy(db, "read-users")
    role_id = add_role(db, "Helpdesk", (policy_id,))
    confirm = console.get(f"{POLICIES}/{policy_id}/delete")
    assert confirm.status_code == 200 and "Delete the permission policy read-users?" in confirm.text
    assert "attached to Helpdesk" in confirm.text
    refused = post_form(console, f"{POLICIES}/{policy_id}/delete")
    assert refused.status_code == 409 and "attached to role Helpdesk" in refused.text
    assert find_policy(db, "read-users") is not None
    with db.transaction() as connection:
        role_store.detach(connection, role_id, [policy_id])
    gone = post_form(console, f"{POLICIES}/{policy_id}/delete")
    assert gone.status_code == 303 and gone.headers["location"] == POLICIES and find_policy(db, "read-users") is None
    assert "Permission policy read-users deleted." in console.get(POLICIES).text
    assert post_form(console, f"{POLICIES}/{SUPER_ADMIN_POLICY_ID}/delete").status_code == 403
    records = [(r["outcome"], r["status"], r["resource_id"]) for r in audit(db, "iam:DeletePermissionPolicy")]
    assert records == [
        ("failed", 409, policy_id),
        ("success", 200, policy_id),
        ("refused", 403, SUPER_ADMIN_POLICY_ID),
    ]
    assert audit(db, "iam:DeletePermissionPolicy")[1]["summary"] == {"name": "read-users"}


def test_a_viewer_reads_policies_but_changes_none(console: TestClient, db: Database) -> None:
    policy_id = add_policy(db, "read-users")
    add_user(db, "vera", "Viewer")
    vera = browser(console, "vera")
    listing = vera.get(POLICIES)
    assert listing.status_code == 200 and "read-users" in listing.text and f"{POLICIES}/new" not in listing.text
    page = vera.get(f"{POLICIES}/{policy_id}")
    assert page.status_code == 200 and f"{policy_id}/edit" not in page.text and f"{policy_id}/delete" not in page.text
    for url in (f"{POLICIES}/new", f"{POLICIES}/{policy_id}/edit", f"{POLICIES}/{policy_id}/delete"):
        assert vera.get(url).status_code == 403, url
    text = orjson.dumps(READ_ONLY).decode()
    for url in (f"{POLICIES}/new", f"{POLICIES}/{policy_id}/edit", f"{POLICIES}/{policy_id}/delete"):
        response = post_form(vera, url, {"name": "mine", "document": text})
        assert response.status_code == 403 and "Not allowed" in response.text, url
    policy = find_policy(db, "read-users")
    assert policy is not None and policy.version == 1 and find_policy(db, "mine") is None
    for event in ("iam:CreatePermissionPolicy", "iam:UpdatePermissionPolicy", "iam:DeletePermissionPolicy"):
        assert [(r["outcome"], r["actor"]) for r in audit(db, event)] == [("refused", "vera")]


def test_a_user_without_roles_may_not_see_policies(console: TestClient, db: Database) -> None:
    add_user(db, "nora")
    assert browser(console, "nora").get(POLICIES).status_code == 403


# ------------------------------------------------------------------------------------------ the simulator


def test_the_simulator_allows_and_names_the_deciding_statement(console: TestClient, db: Database) -> None:
    vera_id = add_user(db, "vera", "Viewer")
    empty = console.get(SIMULATOR)
    assert empty.status_code == 200 and '<option value="iam:GetUser"' in empty.text and "ALLOWED" not in empty.text
    page = console.get(SIMULATOR, params={"user": "VERA", "action": "iam:GetRole"})
    assert page.status_code == 200 and '<span class="verdict">ALLOWED</span>' in page.text
    assert '<code class="resource">arn:gatehouse:iam:role/*</code>' in page.text
    assert "allowed by statement 0 of policy &#39;viewer-permission-policy&#39; in role &#39;Viewer&#39;" in page.text
    with db.snapshot() as connection:
        viewer_policy = policy_store.get_by_name(connection, "viewer-permission-policy")
        viewer_role = role_store.get_by_name(connection, "Viewer")
    assert viewer_policy is not None and viewer_role is not None
    assert f'href="{POLICIES}/{viewer_policy.id}">viewer-permission-policy</a>' in page.text
    assert f'href="/organization/roles/{viewer_role.id}">Viewer</a>' in page.text
    assert "<dt>Effect</dt><dd>allow</dd>" in page.text and '"iam:GetRole"' in page.text  # the statement itself
    by_id = console.get(SIMULATOR, params={"user": vera_id, "action": "iam:GetUser"})
    assert f"arn:gatehouse:iam:user/{vera_id}" in by_id.text and "ALLOWED" in by_id.text  # herself by default


def test_the_simulator_denies_with_the_reason_and_the_denying_statement(console: TestClient, db: Database) -> None:
    add_user(db, "vera", "Viewer")
    not_granted = console.get(SIMULATOR, params={"user": "vera", "action": "iam:DeleteUser"})
    assert '<span class="verdict">DENIED</span>' in not_granted.text
    assert "no statement allows iam:DeleteUser on arn:gatehouse:iam:user/" in not_granted.text
    assert "nothing allows it" in not_granted.text
    policy_id = add_policy(db, "people", DENY_DELETE)
    add_role(db, "People admin", (policy_id,))
    add_user(db, "pat", "People admin")
    denied = console.get(
        SIMULATOR,
        params={"user": "pat", "action": "iam:DeleteUser", "resource": f"arn:gatehouse:iam:user/{uuid.uuid4()}"},
    )
    assert "DENIED" in denied.text and "denied by statement 1 of policy &#39;people&#39;" in denied.text
    assert f'href="{POLICIES}/{policy_id}">people</a>' in denied.text and "<dt>Effect</dt><dd>deny</dd>" in denied.text
    allowed = console.get(SIMULATOR, params={"user": "pat", "action": "iam:UpdateUser"})
    assert "ALLOWED" in allowed.text and "statement 0 of policy &#39;people&#39;" in allowed.text


def test_the_simulator_matches_label_conditions(console: TestClient, db: Database) -> None:
    policy_id = add_policy(db, "sre-roles", LABELLED_EXAMPLE)
    add_role(db, "SRE lead", (policy_id,))
    add_user(db, "sam", "SRE lead")
    resource = f"arn:gatehouse:iam:role/{uuid.uuid4()}"
    params = {"user": "sam", "action": "iam:UpdateRole", "resource": resource}
    assert "DENIED" in console.get(SIMULATOR, params=params).text
    labelled = console.get(SIMULATOR, params={**params, "labels": "team=sre"})
    assert "ALLOWED" in labelled.text and "statement 1 of policy &#39;sre-roles&#39;" in labelled.text


def test_the_simulator_explains_bad_questions(console: TestClient, db: Database) -> None:
    unknown = console.get(SIMULATOR, params={"user": "ghost", "action": "iam:GetUser"})
    assert unknown.status_code == 404 and "There is no such user" in unknown.text
    add_user(db, "vera", "Viewer")
    action = console.get(SIMULATOR, params={"user": "vera", "action": "iam:Fly"})
    assert action.status_code == 400 and "Unknown action" in action.text
    resource = console.get(SIMULATOR, params={"user": "vera", "action": "iam:GetUser", "resource": "user/1"})
    assert resource.status_code == 400 and "A resource is a name such as" in resource.text
    labels = console.get(SIMULATOR, params={"user": "vera", "action": "iam:GetAudit", "labels": "a=b"})
    assert labels.status_code == 400 and "carry no labels" in labels.text


def test_simulating_needs_iam_get_user(console: TestClient, db: Database) -> None:
    add_user(db, "vera", "Viewer")
    add_user(db, "nora")
    refused = browser(console, "nora").get(SIMULATOR, params={"user": "vera", "action": "iam:GetUser"})
    assert refused.status_code == 403 and "iam:GetUser" in refused.text and "ALLOWED" not in refused.text
    viewer = browser(console, "vera").get(SIMULATOR, params={"user": "admin", "action": "iam:DeleteUser"})
    assert viewer.status_code == 200 and "ALLOWED" in viewer.text and "super-admin-permission-policy" in viewer.text


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("iam:GetUser", "arn:gatehouse:iam:user/u1"),
        ("iam:GetRole", "arn:gatehouse:iam:role/*"),
        ("iam:CreateRole", "arn:gatehouse:iam:role/*"),
        ("iam:GetAudit", "arn:gatehouse:iam:organization/*"),
    ],
)
def test_default_resources(action: str, expected: str) -> None:
    assert default_resource(ACTIONS_BY_NAME[action], "u1") == expected


def test_stored_documents_stay_canonical(console: TestClient, db: Database) -> None:
    """What the editor saves is the canonical document (so its version-keyed cache stays valid)."""
    text = '{\n  "statement": [ {"resources": ["*"], "actions": ["iam:GetUser"], "effect": "allow"} ]\n}'
    assert post_form(console, f"{POLICIES}/new", {"name": "p", "document": text}).status_code == 303
    policy = find_policy(db, "p")
    assert policy is not None and policy.document == orjson.dumps(parse_policy(READ_ONLY).as_dict()).decode()
