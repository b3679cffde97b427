"""The login-option use cases (:mod:`gatehouse.iam.login_options`) on both databases: permissions, the
client secret (stored encrypted or from an environment variable, never shown or audited), rule targets,
the password option's guard and optimistic versions."""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gatehouse.errors import Conflict, FieldProblems, Forbidden, InvalidInput, NotFound, PreconditionFailed
from gatehouse.iam import login_options as uc
from gatehouse.iam import password_login, policies, role_mapping_rules, scim_control
from gatehouse.iam import roles as rbac
from gatehouse.iam.audit import Origin, audited_sync
from gatehouse.iam.authorizer import SUPER_ADMIN_ROLE_ID, Principal, load_principal
from gatehouse.iam.login_options import OptionInput
from gatehouse.iam.rbac_forms import policy_input, role_input
from gatehouse.login import options
from gatehouse.passwords import hash_password
from gatehouse.secrets_box import SecretBox
from gatehouse.store import login_options as store
from gatehouse.store import roles as role_store
from gatehouse.store import users as user_store
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from gatehouse.store.tables import audit_events
from support.login_options import signed_in_through
from support.web import make_admin

PUBLIC = "https://gatehouse.test"
SECRET = "s3cr3t-client-value-0123456789"
READ_ONLY = {"statement": [{"effect": "allow", "actions": ["iam:GetUser"], "resources": ["*"]}]}


@dataclasses.dataclass
class World:
    db: Database
    admin: Principal
    viewer: Principal
    org_admin: Principal
    box: SecretBox
    ops_role: str
    boundary: str


def _user(connection: Connection, name: str, role: str | None, admin: Principal) -> Principal:
    doc = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name, "active": True}
    write = user_store.UserWrite(id=str(uuid.uuid4()), doc=doc, source="local", password_hash=hash_password("x" * 12))
    user_id = user_store.insert(connection, write, utcnow()).id
    if role is not None:
        found = role_store.get_by_name(connection, role)
        assert found is not None
        rbac.assign_role(connection, admin, user_id, found.id)
    return load_principal(connection, user_id)


@pytest.fixture
def world(db: Database) -> Iterator[World]:
    admin_id = make_admin(db)
    with db.transaction() as connection:
        admin = load_principal(connection, admin_id)
        viewer = _user(connection, "vera", "Viewer", admin)
        org_admin = _user(connection, "olga", "Organization Admin", admin)
        ops = rbac.create_role(connection, admin, role_input("Ops", "", None), []).role.id
        boundary = policies.create_policy(connection, admin, policy_input("read-only", READ_ONLY)).id
    yield World(db, admin, viewer, org_admin, SecretBox(os.urandom(32)), ops, boundary)


def _input(**changes: Any) -> OptionInput:
    base = OptionInput("Okta", "https://example.okta.com", "client-1", client_secret=SECRET)
    return dataclasses.replace(base, **changes)


def _create(w: World, **changes: Any) -> uc.OptionView:
    with w.db.transaction() as connection:
        return uc.create(connection, w.admin, _input(**changes), w.box, PUBLIC, utcnow())


def _update(w: World, option_id: str, version: int | None = None, **changes: Any) -> uc.OptionView:
    with w.db.transaction() as connection:
        return uc.update(connection, w.admin, option_id, _input(**changes), w.box, PUBLIC, utcnow(), version)


def _stored(w: World, option_id: str) -> options.LoginOption:
    with w.db.snapshot() as connection:
        found = store.get(connection, option_id)
    assert found is not None
    return found


def test_create_stores_the_secret_encrypted_and_never_shows_it(world: World) -> None:
    view = _create(world, rules=[{"target_id": "Ops", "attribute": "$.groups[*]", "operation": "exact_match",
                                  "value": "ops"}])  # fmt: skip
    assert uuid.UUID(view.id).version == 4
    assert view.secret_source == "stored" and view.client_secret_env is None
    assert SECRET not in repr(view) and SECRET not in repr(_input())
    assert view.redirect_uri == f"{PUBLIC}/sso/oidc/{view.id}/callback"
    assert view.initiate_login_uri == f"{PUBLIC}/sso/oidc/{view.id}/login"
    assert view.scopes == "openid profile email" and view.username_claim == "preferred_username"
    assert [r.target_id for r in view.rules] == [world.ops_role]  # a name is stored as the role's id
    stored = _stored(world, view.id)
    assert stored.client_secret_encrypted and SECRET not in stored.client_secret_encrypted
    assert world.box.decrypt(stored.client_secret_encrypted, view.id) == SECRET


def test_the_audit_record_never_holds_the_secret(world: World) -> None:
    origin = Origin("api", "admin")
    data = _input()
    change = uc.CREATE.about(None, **uc.audit_summary(data))
    view = audited_sync(
        world.db, origin, change,
        lambda c: uc.create(c, world.admin, data, world.box, PUBLIC, utcnow()),
        describe=lambda v, ch: ch.about(v.id),
    )  # fmt: skip
    with world.db.snapshot() as connection:
        row = connection.execute(sa.select(audit_events).where(audit_events.c.event == "iam:CreateLoginOption")).one()
    assert row.resource_id == view.id and row.outcome == "success"
    summary = orjson.loads(row.summary)
    assert summary["client_auth"] == "stored" and summary["name"] == "Okta"
    assert SECRET not in row.summary and SECRET not in str(row)


def test_stored_and_environment_secrets_replace_each_other(world: World) -> None:
    view = _create(world, client_secret=None, client_secret_env="OKTA_SECRET")
    assert view.secret_source == "env" and view.client_secret_env == "OKTA_SECRET"
    assert _stored(world, view.id).client_secret_encrypted is None

    kept = _update(world, view.id, client_secret=None, client_secret_env="  ", name="Okta 2")
    assert kept.secret_source == "env" and kept.client_secret_env == "OKTA_SECRET" and kept.name == "Okta 2"

    stored = _update(world, view.id, client_secret=SECRET)
    assert stored.secret_source == "stored" and stored.client_secret_env is None
    ciphertext = _stored(world, view.id).client_secret_encrypted
    assert ciphertext and world.box.decrypt(ciphertext, view.id) == SECRET

    unchanged = _update(world, view.id, client_secret="")  # blank: keep the stored secret
    assert unchanged.secret_source == "stored" and _stored(world, view.id).client_secret_encrypted == ciphertext

    back = _update(world, view.id, client_secret=None, client_secret_env="ENTRA_SECRET")
    assert back.secret_source == "env" and _stored(world, view.id).client_secret_encrypted is None


def test_a_secret_is_required_and_not_both(world: World) -> None:
    with pytest.raises(InvalidInput, match="confidential client"):
        _create(world, client_secret=None)
    with pytest.raises(InvalidInput, match="not both"):
        _create(world, client_secret_env="OKTA_SECRET")
    with pytest.raises(InvalidInput, match="environment variable name"):
        _create(world, client_secret=None, client_secret_env="NOT-A-NAME")
    with world.db.snapshot() as connection:
        assert store.list_all(connection) == []


def test_every_wrong_field_is_named_at_once_and_nothing_is_stored(world: World) -> None:
    with pytest.raises(FieldProblems) as raised:
        _create(
            world, name=" ", issuer="http://idp.example.com", client_id="", scopes="profile",
            client_secret=None, client_secret_env="NOT-A-NAME", email_claim="x" * 101,
            rules=[{"target_id": "Ops", "attribute": "groups", "operation": "exact_match", "value": "ops"}],
        )  # fmt: skip
    assert set(raised.value.fields) == {"name", "issuer", "client_id", "scopes", "client_secret_env", "email_claim"}
    assert (
        raised.value.fields["issuer"] == "The issuer must use https (http is accepted only for localhost, for tests)."
    )
    option = _create(world)
    with pytest.raises(FieldProblems) as changed:
        _update(world, option.id, option.version, issuer="ftp://x", scopes="email", client_secret=None)
    assert set(changed.value.fields) == {"issuer", "scopes"}
    with world.db.snapshot() as connection:
        assert [found.id for found in store.list_all(connection)] == [option.id]
        assert store.get(connection, option.id).version == option.version  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("issuer", "accepted"),
    [
        ("https://login.microsoftonline.com/tenant/v2.0", True),
        ("http://127.0.0.1:8000", True),
        ("http://idp.example.com", False),
        ("https://idp.example.com?x=1", False),
        ("ftp://idp.example.com", False),
        ("idp.example.com", False),
    ],
)
def test_the_issuer_is_an_https_url(world: World, issuer: str, accepted: bool) -> None:
    if accepted:
        assert _create(world, issuer=issuer).issuer == issuer
    else:
        with pytest.raises(InvalidInput, match="issuer"):
            _create(world, issuer=issuer)


def test_scopes_must_include_openid(world: World) -> None:
    with pytest.raises(InvalidInput, match="'openid'"):
        _create(world, scopes="profile email")
    assert _create(world, scopes="openid groups groups").scopes == "openid groups"


def test_viewers_read_but_only_super_admins_change(world: World) -> None:
    view = _create(world)
    for who in (world.viewer, world.org_admin):
        with world.db.snapshot() as connection:
            assert uc.get(connection, who, view.id, PUBLIC).name == "Okta"
            assert [o.id for o in uc.state(connection, who, PUBLIC).options] == [view.id]
        attempts = [
            lambda c, p=who: uc.create(c, p, _input(name="Other"), world.box, PUBLIC, utcnow()),
            lambda c, p=who: uc.update(c, p, view.id, _input(name="Hijack"), world.box, PUBLIC, utcnow()),
            lambda c, p=who: uc.delete(c, p, view.id),
            lambda c, p=who: password_login.set_password_login(c, p, False),
        ]
        for attempt in attempts:
            with pytest.raises(Forbidden) as refused, world.db.transaction() as connection:
                attempt(connection)
            assert refused.value.status == 403 and "iam:UpdateLoginOption" in refused.value.detail
    assert _stored(world, view.id).name == "Okta"


def test_nobody_reads_without_the_get_permission(world: World, db: Database) -> None:
    with db.transaction() as connection:
        nobody = _user(connection, "nora", None, world.admin)
        with pytest.raises(Forbidden):
            uc.state(connection, nobody, PUBLIC)
        with pytest.raises(Forbidden):
            role_mapping_rules.dry_run(connection, nobody, "[]", "{}")


def test_rule_targets_must_exist_and_are_named_by_number(world: World) -> None:
    good = {"target_id": world.ops_role, "attribute": "$.groups[*]", "operation": "exact_match", "value": "ops"}
    missing = {**good, "target_id": "no-such-role"}
    with pytest.raises(InvalidInput, match=r"^In rule 2, there is no role with the id or name “no-such-role”\.$"):
        _create(world, rules=[good, missing])
    with pytest.raises(InvalidInput, match=r"^In rule 1, there is no permission policy"):
        _create(world, rules=[{**good, "kind": "boundary"}])  # a role's id is no policy
    with pytest.raises(InvalidInput, match=r"^In rule 2, the operation “equals” is not one of exact_match, "):
        _create(world, rules=[good, {**good, "operation": "equals"}])
    view = _create(world, rules=[good, {**good, "kind": "boundary", "target_id": "READ-ONLY"}])
    assert [(r.kind, r.target_id) for r in view.rules] == [("role", world.ops_role), ("boundary", world.boundary)]


@pytest.mark.parametrize("target", [SUPER_ADMIN_ROLE_ID, "Super Admin", "super admin"])
def test_the_super_admin_role_is_never_a_mapping_target(world: World, target: str) -> None:
    rule = {"target_id": target, "attribute": "$.groups[*]", "operation": "exact_match", "value": "admins"}
    with pytest.raises(InvalidInput, match=r"^In rule 1, the built-in role Super Admin cannot be granted"):
        _create(world, rules=[rule])
    view = _create(world)
    with pytest.raises(InvalidInput, match="Super Admin accounts only"):
        _update(world, view.id, rules=[rule])
    assert _stored(world, view.id).rules() == ()


def test_password_sign_in_stays_on_while_no_option_is_enabled(world: World) -> None:
    with pytest.raises(Conflict) as refused, world.db.transaction() as connection:
        password_login.set_password_login(connection, world.admin, False)
    assert refused.value.status == 409 and "while no other login option is enabled" in refused.value.detail
    disabled = _create(world, enabled=False)
    with pytest.raises(Conflict), world.db.transaction() as connection:
        password_login.set_password_login(connection, world.admin, False)

    enabled = _create(world, name="Entra ID")
    with pytest.raises(Conflict) as refused, world.db.transaction() as connection:  # nobody has used it yet
        password_login.set_password_login(connection, world.admin, False)
    assert "nobody who may change login options has signed in through an enabled option (Entra ID)" in str(
        refused.value.detail
    )
    with world.db.transaction() as connection:  # people who may not change login options are no way back
        signed_in_through(connection, enabled.id, world.viewer.user_id or "")
        signed_in_through(connection, enabled.id, world.org_admin.user_id or "")
    with pytest.raises(Conflict), world.db.transaction() as connection:
        password_login.set_password_login(connection, world.admin, False)
    with world.db.transaction() as connection:
        assert password_login.way_back(connection, world.admin).admins == ()
        signed_in_through(connection, enabled.id, world.admin.user_id or "")
        assert password_login.way_back(connection, world.admin).admins == (("Entra ID", "admin"),)
        password_login.set_password_login(connection, world.admin, False)
    with world.db.snapshot() as connection:
        assert uc.state(connection, world.admin, PUBLIC).password_enabled is False
    with pytest.raises(Conflict):
        _update(world, enabled.id, name="Entra ID", enabled=False)
    with pytest.raises(Conflict), world.db.transaction() as connection:
        uc.delete(connection, world.admin, enabled.id)
    with world.db.transaction() as connection:
        uc.delete(connection, world.admin, disabled.id)  # a disabled option may go
        password_login.set_password_login(connection, world.admin, True)
    with world.db.transaction() as connection:
        uc.delete(connection, world.admin, enabled.id)
        with pytest.raises(NotFound):
            uc.get(connection, world.admin, enabled.id, PUBLIC)


def test_a_stale_version_is_refused(world: World) -> None:
    view = _create(world)
    saved = _update(world, view.id, view.version, name="Okta (prod)")
    assert saved.version == view.version + 1
    with pytest.raises(PreconditionFailed) as stale:
        _update(world, view.id, view.version, name="Okta (old tab)")
    assert stale.value.status == 412 and "changed since you loaded it" in stale.value.detail
    assert _stored(world, view.id).name == "Okta (prod)"
    with pytest.raises(NotFound):
        _update(world, str(uuid.uuid4()), None)


def test_names_are_unique_ignoring_case(world: World) -> None:
    _create(world)
    with pytest.raises(Conflict, match="already exists"):
        _create(world, name="OKTA")


def test_scim_only_defaults_to_whether_scim_is_on(world: World) -> None:
    default, never = _create(world), _create(world, name="Entra", scim_only=False)
    assert (default.effective_scim_only, never.effective_scim_only) == (False, False)
    with world.db.transaction() as connection:
        scim_control.enable(connection)
    with world.db.snapshot() as connection:
        state = {o.name: o for o in uc.state(connection, world.admin, PUBLIC).options}
        assert state["Okta"].scim_only is None and state["Okta"].effective_scim_only is True
        assert state["Entra"].effective_scim_only is False
        assert uc.state(connection, world.admin, PUBLIC).scim_enabled


def test_dry_run_names_targets_and_the_matching_rule(world: World) -> None:
    rules = [
        {"target_id": "Ops", "attribute": "$.groups[*]", "operation": "exact_match", "value": "admins"},
        {"target_id": world.ops_role, "attribute": "$.groups", "operation": "contains_string_in_array",
         "value": "ops"},
        {"kind": "boundary", "target_id": "read-only", "attribute": "$.department", "operation": "regex",
         "value": "Sales|Support"},
        {"target_id": "gone", "attribute": "$.sub", "operation": "regex", "value": ".*"},
    ]  # fmt: skip
    claims = {"sub": "1", "groups": ["eng", "devops"], "department": "Support"}
    with world.db.snapshot() as connection:
        result = role_mapping_rules.dry_run(connection, world.viewer, orjson.dumps(rules).decode(), claims)
    assert [o.matched for o in result.outcomes] == [False, True, True, True]
    second = result.outcomes[1]
    assert (second.number, second.target.name, second.value, second.location) == (2, "Ops", "devops", "$['groups'][1]")
    assert [(g.target.name, g.rule) for g in result.roles] == [("Ops", 2), (None, 4)]
    assert result.roles[1].target.problem == "no such role"
    assert [(g.target.name, g.rule) for g in result.boundaries] == [("read-only", 3)]
    as_json = result.to_json()
    assert as_json["roles"][0] == {"kind": "role", "id": world.ops_role, "name": "Ops", "problem": None, "rule": 2}
    with (
        world.db.snapshot() as connection,
        pytest.raises(InvalidInput, match=r"^The sample claims must be a JSON object"),
    ):
        role_mapping_rules.dry_run(connection, world.viewer, rules, "[1]")
    with (
        world.db.snapshot() as connection,
        pytest.raises(InvalidInput, match=r"^In rule 1, give the value to compare with\.$"),
    ):
        no_value = [{k: v for k, v in rules[0].items() if k != "value"}]
        role_mapping_rules.dry_run(connection, world.viewer, no_value, "{}")
    with world.db.snapshot() as connection, pytest.raises(InvalidInput, match=r"^The rules are not valid JSON"):
        role_mapping_rules.dry_run(connection, world.viewer, "[{", "{}")


def test_a_proposed_id_is_used_once_and_must_be_a_random_uuid(world: World) -> None:
    proposed = uc.new_option_id()
    with world.db.transaction() as connection:
        view = uc.create(connection, world.admin, _input(), world.box, PUBLIC, utcnow(), option_id=proposed)
    assert view.id == proposed and view.redirect_uri.endswith(f"/sso/oidc/{proposed}/callback")
    with pytest.raises(Conflict, match="created already"), world.db.transaction() as connection:
        uc.create(connection, world.admin, _input(name="Other"), world.box, PUBLIC, utcnow(), option_id=proposed)
    for bad in ("not-a-uuid", str(uuid.uuid5(uuid.NAMESPACE_URL, "x")), proposed.upper()):
        with pytest.raises(InvalidInput, match="random UUID"), world.db.transaction() as connection:
            uc.create(connection, world.admin, _input(name="Other"), world.box, PUBLIC, utcnow(), option_id=bad)


# ------------------------------------------------------------------------------------------ the pages


def test_the_setup_page_names_the_rules_and_the_targets_a_rule_may_name(world: World) -> None:
    rule = {"target_id": "Ops", "attribute": "$.groups[*]", "operation": "exact_match", "value": "ops"}
    view = _create(world, rules=[rule])
    with world.db.snapshot() as connection:
        shown = uc.setup_page(connection, world.viewer, view.id, PUBLIC)
    assert shown.option is not None and shown.option.id == view.id and not shown.scim_enabled
    assert [(line.number, line.target.name) for line in shown.rules] == [(1, "Ops")]
    assert "Ops" in {r.name for r in shown.roles} and not any(r.built_in for r in shown.roles)
    assert "read-only" in {p.name for p in shown.policies}
    with world.db.snapshot() as connection:
        fresh = uc.setup_page(connection, world.admin, None, PUBLIC)
    assert fresh.option is None and fresh.rules == [] and fresh.roles


def test_the_new_option_form_is_the_form_of_a_change(world: World, db: Database) -> None:
    with db.transaction() as connection:
        nobody = _user(connection, "nora", None, world.admin)
    with world.db.snapshot() as connection, pytest.raises(Forbidden, match="iam:UpdateLoginOption"):
        uc.setup_page(connection, world.viewer, None, PUBLIC)
    view = _create(world)
    with world.db.snapshot() as connection, pytest.raises(Forbidden, match="iam:GetLoginOption"):
        uc.setup_page(connection, nobody, view.id, PUBLIC)
    with world.db.snapshot() as connection, pytest.raises(NotFound):
        uc.setup_page(connection, world.admin, str(uuid.uuid4()), PUBLIC)


def test_the_option_to_delete_is_refused_to_readers_and_delete_says_its_name(world: World) -> None:
    view = _create(world)
    with world.db.snapshot() as connection:
        assert uc.option_to_delete(connection, world.admin, view.id, PUBLIC).name == "Okta"
        for reader in (world.viewer, world.org_admin):
            with pytest.raises(Forbidden, match="iam:UpdateLoginOption"):
                uc.option_to_delete(connection, reader, view.id, PUBLIC)
    with world.db.transaction() as connection:
        assert uc.delete(connection, world.admin, view.id) == "Okta"
    with world.db.snapshot() as connection, pytest.raises(NotFound):
        uc.option_to_delete(connection, world.admin, view.id, PUBLIC)
    with pytest.raises(NotFound), world.db.transaction() as connection:
        uc.delete(connection, world.admin, view.id)


def test_the_dashboard_form_keeps_only_a_stored_secret(world: World) -> None:
    view = _create(world, client_secret=None, client_secret_env="OKTA_SECRET")

    def update(keep: Any, **changes: Any) -> uc.OptionView:
        data = _input(**{"client_secret": None, **changes})
        with world.db.transaction() as connection:
            return uc.update(connection, world.admin, view.id, data, world.box, PUBLIC, utcnow(), keep=keep)

    with pytest.raises(InvalidInput, match="Enter the client secret to store"):
        update("stored", name="Okta 2")  # the form says "store it" and gives none: nothing is stored to keep
    assert _stored(world, view.id).name == "Okta"
    assert update("any", name="Okta 2").secret_source == "env"  # the API keeps what there is
    stored = update("stored", client_secret=SECRET)
    assert stored.secret_source == "stored"
    assert update("stored", name="Okta 3").secret_source == "stored"  # now there is one to keep
    with pytest.raises(Forbidden), world.db.transaction() as connection:
        uc.update(connection, world.viewer, view.id, _input(), world.box, PUBLIC, utcnow(), keep="stored")


def test_the_sign_in_page_offers_the_enabled_options_by_name(world: World) -> None:
    with world.db.snapshot() as connection:
        assert uc.sign_in_choices(connection) == uc.SignInChoices(True, [])
    okta = _create(world)
    _create(world, name="Entra", enabled=False)
    auth0 = _create(world, name="Auth0")
    with world.db.transaction() as connection:
        signed_in_through(connection, okta.id, world.admin.user_id or "")
        password_login.set_password_login(connection, world.admin, False)
    with world.db.snapshot() as connection:
        expected = [(auth0.id, "Auth0", "oidc"), (okta.id, "Okta", "oidc")]
        assert uc.sign_in_choices(connection) == uc.SignInChoices(False, expected)
