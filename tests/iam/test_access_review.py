"""The access review on SQLite and PostgreSQL: every role of every user with its origin, boundaries, last sign-in
and API tokens; the filters; CSV and JSON exports; "who may?" agreeing user by user with the authorizer itself;
revoking from the report; a review recorded."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import orjson
import pytest

from gatehouse.credentials import generate_token, hash_token, token_hint
from gatehouse.errors import Forbidden, InvalidInput
from gatehouse.iam import access_review as review
from gatehouse.iam import policies, timed_grants
from gatehouse.iam import roles as rbac
from gatehouse.iam.authorizer import allowed, load_principal
from gatehouse.iam.rbac_forms import policy_input, role_input
from gatehouse.store import api_tokens as token_store
from gatehouse.store import users as user_store
from gatehouse.store.database import Connection
from gatehouse.store.records import utcnow
from support.iam import People, add_group, add_user

EDIT_ROLES = {"statement": [{"effect": "allow", "actions": ["iam:UpdateRole", "iam:GetRole"], "resources": ["*"]}]}
NO_PLATFORM = {
    "statement": [
        {"effect": "deny", "actions": ["iam:UpdateRole"], "resources": ["*"],
         "conditions": {"role_label": {"type": "MatchLabel",
                                       "options": [{"key": "team", "operator": "exact_match", "value": "platform"}]}}}
    ]
}  # fmt: skip
ONLY_GETS = {"statement": [{"effect": "allow", "actions": ["iam:Get<.*>"], "resources": ["*"]}]}


def policy(connection: Connection, people: People, name: str, document: dict[str, object]) -> str:
    return policies.create_policy(connection, people.root, policy_input(name, document)).id


@pytest.fixture
def world(people: People) -> dict[str, str]:
    """ed holds Editors directly; gus through the group Ops; tim until tomorrow; bo Editors under a boundary;
    den Editors and Deniers (deny on team=platform); nil nothing; the Viewer vera."""

    def build(connection: Connection) -> dict[str, str]:
        ids = {name: add_user(connection, name) for name in ("ed", "gus", "tim", "bo", "den", "nil")}
        editors = rbac.create_role(
            connection, people.root, role_input("Editors"), [policy(connection, people, "edit", EDIT_ROLES)]
        )
        deniers = rbac.create_role(
            connection, people.root, role_input("Deniers"), [policy(connection, people, "deny", NO_PLATFORM)]
        )
        for name in ("ed", "bo", "den"):
            rbac.assign_role(connection, people.root, ids[name], editors.role.id)
        rbac.assign_role(connection, people.root, ids["den"], deniers.role.id)
        rbac.set_boundaries(connection, people.root, ids["bo"], [policy(connection, people, "gets", ONLY_GETS)])
        ids["ops"] = add_group(connection, "Ops", (ids["gus"],))
        rbac.bind_group_role(connection, people.root, ids["ops"], editors.role.id)
        until = utcnow() + timedelta(days=1)
        timed_grants.grant_role_until(connection, people.root, ids["tim"], editors.role.id, until)
        user_store.record_sign_in(connection, ids["ed"], utcnow())
        now = utcnow() - timedelta(days=40)
        secret = generate_token("gha_")
        token_store.create(
            connection, ids["nil"], "ci", hash_token(secret), token_hint(secret), now, now + timedelta(days=90)
        )
        platform = rbac.create_role(connection, people.root, role_input("Platform", labels={"team": "platform"}))
        return {**ids, "editors": editors.role.id, "deniers": deniers.role.id, "platform": platform.role.id}

    return people.run(build)


def report(people: People, **scope: object) -> dict[str, review.UserAccess]:
    query = review.review_query(**scope)  # type: ignore[arg-type]
    with people.db.snapshot() as connection:
        found = review.report(connection, people.root, query, limit=1000)
    return {user.user_name: user for user in found.users}


def test_every_role_with_its_origin(people: People, world: dict[str, str]) -> None:
    everyone = report(people)
    assert {"ed", "gus", "tim", "bo", "den", "nil", "vera", "root"} <= set(everyone)
    origins = {name: sorted(review.origin_text(g) for g in user.grants) for name, user in everyone.items()}
    assert origins["ed"] == ["direct"] and origins["gus"] == ["group Ops"] and origins["nil"] == []
    assert origins["tim"][0].startswith("direct, until ")
    assert [b.name for b in everyone["bo"].boundaries] == ["gets"]
    assert everyone["ed"].last_login_at is not None and everyone["nil"].last_login_at is None
    assert [t.name for t in everyone["nil"].tokens] == ["ci"] and everyone["root"].super_admin


def test_filters(people: People, world: dict[str, str]) -> None:
    assert set(report(people, role_id=world["editors"])) == {"ed", "gus", "tim", "bo", "den"}
    assert set(report(people, role_id=world["editors"], origin="group")) == {"gus"}
    assert set(report(people, origin="timebound")) == {"tim"}
    assert "ed" not in report(people, not_signed_in_days=30) and "gus" in report(people, not_signed_in_days=30)
    assert set(report(people, token_unused_days=30)) == {"nil"}
    assert set(report(people, origin="super_admin")) == {"root"}


def test_exports(people: People, world: dict[str, str]) -> None:
    query = review.review_query(role_id=world["editors"])
    with people.db.snapshot() as connection:
        found = list(review.export(connection, people.root, query))
    rows = list(csv.DictReader(io.StringIO(review.to_csv(found))))
    assert {(r["username"], r["role"], r["origin"].split(",")[0]) for r in rows} >= {("gus", "Editors", "group Ops")}
    parsed = orjson.loads(review.to_json(found))
    assert {entry["username"] for entry in parsed} == {"ed", "gus", "tim", "bo", "den"}
    tim = next(entry for entry in parsed if entry["username"] == "tim")
    assert tim["roles"][0]["expires_at"] is not None
    with pytest.raises(Forbidden), people.db.snapshot() as connection:
        list(review.export(connection, people.nobody, query))


@pytest.mark.parametrize("labels", [{}, {"role_label": {"team": "platform"}}])
def test_who_may_agrees_with_the_authorizer_user_by_user(
    people: People, world: dict[str, str], labels: dict[str, dict[str, str]]
) -> None:
    resource = f"arn:gatehouse:iam:role/{world['platform']}"
    with people.db.snapshot() as connection:
        answer = review.who_may(connection, people.root, "iam:UpdateRole", resource, labels or None, limit=1000)
        expected = set()
        for user_id in [world[n] for n in ("ed", "gus", "tim", "bo", "den", "nil")] + [
            people.viewer_id,
            people.root.user_id,
        ]:
            principal = load_principal(connection, user_id)
            if allowed(principal, "iam:UpdateRole", resource, {"role_label": {"team": "platform"}}):
                expected.add(principal.user_name)
    assert {name for _, name, _ in answer.users} == expected == {"ed", "gus", "tim", "root"}
    assert answer.super_admins == 1 and answer.total == 4
    assert answer.labels == {"role_label": {"team": "platform"}}  # the role's own labels when none are given


def test_who_may_pages(people: People, world: dict[str, str]) -> None:
    with people.db.snapshot() as connection:
        first = review.who_may(connection, people.root, "iam:GetRole", "arn:gatehouse:iam:role/*", limit=3)
        rest = review.who_may(
            connection, people.root, "iam:GetRole", "arn:gatehouse:iam:role/*", cursor=first.next_cursor, limit=100
        )
    names = [name for _, name, _ in first.users + rest.users]
    assert names == sorted(names) and len(names) == first.total == len(set(names))
    with pytest.raises(Forbidden), people.db.snapshot() as connection:
        review.who_may(connection, people.nobody, "iam:GetRole", "arn:gatehouse:iam:role/*")


def test_revoke_from_the_report_and_record_the_review(people: People, world: dict[str, str]) -> None:
    done = people.run(lambda c: review.revoke(c, people.root, world["ed"], world["editors"], "direct"))
    assert "taken away" in done and "ed" not in report(people, role_id=world["editors"])
    people.run(lambda c: review.revoke(c, people.root, "", world["editors"], "group", world["ops"]))
    assert "gus" not in report(people, role_id=world["editors"])
    with pytest.raises(Forbidden):
        people.run(lambda c: review.revoke(c, people.viewer, world["den"], world["editors"], "direct"))
    query = review.review_query(role_id=world["editors"])
    recorded = people.run(lambda c: review.record_review(c, people.root, query, "quarterly"))
    assert recorded.users_in_scope == 3 and recorded.reviewer == "root"
    with people.db.snapshot() as connection:
        [found] = review.reviews(connection, people.viewer)
    assert found.scope["role_id"] == world["editors"] and found.note == "quarterly"
    with pytest.raises(Forbidden):
        people.run(lambda c: review.record_review(c, people.viewer, query, ""))


@pytest.mark.parametrize("days", ["-1", "36501", "²", "1" * 5_000, "1.5", True])
def test_a_number_of_days_that_is_none_is_named(days: object) -> None:
    with pytest.raises(InvalidInput, match="not_signed_in_days: a number of days, 0 to 36500"):
        review.review_query(not_signed_in_days=days)  # type: ignore[arg-type]
    assert review.review_query(token_unused_days=" 30 ").token_unused_days == 30
