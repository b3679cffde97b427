"""Action and resource name patterns of permission policies: ``*`` wildcards and ``<regex>`` segments.

Syntax (as in API7):

- ``*`` matches any sequence of characters, including none and including ``/``;
- ``<regex>`` is a Python regular expression between angle brackets. Inside it, ``\\>`` is a literal
  ``>``, and the ``>`` of a character class (``[>]``), of an atomic group (``(?>...)``) or of a
  named group's name (``(?P<name>...)``) does not end the segment;
- everything else is literal text. There is no escape for a literal ``*`` or ``<`` outside a
  segment (names never contain ``<``; a ``*`` wildcard also matches a literal ``*``).

A pattern matches the **whole** name (it is anchored at both ends; ``<a|b>`` is one alternative
group, so ``user/<a|b>`` never matches a bare ``b``). Matching is **case-sensitive**, actions
included (as API7's); a segment may opt out locally with ``(?i:...)``. In segments ``.`` also
matches a newline.

Safety. ``re`` backtracks and has no timeout, so patterns are checked when compiled:

- a pattern is at most :data:`MAX_PATTERN_LENGTH` characters, a segment at most :data:`MAX_REGEX_LENGTH`;
- segments may not use backreferences, lookarounds or conditionals;
- a variable repetition may not contain another variable repetition or an alternation
  (``(a+)+``, ``(a|ab)*``): the classic exponential cases;
- the product of the choices a match can backtrack over (an open-ended repetition or ``*`` wildcard
  counts :data:`MAX_NAME_LENGTH`, ``?`` two, ``{m,n}`` ``n-m+1``, an alternation its branches) is at
  most :data:`MAX_CHOICES`: in practice, at most **two** open-ended repetitions per pattern when it
  has a regex segment (``<.*>Get<.*>`` is fine, ``*a*b<.*>`` is not);
- names longer than :data:`MAX_NAME_LENGTH` never match.

Together these bound a match to a few milliseconds in the very worst case (sixteen ``a?`` against
256 ``a``; two open-ended repetitions cost a quarter of a millisecond), and a policy document caps the
sum of its resource patterns' choices. Patterns without a regex segment are not limited in
wildcards: they are matched without ``re``, in linear time.
"""

from __future__ import annotations

import functools
import importlib
import re
import warnings
from dataclasses import dataclass, field
from typing import Any, Final, Literal

MAX_PATTERN_LENGTH: Final = 256
MAX_REGEX_LENGTH: Final = 128
MAX_NAME_LENGTH: Final = 256
OPEN_ENDED: Final = MAX_NAME_LENGTH
"""The choices an open-ended repetition (``*``, ``+``, ``{n,}``, a ``*`` wildcard) counts for."""
MAX_CHOICES: Final = OPEN_ENDED**2

# The parser ``re`` itself uses, so the checks see exactly what will be compiled. It is private
# (``sre_parse`` is its deprecated public alias); tests pin the shapes relied on here.
_parser: Any = importlib.import_module("re._parser")

PatternKind = Literal["literal", "glob", "regex"]

_ATOMS: Final = frozenset({"LITERAL", "NOT_LITERAL", "ANY", "IN", "AT", "CATEGORY", "RANGE"})
_REPEATS: Final = frozenset({"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"})
_REFUSED: Final = {
    "GROUPREF": "backreferences are not allowed",
    "GROUPREF_EXISTS": "conditional groups are not allowed",
    "ASSERT": "lookaround assertions are not allowed",
    "ASSERT_NOT": "lookaround assertions are not allowed",
}


class PatternError(ValueError):
    """A pattern is malformed or unsafe; the message says why (without saying where it is used)."""


@dataclass(frozen=True, slots=True)
class Pattern:
    """A compiled action or resource pattern. Two patterns are equal when their texts are."""

    text: str
    kind: PatternKind = field(compare=False)
    """``literal`` (no wildcard), ``glob`` (``*`` only: matched without ``re``) or ``regex``."""
    prefix: str = field(compare=False)
    """The literal text before the first wildcard or segment."""
    chunks: tuple[str, ...] = field(compare=False, repr=False)
    """For a glob, the literal texts between its wildcards."""
    regex: re.Pattern[str] | None = field(compare=False, repr=False)
    choices: int = field(default=1, compare=False, repr=False)
    """For a regex, the product of the choices a match can backtrack over (at most :data:`MAX_CHOICES`)."""

    def matches(self, name: str) -> bool:
        """Whether the pattern matches all of ``name`` (never one longer than :data:`MAX_NAME_LENGTH`)."""
        if len(name) > MAX_NAME_LENGTH:
            return False
        if self.kind == "literal":
            return name == self.text
        if self.regex is None:
            return _glob_matches(self.chunks, name)
        return self.regex.fullmatch(name) is not None


@functools.lru_cache(maxsize=4096)
def compile_pattern(text: str) -> Pattern:
    """Compile ``text`` (cached: patterns are immutable), or raise :class:`PatternError`."""
    if not text:
        raise PatternError("must not be empty")
    if len(text) > MAX_PATTERN_LENGTH:
        raise PatternError(f"is longer than {MAX_PATTERN_LENGTH} characters")
    tokens = _tokenize(text)
    prefix = tokens[0][1] if tokens and tokens[0][0] == "text" else ""
    if all(kind == "text" for kind, _ in tokens):
        return Pattern(text, "literal", text, (text,), None)
    if all(kind != "regex" for kind, _ in tokens):
        return Pattern(text, "glob", prefix, tuple(_glob_chunks(tokens)), None)
    choices = 1
    parts: list[str] = []
    for kind, value in tokens:
        if kind == "text":
            parts.append(re.escape(value))
        elif kind == "star":
            parts.append(".*")
            choices *= OPEN_ENDED
        else:
            parts.append(f"(?:{value})")
            choices *= _segment_choices(value)
        if choices > MAX_CHOICES:
            raise PatternError(
                "is too ambiguous to match safely: a pattern with a regex segment may have at most two "
                "open-ended repetitions (a * wildcard, or *, + or {n,} in a segment)"
            )
    return Pattern(text, "regex", prefix, (), _compile("".join(parts), re.DOTALL), choices)


def _tokenize(text: str) -> list[tuple[Literal["text", "star", "regex"], str]]:
    """Split a pattern into literal texts, ``*`` wildcards (consecutive ones merged) and segments."""
    tokens: list[tuple[Literal["text", "star", "regex"], str]] = []
    literal: list[str] = []

    def flush() -> None:
        if literal:
            tokens.append(("text", "".join(literal)))
            literal.clear()

    index = 0
    while index < len(text):
        char = text[index]
        if char == "*":
            flush()
            if not tokens or tokens[-1][0] != "star":
                tokens.append(("star", "*"))
            index += 1
        elif char == "<":
            flush()
            end = _segment_end(text, index + 1)
            body = text[index + 1 : end]
            if not body:
                raise PatternError(f"has an empty regex segment '<>' at position {index}")
            if len(body) > MAX_REGEX_LENGTH:
                raise PatternError(f"has a regex segment longer than {MAX_REGEX_LENGTH} characters")
            tokens.append(("regex", body))
            index = end + 1
        else:
            literal.append(char)
            index += 1
    flush()
    return tokens


def _segment_end(text: str, start: int) -> int:
    """The index of the ``>`` closing the segment that starts at ``start`` (after its ``<``)."""
    index = start
    class_start: int | None = None  # where the current character class's first member is
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if class_start is not None:
            if char == "]" and index != class_start:
                class_start = None
        elif text.startswith("(?P<", index):  # a named group: its name's '>' is not the end
            index = text.find(">", index + 4)
            if index < 0:
                break
        elif text.startswith("(?>", index):  # an atomic group
            index += 3
            continue
        elif char == "[":
            class_start = index + 2 if text.startswith("^", index + 1) else index + 1
        elif char == ">":
            return index
        index += 1
    raise PatternError(f"has an unterminated regex segment: the '<' at position {start - 1} has no closing '>'")


def _segment_choices(body: str) -> int:
    """Check a segment's constructs and count the choices it can backtrack over."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # e.g. FutureWarning "Possible nested set"
            # Alone, so that an unbalanced ')' cannot close the group it is wrapped in; wrapped, so
            # that a global flag like (?i), which would apply to the whole name, is refused.
            parsed = _parser.parse(body)
            _parser.parse(f"(?:{body})")
    except re.error as exc:
        raise PatternError(f"has an invalid regex segment <{body}>: {exc.msg}") from None
    except Warning as exc:
        raise PatternError(f"has an ambiguous regex segment <{body}>: {exc}") from None
    return _choices(parsed, body)


def _choices(items: Any, body: str) -> int:
    total = 1
    for op, value in items:
        name: str = op.name
        if name in _ATOMS:
            continue
        if name in _REFUSED:
            raise PatternError(f"has a regex segment <{body}> that is not allowed: {_REFUSED[name]}")
        if name == "SUBPATTERN":
            total *= _choices(value[3], body)
        elif name == "ATOMIC_GROUP":
            total *= _choices(value, body)
        elif name == "BRANCH":
            total *= sum(_choices(branch, body) for branch in value[1])
        elif name in _REPEATS:
            low, high, item = value
            inner = _choices(item, body)
            span = min(high - low + 1, OPEN_ENDED)
            if inner > 1 and span > 1:
                raise PatternError(
                    f"has a regex segment <{body}> with a repetition inside a repetition or an alternation "
                    "inside a repetition (like (a+)+ or (a|ab)*), which can backtrack exponentially"
                )
            total *= _capped_power(inner, low) if inner > 1 else span
        else:
            raise PatternError(f"has a regex segment <{body}> that uses an unsupported construct ({name})")
        total = min(total, MAX_CHOICES + 1)
    return total


def _capped_power(base: int, exponent: int) -> int:
    result = 1
    for _ in range(exponent):
        result *= base
        if result > MAX_CHOICES:
            return MAX_CHOICES + 1
    return result


def _compile(source: str, flags: int) -> re.Pattern[str]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            return re.compile(source, flags)
    except (re.error, Warning, RecursionError) as exc:  # pragma: no cover - the segments were parsed already
        raise PatternError(f"is not a valid pattern: {exc}") from None


def _glob_chunks(tokens: list[tuple[Literal["text", "star", "regex"], str]]) -> list[str]:
    """The literal texts around the wildcards: ``a*b*`` gives ``["a", "b", ""]``."""
    chunks = [""]
    for kind, value in tokens:
        if kind == "star":
            chunks.append("")
        else:
            chunks[-1] += value
    return chunks


def _glob_matches(chunks: tuple[str, ...], name: str) -> bool:
    """Glob matching in linear time: the first and last chunks anchor, the middle ones are found
    left to right (the leftmost occurrence is always the best, as a wildcard follows it)."""
    first, last = chunks[0], chunks[-1]
    if len(name) < len(first) + len(last) or not name.startswith(first) or not name.endswith(last):
        return False
    if len(chunks) == 2:  # the common "prefix*" or "*suffix"
        return True
    position, end = len(first), len(name) - len(last)
    for chunk in chunks[1:-1]:
        found = name.find(chunk, position, end)
        if found < 0:
            return False
        position = found + len(chunk)
    return True
