"""Applying a configuration file (:mod:`gatehouse.iam.config_apply`), on both databases: every kind of object
created, updated and deleted through the dashboard's use cases, a second apply that changes nothing, one audit
record per object changed, a plan that no longer holds refused, a failure half-way leaving the database exactly as
it was, SCIM tokens created only when asked (their secret once), time-bound grants, and each change's own
permission and guards checked again."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from gatehouse.errors import Conflict, Forbidden, GatehouseError, PreconditionFailed
from gatehouse.iam import config_apply
from gatehouse.iam import roles as rbac
from gatehouse.iam.audit import audited_sync
from gatehouse.iam.authorizer import load_principal
from gatehouse.iam.config_apply import TokensNeedConsent
from gatehouse.iam.rbac_forms import role_input
from gatehouse.store import config_state, scim_tokens
from gatehouse.store import roles as role_store
from gatehouse.store.audit import AuditQuery
from gatehouse.store.audit import search as audit_search
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from support.config import GG, ORIGIN, PUBLIC_URL, apply_text, directory, dump, expiry, load, plan_text
from support.iam import People, add_user

BASE = textwrap.dedent(
    f"""\
    version: 1
    permission_policies:
      - name: read all
        document: {{statement: [{{effect: allow, actions: ["iam:Get<.*>"], resources: ["*"]}}]}}
      - name: gateway read
        document: {{statement: [{{effect: allow, actions: [gateway:GetGatewayGroup], resources: ["{GG}/*"]}}]}}
    roles:
      - {{name: Readers, policies: [read all], requestable: {{max_minutes: 60, answer_within_minutes: 30}}}}
      - {{name: Gateway, policies: [gateway read], labels: {{team: gw}}}}
    group_bindings:
      - {{displayName: ops, roles: [Readers]}}
    user_grants:
      - {{userName: user01, roles: [Readers, Gateway], boundaries: [read all]}}
    login:
      options:
        - name: Okta
          kind: oidc
          issuer: https://example.okta.com
          client_id: gatehouse
          secret: {{env: OKTA_SECRET}}
          rules: [{{role: Readers, attribute: "$.groups[*]", operation: exact_match, value: readers}}]
        - name: Directory
          kind: ldap
          enabled: false
          secret: {{env: LDAP_PASSWORD}}
          ldap: {{host: ldap.example.com, base_dn: "dc=example,dc=org", bind_dn: "cn=svc,dc=example,dc=org"}}
        - name: SAML
          kind: saml
          enabled: false
          saml: {{idp_metadata_url: "https://idp.example.com/metadata"}}
    scim:
      enabled: true
      password_sign_in: true
      tokens: [okta]
    gateway:
      preset: true
      rules:
        - {{path: "/api/gateway_groups/{{gg}}", action: gateway:GetGatewayGroup, resource: "{GG}/{{gg}}"}}
        - {{path: "/x", methods: [POST], action: gateway:CreateGatewayGroup, resource: "{GG}/*"}}
      resource_labels:
        - {{resource: "{GG}/dev", labels: {{env: dev}}}}
    """
)
CHANGED = (
    BASE.replace("requestable: {max_minutes: 60, answer_within_minutes: 30}", "description: Readers.")
    .replace("policies: [gateway read], labels: {team: gw}", "policies: [gateway read, read all], labels: {}")
    .replace("{displayName: ops, roles: [Readers]}", "{displayName: ops, roles: [Readers, Gateway]}")
    .replace("boundaries: [read all]", "boundaries: []")
    .replace("client_id: gatehouse", "client_id: gatehouse-2")
    .replace("enabled: false\n      secret", "enabled: true\n      secret")
    .replace('base_dn: "dc=example,dc=org"', 'base_dn: "ou=people,dc=example,dc=org"')
    .replace("password_sign_in: true", "password_sign_in: false")
    .replace("preset: true", "preset: false")
    .replace('{path: "/x", methods: [POST]', '{path: "/y", methods: [PUT]')
    .replace("{env: dev}", "{env: development}")
)
FEWER = textwrap.dedent(
    """\
    version: 1
    permission_policies:
      - name: read all
        document: {statement: [{effect: allow, actions: ["iam:Get<.*>"], resources: ["*"]}]}
    roles:
      - {name: Readers, policies: [read all]}
    group_bindings: []
    user_grants: [{userName: vera, roles: [Readers]}]
    login: {options: []}
    scim: {tokens: []}
    gateway: {rules: [], resource_labels: []}
    """
)


@pytest.fixture
def people_in(db: Database, people: People) -> People:
    directory(db)
    return people


def records(db: Database, event: str = "") -> list[Any]:
    with db.reader() as connection:
        return audit_search(connection, AuditQuery(event=event), limit=500).records


# ------------------------------------------------------------------------------------------ every change


def test_create_update_delete_every_kind_and_apply_again_changes_nothing(db: Database, people_in: People) -> None:
    root = people_in.root
    created = apply_text(db, root, BASE, issue_tokens=True)
    assert {change.action for change in created.plan.changes} == {"create", "update"}
    assert [token.name for token in created.issued] == ["okta"] and created.issued[0].token.startswith("ghs_")
    assert not plan_text(db, root, BASE).changed
    before = dump(db)
    again = apply_text(db, root, BASE)
    assert again.plan.changes == () and dump(db) == before  # idempotent: not a row changes

    updated = apply_text(db, root, CHANGED)
    assert {change.action for change in updated.plan.changes} == {"update"}
    assert len(updated.plan.changes) == 10
    assert not plan_text(db, root, CHANGED).changed
    with db.snapshot() as connection:
        gateway = role_store.get_by_name(connection, "Gateway")
        assert gateway is not None and gateway.labels == {}
        assert len(role_store.policy_ids_of(connection, [gateway.id])[gateway.id]) == 2

    deleted = apply_text(db, root, FEWER, prune=True)
    assert {change.action for change in deleted.plan.changes} == {"update", "delete"}
    assert not plan_text(db, root, FEWER, prune=True).changed
    with db.snapshot() as connection:
        assert role_store.get_by_name(connection, "Gateway") is None
        assert scim_tokens.live(connection) == []
        assert [g.user.user_name for g in config_state.user_grants(connection)] == ["vera"]


def test_one_audit_record_per_object_and_one_for_the_change_set(db: Database, people_in: People) -> None:
    where, model = load(BASE)
    change = config_apply.change_set(prune=False)

    def work(connection: Any) -> config_apply.Applied:
        return config_apply.apply(
            connection, people_in.root, ORIGIN, model, where, public_url=PUBLIC_URL, now=utcnow(), issue_tokens=True
        )

    applied = audited_sync(
        db, ORIGIN, change, work, describe=lambda done, c: c.about(done.plan.plan_id, **done.summary())
    )
    per_object = [r for r in records(db) if r.summary.get("via") == "config apply" and r.event != "iam:ApplyConfig"]
    assert len(per_object) == len(applied.plan.changes) == 14
    assert {r.event for r in per_object} >= {
        "iam:CreatePermissionPolicy", "iam:CreateRole", "iam:UpdateGroupBinding", "iam:UpdateUserRole",
        "iam:CreateLoginOption", "iam:UpdateSCIMProvisioning", "iam:UpdateAuthzRule", "gateway:UpdateGatewayGroup",
    }  # fmt: skip
    [change_set] = records(db, "iam:ApplyConfig")
    assert change_set.outcome == "success" and change_set.resource_id == applied.plan.plan_id
    assert change_set.summary["create"] == 11 and change_set.summary["issued"] == ["okta"]
    assert "ghs_" not in str([r.summary for r in records(db)])  # the new token's secret is never recorded


# ------------------------------------------------------------------------------------------ all or nothing


def test_a_plan_that_no_longer_holds_is_refused(db: Database, people_in: People) -> None:
    reviewed = plan_text(db, people_in.root, BASE)
    with db.transaction() as connection:  # someone changes the configuration between plan and apply
        rbac.create_role(connection, people_in.root, role_input("Meanwhile"))
    before = dump(db)
    with pytest.raises(PreconditionFailed, match=f"changed since plan {reviewed.plan_id}"):
        apply_text(db, people_in.root, BASE, plan_id=reviewed.plan_id, issue_tokens=True)
    assert dump(db) == before
    current = plan_text(db, people_in.root, BASE)
    assert current.plan_id != reviewed.plan_id
    assert apply_text(db, people_in.root, BASE, plan_id=current.plan_id, issue_tokens=True).plan.changed


@pytest.mark.parametrize("failure", [RuntimeError("injected"), Conflict("injected conflict")])
def test_a_failure_half_way_leaves_the_database_as_it_was(
    db: Database, people_in: People, monkeypatch: pytest.MonkeyPatch, failure: Exception
) -> None:
    """Policies, roles and login options are made before the grants; the grants' step fails: nothing stays."""
    apply_text(db, people_in.root, FEWER)
    before = dump(db)
    audit_before = len(records(db))

    def fail(*args: Any, **kwargs: Any) -> None:
        raise failure

    monkeypatch.setattr(config_apply.rbac, "set_user_roles", fail)
    where, model = load(BASE)

    def work(connection: Any) -> config_apply.Applied:
        return config_apply.apply(
            connection, people_in.root, ORIGIN, model, where, public_url=PUBLIC_URL, now=utcnow(), issue_tokens=True
        )

    with pytest.raises(type(failure)) as raised:
        audited_sync(db, ORIGIN, config_apply.change_set(), work)
    assert dump(db) == before
    found = records(db)
    assert len(found) == audit_before + 1  # only the failed change set, in a transaction of its own
    assert found[0].event == "iam:ApplyConfig" and found[0].outcome == "failed"
    if isinstance(failure, GatehouseError):  # a refusal names the object it was about
        assert str(raised.value).startswith("grants of user 'user01': injected conflict")
        assert found[0].error is not None and "grants of user 'user01'" in found[0].error


def test_scim_tokens_are_created_only_when_asked(db: Database, people_in: People) -> None:
    before = dump(db)
    with pytest.raises(TokensNeedConsent, match="'okta' does not exist") as raised:
        apply_text(db, people_in.root, BASE)
    assert "--issue-tokens" in str(raised.value) and dump(db) == before


# ------------------------------------------------------------------------------------------ time-bound grants


def test_time_bound_grants_are_set_moved_and_removed(db: Database, people_in: People) -> None:
    root = people_in.root
    apply_text(db, root, BASE, issue_tokens=True)
    soon, later = expiry(3), expiry(40)
    timed = BASE.replace("roles: [Readers, Gateway]", f"roles: [Readers, {{role: Gateway, expires: '{soon}'}}]")
    timed = timed.replace(
        "{displayName: ops, roles: [Readers]}", f"{{displayName: ops, roles: [{{role: Readers, expires: {later}}}]}}"
    )
    applied = apply_text(db, root, timed)
    assert [(c.kind, c.action) for c in applied.plan.changes] == [("group_binding", "update"), ("user_grant", "update")]
    assert not plan_text(db, root, timed).changed
    with db.snapshot() as connection:
        [grants] = [g for g in config_state.user_grants(connection) if g.user.user_name == "user01"]
        [bound] = config_state.group_bindings(connection)
    assert sorted(str(until)[:10] for _, until in grants.roles) == sorted([soon[:10], "None"])
    assert [str(until)[:10] for _, until in bound.roles] == [later[:10]]
    moved = timed.replace(soon, expiry(5))
    assert apply_text(db, root, moved).plan.changed
    assert not plan_text(db, root, moved).changed
    assert apply_text(db, root, BASE).plan.changed  # back to grants until taken away
    assert not plan_text(db, root, BASE).changed
    past = BASE.replace(
        "roles: [Readers, Gateway]", "roles: [Readers, {role: Gateway, expires: '2001-01-01T00:00:00Z'}]"
    )
    assert [c.changed("roles") is not None for c in plan_text(db, root, past).changes] == [True]  # grants nothing


def test_a_role_with_expired_grants_is_deleted(db: Database, people_in: People) -> None:
    root = people_in.root
    apply_text(db, root, BASE, issue_tokens=True)
    with db.transaction() as connection:  # an expired grant the expiry job has not settled yet
        gateway = role_store.get_by_name(connection, "Gateway")
        assert gateway is not None
        from gatehouse.store import grants as grant_store

        vera = load_principal(connection, people_in.viewer_id).user_id
        assert vera is not None
        grant_store.grant_role(connection, vera, gateway.id, "request", "tests", utcnow(), utcnow())
    fewer = FEWER.replace("user_grants: [{userName: vera, roles: [Readers]}]", "user_grants: []")
    apply_text(db, root, fewer, prune=True)
    with db.snapshot() as connection:
        assert role_store.get_by_name(connection, "Gateway") is None


# ------------------------------------------------------------------------------------------ permissions and guards


def test_each_change_needs_its_own_permission(db: Database, people_in: People) -> None:
    """An Organization Admin may apply (iam:ApplyConfig) but not change login options: nothing is applied."""
    with db.transaction() as connection:
        admin_id = add_user(connection, "olga")
        org_admin = role_store.get_by_name(connection, "Organization Admin")
        assert org_admin is not None
        rbac.assign_role(connection, people_in.root, admin_id, org_admin.id)
        olga = load_principal(connection, admin_id)
    before = dump(db)
    with pytest.raises(Forbidden, match=r"login option 'Okta': .*iam:UpdateLoginOption"):
        apply_text(db, olga, BASE, issue_tokens=True)
    assert dump(db) == before
    with pytest.raises(Forbidden, match="iam:ApplyConfig"):
        apply_text(db, people_in.viewer, "version: 1\n")


def test_the_use_cases_guards_hold(db: Database, people_in: People) -> None:
    """Password sign-in off is refused by the use case too when nobody could get back in (no one has signed in
    through an enabled option): the whole apply is refused."""
    apply_text(db, people_in.root, BASE, issue_tokens=True)
    before = dump(db)
    with pytest.raises(Conflict, match="password sign-in"):
        apply_text(db, people_in.root, BASE.replace("login:\n", "login:\n  password: false\n"))
    assert dump(db) == before
    with db.snapshot() as connection:
        assert scim_tokens.live(connection)[0].name == "okta"


def test_password_sign_in_off_in_the_same_file_as_the_option_that_replaces_it(db: Database, people_in: People) -> None:
    """Options are made before password sign-in goes off, and password sign-in comes back before they go: the
    order of the steps keeps a way in at every moment of the transaction."""
    from gatehouse.store import login_options as option_store
    from gatehouse.store import sso_links

    root_id = people_in.root.user_id
    assert root_id is not None
    apply_text(db, people_in.root, BASE, issue_tokens=True)
    with db.transaction() as connection:  # the Super Admin has signed in through Okta: a way back in
        okta = next(option for option in option_store.list_all(connection) if option.name == "Okta")
        sso_links.link(connection, okta.id, "root-at-okta", root_id, utcnow())
        sso_links.touch(connection, okta.id, "root-at-okta", utcnow())
    off = BASE.replace("login:\n", "login:\n  password: false\n")
    applied = apply_text(db, people_in.root, off)
    assert [(c.kind, c.action) for c in applied.plan.changes] == [("password_sign_in", "update")]
    with db.snapshot() as connection:
        assert not option_store.password_login_enabled(connection)
    back = "version: 1\nlogin:\n  password: true\n  options: []\n"  # password back on first, then Okta goes
    applied = apply_text(db, people_in.root, back, prune=True)
    assert [change.kind for change in applied.plan.changes].count("login_option") == 3
    with db.snapshot() as connection:
        assert option_store.password_login_enabled(connection) and option_store.list_all(connection) == []
