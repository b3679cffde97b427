"""Forward-auth rules: which action on which resource a proxied HTTP request is. Pure (no I/O).

A proxy in front of a gateway's admin API (nginx ``auth_request``, Caddy ``forward_auth``, Traefik
``ForwardAuth``) asks Gatehouse about each request. An **ordered rule table** maps the request to an
action, a resource and, optionally, labels; the first rule that matches decides which, and a request that no
rule matches is denied. A rule is:

- ``methods``: the HTTP methods it covers (``GET`` also covers ``HEAD``), or ``*`` for any;
- ``path``: a pattern of whole segments, each literal text, a named part ``{gg}`` (one segment, never
  empty), or a final ``**`` (what follows, zero or more segments): ``/api/gateway_groups/{gg}/services/{sid}``.
  A trailing ``/`` in a request is not significant;
- ``query``: named parts taken from query parameters, ``{"gg": "gateway_group_id"}``: a rule whose
  parameter is absent does not match (a later rule may), and a parameter given twice makes the request
  ambiguous: it is refused;
- ``action``: a catalog action (API7's aliases are accepted and stored as the action they stand for);
- ``resource``: a template whose ``{part}`` are filled in: ``arn:api7:gateway:gatewaygroup/{gg}``;
- ``labels`` (optional): label templates by condition key, ``{"gateway_group_label": {"env": "{env}"}}``;
  without them, Gatehouse's stored labels of the resource apply.

A rule naming an unknown action, or a template using a part the path and query do not define, is refused
when written (:class:`RuleError`, naming the field).

Requests (:func:`parse_target`). The original method and URI come from the proxy. The path is split into
segments and each is percent-decoded once; a path whose meaning a server could read differently from
Gatehouse is refused rather than guessed: ``.`` and ``..`` segments, empty segments (``//``), an encoded
``/``, ``\\`` or ``%`` in a segment (``%2F``, ``%5C``, ``%25``), and control characters. A value put into a
resource name must be printable, without ``/`` or spaces.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal
from urllib.parse import parse_qsl, unquote

from gatehouse.errors import Forbidden, InvalidInput
from gatehouse.iam.catalog import ACTION_NAMES, canonical_action, canonical_resource
from gatehouse.iam.resource_names import ResourceNameError, parse_resource

METHODS: Final = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
ANY_METHOD: Final = "*"
MAX_RULES: Final = 500
MAX_PATH: Final = 512
MAX_URI: Final = 8192
MAX_TEMPLATE: Final = 300
MAX_DESCRIPTION: Final = 300
MAX_QUERY_PARTS: Final = 8
MAX_LABEL_TEMPLATES: Final = 16
MAX_VALUE: Final = 200
"""The longest value a path or query part may bring into a resource name."""

_PART: Final = re.compile(r"\{([a-z_][a-z0-9_]{0,31})\}")
_PART_NAME: Final = re.compile(r"[a-z_][a-z0-9_]{0,31}")
_PARAMETER: Final = re.compile(r"[A-Za-z0-9_.\-\[\]]{1,64}")
_CONDITION_KEY: Final = re.compile(r"[a-z][a-z0-9_]*_label")
_LABEL_KEY: Final = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?")
_LITERAL: Final = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=:@-]+")
_SAMPLE: Final = "sample-id"

SegmentKind = Literal["text", "part", "rest"]


class RuleError(InvalidInput):
    """A rule that cannot be written; the message starts with the field at fault (``path: ...``)."""


class TargetError(InvalidInput):
    """The original request, as the proxy sent it, cannot be read (400: the proxy's configuration is wrong)."""


class AmbiguousRequest(Forbidden):
    """A request whose meaning a server could read otherwise than Gatehouse: it is refused (403)."""


# ------------------------------------------------------------------------------------------ rules


@dataclass(frozen=True, slots=True)
class Rule:
    """A checked, compiled rule (build one with :func:`compile_rule`)."""

    methods: tuple[str, ...]
    """Upper case, in :data:`METHODS` order; ``("*",)`` for any method."""
    path: str
    action: str
    resource: str
    query: Mapping[str, str] = field(default_factory=dict)
    """Part name → query parameter."""
    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Condition key → label key → value template; empty: the stored labels apply."""
    description: str = ""
    id: str | None = None
    """The stored rule's id; ``None`` for the preset's rules."""
    segments: tuple[tuple[SegmentKind, str], ...] = field(default=(), compare=False, repr=False)

    def covers(self, method: str) -> bool:
        """Whether the rule covers ``method`` (``GET`` covers ``HEAD``)."""
        if self.methods == (ANY_METHOD,):
            return True
        return method in self.methods or (method == "HEAD" and "GET" in self.methods)

    @property
    def methods_text(self) -> str:
        return ", ".join(self.methods)

    @property
    def query_text(self) -> str:
        """``gg=gateway_group_id`` lines, as the dashboard's form takes them."""
        return "\n".join(f"{part}={parameter}" for part, parameter in self.query.items())

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (API, CLI)."""
        return {
            "id": self.id,
            "methods": list(self.methods),
            "path": self.path,
            "query": dict(self.query),
            "action": self.action,
            "resource": self.resource,
            "labels": {key: dict(value) for key, value in self.labels.items()},
            "description": self.description,
        }


def compile_rule(
    methods: Sequence[str] | str,
    path: str,
    action: str,
    resource: str,
    query: Mapping[str, str] | None = None,
    labels: Mapping[str, Mapping[str, str]] | None = None,
    description: str = "",
    id: str | None = None,
) -> Rule:
    """Check a rule and compile it, or raise :class:`RuleError` naming the field (see the module)."""
    clean_methods = _methods(methods)
    segments = _path(path)
    parts = [value for kind, value in segments if kind == "part"]
    clean_query = _query(query or {}, parts)
    defined = {*parts, *clean_query}
    clean_action = _action(action)
    clean_resource = _resource(resource, defined)
    clean_labels = _labels(labels or {}, defined)
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION or not description.isprintable():
        raise RuleError(f"description: at most {MAX_DESCRIPTION} printable characters.")
    return Rule(
        clean_methods,
        path,
        clean_action,
        clean_resource,
        clean_query,
        clean_labels,
        description.strip(),
        id,
        segments,
    )


def _methods(methods: Sequence[str] | str) -> tuple[str, ...]:
    items = methods.replace(",", " ").split() if isinstance(methods, str) else list(methods)
    wanted = set()
    for item in items:
        if not isinstance(item, str) or item.strip().upper() not in (*METHODS, ANY_METHOD):
            raise RuleError(f"methods: {item!r} is not one of {', '.join(METHODS)} or {ANY_METHOD}.")
        wanted.add(item.strip().upper())
    if not wanted:
        raise RuleError(f"methods: name at least one of {', '.join(METHODS)}, or {ANY_METHOD} for any.")
    if ANY_METHOD in wanted:
        if len(wanted) > 1:
            raise RuleError(f"methods: {ANY_METHOD} covers every method; name no other.")
        return (ANY_METHOD,)
    return tuple(method for method in METHODS if method in wanted)


def _path(path: str) -> tuple[tuple[SegmentKind, str], ...]:
    if not isinstance(path, str) or not path.startswith("/") or len(path) > MAX_PATH:
        raise RuleError(f"path: a path pattern starts with '/' and has at most {MAX_PATH} characters.")
    raw = path[1:].split("/") if path != "/" else []
    if raw and raw[-1] == "":
        raw.pop()  # a trailing "/" is not significant
    segments: list[tuple[SegmentKind, str]] = []
    seen: set[str] = set()
    for position, segment in enumerate(raw):
        if segment == "**":
            if position != len(raw) - 1:
                raise RuleError("path: '**' (the rest of the path) may only be the last segment.")
            segments.append(("rest", "**"))
            continue
        named = _PART.fullmatch(segment)
        if named:
            name = named.group(1)
            if name in seen:
                raise RuleError(f"path: the part {{{name}}} is named twice.")
            seen.add(name)
            segments.append(("part", name))
            continue
        if not segment or segment in (".", "..") or not _LITERAL.fullmatch(segment) or "{" in segment:
            raise RuleError(
                f"path: {segment!r} is not a segment: use literal text (letters, digits, -._~ and the like), a "
                "named part such as {gg} (a whole segment), or a final **."
            )
        segments.append(("text", segment))
    return tuple(segments)


def _query(query: Mapping[str, str], parts: Sequence[str]) -> dict[str, str]:
    if not isinstance(query, Mapping):
        raise RuleError('query: an object of part name → query parameter, e.g. {"gg": "gateway_group_id"}.')
    if len(query) > MAX_QUERY_PARTS:
        raise RuleError(f"query: at most {MAX_QUERY_PARTS} parts.")
    clean: dict[str, str] = {}
    for name, parameter in query.items():
        if not isinstance(name, str) or not _PART_NAME.fullmatch(name):
            raise RuleError(f"query: {name!r} is not a part name (lower-case letters, digits and _).")
        if name in parts:
            raise RuleError(f"query: the part {{{name}}} is already named by the path.")
        if not isinstance(parameter, str) or not _PARAMETER.fullmatch(parameter):
            raise RuleError(f"query.{name}: {parameter!r} is not a query parameter name.")
        clean[name] = parameter
    return clean


def _action(action: str) -> str:
    name = canonical_action(action.strip()) if isinstance(action, str) else ""
    if name not in ACTION_NAMES:
        raise RuleError(f"action: {action!r} is not an action of the catalog.")
    return name


def _template_parts(text: str, defined: set[str], where: str) -> None:
    used = set(_PART.findall(text))
    undefined = sorted(used - defined)
    if undefined:
        names = ", ".join("{" + name + "}" for name in undefined)
        known = ", ".join("{" + name + "}" for name in sorted(defined)) or "none"
        raise RuleError(f"{where}: {names} is not a part of the path or query (they define: {known}).")
    stray = _PART.sub("", text)
    if "{" in stray or "}" in stray:
        raise RuleError(f"{where}: braces only enclose a part name, like {{gg}}.")


def _resource(resource: str, defined: set[str]) -> str:
    if not isinstance(resource, str) or not resource.strip() or len(resource) > MAX_TEMPLATE:
        raise RuleError(f"resource: a resource name template of at most {MAX_TEMPLATE} characters is required.")
    text = resource.strip()
    _template_parts(text, defined, "resource")
    try:
        parse_resource(render(text, dict.fromkeys(defined, _SAMPLE)))
    except ResourceNameError as exc:
        raise RuleError(f"resource: {exc.detail}") from None
    return text


def _labels(labels: Mapping[str, Mapping[str, str]], defined: set[str]) -> dict[str, dict[str, str]]:
    if not isinstance(labels, Mapping):
        raise RuleError('labels: an object of condition key → labels, e.g. {"gateway_group_label": {"env": "dev"}}.')
    clean: dict[str, dict[str, str]] = {}
    for key, values in labels.items():
        if not isinstance(key, str) or not _CONDITION_KEY.fullmatch(key):
            raise RuleError(f"labels: {key!r} is not a condition key (they end in _label).")
        if not isinstance(values, Mapping) or len(values) > MAX_LABEL_TEMPLATES:
            raise RuleError(f"labels.{key}: an object of at most {MAX_LABEL_TEMPLATES} labels.")
        clean[key] = {}
        for label, template in values.items():
            if not isinstance(label, str) or not _LABEL_KEY.fullmatch(label):
                raise RuleError(f"labels.{key}: {label!r} is not a label key.")
            if not isinstance(template, str) or len(template) > MAX_TEMPLATE or not template.isprintable():
                raise RuleError(f"labels.{key}.{label}: a value of at most {MAX_TEMPLATE} printable characters.")
            _template_parts(template, defined, f"labels.{key}.{label}")
            clean[key][label] = template
    return clean


def render(template: str, values: Mapping[str, str]) -> str:
    """A template with its ``{part}`` filled in (every part must be in ``values``)."""
    return _PART.sub(lambda found: values[found.group(1)], template)


# ------------------------------------------------------------------------------------------ requests


@dataclass(frozen=True, slots=True)
class Target:
    """An original request as a proxy forwards it: its method, path segments (decoded) and query."""

    method: str
    path: str
    """The path as sent (not decoded), for messages and the audit log."""
    segments: tuple[str, ...]
    query: Mapping[str, tuple[str, ...]]
    uri: str = ""
    """The path and query as sent (where to come back to after signing in)."""

    @property
    def line(self) -> str:
        """``GET /api/x``: how messages name the request (no query: it may hold secrets)."""
        return f"{self.method} {self.path}"


_METHOD: Final = re.compile(r"[A-Z]{1,16}")
_CONTROL: Final = re.compile(r"[\x00-\x20\x7f]")
_DECODED_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
MAX_QUERY_FIELDS: Final = 200
_AMBIGUOUS_ESCAPES: Final = re.compile(r"%(?:2[fF]|5[cC]|25)")


def parse_target(method: str | None, uri: str | None) -> Target:
    """The original request from the proxy's headers, or :class:`TargetError` (malformed, 400) or
    :class:`AmbiguousRequest` (readable two ways, 403): see the module."""
    clean_method = (method or "").strip().upper()
    if not _METHOD.fullmatch(clean_method):
        raise TargetError(
            "The original method is missing or is not an HTTP method (X-Original-Method or X-Forwarded-Method)."
        )
    if not uri or len(uri) > MAX_URI or not uri.startswith("/") or _CONTROL.search(uri) or "#" in uri:
        raise TargetError(
            "The original URI is missing or malformed: X-Original-URI (nginx: $request_uri) or X-Forwarded-Uri "
            f"is a path starting with '/', at most {MAX_URI} characters, without spaces."
        )
    path, _, query_string = uri.partition("?")
    if path.startswith("//"):
        raise AmbiguousRequest(f"The path {path[:100]!r} starts with '//': it could name another host.")
    raw = path[1:].split("/")
    if raw and raw[-1] == "":
        raw.pop()
    segments = []
    for segment in raw:
        if segment in ("", ".", "..") or _AMBIGUOUS_ESCAPES.search(segment) or "\\" in segment:
            raise AmbiguousRequest(
                f"The path {path[:200]!r} has an empty, '.' or '..' segment, an encoded '/', '\\' or '%', or a "
                "'\\': servers may read it differently, so it is refused."
            )
        try:
            decoded = unquote(segment, errors="strict")
        except UnicodeDecodeError:
            raise TargetError(f"The path {path[:200]!r} is not percent-encoded UTF-8.") from None
        if decoded in (".", ".."):
            raise AmbiguousRequest(f"The path {path[:200]!r} has an encoded '.' or '..' segment: it is refused.")
        if _DECODED_CONTROL.search(decoded):
            raise AmbiguousRequest(f"The path {path[:200]!r} has control characters.")
        segments.append(decoded)
    query: dict[str, list[str]] = {}
    try:
        pairs = parse_qsl(query_string, keep_blank_values=True, errors="strict", max_num_fields=MAX_QUERY_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise TargetError(
            f"The query string is not percent-encoded UTF-8, or has more than {MAX_QUERY_FIELDS} parameters."
        ) from None
    for name, value in pairs:
        query.setdefault(name, []).append(value)
    return Target(clean_method, path, tuple(segments), {name: tuple(values) for name, values in query.items()}, uri)


# ------------------------------------------------------------------------------------------ matching


@dataclass(frozen=True, slots=True)
class Match:
    """What a request is: the rule that matched, and the action, resource and labels it gives."""

    rule: Rule
    action: str
    resource: str
    labels: Mapping[str, Mapping[str, str]] | None
    """The rule's labels, filled in; ``None`` when the rule gives none (the stored ones apply)."""


def _match_path(segments: tuple[tuple[SegmentKind, str], ...], actual: tuple[str, ...]) -> dict[str, str] | None:
    parts: dict[str, str] = {}
    for position, (kind, value) in enumerate(segments):
        if kind == "rest":
            return parts
        if position >= len(actual):
            return None
        if kind == "text":
            if actual[position] != value:
                return None
        else:
            parts[value] = actual[position]
    return parts if len(actual) == len(segments) else None


def _value(value: str, where: str, target: Target) -> str:
    if (
        not value
        or len(value) > MAX_VALUE
        or "/" in value
        or not value.isprintable()
        or any(char.isspace() for char in value)
    ):
        raise AmbiguousRequest(
            f"{target.line}: the {where} cannot be part of a resource name (it must be printable, without '/' or "
            f"spaces, at most {MAX_VALUE} characters)."
        )
    return value


def match(rules: Sequence[Rule], target: Target) -> Match | None:
    """The first rule that matches ``target``, filled in; ``None`` when none does (the request is denied).

    Raises :class:`AmbiguousRequest` when the matching rule's query parameter is given more than once, or a
    value it would put into the resource name is not fit for one."""
    for rule in rules:
        if not rule.covers(target.method):
            continue
        parts = _match_path(rule.segments, target.segments)
        if parts is None:
            continue
        for name, parameter in rule.query.items():
            values = target.query.get(parameter)
            if not values:
                break
            if len(values) > 1:
                raise AmbiguousRequest(
                    f"{target.line}: the query parameter {parameter!r} is given {len(values)} times; servers may "
                    "read either, so the request is refused."
                )
            parts[name] = values[0]
        else:
            for name, value in parts.items():
                where = f"query parameter {rule.query[name]!r}" if name in rule.query else f"path part {{{name}}}"
                _value(value, where, target)
            labels = (
                {
                    key: {label: render(text, parts) for label, text in values.items()}
                    for key, values in rule.labels.items()
                }
                if rule.labels
                else None
            )
            return Match(rule, rule.action, canonical_resource(render(rule.resource, parts)), labels)
    return None
