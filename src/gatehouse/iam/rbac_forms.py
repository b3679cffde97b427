"""Forms of the RBAC use cases (roles, permission policies, id lists), checked before any write."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import orjson

from gatehouse.errors import InvalidInput
from gatehouse.iam.policy import MAX_LABEL_LENGTH, PolicyDocument, parse_policy
from gatehouse.names import fits_folded, folded_hint
from gatehouse.store.policies import PolicyWrite
from gatehouse.store.roles import RoleWrite

MAX_NAME: Final = 100
MAX_DESCRIPTION: Final = 1000
MAX_LABELS: Final = 32
MAX_LABEL_KEY: Final = 63
MAX_DOCUMENT_CHARS: Final = 256 * 1024
MAX_IDS: Final = 100
"""Roles or policies in one request (attach, assign, bind, boundaries)."""
_LABEL_KEY: Final = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._/-]*[A-Za-z0-9])?")


@dataclass(frozen=True, slots=True)
class RoleInput:
    """A role form, checked: build it with :func:`role_input`."""

    name: str
    description: str
    labels: Mapping[str, str]

    def write(self) -> RoleWrite:
        return RoleWrite(self.name, self.description, self.labels)


@dataclass(frozen=True, slots=True)
class PolicyInput:
    """A permission policy form, checked and its document validated: build it with :func:`policy_input`."""

    name: str
    description: str
    labels: Mapping[str, str]
    document: PolicyDocument

    def write(self) -> PolicyWrite:
        text = orjson.dumps(self.document.as_dict()).decode()
        return PolicyWrite(self.name, text, self.description, self.labels)


def role_input(name: str, description: str = "", labels: object = None) -> RoleInput:
    """Check and tidy a role's fields."""
    return RoleInput(_name(name, "role"), _description(description), check_labels(labels))


def policy_input(name: str, document: object, description: str = "", labels: object = None) -> PolicyInput:
    """Check a policy's fields and validate its document: parsed JSON, or JSON text (the editor's)."""
    clean_name, clean_description, clean_labels = _name(name, "policy"), _description(description), check_labels(labels)
    return PolicyInput(clean_name, clean_description, clean_labels, parse_policy(_json_document(document)))


def _name(name: str, what: str) -> str:
    clean = " ".join(name.split()) if isinstance(name, str) else ""
    if not clean:
        raise InvalidInput(f"name: a {what} needs a name.")
    if not fits_folded(clean, MAX_NAME) or not clean.isprintable():
        folded = folded_hint(clean, MAX_NAME)
        raise InvalidInput(f"name: a {what} name is 1 to {MAX_NAME} printable characters{folded}.")
    return clean


def _description(description: str) -> str:
    clean = description.strip() if isinstance(description, str) else None
    if clean is None:
        raise InvalidInput("description: must be a string.")
    if len(clean) > MAX_DESCRIPTION:
        raise InvalidInput(f"description: at most {MAX_DESCRIPTION} characters.")
    return clean


def check_labels(labels: object) -> dict[str, str]:
    """Labels: an object of at most :data:`MAX_LABELS` string values under keys like ``team`` or ``env.tier``."""
    if labels is None:
        return {}
    if not isinstance(labels, Mapping):
        raise InvalidInput('labels: must be an object of strings, e.g. {"team": "sre"}.')
    if len(labels) > MAX_LABELS:
        raise InvalidInput(f"labels: at most {MAX_LABELS} labels.")
    clean: dict[str, str] = {}
    for key, value in labels.items():
        if not isinstance(key, str) or len(key) > MAX_LABEL_KEY or not _LABEL_KEY.fullmatch(key):
            raise InvalidInput(
                f"labels.{key}: a label key is 1 to {MAX_LABEL_KEY} letters, digits, '.', '_', '-' or '/', "
                "starting and ending with a letter or digit."
            )
        if not isinstance(value, str):
            raise InvalidInput(f"labels.{key}: a label value must be a string.")
        if len(value) > MAX_LABEL_LENGTH or not value.isprintable():
            raise InvalidInput(f"labels.{key}: a label value is at most {MAX_LABEL_LENGTH} printable characters.")
        clean[key] = value
    return clean


def _json_document(document: object) -> object:
    if not isinstance(document, str | bytes):
        return document
    if len(document) > MAX_DOCUMENT_CHARS:
        raise InvalidInput(f"document: at most {MAX_DOCUMENT_CHARS // 1024} KiB of JSON.")
    try:
        return orjson.loads(document)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"document: not valid JSON ({exc}).") from None


def checked_ids(ids: Sequence[str], what: str) -> list[str]:
    if isinstance(ids, str) or not all(isinstance(item, str) and item for item in ids):
        raise InvalidInput(f"{what}: must be a list of ids.")
    unique = list(dict.fromkeys(ids))
    if len(unique) > MAX_IDS:
        raise InvalidInput(f"{what}: at most {MAX_IDS} at once.")
    return unique
