"""The SCIM provisioning use cases every surface calls (on SQLite and PostgreSQL): Organization → Settings
read in one go, each part for those who may read it; the switches, which the dashboard and the admin API
change through one function; and the token a confirmation page asks about, refused to those who may not
change it and gone once revoked."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlalchemy.engine import Connection

from gatehouse.errors import Conflict, Forbidden, NotFound
from gatehouse.iam import policies, provisioning, scim_control
from gatehouse.iam import roles as rbac
from gatehouse.iam.authorizer import Principal, load_principal
from gatehouse.iam.rbac_forms import policy_input, role_input
from gatehouse.store import scim_activity
from gatehouse.store.records import utcnow
from support.iam import People, add_user

PUBLIC = "https://gatehouse.test"


def _holding(people: People, name: str, actions: Sequence[str]) -> Principal:
    """A user whose one role allows ``actions`` on everything."""

    def setup(connection: Connection) -> Principal:
        document = {"statement": [{"effect": "allow", "actions": list(actions), "resources": ["*"]}]}
        policy = policies.create_policy(connection, people.root, policy_input(f"{name} policy", document))
        role = rbac.create_role(connection, people.root, role_input(f"{name} role", "", None), [policy.id]).role
        user_id = add_user(connection, name)
        rbac.assign_role(connection, people.root, user_id, role.id)
        return load_principal(connection, user_id)

    return people.run(setup)


def _enabled_with_token(people: People, name: str = "Okta") -> str:
    def setup(connection: Connection) -> str:
        scim_control.enable(connection)
        return scim_control.issue_token(connection, name).info.id

    return people.run(setup)


# ------------------------------------------------------------------------------------------ the settings page


def test_the_settings_page_shows_scim_login_options_and_recent_requests(people: People) -> None:
    token_id = _enabled_with_token(people)
    row = {"at": utcnow(), "token_name": "Okta", "method": "GET", "path": "/scim/v2/Users", "status": 200}
    people.run(lambda c: scim_activity.write(c, [row]))

    shown = people.run(lambda c: provisioning.settings_page(c, people.root, PUBLIC))
    assert shown.scim_visible and shown.enabled and not shown.password_sign_in
    assert [t.id for t in shown.tokens] == [token_id]
    assert [(a.method, a.path, a.status) for a in shown.recent] == [("GET", "/scim/v2/Users", 200)]
    assert shown.login_options is not None and shown.login_options.password_enabled

    read_only = people.run(lambda c: provisioning.settings_page(c, people.viewer, PUBLIC))
    assert read_only.scim_visible and [t.id for t in read_only.tokens] == [token_id]


def test_each_part_is_shown_to_those_who_may_read_it(people: People) -> None:
    _enabled_with_token(people)
    logins_only = _holding(people, "lou", ["iam:GetLoginOption"])
    shown = people.run(lambda c: provisioning.settings_page(c, logins_only, PUBLIC))
    assert not shown.scim_visible and shown.tokens == [] and shown.recent == []
    assert shown.login_options is not None

    scim_only = _holding(people, "sam", ["iam:GetSCIMProvisioning"])
    shown = people.run(lambda c: provisioning.settings_page(c, scim_only, PUBLIC))
    assert shown.scim_visible and shown.enabled and len(shown.tokens) == 1 and shown.login_options is None


def test_the_settings_page_is_refused_to_someone_who_may_read_neither_part(people: People) -> None:
    with pytest.raises(Forbidden, match="iam:GetSCIMProvisioning"):
        people.run(lambda c: provisioning.settings_page(c, people.nobody, PUBLIC))


# ------------------------------------------------------------------------------------------ the switches


def test_update_settings_changes_the_switches_given_and_returns_the_settings(people: People) -> None:
    token_id = _enabled_with_token(people)
    off = people.run(lambda c: provisioning.update_settings(c, people.root, enabled=False))
    assert not off.enabled and not off.password_sign_in and [t.id for t in off.tokens] == [token_id]  # kept

    allowed = people.run(lambda c: provisioning.update_settings(c, people.root, password_sign_in=True))
    assert allowed.password_sign_in and not allowed.enabled  # the other switch left as it was

    both = people.run(lambda c: provisioning.update_settings(c, people.root, enabled=True, password_sign_in=False))
    assert both.enabled and not both.password_sign_in
    unchanged = people.run(lambda c: provisioning.update_settings(c, people.root))
    assert unchanged == both


def test_update_settings_is_refused_without_the_update_permission(people: People) -> None:
    with pytest.raises(Forbidden, match="iam:UpdateSCIMProvisioning"):
        people.run(lambda c: provisioning.update_settings(c, people.viewer, enabled=True))
    with pytest.raises(Forbidden, match="iam:UpdateSCIMProvisioning"):
        people.run(lambda c: provisioning.update_settings(c, people.nobody, password_sign_in=True))
    assert people.run(lambda c: (scim_control.is_enabled(c), scim_control.password_sign_in(c))) == (False, False)


# ------------------------------------------------------------------------------------------ tokens


def test_the_token_to_change_is_the_live_one_and_gone_once_revoked(people: People) -> None:
    token_id = _enabled_with_token(people, "Entra ID")
    token = people.run(lambda c: provisioning.token_to_change(c, people.root, token_id))
    assert (token.id, token.name) == (token_id, "Entra ID")

    assert people.run(lambda c: provisioning.revoke_token(c, people.root, token_id)) == "Entra ID"
    with pytest.raises(NotFound, match="already revoked or replaced"):
        people.run(lambda c: provisioning.token_to_change(c, people.root, token_id))
    with pytest.raises(NotFound):
        people.run(lambda c: provisioning.revoke_token(c, people.root, token_id))  # a form sent twice


def test_the_token_to_change_is_refused_to_those_who_may_only_read_it(people: People) -> None:
    token_id = _enabled_with_token(people)
    with pytest.raises(Forbidden, match="iam:UpdateSCIMProvisioning"):
        people.run(lambda c: provisioning.token_to_change(c, people.viewer, token_id))
    assert people.run(lambda c: provisioning.live_token(c, people.viewer, token_id)) is not None


def test_a_regenerated_token_replaces_the_old_one_while_scim_is_on(people: People) -> None:
    token_id = _enabled_with_token(people)
    issued = people.run(lambda c: provisioning.regenerate_token(c, people.root, token_id))
    assert issued.name == "Okta" and issued.info.id != token_id and issued.token
    with pytest.raises(NotFound):
        people.run(lambda c: provisioning.token_to_change(c, people.root, token_id))
    people.run(lambda c: provisioning.update_settings(c, people.root, enabled=False))
    with pytest.raises(Conflict, match="Turn on SCIM provisioning"):
        people.run(lambda c: provisioning.regenerate_token(c, people.root, issued.info.id))
