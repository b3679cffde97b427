"""Canonical user documents by shape (:mod:`gatehouse.resources.shapes`): the same document, byte for byte, and
the same problem, as validating each body with scim2-models, for bodies of one shape with any free text."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from scim2_models import Name
from scim2_models.policy import default_comparison_key

from gatehouse.errors import InvalidInput
from gatehouse.resources import documents, shapes
from gatehouse.resources.models import EmailAddress, EnterpriseExtension, UserResource
from gatehouse.scim.payload import parse_user
from support.scim import ENTERPRISE, entra_user, okta_user

TEXTS = [
    "plain",
    "  spaced  ",
    " ",
    "MiXeD CaSe",
    "ünïcødé 𝐀 ß ǅ",
    "true",
    "false",
    "0",
    "123",
    "null",
    "urn:ietf:params:scim:schemas:core:2.0:User",
    "https://example.com/x",
    "a\tb\nc\r",
    "\u200b",
    "\ufeffbom",
    "'quoted' \"double\" \\back",
    "{}",
    "[]",
    "x" * 255,
    "😀",
]


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    shapes._kept.clear()
    yield
    shapes._kept.clear()


def test_free_text_attributes_are_plain_strings_to_the_models() -> None:
    """What makes a document independent of these values: str fields, no validator or serializer of their own,
    and a policy whose comparison key checks no string (the models' value checks run only under another)."""
    models = {(): UserResource, ("name",): Name, ("emails",): EmailAddress, (ENTERPRISE.lower(),): EnterpriseExtension}
    for path in shapes.FREE_TEXT:
        model = models[path[:-1]]
        names = {name.replace("_", ""): name for name in model.model_fields}
        field = names[path[-1]]
        assert model.model_fields[field].annotation == str | None, path
        decorators = model.__pydantic_decorators__
        for validator in decorators.field_validators.values():
            assert field not in validator.info.fields and "*" not in validator.info.fields, path
        for serializer in decorators.field_serializers.values():
            assert field not in serializer.info.fields, path
    assert documents._POLICY.comparison_key is default_comparison_key


def _bodies(rng: random.Random) -> Iterator[dict[str, Any]]:
    for _ in range(60):
        text = rng.choice(TEXTS)
        other = rng.choice(TEXTS)
        yield okta_user(f"{text}@x.test", external_id=other)
        yield {**okta_user(rng.choice(TEXTS)), "displayName": other, "name": {"givenName": text, "FAMILYNAME": other}}
        body = entra_user(f"{other}.{text}")
        body[ENTERPRISE] = {"department": text, "employeeNumber": other, "manager": {"value": text}}
        yield body
        yield {**okta_user(text), "emails": [{"value": other, "display": text, "type": "work", "primary": True}]}


def test_every_body_of_a_kept_shape_gets_what_its_own_validation_gives() -> None:
    bodies = list(_bodies(random.Random(7)))
    for body in bodies * 2:  # the second time round, every valid shape is kept
        assert _parsed(body) == _reference(body)
    assert shapes._kept  # Okta's, Entra's and the others' shapes were kept


def _parsed(body: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(parse_user(body).doc)
    except InvalidInput as exc:
        return orjson.dumps(exc.detail)


def _reference(body: dict[str, Any]) -> bytes:
    """The document (or the problem) without any shape kept: scim2-models validates the body itself."""
    saved = dict(shapes._kept)
    shapes._kept.clear()
    try:
        return _parsed(body)
    finally:
        shapes._kept.clear()
        shapes._kept.update(saved)


def test_a_kept_shape_gives_the_document_of_new_values_byte_for_byte() -> None:
    first = parse_user(okta_user("first@x.test")).doc
    assert len(shapes._kept) == 1
    for text in TEXTS:
        body = okta_user(f"{text[:200]}@x.test", external_id=f"{text[:200]}-id")
        assert orjson.dumps(parse_user(body).doc) == _reference(body)
    assert first["userName"] == "first@x.test" and len(shapes._kept) == 1


def test_an_invalid_body_is_never_kept_and_always_validated() -> None:
    two_primaries = {
        **okta_user(),
        "emails": [{"value": "a@x.test", "primary": True}, {"value": "b@x.test", "primary": True}],
    }
    for _ in range(2):
        with pytest.raises(InvalidInput):
            parse_user(two_primaries)
    assert not shapes._kept
    no_manager_id = {**entra_user(), ENTERPRISE: {"manager": {"displayName": "Boss"}}}
    with pytest.raises(InvalidInput):
        parse_user(no_manager_id)


def test_what_is_not_free_text_is_part_of_the_shape() -> None:
    """Key case, booleans, numbers and other strings (a type, a locale) are compared exactly: another value is
    another shape, validated on its own."""
    parse_user(okta_user())
    parse_user({**okta_user(), "locale": "fr-FR"})
    parse_user({**okta_user(), "active": False})
    parse_user({**okta_user(), "emails": [{"value": "a@x.test", "type": "home", "primary": True}]})
    renamed = {("USERNAME" if key == "userName" else key): value for key, value in okta_user().items()}
    parse_user(renamed)
    assert len(shapes._kept) == 5


def test_the_map_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shapes, "MAX_SHAPES", 3)
    for index in range(7):
        parse_user({**okta_user(), "title": "t", "nickName": "n", "locale": f"l{index}"})
        assert len(shapes._kept) <= 3


def test_a_body_json_cannot_encode_is_validated_as_it_is() -> None:
    body = {**okta_user(), "title": "t", "nickName": 2**70}
    assert _parsed(body) == _reference(body)
    assert not shapes._kept
