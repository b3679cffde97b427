"""The LDAP login option's pure parts: RFC 4515 escaping of the username in the search filter, the user
filter's check, and the settings' checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatehouse.errors import FieldProblems, InvalidInput
from gatehouse.login.ldap import LdapSettings, check_filter, escape_filter_value, member_filter, user_filter
from support.pem import BROKEN_PEM


@pytest.mark.parametrize(
    ("typed", "escaped"),
    [
        ("ada", "ada"),
        ("*", r"\2a"),
        ("*)(uid=*", r"\2a\29\28uid=\2a"),
        ("a\\b", r"a\5cb"),
        ("nul\0byte", r"nul\00byte"),
        ("Zoë", "Zoë"),  # UTF-8 is a valid assertion value as is (RFC 4515 §3)
    ],
)
def test_rfc_4515_escapes_exactly_the_special_characters(typed: str, escaped: str) -> None:
    assert escape_filter_value(typed) == escaped


def test_the_search_filter_and_the_group_filter() -> None:
    assert user_filter("uid", "*)(|(uid=*") == r"(uid=\2a\29\28|\28uid=\2a)"
    assert user_filter("sAMAccountName", "ada", "(objectClass=user)") == "(&(sAMAccountName=ada)(objectClass=user))"
    assert member_filter("cn=a*,dc=x") == r"(|(member=cn=a\2a,dc=x)(uniqueMember=cn=a\2a,dc=x))"


@pytest.mark.parametrize("text", ["(objectClass=person)", "(&(a=b)(!(c=d)))", "  ", "(cn=a\\29b)"])
def test_a_user_filter_in_parentheses_is_accepted(text: str) -> None:
    assert check_filter(text) == text.strip()


@pytest.mark.parametrize("text", ["objectClass=person", "(a=b))(c=d", "(a=b)(c=d)", "((a=b)", "(" * 300 + ")" * 300])
def test_a_malformed_user_filter_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match="one LDAP filter in parentheses"):
        check_filter(text)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"host": "ldaps://x"}, "without a scheme"),
        ({"port": 0}, "port must be 1 to 65535"),
        ({"tls": "ssl"}, "TLS must be one of"),
        ({"timeout": 0}, "timeout"),
        ({"base_dn": " "}, "base DN is required"),
        ({"bind_dn": "cn=a\nb"}, "on one line"),
        ({"identifier": "uid)(x"}, "LDAP attribute name"),
        ({"ca_bundle": "not pem"}, "readable PEM certificates"),
        ({"ca_bundle": BROKEN_PEM}, "readable PEM certificates"),
    ],
)
def test_settings_that_are_wrong_are_refused(changes: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {"host": "ldap.example.org", "base_dn": "dc=example,dc=org", **changes}
    with pytest.raises(InvalidInput, match=message):
        LdapSettings(**fields).checked()  # type: ignore[arg-type]


def test_settings_are_trimmed_and_read_back() -> None:
    settings = LdapSettings(host=" ldap.example.org ", base_dn=" dc=example,dc=org ", tls="ldaps", port=636).checked()
    assert settings.host == "ldap.example.org" and settings.base_dn == "dc=example,dc=org"
    assert settings.url == "ldaps://ldap.example.org:636"
    assert LdapSettings.from_json({**settings.to_json(), "retired": 1}) == settings
    assert settings.attributes() == ["entryUUID", "uid", "mail", "cn", "memberOf"]


def test_the_guide_quotes_the_message_a_broken_ca_bundle_gets() -> None:
    with pytest.raises(FieldProblems) as refused:
        LdapSettings(host="ldap.example.org", base_dn="dc=example,dc=org", ca_bundle=BROKEN_PEM).checked()
    message = refused.value.fields["ca_bundle"]
    guide = (Path(__file__).parents[2] / "docs" / "guides" / "sso-ldap.md").read_text()
    assert f'| "{message}" | saving the option |' in guide
