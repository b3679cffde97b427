"""Request and response bodies of "Gatehouse as code" (``/api/config/...``): a configuration file sent as JSON
(``config``) or as its YAML or JSON text (``text``, whose problems then carry line numbers), and the plan."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from gatehouse.api.schemas import Body
from gatehouse.iam.config_changes import ObjectChange
from gatehouse.iam.config_file import MAX_BYTES

CONFIG_DESCRIPTION = (
    "The configuration file as JSON (the format of `GET /api/config/export`, described by `GET /api/config/schema`)."
)


class ConfigIn(Body):
    """A configuration file: ``config`` (JSON) or ``text`` (its YAML or JSON text), one of the two."""

    config: dict[str, Any] | None = Field(default=None, description=CONFIG_DESCRIPTION)
    text: str | None = Field(
        default=None,
        max_length=MAX_BYTES,
        description="The file's YAML or JSON text, as in a repository: problems then say on which line.",
    )
    prune: bool = Field(default=False, description="Also delete what the file's sections do not list.")

    @model_validator(mode="after")
    def _one(self) -> ConfigIn:
        if (self.config is None) == (self.text is None):
            raise ValueError("send the file as config (JSON) or as text (YAML or JSON), one of the two")
        return self


class ApplyIn(ConfigIn):
    """A configuration file to apply, and the plan that was reviewed."""

    plan_id: str | None = Field(
        default=None,
        max_length=100,
        description="The id of the plan that was reviewed (`POST /api/config/plan`): the apply is refused (412) when "
        "the configuration changed since.",
    )
    issue_tokens: bool = Field(
        default=False,
        description="Create the SCIM tokens the file names that do not exist; their secrets are in `issued_tokens`, "
        "once. Without it such a file is refused (400).",
    )


class FieldChangeOut(BaseModel):
    """One field that changes."""

    field: str
    before: Any = None
    after: Any = None


class ChangeOut(BaseModel):
    """One object that changes."""

    kind: str = Field(
        description="`permission_policy`, `role`, `group_binding`, `user_grant`, `password_sign_in`, `login_option`, "
        "`scim_settings`, `scim_token`, `authz_preset`, `authz_rules` or `resource_labels`."
    )
    name: str = Field(description="The object's name (empty for a setting or the rule table).")
    action: Literal["create", "update", "delete"]
    fields: list[FieldChangeOut] = Field(description="What an update changes, before and after.")
    notes: list[str]

    @classmethod
    def of(cls, change: ObjectChange) -> ChangeOut:
        return cls(**change.as_dict())


class Counts(BaseModel):
    create: int
    update: int
    delete: int


class PlanOut(BaseModel):
    """A plan: the changes, object by object, and the configuration's id they were computed against."""

    plan_id: str = Field(description="The digest of the configuration the plan was computed against.")
    prune: bool
    sections: list[str] = Field(description="The sections the file gives (the others are not managed).")
    changed: bool
    summary: Counts
    changes: list[ChangeOut]


class IssuedTokenOut(BaseModel):
    """A SCIM token the apply created: its secret, shown this once."""

    name: str
    token: str


class ApplyOut(PlanOut):
    """What an apply changed, and the SCIM tokens it created."""

    applied: bool
    issued_tokens: list[IssuedTokenOut]
