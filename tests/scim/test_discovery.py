"""``/Schemas`` (``gatehouse.scim.discovery``): RFC 7643 §8.7.1's schema representation, byte for byte, each
attribute definition complete, and the few places where Gatehouse truly differs changed and said so."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from gatehouse.scim.discovery import (
    CHARACTERISTIC_DEFAULTS,
    GATEHOUSE_DIFFERENCES,
    Discovery,
    rfc7643_schemas,
    served_schemas,
)
from support.scim import PUBLIC_URL, SCIM

CHARACTERISTICS = ("name", "type", "multiValued", "description", "required", "caseExact", "mutability", "returned")
CHARACTERISTICS += ("uniqueness",)


def walk(attributes: list[dict[str, Any]], prefix: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    for attribute in attributes:
        path = f"{prefix}{attribute['name']}"
        yield path, attribute
        yield from walk(attribute.get("subAttributes", []), f"{path}.")


def by_path(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(walk(document["attributes"]))


def test_the_schemas_are_rfc_7643s_with_their_descriptions() -> None:
    rfc = {schema["name"]: schema for schema in rfc7643_schemas()}
    assert list(rfc) == ["User", "Group", "EnterpriseUser"]
    assert [rfc[name]["description"] for name in rfc] == ["User Account", "Group", "Enterprise User"]
    user = by_path(rfc["User"])
    assert user["userName"]["description"] == (
        "Unique identifier for the User, typically used by the user to directly authenticate to the service "
        "provider. Each User MUST include a non-empty userName value.  This identifier MUST be unique across the "
        "service provider's entire set of Users. REQUIRED."
    )
    assert user["password"]["description"] == (
        "The User's cleartext password.  This attribute is intended to be used as a means to specify an initial "
        "password when creating a new User or to reset an existing User's password."
    )
    assert user["emails.type"]["canonicalValues"] == ["work", "home", "other"]
    assert user["ims.type"]["canonicalValues"] == ["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"]
    assert user["roles.type"]["canonicalValues"] == []
    assert len(user) == 21 + 45  # 21 attributes and 45 sub-attributes, as §8.7.1 lists them
    assert len(by_path(rfc["Group"])) == 5
    assert len(by_path(rfc["EnterpriseUser"])) == 9


def test_every_served_definition_is_complete() -> None:
    for schema in served_schemas():
        for path, attribute in by_path(schema).items():
            missing = [key for key in CHARACTERISTICS if key not in attribute]
            assert not missing, f"{schema['name']}.{path} lacks {missing}"
            assert isinstance(attribute["multiValued"], bool)
            assert attribute["mutability"] in ("readOnly", "readWrite", "immutable", "writeOnly")
            assert attribute["returned"] in ("always", "never", "default", "request")
            assert attribute["uniqueness"] in ("none", "server", "global")
            assert (attribute["type"] == "complex") == ("subAttributes" in attribute), path
            if attribute["type"] == "reference":
                assert attribute["referenceTypes"], path


def test_served_schemas_are_rfc_7643s_but_where_gatehouse_differs() -> None:
    """Every characteristic §8.7.1 states is served as it is, its description byte for byte; a characteristic it
    leaves out has its RFC 7643 §2.2 default; only the listed differences change anything, each one saying
    why after "Gatehouse:"."""
    differences = {(name, path): changes for name, path, changes, _ in GATEHOUSE_DIFFERENCES}
    served = {schema["name"]: schema for schema in served_schemas()}
    for rfc in rfc7643_schemas():
        document = served[rfc["name"]]
        assert document["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:Schema"]
        assert (document["id"], document["name"], document["description"]) == (
            rfc["id"],
            rfc["name"],
            rfc["description"],
        )
        attributes = by_path(document)
        for path, original in by_path(rfc).items():
            attribute = attributes[path]
            changes = differences.get((rfc["name"], path), {})
            for key, value in original.items():
                if key == "subAttributes":
                    continue
                if key == "description":
                    if changes:
                        assert attribute[key].startswith(value + " Gatehouse: "), path
                    else:
                        assert attribute[key] == value, path
                elif key in changes:
                    assert attribute[key] == changes[key], path
                else:
                    assert attribute[key] == value, f"{rfc['name']}.{path}.{key}"
            for key, default in CHARACTERISTIC_DEFAULTS.items():
                if key not in original and key not in changes:
                    assert attribute[key] == default, f"{rfc['name']}.{path}.{key}"
        added = set(attributes) - set(by_path(rfc))
        assert added == ({"members.display"} if rfc["name"] == "Group" else set())
    assert served["Group"]["attributes"][0]["required"] is True
    members = by_path(served["Group"])
    assert members["members.$ref"]["referenceTypes"] == ["User"]
    assert members["members.type"]["canonicalValues"] == ["User"]
    assert "Gatehouse:" in members["members.display"]["description"]


@pytest.fixture
def discovery() -> Discovery:
    return Discovery(f"{PUBLIC_URL}{SCIM}", 1000)


def test_the_endpoint_serves_them_with_their_locations(discovery: Discovery) -> None:
    listing = orjson.loads(discovery.schemas_list)
    assert listing["totalResults"] == 3
    ids = [schema["id"] for schema in listing["Resources"]]
    for schema in listing["Resources"]:
        assert schema["meta"] == {"resourceType": "Schema", "location": f"{PUBLIC_URL}{SCIM}/Schemas/{schema['id']}"}
    assert ids == [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:core:2.0:Group",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    ]
    user_type = orjson.loads(discovery.resource_type("user") or b"{}")
    assert user_type["description"] == "User Account"


def test_schemas_are_served_over_http_in_any_case(scim: TestClient) -> None:
    for path in ("/Schemas", "/schemas", "/SCHEMAS"):
        response = scim.get(f"{SCIM}{path}")
        assert response.status_code == 200, response.text
        assert [s["description"] for s in response.json()["Resources"]] == ["User Account", "Group", "Enterprise User"]
    one = scim.get(f"{SCIM}/schemas/urn:ietf:params:scim:schemas:core:2.0:user")
    assert one.status_code == 200 and one.json()["name"] == "User"
    assert one.json()["meta"]["location"].endswith("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User")
