"""A plan's gateway authorization (:mod:`gatehouse.iam.config_plan`): the forward-auth preset, the forward-auth
rule table (one object: the file's list is the table, compiled as the dashboard compiles it), and the labels of
gateway resources by resource name. Reads only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gatehouse.errors import InvalidInput
from gatehouse.iam.config_changes import FieldChange, ObjectChange
from gatehouse.iam.config_diff import PlanContext, compare, setting_change
from gatehouse.iam.config_export import labels_doc, rule_doc, stored_rule_doc
from gatehouse.iam.config_file import Path
from gatehouse.iam.config_model import Gateway
from gatehouse.iam.config_payloads import TablePayload
from gatehouse.iam.gateway_rules import MAX_RULES, Rule, RuleError, compile_rule
from gatehouse.iam.rbac_forms import check_labels
from gatehouse.iam.resource_names import parse_resource


def gateway_changes(plan: PlanContext, gateway: Gateway) -> list[ObjectChange]:
    """The ``gateway`` section: the preset, the rule table, the resources' labels."""
    changes = setting_change("authz_preset", "enabled", plan.state.preset, gateway.preset)
    if gateway.rules is not None:
        changes += _rules(plan, gateway.rules)
    if gateway.resource_labels is not None:
        changes += _labels(plan, gateway.resource_labels)
    return changes


def _rules(plan: PlanContext, given: Sequence[Any]) -> list[ObjectChange]:
    if len(given) > MAX_RULES:
        plan.problem(("gateway", "rules"), f"the table holds at most {MAX_RULES} rules")
        return []
    compiled: list[Rule] = []
    for index, rule in enumerate(given):
        path: Path = ("gateway", "rules", index)
        try:
            compiled.append(
                compile_rule(rule.methods, rule.path, rule.action, rule.resource, rule.query, rule.labels,
                             rule.description)
            )  # fmt: skip
        except RuleError as exc:
            plan.refused(path, exc)
    if len(compiled) != len(given):
        return []
    before = [stored_rule_doc(rule) for rule in plan.state.rules]
    after = [
        rule_doc(rule.methods, rule.path, rule.action, rule.resource, rule.query, rule.labels, rule.description)
        for rule in compiled
    ]
    if before == after:
        return []
    fields = tuple(
        FieldChange(f"rules[{index}]", before[index] if index < len(before) else None,
                    after[index] if index < len(after) else None)
        for index in range(max(len(before), len(after)))
        if (before[index] if index < len(before) else None) != (after[index] if index < len(after) else None)
    )  # fmt: skip
    payload = TablePayload(tuple(compiled), tuple(rule.id for rule in plan.state.rules))
    return [ObjectChange("authz_rules", "", "update", fields, payload=payload)]


def _labels(plan: PlanContext, given: Sequence[Any]) -> list[ObjectChange]:
    current = {item.resource: labels_doc(item.resource, item.labels) for item in plan.state.labels}
    changes: list[ObjectChange] = []
    seen: set[str] = set()
    for index, item in enumerate(given):
        path: Path = ("gateway", "resource_labels", index)
        try:
            resource = parse_resource(item.resource)
        except InvalidInput as exc:
            plan.problem((*path, "resource"), exc.detail)
            continue
        if not resource.labelled:
            plan.problem(
                (*path, "resource"),
                "labels are kept for one gateway group, published service, consumer or service template (no '*'), "
                f"not for {resource.name}",
            )
            continue
        try:
            labels = check_labels(item.labels)
        except InvalidInput as exc:
            plan.refused(path, exc)
            continue
        if resource.name in seen:
            plan.problem((*path, "resource"), f"'{resource.name}' is listed twice (names in API7's spelling too)")
            continue
        seen.add(resource.name)
        after = labels_doc(resource.name, labels)
        if not labels and resource.name not in current:
            continue
        if not labels:
            changes.append(ObjectChange("resource_labels", resource.name, "delete", payload=(resource.name, {})))
            continue
        changes += compare("resource_labels", resource.name, current.get(resource.name), after,
                           (resource.name, labels))  # fmt: skip
    if plan.prune:
        for name in current:
            if name not in seen:
                changes.append(ObjectChange("resource_labels", name, "delete", payload=(name, {})))
    return changes
