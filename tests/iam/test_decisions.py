"""The decision API's use case, on both databases: the same answers as the policy simulator on generated cases
(actions, resources and labels over users with roles, group-bound roles, boundaries and deny statements),
stored labels used where a check gives none, subjects that are gone, and what a caller must hold."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import pytest

from gatehouse.errors import Forbidden, InvalidInput
from gatehouse.iam import decisions
from gatehouse.iam import roles as rbac
from gatehouse.iam.authorizer import load_principal
from gatehouse.iam.bootstrap import ensure_rbac
from gatehouse.iam.catalog import ACTION_ALIASES, ACTIONS
from gatehouse.iam.gateway_examples import DEV_GROUPS_FULL_CONTROL, GATEWAY_READ_ONLY, PUBLISH_TO_ONE_GROUP
from gatehouse.iam.gateway_labels import resolve
from gatehouse.iam.resource_names import parse_resource
from gatehouse.iam.simulator import Question, ask, simulate
from gatehouse.store import users as user_store
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from support.gateway import GG, ROOT, allow, bound_in, grant_in, label, new_policy
from support.iam import add_group, add_user

DENY_DELETE = {"statement": [{"effect": "deny", "actions": ["gateway:Delete<.*>"], "resources": ["*"]}]}
API7_ROLES = {
    "statement": [
        {"effect": "allow", "actions": ["iam:<.*>CustomRole", "iam:GetRole"], "resources": ["arn:api7:iam:role/*"]},
        {
            "effect": "deny",
            "actions": ["iam:DeleteCustomRole"],
            "resources": ["arn:api7:iam:role/*"],
            "conditions": {
                "role_label": {"type": "MatchLabel", "options": {"key": "protected", "operator": "present"}}
            },
        },
    ]
}
BOUNDARY = {
    "statement": [{"effect": "allow", "actions": ["gateway:Get<.*>", "gateway:Update<.*>"], "resources": ["*"]}]
}
CONSUMERS = allow(["gateway:<.*>Consumer<.*>"], [f"{GG}/*/consumer/*"], consumer_label={"tier": "gold"})


@dataclass
class Org:
    db: Database
    users: dict[str, str]


@pytest.fixture
def org(db: Database) -> Org:
    """Users holding gateway permissions every way a user can, and labels kept for a few resources."""
    with db.transaction() as connection:
        ensure_rbac(connection)
        ids = {name: add_user(connection, name) for name in ("reader", "dev", "publisher", "bounded", "roles", "off")}
        ids["root"] = add_user(connection, "root", super_admin=True)
        grant_in(connection, ids["reader"], "gateway readers", GATEWAY_READ_ONLY)
        grant_in(connection, ids["dev"], "dev editors", DEV_GROUPS_FULL_CONTROL, DENY_DELETE, CONSUMERS)
        publishers = rbac.create_role(connection, ROOT, rbac.role_input("publishers")).role
        group = add_group(connection, "publishing", (ids["publisher"],))
        rbac.bind_group_role(connection, ROOT, group, publishers.id)
        grant_in(connection, ids["bounded"], "bounded editors", DEV_GROUPS_FULL_CONTROL, GATEWAY_READ_ONLY)
        bound_in(connection, ids["bounded"], "gets and updates only", BOUNDARY)
        grant_in(connection, ids["roles"], "api7 role managers", API7_ROLES)
        grant_in(connection, ids["off"], "off readers", GATEWAY_READ_ONLY)
        user_store.set_active(connection, ids["off"], False, utcnow())
    with db.transaction() as connection:  # the publishers' policy, through the group binding
        policy_id = new_policy(connection, "publish team-x", PUBLISH_TO_ONE_GROUP)
        rbac.attach_policies(connection, ROOT, publishers.id, [policy_id])
    label(db, f"{GG}/dev", env="dev")
    label(db, f"{GG}/prod", env="prod")
    label(db, f"{GG}/dev/publishedservice/s1", team="a")
    label(db, f"{GG}/dev/consumer/c1", tier="gold")
    return Org(db, ids)


GROUPS = ["dev", "prod", "team-x", "*", "unlabelled"]
RESOURCES = [
    *(f"{GG}/{group}" for group in GROUPS),
    *(f"{GG}/{group}/publishedservice/{sid}" for group in GROUPS for sid in ("s1", "*")),
    *(f"{GG}/{group}/consumer/{cid}" for group in ("dev", "prod") for cid in ("c1", "c2")),
    "arn:api7:gateway:servicetemplate/t1",
    "arn:api7:gateway:servicetemplate/*",
    "arn:api7:gateway:gatewaysetting/*",
    "arn:api7:gateway:alert/*",
    "arn:gatehouse:iam:role/r1",
    "arn:api7:iam:role/r1",
    "arn:api7:iam:organization/*",
]
ACTION_POOL = [action.name for action in ACTIONS if action.name.startswith("gateway:")] + [
    "iam:GetRole",
    "iam:UpdateRole",
    "iam:UpdateLicense",
    *ACTION_ALIASES,
]
LABEL_KEYS = ["gateway_group_label", "service_label", "consumer_label", "role_label"]


def generated_checks(seed: int, count: int) -> list[dict[str, Any]]:
    """Seeded questions: actions, resources, and labels given or not (by condition key)."""
    rng = random.Random(seed)
    checks = []
    for _ in range(count):
        check: dict[str, Any] = {"action": rng.choice(ACTION_POOL), "resource": rng.choice(RESOURCES)}
        if rng.random() < 0.5:
            check["labels"] = {
                key: rng.choice([{}, {"env": "dev"}, {"env": "prod"}, {"tier": "gold"}, {"protected": "yes"}])
                for key in rng.sample(LABEL_KEYS, rng.randint(1, 2))
            }
        checks.append(check)
    return checks


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_same_answers_as_the_simulator(org: Org, seed: int) -> None:
    """For every user and 100 generated checks, the decision API answers exactly as the simulator does, given the
    labels the check was decided with (its own, else the stored ones)."""
    checks = generated_checks(seed, 100)
    outcomes: set[str] = set()
    with org.db.snapshot() as connection:
        root = load_principal(connection, org.users["root"])
        for name, user_id in org.users.items():
            answer = decisions.check_access(connection, root, user_id, None, checks)
            assert answer.subject.user_name == name and answer.subject.exists
            for check, decision, labels in zip(checks, answer.decisions, answer.labels, strict=True):
                simulated = simulate(connection, root, user_id, check["action"], check["resource"], labels)
                assert (decision.allowed, decision.outcome, decision.reason) == (
                    simulated.decision.allowed,
                    simulated.decision.outcome,
                    simulated.decision.reason,
                ), (name, check)
                assert decision.statement == simulated.decision.statement
                outcomes.add(decision.outcome)
    assert outcomes >= {"allowed", "denied", "not_allowed", "outside_boundary"}  # the cases reach every branch


def test_stored_labels_as_the_simulator_form_reads_them(org: Org) -> None:
    """With no labels given, the decision API and the simulator's form both read the kept labels."""
    wanted = [
        ("dev", "gateway:UpdateGatewayGroup", f"{GG}/dev"),
        ("dev", "gateway:UpdateGatewayGroup", f"{GG}/prod"),
        ("dev", "gateway:UpdatePublishedService", f"{GG}/dev/publishedservice/s1"),
        ("dev", "gateway:GetConsumer", f"{GG}/dev/consumer/c1"),
        ("dev", "gateway:GetConsumer", f"{GG}/prod/consumer/c1"),
        ("bounded", "gateway:DeleteGatewayGroup", f"{GG}/dev"),
        ("publisher", "gateway:PublishServices", f"{GG}/team-x/publishedservice/*"),
    ]
    with org.db.snapshot() as connection:
        root = load_principal(connection, org.users["root"])
        for user, action, resource in wanted:
            answer = decisions.check_access(connection, root, None, user, [{"action": action, "resource": resource}])
            form = ask(connection, root, Question(user, action, resource))
            assert answer.decisions[0] == form.simulation.decision, (user, action, resource)


EXPECTED = [
    # the examples decide as their titles say
    ("reader", "gateway:GetGatewayGroup", f"{GG}/prod", None, True),
    ("reader", "gateway:GetPublishedService", f"{GG}/unlabelled/publishedservice/s1", None, True),
    ("reader", "gateway:UpdateGatewayGroup", f"{GG}/dev", None, False),
    ("reader", "gateway:GetServiceTemplate", "arn:api7:gateway:servicetemplate/t1", None, False),
    ("dev", "gateway:UpdateGatewayGroup", f"{GG}/dev", None, True),
    ("dev", "gateway:UpdatePublishedService", f"{GG}/dev/publishedservice/s1", None, True),
    ("dev", "gateway:UpdateGatewayGroup", f"{GG}/prod", None, False),
    ("dev", "gateway:UpdateGatewayGroup", f"{GG}/unlabelled", None, False),
    ("dev", "gateway:DeleteGatewayGroup", f"{GG}/dev", None, False),  # the deny statement
    ("dev", "gateway:UpdateGatewayGroup", f"{GG}/prod", {"gateway_group_label": {"env": "dev"}}, True),  # given wins
    ("dev", "gateway:GetConsumer", f"{GG}/prod/consumer/c1", None, False),  # c1 of prod is not labelled
    ("dev", "gateway:GetConsumer", f"{GG}/dev/consumer/c1", None, True),
    ("publisher", "gateway:PublishServices", f"{GG}/team-x/publishedservice/*", None, True),
    ("publisher", "gateway:PublishServices", f"{GG}/dev/publishedservice/*", None, False),
    ("bounded", "gateway:UpdateGatewayGroup", f"{GG}/dev", None, True),
    ("bounded", "gateway:DeleteGatewayGroup", f"{GG}/dev", None, False),  # outside the boundary
    ("roles", "iam:UpdateRole", "arn:gatehouse:iam:role/r1", None, True),
    ("roles", "iam:DeleteCustomRole", "arn:api7:iam:role/r1", {"role_label": {"protected": "1"}}, False),
    ("off", "gateway:GetGatewayGroup", f"{GG}/prod", None, False),  # deactivated
    ("root", "gateway:DeleteGatewayGroup", f"{GG}/prod", None, True),
]


@pytest.mark.parametrize(("user", "action", "resource", "labels", "allowed"), EXPECTED)
def test_decisions(
    org: Org, user: str, action: str, resource: str, labels: dict[str, Any] | None, allowed: bool
) -> None:
    check: dict[str, Any] = {"action": action, "resource": resource}
    if labels is not None:
        check["labels"] = labels
    with org.db.snapshot() as connection:
        answer = decisions.check_access(connection, load_principal(connection, org.users["root"]), None, user, [check])
    assert answer.decisions[0].allowed is allowed, answer.decisions[0].reason


def test_reasons_name_what_decided(org: Org) -> None:
    checks = [
        {"action": "gateway:UpdateGatewayGroup", "resource": f"{GG}/dev"},
        {"action": "gateway:DeleteGatewayGroup", "resource": f"{GG}/dev"},
        {"action": "gateway:GetSecret", "resource": "arn:api7:gateway:alert/*"},
    ]
    with org.db.snapshot() as connection:
        root = load_principal(connection, org.users["root"])
        answer = decisions.check_access(connection, root, org.users["dev"], None, checks)
        bounded = decisions.check_access(connection, root, None, "bounded", checks[1:2])
    reasons = [decision.reason for decision in answer.decisions]
    assert reasons[0] == "allowed by statement 0 of policy 'dev editors-0' in role 'dev editors'"
    assert reasons[1] == "denied by statement 0 of policy 'dev editors-1' in role 'dev editors'"
    assert reasons[2].startswith("no statement allows gateway:GetSecret")
    assert bounded.decisions[0].reason.startswith("outside permission boundary 'gets and updates only'")
    assert answer.labels[0] == {"gateway_group_label": {"env": "dev"}}


def test_subjects_that_are_gone_are_denied(org: Org) -> None:
    """A deactivated, deleted or unknown subject is denied every check, from the next request on."""
    check = [{"action": "gateway:GetGatewayGroup", "resource": f"{GG}/prod"}]
    with org.db.snapshot() as connection:
        root = load_principal(connection, org.users["root"])
        before = decisions.check_access(connection, root, org.users["reader"], None, check)
    assert before.decisions[0].allowed
    with org.db.transaction() as connection:
        user_store.set_active(connection, org.users["reader"], False, utcnow())
    with org.db.snapshot() as connection:
        after = decisions.check_access(connection, root, org.users["reader"], None, check)
        unknown = decisions.check_access(connection, root, None, "nobody-here", check)
    assert not after.decisions[0].allowed and after.decisions[0].reason == "the user is inactive or does not exist"
    assert after.subject.exists and not after.subject.active
    assert not unknown.subject.exists and not unknown.decisions[0].allowed
    with org.db.transaction() as connection:
        user_store.delete(connection, org.users["reader"])
    with org.db.snapshot() as connection:
        deleted = decisions.check_access(connection, root, org.users["reader"], None, check)
    assert not deleted.subject.exists and not deleted.decisions[0].allowed


def test_the_caller_needs_check_access(org: Org) -> None:
    check = [{"action": "gateway:GetGatewayGroup", "resource": f"{GG}/prod"}]
    with org.db.snapshot() as connection:
        reader = load_principal(connection, org.users["reader"])
        with pytest.raises(Forbidden, match="iam:CheckAccess"):
            decisions.check_access(connection, reader, org.users["reader"], None, check)
        with pytest.raises(Forbidden):  # the permission is checked before the questions are read
            decisions.check_access(connection, reader, org.users["reader"], None, [{"action": "nope"}])


@pytest.mark.parametrize(
    ("checks", "message"),
    [
        ([], "checks: ask 1 to 100 questions"),
        ([{"action": "gateway:GetGatewayGroup", "resource": f"{GG}/x"}] * 101, "checks: ask 1 to 100 questions"),
        ([{"action": "gateway:Nope", "resource": f"{GG}/x"}], "checks[0].action: 'gateway:Nope' is not an action"),
        (
            [
                {"action": "gateway:GetGatewayGroup", "resource": f"{GG}/x"},
                {"action": "gateway:GetGatewayGroup", "resource": "x"},
            ],
            "checks[1].resource: 'x' is not a resource name",
        ),
        ([{"action": "iam:GetRole", "resource": "arn:gatehouse:iam:roles/r"}], "checks[0].resource:"),
        (
            [{"action": "iam:GetRole", "resource": "arn:gatehouse:iam:role/r", "labels": {"env": {}}}],
            "is not a condition key",
        ),
        (
            [{"action": "iam:GetRole", "resource": "arn:gatehouse:iam:role/r", "labels": {"role_label": {"a": 1}}}],
            "strings",
        ),
    ],
)
def test_bad_questions_are_refused_naming_the_check(checks: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        decisions.parse_checks(checks)
    assert message in refused.value.detail


def test_resolve_prefers_the_labels_given(org: Org) -> None:
    with org.db.snapshot() as connection:
        resource = parse_resource(f"{GG}/dev/publishedservice/s1")
        kept = resolve(connection, [resource])[0]
        given = resolve(connection, [resource], [{"service_label": {"team": "b"}}])[0]
    assert kept == {"gateway_group_label": {"env": "dev"}, "service_label": {"team": "a"}}
    assert given == {"gateway_group_label": {"env": "dev"}, "service_label": {"team": "b"}}
