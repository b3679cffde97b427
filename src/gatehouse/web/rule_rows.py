"""The role-mapping rules of a login option's form, as rows that work without JavaScript.

Each rule is a row of fields named by its position (``rules-0-kind``, ``rules-0-target``, ``rules-0-attribute``,
``rules-0-operation``, ``rules-0-value``, ``rules-0-remove``); ``rules-count`` says how many rows the page
had, a few of them empty for new rules. Buttons named ``rules_action`` change the rows and show the form
again *without saving* (the server renders what was submitted, changed): ``up:2`` and ``down:2`` move the
third row, ``add`` adds empty rows, ``load`` turns the JSON of the advanced view into rows. A row ticked
"remove" is dropped, and empty rows are ignored, on every submit.

The advanced view is the same rules as JSON (a textarea named ``rules``). Which one is saved is never
guessed: the form's Save button saves the rows, the advanced view's own button (``rules_action=json``)
saves the JSON. A form posted without ``rules-count`` (a script, an older page) has no rows: its JSON is
the rules.

Pure helpers of :mod:`gatehouse.web.routes.login_options`; the rules are checked by
:mod:`gatehouse.iam.role_mapping_rules`, whose problems (rule index and field) are placed here beside
their fields.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from gatehouse.errors import GatehouseError
from gatehouse.iam import role_mapping_rules
from gatehouse.iam.role_mapping_rules import RuleProblem
from gatehouse.login.mapping import MAX_JSON_TEXT_LENGTH, MAX_RULES, Operation
from gatehouse.numerals import whole_number

SPARE_ROWS: Final = 3
"""Empty rows shown after the rules, for new ones."""
MORE_ROWS: Final = 3
"""Empty rows the "Add rows" button adds."""
MAX_ROWS: Final = MAX_RULES + 20
OPERATION_LABELS: Final[Mapping[str, str]] = {
    Operation.EXACT_MATCH: "is exactly",
    Operation.CONTAINS_STRING: "contains",
    Operation.EXACT_MATCH_IN_ARRAY: "has an element that is",
    Operation.CONTAINS_STRING_IN_ARRAY: "has an element containing",
    Operation.REGEX: "matches the regex",
}
"""Each operation as the rows' select shows it (the advanced view names them as the JSON does)."""
ROW_FIELD: Final[Mapping[str, str]] = {"target_id": "target"}
"""A rule's JSON field → its row field, where the names differ."""
_MOVE: Final = re.compile(r"(up|down):(\d{1,3})")


@dataclass(frozen=True, slots=True)
class RuleRow:
    """One row as typed (nothing checked): the target is a role's or policy's id or name."""

    kind: str = "role"
    target: str = ""
    attribute: str = ""
    operation: str = Operation.EXACT_MATCH.value
    value: str = ""

    @property
    def blank(self) -> bool:
        """An empty row (its selects aside): ignored."""
        return not (self.target.strip() or self.attribute.strip() or self.value.strip())

    def to_json(self) -> dict[str, str]:
        """The rule's JSON form, as :mod:`gatehouse.iam.role_mapping_rules` checks it."""
        return {"kind": self.kind, "target_id": self.target, "attribute": self.attribute,
                "operation": self.operation, "value": self.value}  # fmt: skip


@dataclass(frozen=True, slots=True)
class RulesForm:
    """The rules part of a form: the rules' rows in order, how many empty rows follow, the JSON text, which
    of the two is the rules (``source``) and the button pressed (``action``, empty for Save)."""

    rows: tuple[RuleRow, ...]
    spare: int = SPARE_ROWS
    text: str = "[]"
    source: Literal["rows", "json"] = "rows"
    action: str = ""

    @property
    def editing(self) -> bool:
        """Whether the button only changes the rows: show the form again, save nothing."""
        return self.action in ("add", "load") or _MOVE.fullmatch(self.action) is not None


def rows_text(rows: Sequence[RuleRow]) -> str:
    """Rows as the advanced view shows them: a JSON array, one rule per line."""
    if not rows:
        return "[]"
    return "[\n" + ",\n".join("  " + json.dumps(row.to_json(), ensure_ascii=False) for row in rows) + "\n]"


def rows_of_text(text: str) -> tuple[RuleRow, ...] | None:
    """The rows of JSON rules, or ``None`` if the text is not an array of at most
    :data:`~gatehouse.login.mapping.MAX_RULES` objects (its problems are then the checks' to name)."""
    try:
        decoded = json.loads(text) if text.strip() and len(text) <= MAX_JSON_TEXT_LENGTH else []
    except (ValueError, RecursionError):
        return None
    if not isinstance(decoded, list) or len(decoded) > MAX_RULES or not all(isinstance(i, dict) for i in decoded):
        return None

    def text_of(item: Mapping[str, Any], name: str, default: str = "") -> str:
        value = item.get(name, default)
        return value if isinstance(value, str) else json.dumps(value)

    return tuple(
        RuleRow(text_of(item, "kind", "role"), text_of(item, "target_id"), text_of(item, "attribute"),
                text_of(item, "operation"), text_of(item, "value"))
        for item in decoded
    )  # fmt: skip


def saved(text: str) -> RulesForm:
    """Saved rules (their JSON text) as the form first shows them."""
    return RulesForm(rows_of_text(text) or (), SPARE_ROWS, text)


def posted_rules(form: Mapping[str, Any], max_text: int) -> RulesForm:
    """The rules part of a posted form: rows moved, removed and compacted as the button asks."""
    text, action = str(form.get("rules", ""))[:max_text], str(form.get("rules_action", ""))[:20]
    count = whole_number(form.get("rules-count", ""))
    if count is None:
        return RulesForm(rows_of_text(text) or (), SPARE_ROWS, text, "json")
    posted = [_row(form, index) for index in range(min(count, MAX_ROWS))]
    kept = [index for index, (row, removed) in enumerate(posted) if not removed and not row.blank]
    if (move := _MOVE.fullmatch(action)) is not None and int(move.group(2)) in kept:
        at = kept.index(int(move.group(2)))  # moved past the rows removed or empty: among those that stay
        other = at - 1 if move.group(1) == "up" else at + 1
        if 0 <= other < len(kept):
            kept[at], kept[other] = kept[other], kept[at]
    rows = tuple(posted[index][0] for index in kept)
    spare = max(SPARE_ROWS, sum(1 for row, _ in posted if row.blank)) + (MORE_ROWS if action == "add" else 0)
    spare = max(1, min(spare, MAX_ROWS - len(rows)))
    if action in ("json", "load"):
        return RulesForm(rows_of_text(text) or rows, spare, text, "json", action)
    return RulesForm(rows, spare, rows_text(rows), "rows", action)


def _row(form: Mapping[str, Any], index: int) -> tuple[RuleRow, bool]:
    def text(name: str, limit: int = 1100) -> str:
        return str(form.get(f"rules-{index}-{name}", ""))[:limit]

    row = RuleRow(text("kind", 20), text("target", 300), text("attribute"), text("operation", 40), text("value"))
    return row, text("remove", 10) == "on"


# ------------------------------------------------------------------------------------------ problems placed


@dataclass(frozen=True, slots=True)
class RulesView:
    """What the template shows: the rows (the rules, then empty ones), each problem's message by the id of
    the element it is beside (``rules-0-target``; ``rules-0-kind`` for a rule as a whole; ``rules`` for the
    JSON), the summary's links (id, sentence), and whether the advanced view opens."""

    rows: tuple[RuleRow, ...]
    errors: Mapping[str, str] = field(default_factory=dict)
    summary: tuple[tuple[str, str], ...] = ()
    json_open: bool = False
    text: str = "[]"


def view(rules: RulesForm, problems: Sequence[RuleProblem] = ()) -> RulesView:
    """The rows with ``problems`` placed beside their fields (the JSON's own beside the JSON); for JSON that
    was to be shown as rows but cannot be, why not."""
    if not problems and rules.action == "load" and rows_of_text(rules.text) is None:
        problems = _unreadable(rules.text)
    errors: dict[str, list[str]] = {}
    summary = []
    for problem in problems:
        if problem.index is None or problem.index >= len(rules.rows):
            where, message = "rules", problem.sentence
        else:
            name = ROW_FIELD.get(problem.field or "kind", problem.field or "kind")
            where, message = f"rules-{problem.index}-{name}", problem.message
        errors.setdefault(where, []).append(message)
        summary.append((where, problem.sentence))
    if rules.source == "json" and problems:
        errors.setdefault("rules", []).extend(p.sentence for p in problems if p.index is not None)
    rows = rules.rows + (RuleRow(),) * rules.spare
    opened = rules.source == "json" or "rules" in errors
    shown_errors = {where: " ".join(messages) for where, messages in errors.items()}
    return RulesView(rows, shown_errors, tuple(summary), opened, rules.text)


def _unreadable(text: str) -> list[RuleProblem]:
    try:
        problems = role_mapping_rules.rule_problems(role_mapping_rules.rules_from_text(text))
    except role_mapping_rules.RuleError as exc:
        return list(exc.problems)
    return problems or [RuleProblem(None, None, f"the rules cannot be shown as rows: at most {MAX_RULES} rules")]


def failure(exc: GatehouseError) -> dict[str, Any]:
    """How a refused form is shown again: its status, the error, and the problems of its rules and of its other
    fields if those."""
    return {"status": exc.status, "error": exc.detail, "problems": getattr(exc, "problems", ()),
            "fields": getattr(exc, "fields", None)}  # fmt: skip
