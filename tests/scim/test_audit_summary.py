"""What the audit log keeps of a SCIM change: the name at the time, the attributes a PATCH changed and the new
``active``, never another value (a PATCH may carry a password)."""

from __future__ import annotations

from dataclasses import dataclass

from gatehouse.scim.audit_summary import summary


@dataclass
class Answer:
    body: bytes


def test_a_deactivation_by_okta_says_so_and_names_the_user() -> None:
    okta = {"Operations": [{"op": "replace", "value": {"active": False}}]}
    found = summary("PATCH", "/scim/v2/Users/u1", okta, Answer(b'{"userName": "alice@example.com"}'))
    assert found == {
        "method": "PATCH", "path": "/scim/v2/Users/u1", "name": "alice@example.com", "active": False,
        "changed": ["active"],
    }  # fmt: skip


def test_entra_strings_and_paths_and_never_a_value() -> None:
    entra = {"Operations": [{"op": "Replace", "path": "active", "value": "False"},
                            {"op": "replace", "path": "password", "value": "s3cret-value"},
                            {"op": "add", "path": "emails[type eq \"work\"].value", "value": "a@b.c"}]}  # fmt: skip
    found = summary("PATCH", "/scim/v2/Users/u1", entra, None)
    assert found["active"] is False and found["changed"] == ["active", 'emails[type eq "work"].value', "password"]
    assert "s3cret-value" not in str(found) and "a@b.c" not in str(found)
    assert summary("POST", "/scim/v2/Users", {"password": "x"}, Answer(b"not json")) == {
        "method": "POST", "path": "/scim/v2/Users"
    }  # fmt: skip
