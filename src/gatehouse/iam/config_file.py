"""A configuration file as text (:mod:`gatehouse.iam.config_model` says what it holds): read from YAML or JSON
with the line of every key and item, written deterministically, and the problems found in it, each naming the
object, the field and the line. Pure: no I/O.

Reading (:func:`parse`): YAML (1.1, PyYAML's safe loader: no tags that build objects) or JSON, which YAML reads
too; a JSON text YAML cannot read is read as JSON (without lines). Refused: anchors and aliases (``&a`` /
``*a``: a file is plain data, and an alias could make it huge), a key given twice in one mapping, keys that are
not strings, nesting deeper than :data:`MAX_DEPTH` and texts over :data:`MAX_BYTES`.

Writing (:func:`dump`): YAML in block style, keys in the model's order, multi-line text (a PEM bundle, SAML
metadata) as literal blocks; or JSON indented by two. The same data always gives the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import yaml

from gatehouse.credentials import SCIM_TOKEN_PREFIX
from gatehouse.errors import InvalidInput

Path = tuple[str | int, ...]
Format = Literal["yaml", "json"]
MAX_BYTES: Final = 16 * 1024 * 1024
MAX_DEPTH: Final = 64
SECRET_PREFIXES: Final = (SCIM_TOKEN_PREFIX, "gha_")
"""How Gatehouse's tokens start (SCIM, API): a problem never repeats such a text."""
HEADER: Final = """\
# Gatehouse access configuration: `gatehouse config plan -f FILE` shows what applying it would change,
# `gatehouse config apply -f FILE` applies it (docs/guides/as-code.md). Objects are named, never by id.
# Secrets are never written here: a login option's secret is `{env: NAME}` (read from that environment
# variable on the server) or `{stored: true}` (kept encrypted in Gatehouse, not exported; apply keeps it).
"""

_OBJECTS: Final[Mapping[Path, tuple[str, tuple[str, ...]]]] = {
    ("permission_policies",): ("permission policy", ("name",)),
    ("roles",): ("role", ("name",)),
    ("group_bindings",): ("group", ("displayName", "externalId")),
    ("user_grants",): ("user", ("userName",)),
    ("login", "options"): ("login option", ("name",)),
    ("scim", "tokens"): ("SCIM token", ()),
    ("gateway", "rules"): ("forward-auth rule", ()),
    ("gateway", "resource_labels"): ("labels of", ("resource",)),
}
"""Where a file lists objects, what they are called and the field that names one (an object's problems say which
object: ``role 'Dev editors'``)."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a file: where (``path``, the object it is about and the line) and why."""

    path: Path
    message: str
    line: int | None = None
    subject: str | None = None
    """The object, as people name it: ``role 'Dev editors'``, ``forward-auth rule 3``."""
    object_path: Path = ()
    """Where that object is (``roles[1]``); the rest of ``path`` is its field."""

    @property
    def location(self) -> str:
        """The path as written in messages: ``roles[1].policies[0]``."""
        return render_path(self.path)

    @property
    def field(self) -> str:
        """The field of the object (``policies[0]``), or the whole path when the problem is about no object."""
        return render_path(self.path[len(self.object_path) :]) if self.subject else self.location

    def text(self, source: str | None = None) -> str:
        """``gatehouse.yaml:12: role 'Dev editors' (roles[1]), policies[0]: no permission policy named 'x'``."""
        if source:
            where = f"{source}:{self.line}: " if self.line else f"{source}: "
        else:
            where = f"line {self.line}: " if self.line else ""
        if self.subject is None:
            if source and not self.line and not self.location:  # about the whole file: named by its name
                return f"{where}{self.message}"
            return f"{where}{self.location or 'the file'}: {self.message}"
        field_text = f", {self.field}" if self.field else ""
        return f"{where}{self.subject} ({render_path(self.object_path)}){field_text}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.location,
            "line": self.line,
            "object": self.subject,
            "field": self.field or None,
            "message": self.message,
        }


class ConfigError(InvalidInput):
    """A file that cannot be planned or applied: every problem found, each naming its object, field and line."""

    def __init__(self, problems: Sequence[Problem], source: str | None = None) -> None:
        self.problems = tuple(sorted(problems, key=lambda problem: problem.line or 0))
        self.source = source
        count = len(self.problems)
        head = f"The configuration has {count} problem{'s' if count != 1 else ''}"
        super().__init__(f"{head}: " + "; ".join(problem.text(source) for problem in self.problems[:20]))

    def lines(self) -> list[str]:
        """Each problem on its own line, as a terminal shows them."""
        return [problem.text(self.source) for problem in self.problems]


def render_path(path: Path) -> str:
    """``("roles", 1, "policies", 0)`` → ``roles[1].policies[0]``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


# ------------------------------------------------------------------------------------------ where things are


@dataclass(frozen=True)
class Locator:
    """The data read from a file and the line of every key and item in it, to make :class:`Problem` s."""

    data: Any
    lines: Mapping[Path, int] = field(default_factory=dict)

    def line(self, path: Path) -> int | None:
        """The line of ``path``, or of the nearest enclosing key or item the file has."""
        for end in range(len(path), -1, -1):
            found = self.lines.get(path[:end])
            if found is not None:
                return found
        return None

    def value(self, path: Path) -> Any:
        """What the file holds at ``path`` (``None`` where it holds nothing)."""
        current = self.data
        for part in path:
            listed = isinstance(part, int) and isinstance(current, list) and 0 <= part < len(current)
            if not listed and not (isinstance(part, str) and isinstance(current, dict) and part in current):
                return None
            current = current[part]
        return current

    def problem(self, path: Path, message: str) -> Problem:
        """A problem at ``path``, with its line and the object it is about."""
        for prefix, (noun, keys) in _OBJECTS.items():
            size = len(prefix)
            if path[:size] == prefix and len(path) > size and isinstance(path[size], int):
                index = path[size]
                assert isinstance(index, int)
                subject = self._subject(noun, keys, self.value(path[: size + 1]), index)
                return Problem(path, message, self.line(path), subject, path[: size + 1])
        return Problem(path, message, self.line(path))

    @staticmethod
    def _subject(noun: str, keys: tuple[str, ...], item: Any, index: int) -> str:
        if not keys:
            if isinstance(item, str) and not item.startswith(SECRET_PREFIXES):
                return f"{noun} '{item}'"
            return f"{noun} {index + 1}"
        if isinstance(item, dict):
            for key in keys:
                if isinstance(item.get(key), str):
                    return f"{noun} '{item[key]}'"
        return f"{noun} {index + 1}"


# ------------------------------------------------------------------------------------------ reading


def parse(text: str | bytes, source: str | None = None) -> Locator:
    """The data of a YAML or JSON text with its lines; :class:`ConfigError` when it cannot be read."""
    if isinstance(text, bytes):
        if len(text) > MAX_BYTES:
            raise ConfigError([Problem((), f"the file is larger than {MAX_BYTES // (1024 * 1024)} MiB")], source)
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ConfigError([Problem((), f"the file is not UTF-8 text ({exc.reason})")], source) from None
    if len(text) > MAX_BYTES:
        raise ConfigError([Problem((), f"the file is larger than {MAX_BYTES // (1024 * 1024)} MiB")], source)
    try:
        return _parse_yaml(text, source)
    except yaml.YAMLError as exc:
        if text.lstrip().startswith("{"):
            return _parse_json(text, source)
        mark = getattr(exc, "problem_mark", None)
        line = None if mark is None else mark.line + 1
        reason = str(getattr(exc, "problem", None) or exc).strip()
        raise ConfigError([Problem((), f"not valid YAML or JSON: {reason}", line)], source) from None


def _parse_yaml(text: str, source: str | None) -> Locator:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return Locator(None, {})
        problems: list[Problem] = []
        lines: dict[Path, int] = {(): node.start_mark.line + 1}
        _check_node(node, (), lines, problems, set(), 0)
        if problems:
            raise ConfigError(problems, source)
        data = loader.construct_document(node)
    finally:
        loader.dispose()
    return Locator(data, lines)


def _check_node(
    node: yaml.Node, path: Path, lines: dict[Path, int], problems: list[Problem], seen: set[int], depth: int
) -> None:
    """Record the line of every key and item; refuse aliases, duplicate and non-text keys, deep nesting."""
    if id(node) in seen:
        line = lines.get(path, _line(node))
        problems.append(Problem(path, "YAML anchors and aliases are not accepted: write the value out", line))
        return
    seen.add(id(node))
    if depth > MAX_DEPTH:
        problems.append(Problem(path, f"nested deeper than {MAX_DEPTH} levels", _line(node)))
        return
    if isinstance(node, yaml.MappingNode):
        keys: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # a plain <<, not the quoted text "<<"
                problems.append(
                    Problem(path, "YAML merge keys (<<) are not accepted: write the keys out", _line(key_node))
                )
                continue
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != "tag:yaml.org,2002:str":
                problems.append(Problem(path, "every key must be text", _line(key_node)))
                continue
            key = str(key_node.value)
            if key in keys:
                problems.append(
                    Problem(
                        (*path, key), f"the key '{key}' is given twice (first at line {keys[key]})", _line(key_node)
                    )
                )
                continue
            keys[key] = _line(key_node)
            lines[(*path, key)] = _line(key_node)
            _check_node(value_node, (*path, key), lines, problems, seen, depth + 1)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*path, index)] = _line(item)
            _check_node(item, (*path, index), lines, problems, seen, depth + 1)


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _parse_json(text: str, source: str | None) -> Locator:
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for key, value in items:
            if key in found:
                raise ValueError(f"the key '{key}' is given twice in one object")
            found[key] = value
        return found

    try:
        data = json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        raise ConfigError([Problem((), f"not valid JSON: {exc.msg}", exc.lineno)], source) from None
    except ValueError as exc:
        raise ConfigError([Problem((), f"not valid JSON: {exc}")], source) from None
    except RecursionError:
        raise ConfigError([Problem((), f"nested deeper than {MAX_DEPTH} levels")], source) from None
    deep = _deeper_than(data, MAX_DEPTH)
    if deep is not None:
        raise ConfigError([Problem(deep, f"nested deeper than {MAX_DEPTH} levels")], source)
    return Locator(data, {})


def _deeper_than(data: Any, limit: int) -> Path | None:
    """The path of a value nested more than ``limit`` levels down, if there is one (walked without recursion)."""
    stack: list[tuple[Path, Any]] = [((), data)]
    while stack:
        path, value = stack.pop()
        if len(path) > limit:
            return path
        if isinstance(value, dict):
            stack += [((*path, str(key)), item) for key, item in value.items()]
        elif isinstance(value, list):
            stack += [((*path, index), item) for index, item in enumerate(value)]
    return None


# ------------------------------------------------------------------------------------------ writing


class _Dumper(yaml.SafeDumper):
    """Block style; multi-line text as a literal block (``|``); lists indented under their key."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    """Multi-line text as a literal block where YAML can keep it exact (else PyYAML quotes it)."""
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _text)


def dump(data: Mapping[str, Any], format: Format = "yaml", header: bool = True) -> str:
    """The text of a configuration: deterministic (the same data, the same bytes; see the module)."""
    if format == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    body = yaml.dump(
        dict(data), Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=120
    )
    return (HEADER if header else "") + body


def walk(data: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every (path, value) of nested data, depth first (to look for what a file must not hold)."""
    yield path, data
    if isinstance(data, dict):
        for key, value in data.items():
            yield from walk(value, (*path, str(key)))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from walk(value, (*path, index))
