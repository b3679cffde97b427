"""The configuration file's model (:mod:`gatehouse.iam.config_model`): its JSON Schema, published and valid, and
the checks that need no database: unknown fields (with a suggestion), values of the wrong type (with YAML's
pitfalls named), the login option kinds, a secret's value where a reference belongs, names given twice."""

from __future__ import annotations

import dataclasses
import textwrap

import jsonschema
import pytest

from gatehouse.iam.config_file import ConfigError, parse
from gatehouse.iam.config_model import (
    _TOKEN_NAMES,
    ConfigFile,
    LdapFields,
    MappingRule,
    SamlFields,
    json_schema,
    validate,
)
from gatehouse.login.ldap import LdapSettings
from gatehouse.login.mapping import Operation
from gatehouse.login.saml import SamlSettings


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        validate(parse(textwrap.dedent(text)), "f.yaml")
    return raised.value.lines()


def test_the_schema_is_valid_draft_2020_12_and_names_the_catalog() -> None:
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    checker = jsonschema.Draft202012Validator(schema)
    assert not list(checker.iter_errors({"version": 1, "roles": [{"name": "A", "policies": []}]}))
    assert list(checker.iter_errors({"version": 1, "roles": [{"name": "A", "polices": []}]}))  # no unknown field
    assert list(checker.iter_errors({"version": 2}))
    text = str(schema)
    assert "iam:ExportConfig" in text and "gateway:PublishServices" in text  # actions offered for completion


def test_the_protocol_settings_follow_their_dataclasses() -> None:
    for model, settings in ((LdapFields, LdapSettings), (SamlFields, SamlSettings)):
        assert list(model.model_fields) == [field.name for field in dataclasses.fields(settings)]
    operations = MappingRule.model_fields["operation"].annotation
    assert set(operations.__args__) == {operation.value for operation in Operation}  # type: ignore[union-attr]


def test_a_valid_file() -> None:
    model = validate(parse("version: 1\n$schema: ./gatehouse.schema.json\nroles: [{name: A}]\n"))
    assert isinstance(model, ConfigFile) and model.roles is not None and model.login is None


def test_shapes_and_types() -> None:
    assert problems(
        """\
        version: 2
        roles:
          - name: A
            polices: []
            labels: {team: yes}
        login:
          options:
            - {name: X, kind: kerberos}
            - {name: Y}
            - {name: Z, kind: ldap, ldap: {host: h, base_dn: b, port: "636"}}
        gateway: {preset: "on"}
        """
    ) == [
        "f.yaml:1: version: must be 1, not 2",
        "f.yaml:4: role 'A' (roles[0]), polices: unknown field (did you mean 'policies'?)",
        "f.yaml:5: role 'A' (roles[0]), labels.team: must be text (quote it: YAML reads yes, no, on, off, numbers "
        "and dates otherwise)",
        "f.yaml:8: login option 'X' (login.options[0]): kind must be oidc, ldap or saml, not 'kerberos'",
        "f.yaml:9: login option 'Y' (login.options[1]): kind is required: oidc, ldap or saml",
        "f.yaml:10: login option 'Z' (login.options[2]), ldap.port: must be a whole number",
        "f.yaml:11: gateway.preset: must be true or false",
    ]


def test_one_of_two_fields() -> None:
    assert problems(
        """\
        version: 1
        group_bindings:
          - {displayName: ops, externalId: "00g1", roles: []}
        login:
          options:
            - {name: X, kind: ldap, ldap: {host: h, base_dn: b}, secret: {env: A, stored: true},
               rules: [{attribute: $.x, operation: regex, value: y}]}
        """
    ) == [
        "f.yaml:3: group 'ops' (group_bindings[0]): name the group by displayName or by externalId (one of the two)",
        "f.yaml:6: login option 'X' (login.options[0]), secret: give env: NAME (an environment variable) or stored: "
        "true, one of the two",
        "f.yaml:7: login option 'X' (login.options[0]), rules[0]: give role: NAME or boundary: NAME (a permission "
        "policy), one of the two",
    ]


def test_secrets_never_go_in_a_file() -> None:
    found = problems(
        """\
        version: 1
        login:
          options:
            - {name: X, kind: oidc, issuer: https://x, client_id: c, client_secret: abc}
            - {name: Y, kind: saml, saml: {idp_metadata_url: https://idp, private_key: "-----BEGIN"}}
        scim:
          tokens: [{name: okta, token: ghs_secret}]
        """
    )
    assert [line.split(": a secret")[0] for line in found[:2]] == [
        "f.yaml:4: login option 'X' (login.options[0]), client_secret",
        "f.yaml:5: login option 'Y' (login.options[1]), saml.private_key",
    ]
    assert found[2] == "f.yaml:7: SCIM token 1 (scim.tokens[0]): " + _TOKEN_NAMES
    assert not any("abc" in line or "BEGIN" in line or "ghs_secret" in line for line in found)


def test_names_given_twice_ignore_case_and_spaces() -> None:
    assert problems(
        """\
        version: 1
        permission_policies:
          - {name: Read  All, document: {}}
          - {name: read all, document: {}}
        user_grants:
          - {userName: Ann, roles: [A, {role: a, expires: 2030-01-01T00:00:00Z}]}
          - {userName: ann}
        gateway:
          resource_labels: [{resource: r, labels: {}}, {resource: r, labels: {}}]
        """
    ) == [
        "f.yaml:4: permission policy 'read all' (permission_policies[1]): this permission policy is listed twice: also "
        "item 1 (line 3)",
        "f.yaml:6: user 'Ann' (user_grants[0]), roles[1]: this role is listed twice: also item 1 (line 6)",
        "f.yaml:7: user 'ann' (user_grants[1]): this user is listed twice: also item 1 (line 6)",
        "f.yaml:9: labels of 'r' (gateway.resource_labels[1]): this resource is listed twice: also item 1 (line 9)",
    ]
