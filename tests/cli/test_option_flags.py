"""The flags of ``login-options create`` and ``update`` as the use case's input (:mod:`gatehouse.cli.option_flags`):
typed ``--field`` values, files for ``@PATH``, the secret from standard input or an environment variable's name,
never both; a new option disabled; an update keeping what it is not given."""

from __future__ import annotations

import uuid

import pytest

from gatehouse.cli import option_flags as flags
from gatehouse.errors import InvalidInput
from gatehouse.iam.login_options import view_of
from gatehouse.login.ldap import LdapSettings
from gatehouse.login.options import LoginOptionWrite
from gatehouse.login.saml import SamlSettings
from gatehouse.store import login_options
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow


def test_fields_are_typed_by_the_kind_and_files_read() -> None:
    parsed = flags.parse_fields("ldap", ["host=ldap.example", "port=636", "verify_certificate=off",
                                         "ca_bundle=@bundle.pem"], read=lambda path: f"<{path}>")  # fmt: skip
    assert parsed == {"host": "ldap.example", "port": 636, "verify_certificate": False, "ca_bundle": "<bundle.pem>"}
    assert flags.parse_fields("saml", ["single_logout=yes", "entity_id=urn:x=y"]) == {
        "single_logout": True, "entity_id": "urn:x=y",
    }  # fmt: skip
    assert flags.parse_fields("oidc", []) == {}


@pytest.mark.parametrize(
    ("kind", "pairs", "message"),
    [
        ("saml", ["client_secret=x"], "not a SAML field"),
        ("saml", ["single_logout"], "not a SAML field"),
        ("saml", ["sign_requests=perhaps"], "say true or false"),
        ("ldap", ["port=-1"], "a whole number"),
        ("ldap", ["port=³⁸⁹"], "a whole number"),
        ("ldap", ["port=" + "9" * 5_000], "a whole number"),
        ("oidc", ["issuer=x"], "--field is for LDAP and SAML"),
    ],
)
def test_wrong_fields_are_refused(kind: str, pairs: list[str], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        flags.parse_fields(kind, pairs)


def test_the_secret_comes_from_stdin_or_an_environment_variable_never_both() -> None:
    assert flags.secret_choice("OKTA_SECRET", False, lambda: "unused") == (None, "OKTA_SECRET")
    assert flags.secret_choice(None, True, lambda: "-----BEGIN KEY-----\nabc\n-----END KEY-----\n\n") == (
        "-----BEGIN KEY-----\nabc\n-----END KEY-----", None,
    )  # fmt: skip
    with pytest.raises(InvalidInput, match="not both"):
        flags.secret_choice("A", True, lambda: "s")
    with pytest.raises(InvalidInput, match="held no secret"):
        flags.secret_choice(None, True, lambda: " \n")


def test_a_new_option_is_disabled_and_oidc_flags_stay_with_oidc() -> None:
    made = flags.new_input("saml", " Corp ", flags.OidcFlags(), {"idp_metadata_url": "https://i/x"}, None, None)
    assert made.enabled is False and made.name == "Corp" and made.kind == "saml"
    assert made.settings == SamlSettings(idp_metadata_url="https://i/x")
    ldap = flags.new_input("ldap", "Dir", flags.OidcFlags(), {"host": "h"}, "pw", None)
    assert ldap.settings == LdapSettings(host="h", base_dn="") and ldap.client_secret == "pw"
    with pytest.raises(InvalidInput, match="are for OpenID Connect"):
        flags.new_input("ldap", "Dir", flags.OidcFlags(issuer="https://x"), {}, None, None)
    with pytest.raises(InvalidInput, match="--kind must be"):
        flags.new_input("kerberos", "K", flags.OidcFlags(), {}, None, None)


def test_an_update_keeps_what_it_is_not_given(db: Database) -> None:
    settings = SamlSettings(idp_metadata_url="https://i/x", allow_idp_initiated=True)
    write = LoginOptionWrite("Corp", "", "", kind="saml", settings=settings, enabled=True, client_secret_env="K")
    with db.transaction() as connection:
        view = view_of(login_options.insert(connection, str(uuid.uuid4()), write, utcnow()), False, "https://gh")
    changed = flags.changed_input(view, None, flags.OidcFlags(), {"single_logout": True}, None, None)
    assert changed.name == "Corp" and changed.enabled is True and changed.client_secret is None
    assert changed.settings == SamlSettings(
        idp_metadata_url="https://i/x", allow_idp_initiated=True, single_logout=True
    )
    with pytest.raises(InvalidInput, match="are for OpenID Connect"):
        flags.changed_input(view, None, flags.OidcFlags(end_session=False), {}, None, None)
