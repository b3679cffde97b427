"""Request and response bodies of gateway authorization: the decision API, forward-auth rules and the labels
of gateway resources (``/api/v1/authz/...``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from gatehouse.api.schemas import Body, FromRecord
from gatehouse.iam.decisions import MAX_CHECKS, Answer
from gatehouse.iam.gateway_access import RuleTable, RuleView
from gatehouse.iam.gateway_rules import Rule

LabelsByKey = dict[str, dict[str, str]]

# ------------------------------------------------------------------------------------------ decisions


class SubjectIn(Body):
    """Who the checks are about: a user id or a user name (one of them)."""

    user_id: str | None = Field(default=None, min_length=1, max_length=64)
    username: str | None = Field(default=None, min_length=1, max_length=255)

    @model_validator(mode="after")
    def _one(self) -> SubjectIn:
        if (self.user_id is None) == (self.username is None):
            raise ValueError("name the subject by user_id or by username (one of them)")
        return self


class CheckIn(Body):
    """One question: may the subject do ``action`` on ``resource``?"""

    action: str = Field(min_length=1, max_length=100, description="A catalog action, e.g. `gateway:GetConsumer`.")
    resource: str = Field(
        min_length=1,
        max_length=300,
        description="A resource name, e.g. `arn:api7:gateway:gatewaygroup/<id>/publishedservice/<id>`.",
    )
    labels: LabelsByKey | None = Field(
        default=None,
        description='Labels by condition key, e.g. `{"gateway_group_label": {"env": "dev"}}`; for the keys not '
        "given, the labels Gatehouse keeps for the resource apply.",
    )


class CheckRequest(Body):
    """A subject and 1 to 100 checks."""

    subject: SubjectIn
    checks: list[CheckIn] = Field(min_length=1, max_length=MAX_CHECKS)


class SubjectOut(BaseModel):
    """The subject as found: ``exists`` false for an unknown user, ``active`` false for a deactivated one."""

    user_id: str | None
    username: str | None
    exists: bool
    active: bool


class CheckResult(BaseModel):
    """The answer to one check."""

    action: str
    resource: str
    allowed: bool
    outcome: Literal["allowed", "denied", "not_allowed", "outside_boundary", "invalid_request"]
    reason: str = Field(description="The deciding statement (`allowed by statement 0 of policy 'p' in role 'r'`), "
        "the denying one, the boundary, or `no statement allows …`.")  # fmt: skip
    labels: LabelsByKey = Field(description="The labels the check was decided with.")


class CheckResponse(BaseModel):
    """The subject, and the results in the order of the checks."""

    subject: SubjectOut
    results: list[CheckResult]


def answer_document(answer: Answer) -> dict[str, Any]:
    """The decision API's answer as :class:`CheckResponse` describes it, built as plain data (the route serves it
    with orjson: building the models for a 100-check answer costs more than deciding it)."""
    subject = answer.subject
    return {
        "subject": {
            "user_id": subject.user_id,
            "username": subject.user_name,
            "exists": subject.exists,
            "active": subject.active,
        },
        "results": [
            {
                "action": check.asked_action or check.action,
                "resource": check.asked_resource or check.resource.name,
                "allowed": decision.allowed,
                "outcome": decision.outcome,
                "reason": decision.reason,
                "labels": {key: dict(value) for key, value in labels.items()},
            }
            for check, decision, labels in zip(answer.checks, answer.decisions, answer.labels, strict=True)
        ],
    }


# ------------------------------------------------------------------------------------------ rules


class RuleFields(Body):
    """A forward-auth rule (see the guide "Guarding the gateway", docs/guides/gateway.md)."""

    methods: list[str] = Field(
        min_length=1, max_length=8, description='HTTP methods (`GET` also covers `HEAD`), or `["*"]` for any.'
    )
    path: str = Field(
        min_length=1,
        max_length=512,
        description="Whole segments: literal, a named part `{gg}`, or a final `**`: "
        "`/api/gateway_groups/{gg}/services/{sid}`.",
    )
    query: dict[str, str] = Field(
        default_factory=dict, description='Parts taken from query parameters: `{"gg": "gateway_group_id"}`.'
    )
    action: str = Field(min_length=1, max_length=100, description="A catalog action (API7's aliases accepted).")
    resource: str = Field(
        min_length=1,
        max_length=300,
        description="A template: `arn:api7:gateway:gatewaygroup/{gg}/publishedservice/{sid}`.",
    )
    labels: LabelsByKey = Field(
        default_factory=dict, description="Label templates by condition key; empty: the stored labels apply."
    )
    description: str = Field(default="", max_length=300)
    position: int | None = Field(
        default=None, ge=0, le=10_000, description="Where in the table (0 first); default: last, or where it is."
    )


class RuleOut(BaseModel):
    """A rule of the table."""

    id: str | None = Field(description="`null` for the preset's rules.")
    position: int
    methods: list[str]
    path: str
    query: dict[str, str]
    action: str
    resource: str
    labels: LabelsByKey
    description: str
    version: int | None = None
    updated: datetime | None = None

    @classmethod
    def of(cls, rule: Rule, position: int, version: int | None = None, updated: datetime | None = None) -> RuleOut:
        fields: dict[str, Any] = rule.as_dict()
        return cls(**fields, position=position, version=version, updated=updated)

    @classmethod
    def of_view(cls, view: RuleView) -> RuleOut:
        return cls.of(view.rule, view.position, view.version, view.updated)


class PresetOut(BaseModel):
    """The built-in preset: on or off, and its rules (applied after the custom ones when on)."""

    name: str
    enabled: bool
    rules: list[RuleOut]


class RuleTableOut(BaseModel):
    """The custom rules in order, and the preset's switch."""

    items: list[RuleOut]
    preset: PresetOut

    @classmethod
    def of(cls, table: RuleTable, *, with_preset_rules: bool = False) -> RuleTableOut:
        preset_rules = [RuleOut.of(rule, index) for index, rule in enumerate(table.preset)] if with_preset_rules else []
        return cls(
            items=[RuleOut.of_view(view) for view in table.rules],
            preset=PresetOut(name=table.preset_name, enabled=table.preset_enabled, rules=preset_rules),
        )


class PresetSwitch(Body):
    """Switch the preset on or off."""

    enabled: bool


# ------------------------------------------------------------------------------------------ labels


class LabelsIn(Body):
    """The labels Gatehouse keeps for one gateway resource (they replace its labels; `{}` removes them)."""

    resource: str = Field(
        min_length=1,
        max_length=300,
        description="One gateway group, published service, consumer or service template, e.g. "
        "`arn:api7:gateway:gatewaygroup/<id>`.",
    )
    labels: dict[str, str] = Field(max_length=32, description='e.g. `{"env": "dev"}`.')


class LabelsOut(FromRecord):
    """A labelled gateway resource."""

    resource: str
    kind: str
    labels: dict[str, str]
    updated: datetime | None
    updated_by: str | None


class LabelsList(BaseModel):
    """The labelled resources you may read."""

    items: list[LabelsOut]
