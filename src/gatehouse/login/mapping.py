"""SSO role and permission-boundary mapping: rules, their validation and their evaluation.

Pure functions: no I/O, no HTTP, no database. The rule model is the SSO issue's (no RFC): each login
option has an ordered list of rules, each with

* a target: ``kind`` ``"role"`` (``target_id`` a role id) or ``"boundary"`` (``target_id`` a permission
  policy id used as a permission boundary; boundary mapping works like role mapping);
* ``attribute``: an RFC 9535 JSONPath into the login's claims (standard names such as ``email`` are
  OpenID Connect Core 1.0 §5.1's), e.g. ``$.groups[*]`` (Okta), ``$.roles[*]`` (Entra ID app roles),
  ``$.groups[*].name`` or ``$.department``;
* ``operation`` (one of :class:`Operation`, semantics there) and ``value``, the text compared with
  (for ``regex``, the pattern).

At each login the user's mapped roles are recomputed from the rules: the roles of matching rules
are granted, previously mapped roles that no longer match are removed (:func:`recompute`); roles
granted by hand or through group bindings are the caller's to keep. A rule's JSON form (``kind``
defaults to ``"role"``)::

    {"kind": "role", "target_id": "r-ops", "attribute": "$.groups[*]", "operation": "exact_match", "value": "ops"}
"""

from __future__ import annotations

import json
import operator
import re
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from itertools import islice
from types import MappingProxyType
from typing import Any, Final, Literal

from jsonpath import CompoundJSONPath, JSONPath, JSONPathEnvironment, JSONPathError, JSONPathMatch

from gatehouse.errors import InvalidInput
from gatehouse.json_types import json_type

MAX_RULES: Final = 100
MAX_VALUE_LENGTH: Final = 1000
MAX_REGEX_LENGTH: Final = 500
MAX_ATTRIBUTE_LENGTH: Final = 500
MAX_TARGET_ID_LENGTH: Final = 200
MAX_CLAIM_STRING_LENGTH: Final = 1000  # a longer claim string never matches (skipped, never cut short)
MAX_CANDIDATES: Final = 1000  # values (array elements for the *_in_array operations) tested per rule
MAX_JSON_TEXT_LENGTH: Final = 256 * 1024

Kind = Literal["role", "boundary"]
KINDS: Final[tuple[Kind, ...]] = ("role", "boundary")
FIELDS: Final = ("kind", "target_id", "attribute", "operation", "value")
Change = tuple[frozenset[str], frozenset[str]]  # (granted, removed), as recompute returns


class Operation(StrEnum):
    """How a rule's ``value`` is compared with the values its JSONPath selects.

    The path selects zero or more values; a missing attribute selects none, so nothing matches.
    "Scalar text" is a string itself, ``true``/``false`` for a boolean and a number's JSON text as
    Python's :mod:`json` writes it (``42``, ``1.5``, ``1e+20``); null, arrays and objects have none.
    Comparisons are case-sensitive, without normalization. Values of other types never raise: they
    simply do not match. Strings longer than :data:`MAX_CLAIM_STRING_LENGTH` never match.

    * ``exact_match``: some selected value's scalar text equals ``value``.
    * ``contains_string``: some selected string contains ``value``.
    * ``exact_match_in_array``: some array element's scalar text equals ``value``. The array
      elements are those of each selected array (``$.groups``) and each selected value that is
      itself an element of an array (``$.groups[*]``).
    * ``contains_string_in_array``: some array element (as above) is a string containing ``value``.
    * ``regex``: some selected string matches the pattern ``value`` as a whole (``fullmatch``).

    ``exact_match``, ``contains_string`` and ``regex`` never look inside a selected array: select
    its elements (``$.groups[*]``) or use an ``*_in_array`` operation.
    """

    EXACT_MATCH = "exact_match"
    CONTAINS_STRING = "contains_string"
    EXACT_MATCH_IN_ARRAY = "exact_match_in_array"
    CONTAINS_STRING_IN_ARRAY = "contains_string_in_array"
    REGEX = "regex"


_ARRAY_OPERATIONS: Final = frozenset({Operation.EXACT_MATCH_IN_ARRAY, Operation.CONTAINS_STRING_IN_ARRAY})
_OPERATION_NAMES: Final = frozenset(op.value for op in Operation)
_VALID_OPERATIONS: Final = ", ".join(op.value for op in Operation)


class MappingError(InvalidInput):
    """A rule list or claims document is not acceptable; ``location`` is e.g. ``rules[2].attribute``."""

    def __init__(self, location: str, reason: str) -> None:
        self.location, self.reason = location, reason
        super().__init__(f"{location}: {reason}")


@dataclass(frozen=True, slots=True)
class Rule:
    """One mapping rule, as validated by :func:`parse_rules` (build rules only through it)."""

    kind: Kind
    target_id: str
    attribute: str
    operation: Operation
    value: str

    def to_json(self) -> dict[str, str]:
        """The rule's JSON form, which :func:`parse_rules` reads back."""
        return {name: str(getattr(self, name)) for name in FIELDS}


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    """Whether rule ``index`` matched and, if so, the claim text and the node (normalized path) it matched."""

    index: int
    rule: Rule
    matched: bool
    value: str | None = None
    location: str | None = None


@dataclass(frozen=True)
class MappingResult:
    """Targets granted by the rules, each with the index of its first matching rule, and every rule's outcome."""

    roles: Mapping[str, int]
    boundaries: Mapping[str, int]
    outcomes: tuple[RuleOutcome, ...]

    @property
    def matched(self) -> tuple[int, ...]:
        """Indexes of all matching rules, in order (several may grant the same target)."""
        return tuple(o.index for o in self.outcomes if o.matched)


@dataclass(frozen=True)
class DryRun:
    """What a set of rules grants for a sample claims document (the dashboard's and API's "test" button)."""

    rules: tuple[Rule, ...]
    result: MappingResult

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary: per rule whether (and where) it matched, then the resulting targets."""

        def targets(granted: Mapping[str, int]) -> list[dict[str, Any]]:
            return [{"id": target, "rule": index} for target, index in sorted(granted.items(), key=lambda x: x[1])]

        return {
            "rules": [
                {
                    "index": o.index,
                    **o.rule.to_json(),
                    "matched": o.matched,
                    "matched_value": o.value,
                    "matched_at": o.location,
                }
                for o in self.result.outcomes
            ],
            "roles": targets(self.result.roles),
            "boundaries": targets(self.result.boundaries),
        }


def parse_rules(raw: object) -> tuple[Rule, ...]:
    """Validate a decoded JSON list of rules; the first problem raises :class:`MappingError`.

    Caps: :data:`MAX_RULES` rules; ``value`` at most :data:`MAX_VALUE_LENGTH` characters (a regex
    :data:`MAX_REGEX_LENGTH`), never empty; ``attribute`` a JSONPath starting with ``$``. JSONPaths
    and regexes are compiled here once and cached for :func:`evaluate`.
    """
    if not isinstance(raw, list):
        raise MappingError("rules", f"must be a JSON array of rules, not {json_type(raw)}")
    if len(raw) > MAX_RULES:
        raise MappingError("rules", f"at most {MAX_RULES} rules are allowed, got {len(raw)}")
    return tuple(parse_rule(f"rules[{index}]", item) for index, item in enumerate(raw))


def parse_rule(where: str, item: object) -> Rule:
    """Validate one decoded rule, ``where`` naming it in the problem (:class:`MappingError`)."""
    if not isinstance(item, dict):
        raise MappingError(where, f"must be a JSON object, not {json_type(item)}")
    if unknown := sorted(str(key) for key in item if key not in FIELDS):
        hint = " (name the target with kind and target_id)" if unknown[0] in ("role", "boundary") else ""
        raise MappingError(where, f"unknown field {unknown[0]!r}{hint}; the fields are {', '.join(FIELDS)}")
    kind = _text(item, "kind", where, 20) if "kind" in item else "role"
    if kind not in KINDS:
        raise MappingError(f"{where}.kind", f"must be role or boundary, not {kind!r}")
    target_id = _text(item, "target_id", where, MAX_TARGET_ID_LENGTH)
    attribute = _text(item, "attribute", where, MAX_ATTRIBUTE_LENGTH)
    if not attribute.startswith("$"):
        raise MappingError(f"{where}.attribute", "must be a JSONPath starting with '$', e.g. $.groups[*] or $.title")
    try:
        compile_path(attribute)
    except JSONPathError as exc:
        raise MappingError(f"{where}.attribute", f"not a valid JSONPath ({_first_line(exc)})") from None
    if (op_text := _text(item, "operation", where, 40)) not in _OPERATION_NAMES:
        raise MappingError(f"{where}.operation", f"unknown operation {op_text!r}; use one of {_VALID_OPERATIONS}")
    operation = Operation(op_text)
    value = _text(item, "value", where, MAX_REGEX_LENGTH if operation is Operation.REGEX else MAX_VALUE_LENGTH)
    if operation is Operation.REGEX:
        _check_regex(f"{where}.value", value)
    return Rule("role" if kind == "role" else "boundary", target_id, attribute, operation, value)


def _text(item: Mapping[str, object], name: str, where: str, max_length: int) -> str:
    if name not in item:
        raise MappingError(f"{where}.{name}", "is required")
    value = item[name]
    if not isinstance(value, str):
        raise MappingError(f"{where}.{name}", f"must be a string, not {json_type(value)}")
    if not value:
        raise MappingError(f"{where}.{name}", "must not be empty")
    if len(value) > max_length:
        raise MappingError(f"{where}.{name}", f"is longer than {max_length} characters ({len(value)})")
    return value


def _check_regex(where: str, pattern: str) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            compile_regex(pattern)
    except re.error as exc:
        raise MappingError(where, f"not a valid regular expression ({exc.msg} at position {exc.pos})") from None
    except (OverflowError, Warning) as exc:  # e.g. a{99999999999}, or FutureWarning "Possible nested set"
        raise MappingError(where, f"not a valid regular expression ({exc})") from None
    if (position := nested_quantifier(pattern)) is not None:
        raise MappingError(
            where,
            f"unsafe regular expression: the repetition at position {position} applies to a "
            "group that itself repeats or alternates, which can backtrack without end",
        )


_QUANTIFIER: Final = re.compile(r"[*+?]|\{(\d*)(?:(,)(\d*))?\}")
_SHORT_QUANTIFIERS: Final = {"*": (0, float("inf")), "+": (1, float("inf")), "?": (0, 1.0)}


def nested_quantifier(pattern: str) -> int | None:
    """Where a cheap scan finds a repeated group holding a variable repetition or an alternation.

    ``(a+)+``, ``(\\w*\\s?)*``, ``(a|aa)+`` and ``((x+))*`` backtrack exponentially; ``(a{2})+``,
    ``(ab)?`` and ``(eng|ops)-.*`` do not. Escapes and character classes are skipped. This is a
    conservative heuristic: what it lets through is bounded by :data:`MAX_CLAIM_STRING_LENGTH`.
    """
    stack = [False]  # per open group: holds a variable repetition or an alternation
    i, end = 0, len(pattern)
    while i < end:
        char, inner = pattern[i], False
        if char == "(":
            stack.append(False)
            i += 1
            continue  # a '?' right after '(' opens an extension, it repeats nothing
        if char == "\\":
            i += 2
        elif char == "[":
            i = _class_end(pattern, i)
        elif char == ")":
            inner = stack.pop() if len(stack) > 1 else False
            i += 1
        else:
            stack[-1] |= char == "|"
            i += 1
        quantifier = _QUANTIFIER.match(pattern, i)
        if quantifier is not None and (bounds := _bounds(quantifier)) is not None:
            if inner and bounds[1] > 1:
                return i
            stack[-1] |= bounds[1] > max(1, bounds[0])  # a variable repetition
            i = quantifier.end()
            if i < end and pattern[i] in "?+":
                i += 1  # lazy or possessive suffix
        stack[-1] |= inner
    return None


def _bounds(quantifier: re.Match[str]) -> tuple[int, float] | None:
    if (text := quantifier.group()) in _SHORT_QUANTIFIERS:
        return _SHORT_QUANTIFIERS[text]
    low, comma, high = quantifier.groups()
    if not comma:
        return (int(low), float(low)) if low else None  # "{}" is literal text
    return int(low or 0), float(high) if high else float("inf")


def _class_end(pattern: str, start: int) -> int:
    i = start + 1 + pattern.startswith("^", start + 1)
    i += pattern.startswith("]", i)  # a ']' first is literal
    while i < len(pattern) and pattern[i] != "]":
        i += 2 if pattern[i] == "\\" else 1
    return i + 1


_ENV: Final = JSONPathEnvironment(strict=True)  # RFC 9535 as written
for _name in ("match", "search"):  # regexes in filters would bypass the checks above
    _ENV.function_extensions.pop(_name, None)


@lru_cache(maxsize=1024)
def compile_path(attribute: str) -> JSONPath | CompoundJSONPath:
    """The compiled JSONPath (cached); raises :class:`jsonpath.JSONPathError`."""
    return _ENV.compile(attribute)


@lru_cache(maxsize=1024)
def compile_regex(pattern: str) -> re.Pattern[str]:
    """The compiled regex (cached); raises :class:`re.error`."""
    return re.compile(pattern)


_EXACT_OPERATIONS: Final = frozenset({Operation.EXACT_MATCH, Operation.EXACT_MATCH_IN_ARRAY})
_TESTS: Final[dict[Operation, Callable[[str, str], bool]]] = {
    Operation.EXACT_MATCH: operator.eq,
    Operation.EXACT_MATCH_IN_ARRAY: operator.eq,
    Operation.CONTAINS_STRING: lambda text, wanted: wanted in text,
    Operation.CONTAINS_STRING_IN_ARRAY: lambda text, wanted: wanted in text,
    Operation.REGEX: lambda text, wanted: compile_regex(wanted).fullmatch(text) is not None,
}


def evaluate(rules: Sequence[Rule], claims: Mapping[str, Any]) -> MappingResult:
    """Apply every rule to ``claims`` (see :class:`Operation`); never raises for JSON claims.

    Each target is granted by its first matching rule; every rule's outcome is kept for the dry run."""
    granted: dict[Kind, dict[str, int]] = {"role": {}, "boundary": {}}
    outcomes = tuple(_outcome(index, rule, claims) for index, rule in enumerate(rules))
    for outcome in outcomes:
        if outcome.matched:
            granted[outcome.rule.kind].setdefault(outcome.rule.target_id, outcome.index)
    return MappingResult(MappingProxyType(granted["role"]), MappingProxyType(granted["boundary"]), outcomes)


def _outcome(index: int, rule: Rule, claims: Mapping[str, Any]) -> RuleOutcome:
    test, exact = _TESTS[rule.operation], rule.operation in _EXACT_OPERATIONS
    for value, location in _candidates(rule, claims):
        text = _scalar_text(value) if exact or isinstance(value, str) else None  # only strings unless exact
        if text is not None and test(text, rule.value):
            return RuleOutcome(index, rule, True, text, location)
    return RuleOutcome(index, rule, False)


def _candidates(rule: Rule, claims: Mapping[str, Any]) -> Iterator[tuple[object, str]]:
    """The values a rule tests with their normalized paths, at most :data:`MAX_CANDIDATES`."""
    in_array = rule.operation in _ARRAY_OPERATIONS
    try:
        nodes = compile_path(rule.attribute).finditer(claims)
        items = (item for node in nodes for item in (_elements(node) if in_array else ((node.obj, node.path),)))
        yield from islice(items, MAX_CANDIDATES)
    except (JSONPathError, RecursionError):  # e.g. a descendant segment in an absurdly deep document
        return


def _elements(node: JSONPathMatch) -> Iterator[tuple[object, str]]:
    if isinstance(node.obj, list):
        yield from ((element, f"{node.path}[{i}]") for i, element in enumerate(node.obj))
    elif node.parent is not None and isinstance(node.parent.obj, list):
        yield node.obj, node.path


def _scalar_text(value: object) -> str | None:
    if isinstance(value, str):
        return value if len(value) <= MAX_CLAIM_STRING_LENGTH else None
    if isinstance(value, bool):
        return "true" if value else "false"
    try:  # json's text for numbers; ValueError for an int too long to print (sys.set_int_max_str_digits)
        return json.dumps(value) if isinstance(value, int | float) else None
    except ValueError:
        return None


def recompute(current_mapped: Set[str], result: MappingResult, kind: Kind = "role") -> Change:
    """The targets of ``kind`` to grant, and those in ``current_mapped`` (what earlier logins mapped,
    never hand-made or group grants) to remove because no rule matches them any more."""
    wanted = (result.roles if kind == "role" else result.boundaries).keys()
    return frozenset(wanted - current_mapped), frozenset(current_mapped - wanted)


def dry_run(rules_json: object, claims_json: object) -> DryRun:
    """Parse rules and sample claims (JSON text or decoded JSON) and evaluate; :class:`MappingError` if invalid."""
    rules = parse_rules(_decode("rules", rules_json))
    claims = parse_claims(claims_json)
    return DryRun(rules, evaluate(rules, claims))


def parse_claims(raw: object) -> dict[str, Any]:
    """A claims document (JSON text or decoded JSON), which must be a JSON object."""
    data = _decode("claims", raw)
    if not isinstance(data, dict):
        raise MappingError("claims", f"must be a JSON object, not {json_type(data)}")
    return data


def _decode(where: str, raw: object) -> object:
    if not isinstance(raw, str):
        return raw
    if len(raw) > MAX_JSON_TEXT_LENGTH:
        raise MappingError(where, f"is longer than {MAX_JSON_TEXT_LENGTH} characters")
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise MappingError(where, f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except RecursionError:
        raise MappingError(where, "is nested too deeply") from None


def _first_line(exc: JSONPathError) -> str:
    return (str(exc.args[0] if exc.args else exc).splitlines() or [type(exc).__name__])[0]
