"""Every wrong field of a login option at once: :class:`~gatehouse.errors.Findings` collects the problems
of the fields (the first of each field kept, nested ones named under their part), and the LDAP, SAML and
common checks name every field that is wrong rather than stopping at the first."""

from __future__ import annotations

import pytest

from gatehouse.errors import FieldProblems, Findings, InvalidInput
from gatehouse.login.ldap import LdapSettings
from gatehouse.login.options import KIND_LDAP, LoginOptionWrite
from gatehouse.login.saml import SamlSettings


def test_findings_keep_the_first_problem_of_each_field_and_nest_a_part() -> None:
    found = Findings()
    assert found.check("name", lambda: "kept", "fallback") == "kept"
    found.done()  # nothing found: nothing raised

    def refuse(detail: str) -> str:
        raise InvalidInput(detail)

    assert found.check("name", lambda: refuse("The name is too long."), "fallback") == "fallback"
    found.add("name", "A second problem of the name.")
    found.take(FieldProblems({"host": "The host is wrong.", "port": "The port is wrong."}), "ldap")
    found.take(InvalidInput("Something of no field."))
    with pytest.raises(FieldProblems) as raised:
        found.done()
    assert raised.value.fields == {
        "name": "The name is too long.", "ldap.host": "The host is wrong.", "ldap.port": "The port is wrong.",
        "": "Something of no field.",
    }  # fmt: skip
    assert raised.value.status == 400 and raised.value.detail == (
        "The name is too long. The host is wrong. The port is wrong. Something of no field."
    )


def test_every_wrong_ldap_field_is_named() -> None:
    wrong = LdapSettings(
        host="ldap://x", base_dn="", port=0, timeout=999, tls="ssl",  # type: ignore[arg-type]
        ca_bundle="not a pem", identifier="u id", user_filter="objectClass=person", groups_attribute="",
    )  # fmt: skip
    with pytest.raises(FieldProblems) as raised:
        wrong.checked()
    assert set(raised.value.fields) == {
        "host", "base_dn", "port", "timeout", "tls", "ca_bundle", "identifier", "user_filter", "groups_attribute",
    }  # fmt: skip
    assert raised.value.fields["base_dn"] == "The base DN is required (e.g. ou=people,dc=example,dc=org)."
    assert (
        raised.value.fields["identifier"]
        == "The identifier must be an LDAP attribute name, e.g. uid or sAMAccountName."
    )


def test_one_wrong_ldap_field_reads_as_before() -> None:
    with pytest.raises(InvalidInput, match=r"^The port must be 1 to 65535 \(389 for LDAP and StartTLS"):
        LdapSettings(host="ldap.example.com", base_dn="dc=example", port=70000).checked()
    assert LdapSettings(host=" ldap.example.com ", base_dn=" dc=example ").checked().host == "ldap.example.com"


def test_every_wrong_saml_field_is_named() -> None:
    wrong = SamlSettings(
        idp_metadata_url="ftp://idp", idp_metadata_xml="<nothing/>", entity_id="has spaces in it",
        sp_root_url="not a url", email_attribute=" ", sp_certificate="not a pem",
    )  # fmt: skip
    with pytest.raises(FieldProblems) as raised:
        wrong.checked()
    assert set(raised.value.fields) == {
        "idp_metadata_url", "idp_metadata_xml", "entity_id", "sp_root_url", "email_attribute", "sp_certificate",
    }  # fmt: skip
    with pytest.raises(FieldProblems) as missing:
        SamlSettings().checked()
    assert missing.value.fields == {"idp_metadata_url": "Give the IdP's metadata URL, or paste its metadata XML."}


def test_the_common_fields_and_the_kinds_fields_are_named_together() -> None:
    write = LoginOptionWrite(
        name="", issuer="", client_id="", kind=KIND_LDAP, username_claim="x" * 101, client_secret_env="1 bad",
        settings=LdapSettings(host="", base_dn="dc=example"),
    )  # fmt: skip
    with pytest.raises(FieldProblems) as raised:
        write.columns()
    assert set(raised.value.fields) == {"name", "username_claim", "client_secret_env", "ldap.host"}
