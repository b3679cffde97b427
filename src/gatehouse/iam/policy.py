"""Permission policies: the document model, its validation and the pure evaluator (no I/O).

A policy document is ``{"statement": [{"effect", "actions", "resources", "conditions"}, ...]}``
(API7's ``policy_document``). :func:`parse_policy` validates one and compiles its patterns, or raises
:class:`PolicyError` naming the statement and the field; :func:`evaluate` decides a request
against a user's roles and permission boundaries and says which statement decided it.

Rules (API7's, section 3 of the reference):

- statements are OR-ed; an action is allowed only if some statement of some role's policy allows it,
  every permission boundary of the user has a statement allowing it, and no statement of any of those
  policies denies it: **deny overrides allow**;
- a statement applies when its action patterns match the action, a resource pattern matches the
  resource, and every condition holds for the request's labels. A condition on labels the request
  does not carry does not hold, so a conditional *deny* does not apply then either;
- action and resource patterns: :mod:`gatehouse.iam.policy_patterns` (case-sensitive, anchored);
- an action pattern must match at least one action of :mod:`gatehouse.iam.catalog`; a request for an
  action outside the catalog is denied (``invalid_request``), even to Super Admin's ``*``;
- API7's spellings are accepted: action aliases (``iam:UpdateCustomRole`` for ``iam:UpdateRole``) and
  ``arn:api7:iam:…`` for ``arn:gatehouse:iam:…``, in statements and in requests alike;
- Super Admin is not special here: the caller gives it :data:`~gatehouse.iam.catalog.SUPER_ADMIN_POLICY`.

A decision names what decided, checked in this order: the first denying statement (roles in the order
given, then boundaries), else ``not_allowed`` when no role statement allows, else the first boundary
without an allowing statement (``outside_boundary``), else the first allowing statement.

This module is the public face; the parts live in :mod:`~gatehouse.iam.policy_model` (the frozen
types), :mod:`~gatehouse.iam.policy_parse` (validation) and :mod:`~gatehouse.iam.policy_patterns`.
Everything is pure and thread-safe; compiled patterns are cached.
"""

from __future__ import annotations

from collections.abc import Sequence

from gatehouse.iam.catalog import ACTION_NAMES, canonical_action, canonical_resource
from gatehouse.iam.policy_model import (
    MAX_LABEL_LENGTH,
    Condition,
    Decision,
    Effect,
    EvaluationRequest,
    LabelCheck,
    NamedPolicy,
    Operator,
    Outcome,
    PolicyDocument,
    PolicyError,
    RolePolicies,
    Statement,
    StatementRef,
)
from gatehouse.iam.policy_parse import parse_policy
from gatehouse.iam.policy_patterns import (
    MAX_CHOICES,
    MAX_NAME_LENGTH,
    MAX_PATTERN_LENGTH,
    MAX_REGEX_LENGTH,
    Pattern,
    PatternError,
    compile_pattern,
)

__all__ = [
    "MAX_CHOICES",
    "MAX_LABEL_LENGTH",
    "MAX_NAME_LENGTH",
    "MAX_PATTERN_LENGTH",
    "MAX_REGEX_LENGTH",
    "Condition",
    "Decision",
    "Effect",
    "EvaluationRequest",
    "LabelCheck",
    "NamedPolicy",
    "Operator",
    "Outcome",
    "Pattern",
    "PatternError",
    "PolicyDocument",
    "PolicyError",
    "RolePolicies",
    "Statement",
    "StatementRef",
    "compile_pattern",
    "evaluate",
    "parse_policy",
]


def evaluate(
    request: EvaluationRequest, roles: Sequence[RolePolicies], boundaries: Sequence[NamedPolicy] = ()
) -> Decision:
    """Decide ``request`` for a user holding ``roles`` under permission ``boundaries`` (see the module).

    API7's names are decided as the catalog's: an action alias (``iam:UpdateCustomRole``) as the action it
    stands for, an ``arn:api7:iam:…`` resource as its ``arn:gatehouse:iam:…`` spelling."""
    action, resource = canonical_action(request.action), canonical_resource(request.resource)
    if action != request.action or resource != request.resource:
        request = EvaluationRequest(action, resource, request.labels)
    if action not in ACTION_NAMES:
        return Decision(False, "invalid_request", f"{action!r} is not an action of the catalog")
    if len(resource) > MAX_NAME_LENGTH:
        return Decision(False, "invalid_request", f"the resource name is longer than {MAX_NAME_LENGTH} characters")
    allowing: StatementRef | None = None
    for role in roles:
        for policy in role.policies:
            for index, statement in enumerate(policy.document.statements):
                # The action test inlined: it rules out most statements, and this loop is hot.
                if action in statement.action_names and statement.applies(request):
                    if statement.effect == "deny":
                        ref = StatementRef(policy.id, policy.name, index, "deny", role.id, role.name)
                        return Decision(False, "denied", f"denied by {ref.describe()}", ref)
                    if allowing is None:
                        allowing = StatementRef(policy.id, policy.name, index, "allow", role.id, role.name)
    outside: NamedPolicy | None = None
    for boundary in boundaries:
        within = False
        for index, statement in enumerate(boundary.document.statements):
            if action in statement.action_names and statement.applies(request):
                if statement.effect == "deny":
                    ref = StatementRef(boundary.id, boundary.name, index, "deny")
                    return Decision(False, "denied", f"denied by {ref.describe()}", ref)
                within = True
        if not within and outside is None:
            outside = boundary
    if allowing is None:
        return Decision(False, "not_allowed", f"no statement allows {action} on {resource}")
    if outside is not None:
        reason = f"outside permission boundary '{outside.name}': none of its statements allows {action} on {resource}"
        return Decision(False, "outside_boundary", reason, None, outside.id, outside.name)
    return Decision(True, "allowed", f"allowed by {allowing.describe()}", allowing)
