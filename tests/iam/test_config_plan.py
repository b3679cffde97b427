"""Planning a configuration file (:mod:`gatehouse.iam.config_plan`), on both databases: every kind of object
created, updated (with the fields that change) and deleted (``prune`` only), sections a file leaves out left
alone, and files refused with every problem named by object, field and line: an unknown action, role, user or
group, a name given twice, a secret's value, the built-in Super Admin, guards the dashboard keeps."""

from __future__ import annotations

import textwrap
import uuid

import pytest

from gatehouse.errors import Forbidden
from gatehouse.iam.config_file import ConfigError
from gatehouse.iam.config_plan import Plan
from gatehouse.iam.gateway_rules import MAX_RULES
from gatehouse.store import groups, login_options
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from support.config import GG, apply_text, directory, expiry, load, plan_text
from support.iam import People

BASE = textwrap.dedent(
    f"""\
    version: 1
    permission_policies:
      - name: read all
        document:
          statement:
            - effect: allow
              actions: ["iam:Get<.*>"]
              resources: ["*"]
      - name: gateway read
        labels: {{team: gw}}
        document:
          statement:
            - {{effect: allow, actions: [gateway:GetGatewayGroup], resources: ["{GG}/*"]}}
    roles:
      - name: Readers
        description: Read everything.
        policies: [read all]
      - name: Gateway
        policies: [gateway read]
    group_bindings:
      - displayName: ops
        roles: [Readers]
    user_grants:
      - userName: user01
        roles: [Readers, Gateway]
        boundaries: [read all]
    login:
      password: true
      options:
        - name: Okta
          kind: oidc
          issuer: https://example.okta.com
          client_id: gatehouse
          secret: {{env: OKTA_SECRET}}
          rules:
            - {{role: Readers, attribute: "$.groups[*]", operation: exact_match, value: readers}}
    scim:
      enabled: true
      tokens: [okta]
    gateway:
      preset: true
      rules:
        - {{path: "/api/gateway_groups/{{gg}}", action: gateway:GetGatewayGroup, resource: "{GG}/{{gg}}"}}
      resource_labels:
        - {{resource: "{GG}/dev", labels: {{env: dev}}}}
    """
)


@pytest.fixture
def applied(db: Database, people: People) -> People:
    """The directory, and BASE applied."""
    directory(db)
    apply_text(db, people.root, BASE, issue_tokens=True)
    return people


def changes(plan: Plan) -> list[tuple[str, str, str]]:
    return [(change.kind, change.name, change.action) for change in plan.changes]


def invalid(db: Database, people: People, text: str, *, prune: bool = False) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        plan_text(db, people.root, textwrap.dedent(text), prune=prune)
    return raised.value.lines()


# ------------------------------------------------------------------------------------------ creating


def test_every_kind_of_object_is_created(db: Database, people: People) -> None:
    directory(db)
    plan = plan_text(db, people.root, BASE)
    assert changes(plan) == [
        ("permission_policy", "read all", "create"),
        ("permission_policy", "gateway read", "create"),
        ("role", "Readers", "create"),
        ("role", "Gateway", "create"),
        ("group_binding", "ops", "create"),
        ("user_grant", "user01", "create"),
        ("login_option", "Okta", "create"),
        ("scim_settings", "", "update"),
        ("scim_token", "okta", "create"),
        ("authz_preset", "", "update"),
        ("authz_rules", "", "update"),
        ("resource_labels", f"{GG}/dev", "create"),
    ]
    assert plan.sections == {
        "permission_policies",
        "roles",
        "group_bindings",
        "user_grants",
        "login",
        "scim",
        "gateway",
    }
    assert "--issue-tokens" in plan.changes[8].notes[0]
    text = plan.text()
    assert "  + role 'Readers'" in text and "12 to create" not in text and "9 to create, 3 to update" in text


def test_applied_then_planned_again_is_no_change(db: Database, applied: People) -> None:
    plan = plan_text(db, applied.root, BASE)
    assert plan.changes == () and "No changes" in plan.text()
    assert plan.as_json()["changed"] is False


# ------------------------------------------------------------------------------------------ updating


def test_every_kind_of_object_is_updated_with_its_fields(db: Database, applied: People) -> None:
    later = expiry(10)
    changed = (
        BASE.replace("description: Read everything.", "description: Read it all.")
        .replace("labels: {team: gw}", "labels: {team: gateway, tier: one}")
        .replace('actions: ["iam:Get<.*>"]', 'actions: ["iam:GetUser"]')
        .replace("policies: [gateway read]", "policies: [gateway read, read all]")
        .replace("roles: [Readers]\n", f"roles: [{{role: Readers, expires: '{later}'}}]\n")
        .replace("boundaries: [read all]", "boundaries: []")
        .replace("client_id: gatehouse", "client_id: gatehouse-2\n      scopes: [openid, groups]")
        .replace("password: true", "password: true")
        .replace("enabled: true\n  tokens", "enabled: false\n  tokens")
        .replace("preset: true", "preset: false")
        .replace("{env: dev}", "{env: dev, tier: gold}")
        .replace('resource: "arn:api7:gateway:gatewaygroup/{gg}"}', 'resource: "arn:api7:gateway:gatewaygroup/*"}')
    )
    plan = plan_text(db, applied.root, changed)
    found = {(c.kind, c.name): {f.field: (f.before, f.after) for f in c.fields} for c in plan.changes}
    assert all(c.action == "update" for c in plan.changes)
    assert found[("permission_policy", "read all")]["document"][1] == {
        "statement": [{"effect": "allow", "actions": ["iam:GetUser"], "resources": ["*"]}]
    }
    assert found[("permission_policy", "gateway read")] == {
        "labels": ({"team": "gw"}, {"team": "gateway", "tier": "one"})
    }
    assert found[("role", "Readers")] == {"description": ("Read everything.", "Read it all.")}
    assert found[("role", "Gateway")] == {"policies": (["gateway read"], ["gateway read", "read all"])}
    assert found[("group_binding", "ops")] == {"roles": (["Readers"], [{"role": "Readers", "expires": later}])}
    assert found[("user_grant", "user01")] == {"boundaries": (["read all"], None)}
    assert found[("login_option", "Okta")] == {
        "client_id": ("gatehouse", "gatehouse-2"),
        "scopes": (["openid", "profile", "email"], ["openid", "groups"]),
    }
    assert found[("scim_settings", "")] == {"enabled": (True, False)}
    assert found[("authz_preset", "")] == {"enabled": (True, False)}
    assert list(found[("authz_rules", "")]) == ["rules[0]"]
    assert found[("resource_labels", f"{GG}/dev")] == {"labels": ({"env": "dev"}, {"env": "dev", "tier": "gold"})}
    text = plan.text()
    assert "policies: + 'read all'" in text and "labels: + tier='one', team: 'gw' → 'gateway'" in text
    assert '-        "iam:Get<.*>"' in text and '+        "iam:GetUser"' in text  # the document as a diff


def test_names_ignore_case_and_spaces_and_a_case_change_is_an_update(db: Database, applied: People) -> None:
    plan = plan_text(db, applied.root, BASE.replace("- name: Readers", "- name: '  readers '"))
    assert changes(plan)[0] == ("role", "readers", "update")
    assert plan.changes[0].fields[0].as_dict() == {"field": "name", "before": "Readers", "after": "readers"}
    # what refers to it by name shows the new spelling (the same role: no grant changes hands)
    assert changes(plan)[1:] == [
        ("group_binding", "ops", "update"),
        ("user_grant", "user01", "update"),
        ("login_option", "Okta", "update"),
    ]


# ------------------------------------------------------------------------------------------ deleting


def test_deleting_needs_prune_and_a_section_left_out_is_never_touched(db: Database, applied: People) -> None:
    fewer = textwrap.dedent(
        """\
        version: 1
        permission_policies:
          - name: read all
            document: {statement: [{effect: allow, actions: ["iam:Get<.*>"], resources: ["*"]}]}
        roles:
          - {name: Readers, description: Read everything., policies: [read all]}
        group_bindings: []
        user_grants: []
        login: {options: []}
        scim: {tokens: []}
        gateway: {rules: [], resource_labels: []}
        """
    )
    assert changes(plan_text(db, applied.root, fewer)) == [("authz_rules", "", "update")]  # the table is one object
    pruned = plan_text(db, applied.root, fewer, prune=True)
    assert sorted(changes(pruned)) == sorted(
        [
            ("permission_policy", "gateway read", "delete"),
            ("permission_policy", "organization-admin-permission-policy", "delete"),
            ("permission_policy", "viewer-permission-policy", "delete"),
            ("role", "Gateway", "delete"),
            ("role", "Organization Admin", "delete"),
            ("role", "Viewer", "delete"),  # held by vera: her grant goes in the same plan
            ("group_binding", "ops", "delete"),
            ("user_grant", "user01", "delete"),
            ("user_grant", "vera", "delete"),
            ("login_option", "Okta", "delete"),
            ("scim_token", "okta", "delete"),
            ("authz_rules", "", "update"),
            ("resource_labels", f"{GG}/dev", "delete"),
        ]
    )
    # the built-in Super Admin role and policy are never deleted; a file without sections deletes nothing
    assert all("Super Admin" not in name and name != "super-admin-permission-policy" for _, name, _ in changes(pruned))
    assert changes(plan_text(db, applied.root, "version: 1\n", prune=True)) == []


def test_a_role_still_assigned_is_deleted_only_with_its_assignments(db: Database, applied: People) -> None:
    without_gateway = BASE.replace("  - name: Gateway\n    policies: [gateway read]\n", "")
    lines = invalid(db, applied, without_gateway, prune=True)
    assert lines == [
        "gatehouse.yaml:23: user 'user01' (user_grants[0]), roles[1]: there is no role named 'Gateway' (--prune "
        "deletes it: it is not in the file)"
    ]
    only_roles = "\n".join(without_gateway.split("group_bindings:")[0].splitlines())
    lines = invalid(db, applied, only_roles + "\n", prune=True)
    assert len(lines) == 2 and all(line.startswith("gatehouse.yaml:14: roles: role '") for line in lines)
    assert (
        "role 'Gateway' would be deleted (--prune, it is not in the file) but it is still assigned to 1 user "
        in lines[0]
    )
    assert "('user01'), and the file has no user_grants section" in lines[0]
    assert "role 'Viewer' would be deleted" in lines[1] and "('vera')" in lines[1]
    fixed = without_gateway.replace("roles: [Readers, Gateway]", "roles: [Readers]")
    assert ("role", "Gateway", "delete") in changes(plan_text(db, applied.root, fixed, prune=True))


# ------------------------------------------------------------------------------------------ invalid files


def test_an_unknown_action_is_named_with_its_line(db: Database, people: People) -> None:
    lines = invalid(
        db,
        people,
        """\
        version: 1
        permission_policies:
          - name: typo
            document:
              statement:
                - effect: allow
                  actions: [iam:GetUser, iam:getrole]
                  resources: ["*"]
        """,
    )
    assert lines == [
        "gatehouse.yaml:7: permission policy 'typo' (permission_policies[0]), document.statement[0].actions[1]: "
        "'iam:getrole' matches no action of the catalog; did you mean 'iam:GetRole'? Actions are case-sensitive"
    ]


def test_unknown_references_users_and_groups(db: Database, people: People) -> None:
    directory(db)
    lines = invalid(
        db,
        people,
        """\
        version: 1
        roles:
          - {name: A, policies: [nope]}
        group_bindings:
          - {displayName: nobody, roles: [A]}
          - {externalId: ext-1, roles: [B]}
        user_grants:
          - {userName: ghost, roles: [A]}
          - {userName: user02, roles: [Super Admin], boundaries: [missing]}
        login:
          options:
            - name: Okta
              kind: oidc
              issuer: https://example.okta.com
              client_id: x
              secret: {env: OKTA}
              rules: [{boundary: absent, attribute: $.x, operation: exact_match, value: y}]
        """,
    )
    assert lines == [
        "gatehouse.yaml:3: role 'A' (roles[0]), policies[0]: there is no permission policy named 'nope' in the file "
        "or in Gatehouse",
        "gatehouse.yaml:5: group 'nobody' (group_bindings[0]), displayName: there is no group named 'nobody' (groups "
        "are provisioned by SCIM; a file binds roles to them, never creates them)",
        "gatehouse.yaml:6: group 'ext-1' (group_bindings[1]), externalId: there is no group with the externalId "
        "'ext-1'",
        "gatehouse.yaml:6: group 'ext-1' (group_bindings[1]), roles[0]: there is no role named 'B' in the file or in "
        "Gatehouse",
        "gatehouse.yaml:8: user 'ghost' (user_grants[0]), userName: there is no user 'ghost' (users are provisioned by "
        "SCIM or invited; a file grants them roles, never creates them)",
        "gatehouse.yaml:9: user 'user02' (user_grants[1]), roles[0]: the built-in role 'Super Admin' is held by Super "
        "Admin accounts only: it cannot be granted, bound or mapped (create a Super Admin with `gatehouse admin "
        "create`)",
        "gatehouse.yaml:9: user 'user02' (user_grants[1]), boundaries[0]: there is no permission policy named "
        "'missing' in the file or in Gatehouse",
        "gatehouse.yaml:17: login option 'Okta' (login.options[0]), rules[0].boundary: there is no permission policy "
        "named 'absent' in the file or in Gatehouse",
    ]


def test_bindings_and_grants_a_file_cannot_make(db: Database, people: People) -> None:
    """A group named twice (by name, then by its externalId), an externalId two groups share, expiries without a
    time zone or more than ten years away, and a Super Admin in user_grants: each named at its line."""
    directory(db)
    with db.transaction() as connection:
        for name, external_id in (("ext ops", "ext-ops"), ("twin one", "shared"), ("twin two", "shared")):
            doc = {"schemas": [], "displayName": name, "externalId": external_id}
            groups.insert(connection, groups.GroupWrite(str(uuid.uuid4()), doc), utcnow())
    lines = invalid(
        db,
        people,
        """\
        version: 1
        roles:
          - {name: A}
        group_bindings:
          - {displayName: ext ops, roles: [A]}
          - {externalId: ext-ops, roles: [A]}
          - {externalId: shared, roles: [A]}
          - {displayName: dev, roles: [{role: A, expires: "2030-01-01T00:00:00"}]}
          - {displayName: sec, roles: [{role: A, expires: "2999-01-01T00:00:00Z"}]}
          - {displayName: ops, roles: [{role: A, expires: "9999-12-31T23:00:00-05:00"}]}
        user_grants:
          - {userName: ROOT, roles: [A]}
        """,
    )
    assert lines == [
        "gatehouse.yaml:6: group 'ext-ops' (group_bindings[1]): the group 'ext ops' is also group_bindings[0]",
        "gatehouse.yaml:7: group 'shared' (group_bindings[2]), externalId: 2 groups have this externalId "
        "('twin one', 'twin two'): name one by displayName",
        "gatehouse.yaml:8: group 'dev' (group_bindings[3]), roles[0].expires: give a time zone, e.g. "
        "2026-12-31T18:00:00Z",
        "gatehouse.yaml:9: group 'sec' (group_bindings[4]), roles[0].expires: at most ten years from now",
        "gatehouse.yaml:10: group 'ops' (group_bindings[5]), roles[0].expires: at most ten years from now",
        "gatehouse.yaml:12: user 'ROOT' (user_grants[0]), userName: root is a Super Admin account: it holds every "
        "permission, and roles and boundaries do not apply to it",
    ]


def test_names_given_twice(db: Database, people: People) -> None:
    lines = invalid(
        db,
        people,
        """\
        version: 1
        roles:
          - name: Ops
          - name: " OPS"
            policies: [a, A]
        scim: {tokens: [okta, okta]}
        """,
    )
    assert lines == [
        "gatehouse.yaml:4: role ' OPS' (roles[1]): this role is listed twice: also item 1 (line 3)",
        "gatehouse.yaml:5: role ' OPS' (roles[1]), policies[1]: this policy is listed twice: also item 1 (line 5)",
        "gatehouse.yaml:6: SCIM token 'okta' (scim.tokens[1]): this token is listed twice: also item 1 (line 6)",
    ]


def test_bad_labels_and_requestable_bounds_are_named_with_their_lines(db: Database, people: People) -> None:
    lines = invalid(
        db,
        people,
        """\
        version: 1
        permission_policies:
          - name: labelled
            labels: {"bad key!": x}
            document: {statement: [{effect: allow, actions: ["iam:GetUser"], resources: ["*"]}]}
        roles:
          - name: Badly labelled
            labels: {"bad key!": x}
          - name: Long access
            requestable: {max_minutes: 9999999, answer_within_minutes: 9999999}
          - name: Fine
            requestable: {max_minutes: 129600, answer_within_minutes: 43200}
        """,
    )
    key = "labels.bad key!: a label key is 1 to 63 letters, digits, '.', '_', '-' or '/', starting and ending with a "
    key += "letter or digit."
    assert lines == [
        f"gatehouse.yaml:3: permission policy 'labelled' (permission_policies[0]): {key}",
        f"gatehouse.yaml:7: role 'Badly labelled' (roles[0]): {key}",
        "gatehouse.yaml:10: role 'Long access' (roles[1]), requestable.max_minutes: at most 129600 minutes (90 days)",
        "gatehouse.yaml:10: role 'Long access' (roles[1]), requestable.answer_within_minutes: at most 43200 minutes "
        "(30 days)",
    ]


def test_the_gateway_section_names_each_bad_rule_and_label_with_its_line(db: Database, people: People) -> None:
    lines = invalid(
        db,
        people,
        f"""\
        version: 1
        gateway:
          rules:
            - {{path: "/api/x", action: gateway:GetGatewayGroup, resource: "{GG}/x"}}
            - {{path: "no-slash", action: gateway:GetGatewayGroup, resource: "{GG}/x"}}
          resource_labels:
            - {{resource: "not an arn", labels: {{env: dev}}}}
            - {{resource: "{GG}/*", labels: {{env: dev}}}}
            - {{resource: "{GG}/dev", labels: {{"bad key!": dev}}}}
            - {{resource: "{GG}/prod", labels: {{env: prod}}}}
        """,
    )
    assert lines == [
        "gatehouse.yaml:5: forward-auth rule 2 (gateway.rules[1]), path: a path pattern starts with '/' and has at "
        "most 512 characters.",
        "gatehouse.yaml:7: labels of 'not an arn' (gateway.resource_labels[0]), resource: 'not an arn' is not a "
        f"resource name: names look like {GG}/<id>, {GG}/<id>/publishedservice/<id>, {GG}/<id>/consumer/<id>, "
        "arn:api7:gateway:servicetemplate/<id>, arn:api7:gateway:gatewaysetting/*, arn:api7:gateway:alert/*, "
        "arn:gatehouse:iam:<kind>/<id>.",
        f"gatehouse.yaml:8: labels of '{GG}/*' (gateway.resource_labels[1]), resource: labels are kept for one "
        f"gateway group, published service, consumer or service template (no '*'), not for {GG}/*",
        f"gatehouse.yaml:9: labels of '{GG}/dev' (gateway.resource_labels[2]): labels.bad key!: a label key is 1 to "
        "63 letters, digits, '.', '_', '-' or '/', starting and ending with a letter or digit.",
    ]


def test_a_rule_table_longer_than_the_limit_is_refused_whole(db: Database, people: People) -> None:
    rule = f'    - {{path: "/api/x", action: gateway:GetGatewayGroup, resource: "{GG}/x"}}\n'
    text = "version: 1\ngateway:\n  rules:\n" + rule * (MAX_RULES + 1)
    assert invalid(db, people, text) == [f"gatehouse.yaml:3: gateway.rules: the table holds at most {MAX_RULES} rules"]
    assert changes(plan_text(db, people.root, "version: 1\ngateway:\n  rules:\n" + rule * MAX_RULES)) == [
        ("authz_rules", "", "update")
    ]


def test_empty_labels_take_a_resource_s_labels_away_and_are_nothing_for_one_without(
    db: Database, applied: People
) -> None:
    text = f"""\
        version: 1
        gateway:
          resource_labels:
            - {{resource: "{GG}/dev", labels: {{}}}}
            - {{resource: "{GG}/never-labelled", labels: {{}}}}
        """
    assert changes(plan_text(db, applied.root, textwrap.dedent(text))) == [("resource_labels", f"{GG}/dev", "delete")]
    apply_text(db, applied.root, textwrap.dedent(text))
    assert changes(plan_text(db, applied.root, textwrap.dedent(text))) == []  # applied: nothing left to take away


def test_a_secret_value_where_a_reference_belongs(db: Database, people: People) -> None:
    lines = invalid(
        db,
        people,
        """\
        version: 1
        login:
          options:
            - name: Okta
              kind: oidc
              issuer: https://example.okta.com
              client_id: x
              secret: s3cr3t-value
            - name: Directory
              kind: ldap
              secret: {env: "not a name"}
              ldap: {host: ldap.example.com, base_dn: "dc=x", bind_dn: "cn=svc", bind_password: hunter2}
        scim:
          tokens: [ghs_abcdefghijklmnopqrstuvwxyz0123456789ABCD]
        """,
    )
    assert len(lines) == 4
    assert lines[0].startswith("gatehouse.yaml:8: login option 'Okta' (login.options[0]), secret: a secret's value")
    assert lines[1].startswith("gatehouse.yaml:11: login option 'Directory' (login.options[1]), secret.env: must be ")
    assert lines[2].startswith("gatehouse.yaml:12: login option 'Directory' (login.options[1]), ldap.bind_password:")
    assert lines[3].startswith("gatehouse.yaml:14: SCIM token 1 (scim.tokens[0]): this is a token's secret")
    assert not any("s3cr3t" in line or "hunter2" in line or "ghs_" in line for line in lines)


def test_the_built_in_super_admin_cannot_be_in_a_file(db: Database, people: People) -> None:
    lines = invalid(
        db,
        people,
        """\
        version: 1
        permission_policies:
          - {name: super-admin-permission-policy, document: {statement: []}}
        roles:
          - {name: super admin}
        """,
    )
    assert lines == [
        "gatehouse.yaml:3: permission policy 'super-admin-permission-policy' (permission_policies[0]), name: the "
        "built-in permission policy 'super-admin-permission-policy' cannot be changed or removed: leave it out of the "
        "file",
        "gatehouse.yaml:5: role 'super admin' (roles[0]), name: the built-in role 'Super Admin' cannot be changed or "
        "removed: leave it out of the file",
    ]


def test_password_sign_in_is_never_left_without_a_way_in(db: Database, applied: People) -> None:
    off = "version: 1\nlogin:\n  password: false\n  options: []\n"
    lines = invalid(db, applied, off, prune=True)
    assert lines == [
        "gatehouse.yaml:3: login.password: password sign-in cannot be turned off while no other login option would "
        "be enabled: enable an OpenID Connect, LDAP or SAML option in the same file, so that people can still sign in"
    ]
    assert changes(plan_text(db, applied.root, off)) == [("password_sign_in", "", "update")]  # Okta stays


def test_login_options_keep_their_id_kind_and_secrets(db: Database, applied: People) -> None:
    okta = textwrap.dedent(
        """\
        version: 1
        login:
          options:
            - name: Okta
              kind: {kind}
              id: 8e1e4f0e-3d4a-4b7f-9c1e-2f6a7b8c9d0e
              issuer: https://example.okta.com
              client_id: gatehouse
              secret: {secret}
        """
    )
    lines = invalid(db, applied, okta.format(kind="oidc", secret="{stored: true}"))
    assert "id: the login option 'Okta' has the id " in lines[0] and "an id cannot change" in lines[0]
    new = okta.replace("name: Okta", "name: Other")
    lines = invalid(db, applied, new.format(kind="oidc", secret="{stored: true}"))
    assert lines == [
        "gatehouse.yaml:9: login option 'Other' (login.options[0]), secret: there is no stored secret to keep: a file "
        "never holds a secret, so reference an environment variable (secret: {env: NAME}), or store the secret in the "
        "dashboard or the API first"
    ]
    lines = invalid(db, applied, okta.format(kind="saml", secret="{env: X}").replace("  id: 8e1e", "  #"))
    assert lines and "saml" in lines[0]


def test_each_login_option_problem_is_named_once_with_its_line(db: Database, applied: People) -> None:
    with db.snapshot() as connection:
        [okta] = [option for option in login_options.list_all(connection) if option.name == "Okta"]
    lines = invalid(
        db,
        applied,
        f"""\
        version: 1
        login:
          options:
            - name: Okta
              kind: ldap
              secret: {{env: X}}
              ldap: {{host: ldap.example.com, base_dn: "dc=example,dc=org"}}
            - name: Broken OIDC
              kind: oidc
              issuer: ftp://idp.example.com
              client_id: gatehouse
            - name: Directory
              kind: ldap
              ldap: {{host: "ldaps://x", base_dn: "dc=example,dc=org"}}
            - name: Bound
              kind: ldap
              ldap: {{host: ldap.example.com, base_dn: "dc=example,dc=org", bind_dn: "cn=svc,dc=example,dc=org"}}
            - name: Signing
              kind: saml
              secret: {{env: KEY}}
              saml: {{idp_metadata_url: "https://idp.example.com/md", sign_requests: true}}
            - name: Taken id
              id: {okta.id}
              kind: oidc
              issuer: https://idp.example.com
              client_id: gatehouse
              secret: {{env: Y}}
        """,
    )
    assert lines == [
        "gatehouse.yaml:5: login option 'Okta' (login.options[0]), kind: the login option 'Okta' is of kind OpenID "
        "Connect: its kind cannot change",
        "gatehouse.yaml:8: login option 'Broken OIDC' (login.options[1]), secret: an OpenID Connect option needs its "
        "client secret: secret: {env: NAME}",
        "gatehouse.yaml:10: login option 'Broken OIDC' (login.options[1]), issuer: The issuer must be an https URL "
        "without query or fragment, e.g. https://example.okta.com or "
        "https://login.microsoftonline.com/<tenant id>/v2.0.",
        "gatehouse.yaml:14: login option 'Directory' (login.options[2]), ldap: The host must be a host name or an "
        "address, without a scheme (e.g. ldap.example.com).",
        "gatehouse.yaml:15: login option 'Bound' (login.options[3]), secret: a bind DN needs its bind password: "
        "secret: {env: NAME}",
        "gatehouse.yaml:21: login option 'Signing' (login.options[4]), saml.sign_requests: signing requests needs the "
        "SP's private key stored in Gatehouse: create or change this option in the dashboard or the API, then keep "
        "secret: {stored: true}",
        "gatehouse.yaml:23: login option 'Taken id' (login.options[5]), id: this id is the login option 'Okta''s "
        "(renaming is not supported)",
    ]


def test_planning_needs_iam_export_config(db: Database, people: People) -> None:
    where, model = load(BASE)
    with db.snapshot() as connection, pytest.raises(Forbidden, match="iam:ExportConfig"):
        from gatehouse.iam import config_plan

        config_plan.plan(connection, people.viewer, model, where)


def test_secrets_scopes_and_rules_of_an_option_are_each_named_once(db: Database, applied: People) -> None:
    """A secret left out of an option that has one is named once (not also as a missing one), a bad scope, and
    every bad rule (not the first only), each at its line."""
    lines = invalid(
        db,
        applied,
        """\
        version: 1
        login:
          options:
            - name: Okta
              kind: oidc
              issuer: https://example.okta.com
              client_id: gatehouse
              scopes: [openid, 'pro"file']
              rules:
                - {role: Readers, attribute: "$.groups[", operation: exact_match, value: readers}
                - {role: Readers, attribute: "$.groups[*]", operation: regex, value: "("}
            - name: Directory
              kind: ldap
              ldap: {host: ldap.example.com, base_dn: "dc=example,dc=org", bind_dn: "cn=svc,dc=example,dc=org"}
        """,
    )
    okta, directory = "login option 'Okta' (login.options[0])", "login option 'Directory' (login.options[1])"
    assert lines == [
        f"gatehouse.yaml:4: {okta}, secret: this option has a secret in Gatehouse and a file cannot remove it: write "
        "secret: {stored: true} to keep it, or {env: NAME}",
        f"gatehouse.yaml:8: {okta}, scopes: Scope 'pro\"file' is not valid: scopes are printable characters "
        "without quotes or \\.",
        f"gatehouse.yaml:10: {okta}, rules[0].attribute: not a valid JSONPath (unexpected end of query)",
        f"gatehouse.yaml:11: {okta}, rules[1].value: not a valid regular expression (missing ), unterminated "
        "subpattern at position 0)",
        f"gatehouse.yaml:12: {directory}, secret: a bind DN needs its bind password: secret: {{env: NAME}}",
    ]
