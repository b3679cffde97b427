"""The action catalog, resource names and the built-in policy documents."""

from __future__ import annotations

import json
import re

import pytest

from gatehouse.iam.catalog import (
    ACTION_NAMES,
    ACTIONS,
    ACTIONS_BY_NAME,
    ANY_ID,
    GROUPS,
    ORGANIZATION,
    ORGANIZATION_ADMIN_EXCLUDED,
    ORGANIZATION_ADMIN_POLICY,
    RESOURCE_KINDS,
    STARTER_ROLES,
    SUPER_ADMIN_POLICY,
    VIEWER_POLICY,
    Action,
    ResourceKind,
    catalog_json,
    resource_name,
)
from gatehouse.iam.policy import EvaluationRequest, NamedPolicy, RolePolicies, compile_pattern, evaluate, parse_policy

# The actions the RBAC issue and its brief name, by group: the catalog must hold exactly these.
EXPECTED = {
    "users": {
        "iam:GetUser",
        "iam:InviteUser",
        "iam:UpdateUser",
        "iam:UpdateUserRole",
        "iam:UpdateUserBoundary",
        "iam:DeleteUser",
        "iam:ResetPassword",
        "iam:UpdateUserStatus",
        "iam:HandOverUser",
    },
    "roles": {"iam:GetRole", "iam:CreateRole", "iam:UpdateRole", "iam:DeleteRole"},
    "permission_policies": {
        "iam:GetPermissionPolicy",
        "iam:CreatePermissionPolicy",
        "iam:UpdatePermissionPolicy",
        "iam:DeletePermissionPolicy",
    },
    "scim": {"iam:GetSCIMProvisioning", "iam:UpdateSCIMProvisioning"},
    "group_bindings": {"iam:GetGroupBinding", "iam:UpdateGroupBinding"},
    "tokens": {"iam:GetToken", "iam:CreateToken", "iam:DeleteToken", "iam:GetAnyToken", "iam:DeleteAnyToken"},
    "audit": {"iam:GetAudit", "iam:ExportAudits"},
    "login_options": {"iam:GetLoginOption", "iam:UpdateLoginOption"},
}
SAMPLE_IDS = ["3fa85f64-5717-4562-b3fc-2c963f66afa6", "u1", ANY_ID]


def concrete_names(action: Action) -> list[str]:
    """Names a caller may check the action against: every sample id of its kind (or the collection)."""
    if action.resource.endswith("/*"):
        return [resource_name(action.kind, ANY_ID)]
    return [resource_name(action.kind, id) for id in SAMPLE_IDS]


def as_role(name: str, document: object) -> RolePolicies:
    return RolePolicies(name, name, (NamedPolicy(name, name, parse_policy(document)),))


def test_actions_are_namespaced_and_unique() -> None:
    """Every action is an iam: verb in CamelCase, listed once."""
    for action in ACTIONS:
        assert re.fullmatch(r"iam:[A-Z][A-Za-z]+", action.name), action.name
    assert len(ACTION_NAMES) == len(ACTIONS) == len(ACTIONS_BY_NAME)


def test_catalog_is_the_expected_set() -> None:
    """The catalog holds exactly the actions the issue names, in the groups it names."""
    grouped: dict[str, set[str]] = {}
    for action in ACTIONS:
        grouped.setdefault(action.group, set()).add(action.name)
    assert grouped == EXPECTED
    assert list(GROUPS) == list(EXPECTED)


def test_actions_are_described() -> None:
    """Every action has a one-line description ending with a full stop."""
    for action in ACTIONS:
        assert action.description.endswith(".") and "\n" not in action.description, action.name
        assert len(action.description) <= 80, action.name


@pytest.mark.parametrize("action", ACTIONS, ids=lambda action: action.name)
def test_resource_patterns_name_their_kind(action: Action) -> None:
    """Each action's displayed resource, with {id} as a wildcard, matches the names callers check."""
    pattern = compile_pattern(action.resource.replace("{id}", "*"))
    for name in concrete_names(action):
        assert pattern.matches(name)
    assert action.resource.startswith(f"arn:gatehouse:iam:{action.kind}/")


def test_create_actions_check_the_collection() -> None:
    """Creating actions, whose object has no id yet, are checked against <kind>/*, as in API7."""
    creating = {action.name: action.resource for action in ACTIONS if action.resource.endswith("/*")}
    assert creating == {
        "iam:InviteUser": "arn:gatehouse:iam:user/*",
        "iam:CreateRole": "arn:gatehouse:iam:role/*",
        "iam:CreatePermissionPolicy": "arn:gatehouse:iam:permissionpolicy/*",
        "iam:CreateToken": "arn:gatehouse:iam:token/*",
        **{action.name: ORGANIZATION for action in ACTIONS if action.kind == "organization"},
    }


RESOURCE_NAME_CASES: list[tuple[ResourceKind, str, str]] = [
    ("user", "u1", "arn:gatehouse:iam:user/u1"),
    ("role", "r1", "arn:gatehouse:iam:role/r1"),
    ("permissionpolicy", "p1", "arn:gatehouse:iam:permissionpolicy/p1"),
    ("token", "t1", "arn:gatehouse:iam:token/t1"),
    ("group", "g1", "arn:gatehouse:iam:group/g1"),
    ("user", ANY_ID, "arn:gatehouse:iam:user/*"),
    ("organization", "anything", "arn:gatehouse:iam:organization/*"),
]


@pytest.mark.parametrize(("kind", "id", "name"), RESOURCE_NAME_CASES)
def test_resource_name(kind: ResourceKind, id: str, name: str) -> None:
    """resource_name builds arn:gatehouse:iam:<kind>/<id>; the organization has one name."""
    assert resource_name(kind, id) == name


@pytest.mark.parametrize(("kind", "id"), [("users", "u1"), ("user", "")])
def test_resource_name_refuses(kind: str, id: str) -> None:
    """An unknown kind or an empty id is a programming error."""
    with pytest.raises(ValueError):
        resource_name(kind, id)  # type: ignore[arg-type]


def test_every_kind_is_used() -> None:
    """Every resource kind is the target of at least one action."""
    assert {action.kind for action in ACTIONS} == set(RESOURCE_KINDS)


@pytest.mark.parametrize("document", [SUPER_ADMIN_POLICY, *STARTER_ROLES.values()], ids=["super-admin", *STARTER_ROLES])
def test_builtin_policies_validate(document: object) -> None:
    """The built-in documents are valid and serialize to JSON as they are."""
    parsed = parse_policy(document)
    assert parse_policy(json.loads(json.dumps(parsed.as_dict()))) == parsed


def test_builtin_policies_are_immutable() -> None:
    """A caller cannot change a built-in document by accident."""
    with pytest.raises(TypeError):
        SUPER_ADMIN_POLICY["statement"] = []  # type: ignore[index]
    statement = SUPER_ADMIN_POLICY["statement"][0]  # type: ignore[index]
    with pytest.raises(TypeError):
        statement["effect"] = "deny"


@pytest.mark.parametrize("action", ACTIONS, ids=lambda action: action.name)
def test_super_admin_may_do_everything(action: Action) -> None:
    """The Super Admin policy allows every action on every name it applies to."""
    role = as_role("Super Admin", SUPER_ADMIN_POLICY)
    for name in concrete_names(action):
        assert evaluate(EvaluationRequest(action.name, name), [role]).allowed


@pytest.mark.parametrize("action", ACTIONS, ids=lambda action: action.name)
def test_viewer(action: Action) -> None:
    """Viewer may do every Get action except GetAnyToken, and keep their own API tokens; nothing else."""
    role = as_role("Viewer", VIEWER_POLICY)
    own_tokens = action.name in ("iam:CreateToken", "iam:DeleteToken")
    expected = (action.name.startswith("iam:Get") and action.name != "iam:GetAnyToken") or own_tokens
    for name in concrete_names(action):
        assert evaluate(EvaluationRequest(action.name, name), [role]).allowed is expected


@pytest.mark.parametrize("action", ACTIONS, ids=lambda action: action.name)
def test_organization_admin(action: Action) -> None:
    """Organization Admin may do everything except change login options and SCIM provisioning."""
    role = as_role("Organization Admin", ORGANIZATION_ADMIN_POLICY)
    expected = action.name not in ORGANIZATION_ADMIN_EXCLUDED
    for name in concrete_names(action):
        assert evaluate(EvaluationRequest(action.name, name), [role]).allowed is expected
    assert {"iam:UpdateLoginOption", "iam:UpdateSCIMProvisioning"} == ORGANIZATION_ADMIN_EXCLUDED


def test_viewer_includes_audit() -> None:
    """Viewer reads the audit log but cannot export it."""
    role = as_role("Viewer", VIEWER_POLICY)
    assert evaluate(EvaluationRequest("iam:GetAudit", ORGANIZATION), [role]).allowed
    assert not evaluate(EvaluationRequest("iam:ExportAudits", ORGANIZATION), [role]).allowed


def test_catalog_json() -> None:
    """The published catalog lists every action with its group, kind, resource and description."""
    published = catalog_json()
    assert [entry["name"] for entry in published] == [action.name for action in ACTIONS]
    assert published[0] == {
        "name": "iam:GetUser",
        "group": "users",
        "kind": "user",
        "resource": "arn:gatehouse:iam:user/{id}",
        "description": ACTIONS_BY_NAME["iam:GetUser"].description,
    }
    json.dumps(published)
