"""The token use cases behind the Tokens page (on SQLite and PostgreSQL): the list of one's own tokens,
someone else's or everyone's, with each token's status and whether it may be revoked; the token a revocation
asks about; and how the audit log names a revocation. Each refused to those who may not."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Connection

from gatehouse.errors import Forbidden, NotFound
from gatehouse.iam import api_tokens as tokens
from gatehouse.iam import policies
from gatehouse.iam import roles as rbac
from gatehouse.iam.authorizer import Principal
from gatehouse.iam.rbac_forms import policy_input, role_input
from support.iam import People

SEE_ALL = {"statement": [{"effect": "allow", "actions": ["iam:GetToken", "iam:GetAnyToken"], "resources": ["*"]}]}


def _token(people: People, principal: Principal, name: str) -> str:
    return people.run(lambda c: tokens.create_token(c, principal, name, 30)).info.id


def _auditor(people: People) -> Principal:
    """Nora, given a role that sees every token but may revoke none."""

    def grant(connection: Connection) -> None:
        policy = policies.create_policy(connection, people.root, policy_input("see tokens", SEE_ALL))
        role = rbac.create_role(connection, people.root, role_input("Token auditor"), [policy.id]).role
        rbac.assign_role(connection, people.root, people.nobody.user_id or "", role.id)

    people.run(grant)
    return people.again(people.nobody)


def test_ones_own_tokens_and_nothing_without_get_token(people: People) -> None:
    with pytest.raises(Forbidden, match="iam:GetToken"):
        people.run(lambda c: tokens.token_listing(c, people.nobody))
    mine = _token(people, people.viewer, "vera-ci")
    _token(people, people.root, "root-ci")
    own = people.run(lambda c: tokens.token_listing(c, people.viewer))
    assert own.view == "own" and own.may_create and not own.view_any
    assert [(row.token.id, row.owner, row.status, row.revocable) for row in own.rows] == [
        (mine, "vera", "active", True)
    ]
    for wanted in (tokens.ALL, "root"):  # someone else's are not offered without iam:GetAnyToken
        assert people.run(lambda c, wanted=wanted: tokens.token_listing(c, people.viewer, wanted)).view == "own"


def test_everyones_tokens_and_one_users_for_those_who_may_see_them(
    people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    vera_token = _token(people, people.viewer, "vera-ci")
    root_token = _token(people, people.root, "root-ci")
    everyone = people.run(lambda c: tokens.token_listing(c, people.root, tokens.ALL))
    assert everyone.view == tokens.ALL and everyone.view_any and not everyone.truncated
    assert {(row.token.id, row.owner) for row in everyone.rows} == {(vera_token, "vera"), (root_token, "root")}
    for wanted in ("VERA", people.viewer_id):
        one = people.run(lambda c, wanted=wanted: tokens.token_listing(c, people.root, wanted))
        assert (one.view, one.user_filter, [row.token.id for row in one.rows]) == ("user", "vera", [vera_token])
    nobody = people.run(lambda c: tokens.token_listing(c, people.root, "no-such-user"))
    assert (nobody.view, nobody.user_filter, nobody.rows) == ("user", "no-such-user", [])
    monkeypatch.setattr(tokens, "ALL_LIMIT", 1)
    newest = people.run(lambda c: tokens.token_listing(c, people.root, tokens.ALL))
    assert newest.truncated and [row.token.id for row in newest.rows] == [root_token]


def test_seeing_everyones_tokens_does_not_make_them_revocable(people: People) -> None:
    vera_token = _token(people, people.viewer, "vera-ci")
    auditor = _auditor(people)
    seen = people.run(lambda c: tokens.token_listing(c, auditor, tokens.ALL))
    assert [(row.token.id, row.revocable) for row in seen.rows] == [(vera_token, False)]
    assert not seen.may_create
    with pytest.raises(Forbidden, match="iam:DeleteAnyToken"):
        people.run(lambda c: tokens.revocation(c, auditor, vera_token))


def test_a_revocation_asks_about_a_token_the_principal_may_revoke(people: People) -> None:
    vera_token = _token(people, people.viewer, "vera-ci")
    own = people.run(lambda c: tokens.revocation(c, people.viewer, vera_token))
    assert (own.token.name, own.own, own.owner, own.active) == ("vera-ci", True, "vera", True)
    other = people.run(lambda c: tokens.revocation(c, people.root, vera_token))
    assert (other.own, other.owner) == (False, "vera")
    root_token = _token(people, people.root, "root-ci")
    with pytest.raises(NotFound):  # someone else's token the principal may not view does not exist for them
        people.run(lambda c: tokens.revocation(c, people.viewer, root_token))
    with pytest.raises(NotFound):
        people.run(lambda c: tokens.revocation(c, people.root, "no-such-token"))
    people.run(lambda c: tokens.revoke_token(c, people.viewer, vera_token))
    assert not people.run(lambda c: tokens.revocation(c, people.viewer, vera_token)).active
    listed = people.run(lambda c: tokens.token_listing(c, people.viewer)).rows
    assert [(row.status, row.revocable) for row in listed] == [("revoked", False)]


def test_the_audit_record_of_a_revocation_names_the_action_checked(people: People) -> None:
    vera_token = _token(people, people.viewer, "vera-ci")
    own = people.run(lambda c: tokens.revoke_change(c, people.viewer, vera_token))
    assert (own.event, own.resource_type, own.resource_id, own.summary) == (
        "iam:DeleteToken",
        "token",
        vera_token,
        {"name": "vera-ci"},
    )
    others = people.run(lambda c: tokens.revoke_change(c, people.root, vera_token))
    assert (others.event, others.summary) == ("iam:DeleteAnyToken", {"name": "vera-ci", "user_id": people.viewer_id})
    unknown = people.run(lambda c: tokens.revoke_change(c, people.root, "no-such-token"))
    assert (unknown.event, unknown.resource_id, unknown.summary) == ("iam:DeleteToken", "no-such-token", {})
