"""What a configuration file holds ("Gatehouse as code"), its JSON Schema, and the checks that need no database.

One document, every object named (never by id), each top-level section optional: a section the file leaves out
is not managed (a plan never touches it, even with ``--prune``); a section it gives (even empty) says what that
part of Gatehouse is, and with ``--prune`` objects it does not list are deleted.

- ``permission_policies``: name, description, labels, document (as the policy editor takes it);
- ``roles``: name, description, labels, the names of their policies;
- ``group_bindings``: a SCIM group by ``displayName`` or ``externalId``, and the names of the roles bound to it;
- ``user_grants``: a user by ``userName``, the roles and permission boundaries an administrator gave them;
- ``login``: ``password`` (the built-in password sign-in on or off) and ``options`` (OpenID Connect, LDAP and
  SAML login options, every field; the secret only as ``{env: NAME}`` or the placeholder ``{stored: true}``);
- ``scim``: provisioning on or off, provisioned users' password sign-in, and the names of the live tokens;
- ``gateway``: the "API7 / APISIX admin API" ``preset`` switch, the forward-auth ``rules`` (the table, in
  order) and ``resource_labels`` (the labels kept for gateway resources).

The models (pydantic, strict: no value is coerced) give the JSON Schema (:func:`json_schema`) and the checks of
shape; :func:`validate` adds what a file must never hold (a secret's value) and names given twice. What needs
the database (a role that exists, a user) is :mod:`gatehouse.iam.config_plan`'s.

Grants (``user_grants[].roles``, ``group_bindings[].roles``) are a role's name, held until taken away, or
``{role: NAME, expires: 2026-12-31T18:00:00Z}``, a time-bound grant (:func:`grant_names` reads both). A role may
carry ``requestable: {max_minutes, answer_within_minutes}`` (users may ask for it for a while).
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from datetime import datetime
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema, create_model, model_validator
from pydantic_core import ErrorDetails

from gatehouse.credentials import SCIM_TOKEN_PREFIX
from gatehouse.iam.catalog import ACTION_NAMES, CONDITION_KEYS
from gatehouse.iam.config_file import ConfigError, Locator, Path, Problem
from gatehouse.login.ldap import LdapSettings
from gatehouse.login.options import DEFAULT_SCOPES
from gatehouse.login.saml import SamlSettings

VERSION: Final = 1
SCHEMA_ID: Final = "https://gatehouse.dev/schemas/config-v1.json"
SECTIONS: Final = (
    "permission_policies",
    "roles",
    "group_bindings",
    "user_grants",
    "login",
    "scim",
    "gateway",
)
"""The top-level sections, in the order a file and a plan list them."""
ENV_NAME: Final = r"^[A-Za-z_][A-Za-z0-9_]{0,99}$"
UUID4: Final = r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
SECRET_FIELDS: Final = frozenset(
    {"client_secret", "client_secret_env", "bind_password", "password", "private_key", "sp_private_key", "key"}
)
"""Fields people write a secret's value under (the admin API's names among them): refused, with the way to
reference it instead."""
TOKEN_PREFIXES: Final = (SCIM_TOKEN_PREFIX, "gha_")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, use_attribute_docstrings=True)


Labels = Annotated[dict[str, str], Field(description="Label keys and values, e.g. {team: sre}.")]
Names = Annotated[list[str], Field(description="Names, in any case (names ignore case).")]

_PATTERN_SCHEMA: Final = {"type": "string", "minLength": 1}
_ACTION_SCHEMA: Final = {
    "anyOf": [{"enum": sorted(ACTION_NAMES)}, _PATTERN_SCHEMA],
    "description": "A catalog action, or a pattern: `iam:Get*`, `gateway:<(Get|Update)Consumer>`, `*`.",
}
LABEL_OPTION_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["key", "operator"],
    "additionalProperties": False,
    "properties": {
        "key": {"type": "string"},
        "operator": {"enum": ["exact_match", "not_match", "present", "regex_match", "contain", "not_contain"]},
        "value": {"type": "string"},
    },
}
DOCUMENT_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "description": "A permission policy document, as the policy editor and `/api/permission-policies` take it.",
    "required": ["statement"],
    "additionalProperties": False,
    "properties": {
        "statement": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["effect", "actions", "resources"],
                "additionalProperties": False,
                "properties": {
                    "effect": {"enum": ["allow", "deny"]},
                    "actions": {"type": "array", "minItems": 1, "items": _ACTION_SCHEMA},
                    "resources": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            **_PATTERN_SCHEMA,
                            "description": "A resource name or pattern: `arn:gatehouse:iam:role/*`, "
                            "`arn:api7:gateway:gatewaygroup/<.*>`, `*`.",
                        },
                    },
                    "conditions": {
                        "type": "object",
                        "propertyNames": {"enum": list(CONDITION_KEYS)},
                        "additionalProperties": {
                            "type": "object",
                            "required": ["type", "options"],
                            "additionalProperties": False,
                            "properties": {
                                "type": {"const": "MatchLabel"},
                                "options": {
                                    "oneOf": [
                                        LABEL_OPTION_SCHEMA,
                                        {"type": "array", "items": LABEL_OPTION_SCHEMA},
                                    ]
                                },
                            },
                        },
                    },
                },
            },
        }
    },
}
# ------------------------------------------------------------------------------------------ the models


class PermissionPolicy(_Model):
    """A permission policy (the built-in Super Admin policy is never in a file)."""

    name: str = Field(min_length=1, max_length=100)
    description: str = ""
    labels: Labels = {}
    document: Annotated[dict[str, Any], WithJsonSchema(DOCUMENT_SCHEMA)]


class Requestable(_Model):
    """Users may ask for the role for a while (access requests): the longest grant, how long a request waits."""

    max_minutes: int = Field(ge=1)
    answer_within_minutes: int = Field(ge=1)


class Role(_Model):
    """A role and the permission policies attached to it (the built-in Super Admin role is never in a file)."""

    name: str = Field(min_length=1, max_length=100)
    description: str = ""
    labels: Labels = {}
    policies: Names = []
    requestable: Requestable | None = Field(default=None, description="Absent: users may not request the role.")


class TimedGrant(_Model):
    """A role held until a moment (a time-bound grant); a role named alone is held until taken away."""

    role: str = Field(min_length=1)
    expires: datetime = Field(
        strict=False,
        description="When the grant stops counting: an ISO 8601 moment with its time zone, e.g. 2026-12-31T18:00:00Z.",
    )


Grants = Annotated[
    list[str | TimedGrant],
    Field(description="Roles by name, each held until taken away, or {role, expires} until a moment."),
]


class GroupBinding(_Model):
    """The roles bound to a SCIM group, named by its displayName or its externalId (one of the two)."""

    model_config = ConfigDict(
        json_schema_extra={"oneOf": [{"required": ["displayName"]}, {"required": ["externalId"]}]}
    )

    displayName: str | None = Field(default=None, min_length=1)
    externalId: str | None = Field(default=None, min_length=1)
    roles: Grants = []

    @model_validator(mode="after")
    def _one_name(self) -> GroupBinding:
        if (self.displayName is None) == (self.externalId is None):
            raise ValueError("name the group by displayName or by externalId (one of the two)")
        return self


class UserGrant(_Model):
    """What an administrator gave a user directly: roles and permission boundaries (by name)."""

    userName: str = Field(min_length=1)
    roles: Grants = []
    boundaries: Names = []


class SecretRef(_Model):
    """Where a login option's secret is: an environment variable of the server, or the placeholder for a secret
    kept encrypted in Gatehouse (never exported; apply keeps it). Never the secret itself."""

    model_config = ConfigDict(json_schema_extra={"oneOf": [{"required": ["env"]}, {"required": ["stored"]}]})

    env: str | None = Field(default=None, pattern=ENV_NAME)
    stored: Literal[True] | None = None

    @model_validator(mode="after")
    def _one_place(self) -> SecretRef:
        if (self.env is None) == (self.stored is None):
            raise ValueError("give env: NAME (an environment variable) or stored: true, one of the two")
        return self


class MappingRule(_Model):
    """A role-mapping rule: grants a role (``role``) or a boundary (``boundary``), by name."""

    model_config = ConfigDict(json_schema_extra={"oneOf": [{"required": ["role"]}, {"required": ["boundary"]}]})

    role: str | None = Field(default=None, min_length=1)
    boundary: str | None = Field(default=None, min_length=1)
    attribute: str = Field(description="A JSONPath into the claims: $.groups[*], $.department.")
    operation: Literal["exact_match", "contains_string", "exact_match_in_array", "contains_string_in_array", "regex"]
    value: str

    @model_validator(mode="after")
    def _one_target(self) -> MappingRule:
        if (self.role is None) == (self.boundary is None):
            raise ValueError("give role: NAME or boundary: NAME (a permission policy), one of the two")
        return self


def _fields_of(settings: type[Any], name: str) -> type[BaseModel]:
    """A strict model of a login protocol's settings dataclass, field for field (so the two never drift)."""
    hints = typing.get_type_hints(settings)
    fields: dict[str, Any] = {
        found.name: (hints[found.name], ... if found.default is dataclasses.MISSING else found.default)
        for found in dataclasses.fields(settings)
    }
    config = ConfigDict(extra="forbid", strict=True, frozen=True)
    model: type[BaseModel] = create_model(name, __config__=config, **fields)
    return model


LdapFields = _fields_of(LdapSettings, "LdapFields")
SamlFields = _fields_of(SamlSettings, "SamlFields")


class _Option(_Model):
    name: str = Field(min_length=1, max_length=100)
    id: str | None = Field(
        default=None,
        pattern=UUID4,
        description="The option's id, in its redirect and ACS URLs: kept when the option is created elsewhere, so "
        "that the URLs registered at the identity provider stay right. It cannot change.",
    )
    enabled: bool = True
    scim_only: bool | None = Field(default=None, description="null: on while SCIM provisioning is on.")
    secret: SecretRef | None = None
    rules: list[MappingRule] = []


class OidcOption(_Option):
    """An OpenID Connect login option."""

    kind: Literal["oidc"]
    issuer: str
    client_id: str
    scopes: list[str] = DEFAULT_SCOPES.split()
    username_claim: str = "preferred_username"
    email_claim: str = "email"
    name_claim: str = "name"
    subject_claim: str = "sub"
    end_session: bool = False


class LdapOption(_Option):
    """An LDAP login option (its bind password is the secret)."""

    kind: Literal["ldap"]
    ldap: LdapFields  # type: ignore[valid-type]


class SamlOption(_Option):
    """A SAML 2.0 login option (its SP private key is the secret)."""

    kind: Literal["saml"]
    saml: SamlFields  # type: ignore[valid-type]


LoginOption = Annotated[OidcOption | LdapOption | SamlOption, Field(discriminator="kind")]


class Login(_Model):
    """How people sign in."""

    password: bool | None = Field(default=None, description="The built-in password sign-in on or off.")
    options: list[LoginOption] | None = None


class Scim(_Model):
    """SCIM provisioning."""

    enabled: bool | None = None
    password_sign_in: bool | None = Field(default=None, description="Provisioned users may sign in with a password.")
    tokens: list[str] | None = Field(default=None, description="The names of the live SCIM tokens (never a secret).")


class GatewayRule(_Model):
    """A forward-auth rule (the table is applied in the order given)."""

    methods: list[str] = ["GET"]
    path: str
    query: dict[str, str] = {}
    action: str
    resource: str
    labels: dict[str, dict[str, str]] = {}
    description: str = ""


class ResourceLabels(_Model):
    """The labels kept for one gateway resource."""

    resource: str
    labels: Labels


class Gateway(_Model):
    """Gateway authorization."""

    preset: bool | None = Field(default=None, description='The "API7 / APISIX admin API" preset on or off.')
    rules: list[GatewayRule] | None = None
    resource_labels: list[ResourceLabels] | None = None


class ConfigFile(_Model):
    """Gatehouse's access configuration."""

    model_config = ConfigDict(title="Gatehouse access configuration")

    schema_: str | None = Field(default=None, alias="$schema", description="The schema, for editors.")
    version: Literal[1]
    permission_policies: list[PermissionPolicy] | None = None
    roles: list[Role] | None = None
    group_bindings: list[GroupBinding] | None = None
    user_grants: list[UserGrant] | None = None
    login: Login | None = None
    scim: Scim | None = None
    gateway: Gateway | None = None


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a configuration file, for editors to complete and check it."""
    schema = ConfigFile.model_json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


# ------------------------------------------------------------------------------------------ checks


def grant_names(items: list[str | TimedGrant]) -> list[tuple[str, datetime | None]]:
    """Each grant's role name and until when it is held (``None``: until taken away)."""
    return [(item, None) if isinstance(item, str) else (item.role, item.expires) for item in items]


def validate(where: Locator, source: str | None = None) -> ConfigFile:
    """The file's data as a :class:`ConfigFile`, or :class:`ConfigError` with every problem found."""
    if not isinstance(where.data, dict):
        raise ConfigError([where.problem((), "a configuration is a mapping with version: 1 and sections")], source)
    problems = _secrets(where)
    try:
        model = ConfigFile.model_validate(where.data)
    except ValidationError as exc:
        reported = [problem.path for problem in problems]
        for error in exc.errors():
            path = _path(error["loc"])
            if not any(path[: len(done)] == done for done in reported):
                problems.append(where.problem(path, _message(error, path)))
                reported.append(path)
        raise ConfigError(problems, source) from None
    problems.extend(_duplicates(model, where))
    if problems:
        raise ConfigError(problems, source)
    return model


def _secrets(where: Locator) -> list[Problem]:
    """A secret's value where a reference belongs (see :data:`SECRET_FIELDS`), and SCIM tokens given as secrets."""
    problems: list[Problem] = []
    options = where.value(("login", "options"))
    for index in range(len(options) if isinstance(options, list) else 0):
        base: Path = ("login", "options", index)
        secret = where.value((*base, "secret"))
        if secret is not None and not isinstance(secret, dict):
            problems.append(where.problem((*base, "secret"), _NO_VALUE))
        for place in (base, (*base, "ldap"), (*base, "saml")):
            found = where.value(place)
            for key in sorted(SECRET_FIELDS & set(found) if isinstance(found, dict) else ()):
                problems.append(where.problem((*place, key), _NO_VALUE))
    tokens = where.value(("scim", "tokens"))
    for index, token in enumerate(tokens if isinstance(tokens, list) else []):
        if isinstance(token, dict):
            problems.append(where.problem(("scim", "tokens", index), _TOKEN_NAMES))
        elif isinstance(token, str) and token.startswith(TOKEN_PREFIXES) and len(token) > 30:
            message = "this is a token's secret, not its name: " + _TOKEN_NAMES
            problems.append(where.problem(("scim", "tokens", index), message))
    return problems


_NO_VALUE: Final = (
    "a secret's value never goes in the file: write secret: {env: NAME} (the server reads it from the environment "
    "variable NAME), or secret: {stored: true} to keep the one stored in Gatehouse"
)
_TOKEN_NAMES: Final = "SCIM tokens are listed by name only; their secret is shown once, when apply creates one"

_FIELD_NAMES: Final = sorted(
    {
        name
        for model in (ConfigFile, PermissionPolicy, Role, Requestable, TimedGrant, GroupBinding, UserGrant, SecretRef,
                      MappingRule, OidcOption, LdapOption, SamlOption, LdapFields, SamlFields, Login, Scim, GatewayRule,
                      ResourceLabels, Gateway)
        for name in (info.alias or key for key, info in model.model_fields.items())
    }
)  # fmt: skip


def _path(loc: tuple[int | str, ...]) -> Path:
    """A pydantic location as a path into the file: a login option's ``kind`` tag left out."""
    if len(loc) > 3 and loc[:2] == ("login", "options") and loc[3] in ("oidc", "ldap", "saml"):
        return (*loc[:3], *loc[4:])
    return tuple(loc)


def _message(error: ErrorDetails, path: Path) -> str:
    kind, context = error["type"], error.get("ctx") or {}
    given = error.get("input")
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(str(path[-1]), _FIELD_NAMES, n=1)
        return "unknown field" + (f" (did you mean '{close[0]}'?)" if close else "")
    if kind == "string_type":
        hint = " (quote it: YAML reads yes, no, on, off, numbers and dates otherwise)" if given is not None else ""
        return f"must be text{hint}"
    if kind == "bool_type":
        return "must be true or false"
    if kind in ("int_type", "int_from_float", "int_parsing"):
        return "must be a whole number"
    if kind == "list_type":
        return "must be a list"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "must be a mapping of fields"
    if kind == "literal_error":
        return f"must be {context.get('expected', 'one of the values allowed')}, not {given!r}"
    if kind == "union_tag_invalid":
        return f"kind must be oidc, ldap or saml, not {context.get('tag')!r}"
    if kind == "union_tag_not_found":
        return "kind is required: oidc, ldap or saml"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return f"must be at most {context.get('max_length')} characters"
    if kind == "string_pattern_mismatch":
        if path and path[-1] == "env":
            return "must be the name of an environment variable (letters, digits and _), not a secret's value"
        if path and path[-1] == "id":
            return "must be a login option's id (a random UUID, as exported)"
        return f"must match {context.get('pattern')}"
    if kind == "value_error":
        return str(context.get("error", error["msg"]))
    return str(error["msg"])


def _duplicates(model: ConfigFile, where: Locator) -> list[Problem]:
    """Objects listed twice (names ignore case and repeated spaces, as Gatehouse compares them)."""
    problems: list[Problem] = []

    def once(section: Path, keys: list[str | None], what: str) -> None:
        first: dict[str, int] = {}
        for index, key in enumerate(keys):
            if key is None:
                continue
            if key in first:
                line = where.line((*section, first[key]))
                at = f" (line {line})" if line else ""
                problems.append(
                    where.problem((*section, index), f"{what} is listed twice: also item {first[key] + 1}{at}")
                )
            else:
                first[key] = index

    def names(items: list[str], path: Path, what: str) -> None:
        once(path, [fold(item) for item in items], what)

    if model.permission_policies is not None:
        once(("permission_policies",), [fold(p.name) for p in model.permission_policies], "this permission policy")
    if model.roles is not None:
        once(("roles",), [fold(r.name) for r in model.roles], "this role")
        for index, role in enumerate(model.roles):
            names(role.policies, ("roles", index, "policies"), "this policy")
    if model.group_bindings is not None:
        keys = [
            f"name:{b.displayName.lower()}" if b.displayName is not None else f"external:{b.externalId}"
            for b in model.group_bindings
        ]
        once(("group_bindings",), list(keys), "this group")
        for index, binding in enumerate(model.group_bindings):
            names([name for name, _ in grant_names(binding.roles)], ("group_bindings", index, "roles"), "this role")
    if model.user_grants is not None:
        once(("user_grants",), [g.userName.lower() for g in model.user_grants], "this user")
        for index, grant in enumerate(model.user_grants):
            names([name for name, _ in grant_names(grant.roles)], ("user_grants", index, "roles"), "this role")
            names(grant.boundaries, ("user_grants", index, "boundaries"), "this boundary")
    if model.login is not None and model.login.options is not None:
        once(("login", "options"), [fold(o.name) for o in model.login.options], "this login option")
        once(("login", "options"), [o.id for o in model.login.options], "a login option with this id")
    if model.scim is not None and model.scim.tokens is not None:
        once(("scim", "tokens"), [token.strip() for token in model.scim.tokens], "this token")
    if model.gateway is not None and model.gateway.resource_labels is not None:
        once(("gateway", "resource_labels"), [item.resource for item in model.gateway.resource_labels], "this resource")
    return problems


def fold(name: str) -> str:
    """A name as Gatehouse compares names: repeated white space as one space, in any case."""
    return " ".join(name.split()).lower()


def sections_given(model: ConfigFile) -> frozenset[str]:
    """The sections the file gives (those a plan manages)."""
    return frozenset(section for section in SECTIONS if getattr(model, section) is not None)
