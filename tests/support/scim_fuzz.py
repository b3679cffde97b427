"""A seeded generator of hostile SCIM requests, a raw-socket HTTP/1.1 client, and the checks every answer
must pass (``tests/scim/test_fuzz.py`` runs them against a real ``gatehouse serve``).

Each request is built from ``random.Random(f"{seed}:{index}")`` alone, so one request is reproduced by its
seed and index (with the same :class:`World`: the ids it targets come from the world by position). A
failure prints the raw bytes sent, which :func:`exchange` replays as they are.

What is generated, by category (:data:`CATEGORIES`): list queries (``startIndex``/``count`` beyond 64 bits,
``1e400``, ``-0``, filters from a grammar with its edge cases, ``attributes`` with value filters, sorting,
broken percent-encoding), reads and deletes of odd ids, creates and replaces (documents whose every
attribute may get the wrong JSON type, numbers beyond 64 bits, lone surrogates, NUL, deep nesting,
duplicate keys, huge strings, other encodings), PATCH (every op and path form, Entra's and Okta's quirks),
``.search`` bodies, discovery and unknown endpoints, and the HTTP layer itself (malformed request lines,
huge or invalid headers, invalid UTF-8 and NUL in the path, chunked and oversized bodies, bad
``Content-Length``, ``Expect: 100-continue``, ``Upgrade``). Every request goes to ``/scim/v2``.
"""

from __future__ import annotations

import gzip
import json
import random
import re
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import orjson

SCIM = "/scim/v2"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"

SCIM_TYPES_400 = frozenset(
    {
        "invalidFilter",
        "tooMany",
        "mutability",
        "invalidSyntax",
        "invalidPath",
        "noTarget",
        "invalidValue",
        "invalidVers",
    }
)
"""RFC 7644 §3.12 Table 9: the ``scimType`` values of a 400 (``uniqueness`` is 409's, ``sensitive`` 403's)."""

RFC_501 = ("/me", "/bulk")
"""RFC 7644 §3.11 and §3.7: an unsupported ``/Me`` or ``/Bulk`` answers 501 Not Implemented, by design."""


@dataclass(frozen=True, slots=True)
class World:
    """What the generator may target: the server's address and token, and the resources it may change
    (never the sentinels, whose ids it is not given)."""

    host: str
    port: int
    token: str
    user_ids: tuple[str, ...]
    group_ids: tuple[str, ...]
    user_names: tuple[str, ...]
    body_limit: int


@dataclass(slots=True)
class FuzzRequest:
    """One generated request: its raw bytes and what the checks need to know of it."""

    index: int
    category: str
    method: str
    target: str
    raw: bytes
    note: str = ""
    reuse: bool = False  # sent on a kept-alive connection when one is open

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


@dataclass(slots=True)
class Answer:
    """What came back: a status, headers and body, or nothing (``failure`` says why)."""

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    failure: str | None = None
    reused: bool = False
    seconds: float = 0.0

    @property
    def closes(self) -> bool:
        return "close" in self.headers.get("connection", "").lower()


# -- JSON with control over every byte ---------------------------------------------------------------------


class Raw:
    """A JSON token written as it is (``1e400``, ``-0``, a truncated value)."""

    def __init__(self, text: str) -> None:
        self.text = text


class Pairs:
    """A JSON object given as a list of pairs, so that a key may appear twice."""

    def __init__(self, pairs: Sequence[tuple[Any, Any]]) -> None:
        self.pairs = list(pairs)


def dump(value: Any, ascii_only: bool = True) -> str:
    """JSON text of ``value`` (:class:`Raw` and :class:`Pairs` included); strings may hold lone surrogates."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, Pairs):
        return "{" + ",".join(f"{dump(k, ascii_only)}:{dump(v, ascii_only)}" for k, v in value.pairs) + "}"
    if isinstance(value, dict):
        return "{" + ",".join(f"{dump(str(k), ascii_only)}:{dump(v, ascii_only)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dump(v, ascii_only) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=ascii_only)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    return json.dumps(value)


def encode_text(text: str) -> bytes:
    """UTF-8, with lone surrogates written as their (invalid) three-byte forms."""
    return text.encode("utf-8", "surrogatepass")


# -- the pools --------------------------------------------------------------------------------------------

NUMBER_TOKENS = (
    "0",
    "1",
    "-1",
    "-0",
    "-0.0",
    "0.5",
    "1.0",
    "1e2",
    "1E+2",
    "1e400",
    "-1e400",
    "1e-400",
    "2147483648",
    "4294967296",
    "9007199254740993",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999",
    "123456789012345678901234567890",
    "1" + "0" * 400,
)

QUERY_NUMBERS = (
    *NUMBER_TOKENS,
    "",
    " 5",
    "+5",
    "05",
    "0x10",
    "1_000",
    "١٢٣",
    "²",
    "NaN",
    "Infinity",
    "-Infinity",
    "abc",
    "1,2",
    "true",
    "null",
    "9" * 5000,
)

STRINGS = (
    "",
    " ",
    "x",
    "bjensen@example.com",
    "BJENSEN@EXAMPLE.COM",
    "ünïcödé",
    "日本語",
    "😀",
    "\u202eevil",
    "\u0000",
    "a\u0000b",
    "\ud800",
    "\udc00x\ud800",
    "\\",
    '"',
    "\r\n",
    "\t",
    "%00",
    "' OR 1=1 --",
    "${jndi:ldap://x/a}",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "null",
    "true",
    "1e400",
    "\ufeff",
    "\uffff",
    "\U0010ffff",
)

FILTER_ATTRIBUTES = (
    "userName",
    "USERNAME",
    "displayName",
    "externalId",
    "id",
    "active",
    "title",
    "name.givenName",
    "name.familyName",
    "name",
    "emails",
    "emails.value",
    "emails.type",
    "emails.primary",
    "phoneNumbers.value",
    "addresses.streetAddress",
    "groups",
    "groups.value",
    "groups.display",
    "members",
    "members.value",
    "members.display",
    "meta.created",
    "meta.lastModified",
    "meta.resourceType",
    "meta.version",
    "meta.location",
    "password",
    "x509Certificates.value",
    "roles.primary",
    f"{ENTERPRISE}:employeeNumber",
    f"{ENTERPRISE}:manager.value",
    f"{ENTERPRISE}:manager",
    f"{USER}:userName",
    f"{USER}:name.givenName",
    "manager.value",
    "urn:unknown:schema:attr",
    "bogus",
    "bogus.sub.sub",
    "emails..value",
    "$ref",
    "a" * 300,
)

OPERATORS = ("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "EQ", "Eq", "CO", "==", "like", "eqq", "")

DATES = (
    '"2011-05-13T04:42:34Z"',
    '"2011-05-13t04:42:34z"',
    '"2011-05-13"',
    '"2011-05-13T04:42:34+99:00"',
    '"9999-12-31T23:59:59Z"',
    '"9999-12-31T23:00:00-05:00"',  # past the year 9999 in UTC
    '"0001-01-01T00:00:00+05:00"',  # before the year 1 in UTC
    '"0000-00-00T00:00:00Z"',
    '"yesterday"',
    '"2011-13-45T25:61:61Z"',
    '"' + "9" * 40 + '"',
)

USER_PATHS = (
    None,
    "",
    " ",
    "userName",
    "USERNAME",
    "displayName",
    "active",
    "ACTIVE",
    "name",
    "name.givenName",
    "name.familyName",
    "name.bogus",
    "nickName",
    "title",
    "externalId",
    "emails",
    'emails[type eq "work"]',
    'emails[type eq "work"].value',
    'emails[type eq "work"].primary',
    'emails[value eq "bjensen@example.com"]',
    'emails[type eq "work" and value co "@"]',
    'emails[type eq "work" or not (primary pr)]',
    "emails.value",
    "phoneNumbers",
    'phoneNumbers[type eq "work"].value',
    'addresses[type eq "work"].streetAddress',
    'addresses[type eq "work"].formatted',
    "roles",
    "roles[primary eq true]",
    "x509Certificates",
    "ims",
    "photos",
    "entitlements",
    "groups",
    "password",
    "meta",
    "meta.created",
    "id",
    "schemas",
    "manager",
    f"{ENTERPRISE}:manager",
    f"{ENTERPRISE}:manager.value",
    f"{ENTERPRISE}:employeeNumber",
    f"{ENTERPRISE}:department",
    ENTERPRISE,
    f"{USER}:name.givenName",
    f"{USER}:userName",
    USER,
    "urn:unknown:schema:attr",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:bogus",
    'manager[value eq "x"]',
    'userName[value eq "x"]',
    "[",
    "emails[",
    'emails[type eq "work"',
    'emails[type eq "work"]]',
    "emails[type eq]",
    'emails[type eq "work"].value.extra',
    "a.b.c.d",
    "(userName)",
    "x" * 2000,
    "emails[" + "(" * 200 + 'type eq "w"' + ")" * 200 + "]",
    'members[value eq "x"]',
)

GROUP_PATHS = (
    None,
    "",
    "displayName",
    "DISPLAYNAME",
    "externalId",
    "members",
    "MEMBERS",
    "members.value",
    "members.display",
    'members[value eq "{id}"]',
    'members[value eq "{id}" or value eq "{id2}"]',
    'members[value eq "{id}"].display',
    'members[display eq "x"]',
    "members[value pr]",
    'members[type eq "User"]',
    "id",
    "meta",
    "schemas",
    GROUP,
    f"{GROUP}:displayName",
    "urn:unknown:x",
    "members[",
    'members[value eq "{id}"',
    "emails",
    "x" * 1000,
)

OPS = ("add", "remove", "replace", "Add", "Remove", "Replace", "ADD", "move", "copy", "test", "", " add ", None, 1)

CONTENT_TYPES = (
    b"application/scim+json",
    b"application/scim+json; charset=utf-8",
    b"application/json",
    b"application/json; charset=UTF-8",
    b"application/scim+json; charset=latin-1",
    b"application/scim+json; charset=utf-16",
    b"text/plain",
    b"text/json",
    b"application/x-www-form-urlencoded",
    b"multipart/form-data; boundary=x",
    b"application/xml",
    b"*/*",
    b"",
    b"application/scim+json; charset=\xff\xfe",
    b"json",
    b"application/merge-patch+json",
)

COLLECTIONS = (
    "Users",
    "users",
    "USERS",
    "uSeRs",
    "Groups",
    "groups",
    "GROUPS",
)

DISCOVERY = (
    "ServiceProviderConfig",
    "serviceproviderconfig",
    "SERVICEPROVIDERCONFIG",
    "Schemas",
    "schemas",
    f"Schemas/{USER}",
    f"schemas/{USER.lower()}",
    f"Schemas/{ENTERPRISE}",
    f"Schemas/{GROUP}",
    "Schemas/urn:bogus",
    "Schemas/" + "x" * 500,
    "ResourceTypes",
    "resourcetypes",
    "ResourceTypes/User",
    "resourcetypes/group",
    "ResourceTypes/Bogus",
    "Me",
    "me",
    "Bulk",
    "bulk",
    ".search",
    "",
    "Unknown",
    "Users/x/y",
    "Users/%2e%2e/Groups",
    "Users/../Groups",
    "Users/",
    "/Users",
)

_LOOSE = ' =&[]"'

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE")
ODD_METHODS = ("FOO", "get", "PROPFIND", "M-SEARCH", "G\x00T", "GET ", "PATCH2", "P" * 100)


class Generator:
    """Hostile requests for one :class:`World`, reproducible from ``(seed, index)``."""

    def __init__(self, world: World, seed: int) -> None:
        self.world = world
        self.seed = seed
        self.categories: list[tuple[str, Callable[[random.Random], FuzzRequest]]] = [
            ("list", self._list),
            ("read", self._read),
            ("create", self._create),
            ("replace", self._replace),
            ("patch", self._patch),
            ("search", self._search),
            ("discovery", self._discovery),
            ("protocol", self._protocol),
        ]
        self.weights = [20, 9, 15, 10, 22, 7, 5, 12]

    def request(self, index: int) -> FuzzRequest:
        rng = random.Random(f"{self.seed}:{index}")
        name, build = rng.choices(self.categories, self.weights)[0]
        request = build(rng)
        request.index = index
        request.category = name
        request.reuse = name != "protocol" and rng.random() < 0.3
        return request

    # -- building blocks ------------------------------------------------------------------------------------

    def _headers(self, rng: random.Random, body: bool) -> list[tuple[bytes, bytes]]:
        world = self.world
        headers: list[tuple[bytes, bytes]] = [(b"Host", f"{world.host}:{world.port}".encode())]
        roll = rng.random()
        if roll < 0.88:
            headers.append((b"Authorization", f"Bearer {world.token}".encode()))
        elif roll < 0.9:
            headers.append((b"Authorization", f"bearer   {world.token}  ".encode()))
        elif roll < 0.92:
            pass
        else:
            headers.append(
                (
                    b"Authorization",
                    rng.choice(
                        [
                            b"Bearer",
                            b"Bearer ",
                            b"Basic dXNlcjpwYXNz",
                            b"Bearer " + b"x" * 3000,
                            b"Bearer \xff\xfe",
                            b"Bearer ghs_" + world.token[4:-1].encode() + b"!",
                            b"Token " + world.token.encode(),
                            world.token.encode(),
                        ]
                    ),
                )
            )
        if body:
            if rng.random() < 0.75:
                headers.append((b"Content-Type", rng.choice(CONTENT_TYPES[:4])))
            elif rng.random() < 0.9:
                headers.append((b"Content-Type", rng.choice(CONTENT_TYPES)))
        if rng.random() < 0.3:
            headers.append((b"Accept", rng.choice([b"application/scim+json", b"*/*", b"text/html", b"\xff"])))
        if rng.random() < 0.1:
            headers.append(
                (
                    rng.choice([b"If-Match", b"If-None-Match"]),
                    rng.choice(
                        [
                            b"*",
                            b'W/"1"',
                            b'"1"',
                            b'W/"99999999999999999999"',
                            b'"\xc2\xb2"',
                            b"garbage",
                            b'W/"1", W/"2"',
                        ]
                    ),
                )
            )
        if rng.random() < 0.05:
            headers.append((b"Expect", b"100-continue"))
        if rng.random() < 0.05:
            headers.append((b"User-Agent", rng.choice([b"Okta SCIM Client 1.0.0", b"\xe9\xff", b"u" * 5000])))
        if rng.random() < 0.03:
            headers.append((b"X-Forwarded-For", rng.choice([b"1.2.3.4", b"garbage", b"::1, ::2", b"\xff"])))
        if rng.random() < 0.03:
            headers.append((b"Connection", rng.choice([b"close", b"keep-alive", b"Upgrade", b"x"])))
        return headers

    def _target(self, path: str, query: str = "") -> str:
        return SCIM + path + (f"?{query}" if query else "")

    def _build(
        self,
        rng: random.Random,
        method: str,
        target: str,
        body: bytes | None = None,
        headers: list[tuple[bytes, bytes]] | None = None,
        note: str = "",
    ) -> FuzzRequest:
        headers = headers if headers is not None else self._headers(rng, body is not None)
        chunked = body is not None and rng.random() < 0.08
        head = [f"{method} {target} HTTP/1.1\r\n".encode("latin-1", "replace")]
        head += [name + b": " + value + b"\r\n" for name, value in headers]
        payload = b""
        if body is not None:
            if chunked:
                head.append(b"Transfer-Encoding: chunked\r\n")
                payload = _chunked(rng, body)
            else:
                head.append(b"Content-Length: " + str(len(body)).encode() + b"\r\n")
                payload = body
        raw = b"".join(head) + b"\r\n" + payload
        return FuzzRequest(0, "", method, target, raw, note)

    def _id(self, rng: random.Random, kind: str) -> str:
        ids = self.world.user_ids if kind == "Users" else self.world.group_ids
        roll = rng.random()
        if roll < 0.6:
            return rng.choice(ids)
        if roll < 0.7:
            return str(uuid.UUID(int=rng.getrandbits(128)))
        if roll < 0.75:
            return rng.choice(ids).upper()
        return rng.choice(
            [
                "%00",
                "a%00b",
                "%ff%fe",
                "%ed%a0%80",
                "%c0%af",
                "x" * 5000,
                "%2e%2e",
                "..",
                "%2F",
                "' OR '1'='1",
                "%20",
                "1e400",
                "99999999999999999999",
                "-0",
                "%F0%9F%98%80",
                quote("日本"),
                "null",
                "%25",
                "a%0Ab",
                "%0D%0A",
                "%09",
            ]
        )

    def _collection(self, rng: random.Random, kind: str | None = None) -> tuple[str, str]:
        name = rng.choice(COLLECTIONS) if kind is None else kind
        if kind is not None and rng.random() < 0.3:
            name = rng.choice([kind.lower(), kind.upper()])
        canonical = "Users" if name.lower() == "users" else "Groups"
        return name, canonical

    # -- query strings ---------------------------------------------------------------------------------------

    def filter_expression(self, rng: random.Random, depth: int = 0) -> str:
        roll = rng.random()
        if depth > 3 or roll < 0.45:
            return self._comparison(rng)
        if roll < 0.6:
            op = rng.choice(["and", "or", "AND", "Or", "and and", ""])
            return f"{self.filter_expression(rng, depth + 1)} {op} {self.filter_expression(rng, depth + 1)}"
        if roll < 0.7:
            return f"not ({self.filter_expression(rng, depth + 1)})"
        if roll < 0.8:
            return f"({self.filter_expression(rng, depth + 1)})"
        if roll < 0.9:
            attribute = rng.choice(["emails", "phoneNumbers", "members", "groups", "addresses", "userName", "name"])
            sub = rng.choice(["", ".value", ".type", ".bogus"])
            return f"{attribute}[{self.filter_expression(rng, depth + 1)}]{sub}" + (
                f" {rng.choice(OPERATORS)} {self._operand(rng)}" if sub else ""
            )
        return rng.choice(
            [
                "(" * rng.randint(50, 600) + 'userName eq "x"' + ")" * rng.randint(0, 600),
                "not " * rng.randint(10, 300) + "(active eq true)",
                " or ".join(f'userName eq "u{i}"' for i in range(rng.randint(50, 400))),
                'userName eq "a" or',
                "userName eq",
                "eq",
                "()",
                "[]",
                'userName eq "unterminated',
                'userName eq "\\u00',
                'userName eq "\\ud800"',
                'userName eq "a\\u0000b"',
                'userName eq "\\uDFFF\\uD800"',
                "userName eq jyoung",
                "externalId eq 00ujl29u0le5T6Aj10h7",
                "userName eq and",
                "userName pr pr",
                "active eq True",
                'active eq "False"',
                "meta.created gt 99999999999999999999",
                "externalId eq 1e400",
                "userName eq -0",
                'emails[type eq "work"].value eq "x" and emails[type eq "home"]',
                'userName\x00 eq "x"',
                'userName eq "x"\x00',
                'userName eq "' + "x" * rng.randint(1000, 20000) + '"',
            ]
        )

    def _comparison(self, rng: random.Random) -> str:
        attribute = rng.choice(FILTER_ATTRIBUTES)
        if rng.random() < 0.1:
            return f"{attribute} {rng.choice(['pr', 'PR', 'pr x'])}"
        return f"{attribute} {rng.choice(OPERATORS)} {self._operand(rng)}"

    def _operand(self, rng: random.Random) -> str:
        roll = rng.random()
        if roll < 0.4:
            return dump(rng.choice([*STRINGS, *self.world.user_names]), rng.random() < 0.7)
        if roll < 0.55:
            return rng.choice(NUMBER_TOKENS)
        if roll < 0.7:
            return rng.choice(DATES)
        if roll < 0.85:
            return rng.choice(["true", "false", "null", "True", "NULL"])
        return rng.choice(["jyoung", "x y", '"', "'single'", "", "[", "]", ")"])

    def _attribute_names(self, rng: random.Random) -> str:
        names = rng.sample(
            [
                "userName",
                "emails",
                'emails[type eq "work"]',
                'emails[value eq "bjensen@example.com"]',
                'emails[type eq "work"].value',
                'emails[type eq "a,b"]',
                "emails[type eq]",
                'userName[value eq "x"]',
                'emails[bogus eq "x"]',
                "name.givenName",
                "members",
                'members[value eq "x"]',
                "members.display",
                "meta",
                "meta.created",
                "id",
                "schemas",
                "groups",
                "manager",
                ENTERPRISE,
                f"{ENTERPRISE}:manager.value",
                "bogus",
                "",
                " , ",
                "x" * 500,
                "emails[" * 50,
            ],
            rng.randint(1, 4),
        )
        return ",".join(names)

    def _encode_query(self, rng: random.Random, params: list[tuple[str, str]]) -> str:
        parts = []
        style = rng.random()
        for name, value in params:
            if style < 0.8:
                parts.append(f"{quote(name, safe='')}={quote(value, safe='', errors='surrogatepass')}")
            elif style < 0.9:
                parts.append(
                    f"{quote(name, safe='')}={quote(value, safe='', errors='surrogatepass').replace('%20', '+')}"
                )
            else:  # loosely encoded: what a sloppy client puts on the wire (spaces break the request line)
                parts.append(name + "=" + quote(value, safe=_LOOSE, errors="surrogatepass"))
        if rng.random() < 0.05:
            parts.append(rng.choice(["%zz=1", "%ff%fe=%ff", "a=%00", "=", "&&", "count", "x=%ed%a0%80", "%"]))
        return "&".join(parts)

    def _list_params(self, rng: random.Random) -> list[tuple[str, str]]:
        params: list[tuple[str, str]] = []
        if rng.random() < 0.5:
            params.append((rng.choice(["startIndex", "startindex", "STARTINDEX"]), rng.choice(QUERY_NUMBERS)))
        if rng.random() < 0.5:
            params.append((rng.choice(["count", "Count", "COUNT"]), rng.choice(QUERY_NUMBERS)))
        if rng.random() < 0.55:
            params.append(("filter", self.filter_expression(rng)))
        if rng.random() < 0.2:
            params.append((rng.choice(["attributes", "excludedAttributes"]), self._attribute_names(rng)))
        if rng.random() < 0.15:
            params.append(("sortBy", rng.choice([*FILTER_ATTRIBUTES[:20], "", "x" * 300, 'emails[type eq "w"]'])))
        if rng.random() < 0.1:
            params.append(("sortOrder", rng.choice(["ascending", "DESCENDING", "up", "", "\u0000"])))
        if rng.random() < 0.05:
            params.append(("startIndex", "1"))  # a duplicate
        return params

    # -- categories -----------------------------------------------------------------------------------------

    def _list(self, rng: random.Random) -> FuzzRequest:
        name, _ = self._collection(rng)
        query = self._encode_query(rng, self._list_params(rng))
        method = "GET" if rng.random() < 0.95 else rng.choice(METHODS)
        return self._build(rng, method, self._target(f"/{name}", query))

    def _read(self, rng: random.Random) -> FuzzRequest:
        name, canonical = self._collection(rng)
        resource_id = self._id(rng, canonical)
        params: list[tuple[str, str]] = []
        if rng.random() < 0.3:
            params.append((rng.choice(["attributes", "excludedAttributes"]), self._attribute_names(rng)))
        method = rng.choices(["GET", "DELETE", "HEAD", "OPTIONS", "POST"], [70, 12, 8, 5, 5])[0]
        if method == "DELETE" and resource_id in self.world.user_ids[:2] + self.world.group_ids[:1]:
            method = "GET"  # a few playground resources stay, so that later requests have targets
        query = self._encode_query(rng, params)
        return self._build(rng, method, self._target(f"/{name}/{resource_id}", query))

    def _create(self, rng: random.Random) -> FuzzRequest:
        name, canonical = self._collection(rng)
        doc = self.user_document(rng) if canonical == "Users" else self.group_document(rng)
        body = self._body(rng, self._mutate(rng, doc))
        return self._build(rng, "POST", self._target(f"/{name}"), body)

    def _replace(self, rng: random.Random) -> FuzzRequest:
        name, canonical = self._collection(rng)
        doc = self.user_document(rng) if canonical == "Users" else self.group_document(rng)
        if canonical == "Users" and rng.random() < 0.5:
            doc["userName"] = rng.choice(self.world.user_names)
        body = self._body(rng, self._mutate(rng, doc))
        return self._build(rng, "PUT", self._target(f"/{name}/{self._id(rng, canonical)}"), body)

    def _patch(self, rng: random.Random) -> FuzzRequest:
        name, canonical = self._collection(rng)
        operations = [
            self._operation(rng, canonical) for _ in range(rng.choices([0, 1, 2, 3, 8], [3, 55, 20, 15, 7])[0])
        ]
        document: Any = {"schemas": [PATCH_OP], "Operations": operations}
        roll = rng.random()
        if roll < 0.05:
            document = {"schemas": [PATCH_OP], "Operations": rng.choice([None, {}, "add", 1, [[]], [None]])}
        elif roll < 0.08:
            document = {"Operations": operations}
        elif roll < 0.1:
            document = {"schemas": ["urn:bogus"], "operations": operations}
        body = self._body(rng, self._mutate(rng, document, rate=0.15))
        params = []
        if rng.random() < 0.1:
            params.append((rng.choice(["attributes", "excludedAttributes"]), self._attribute_names(rng)))
        target = self._target(f"/{name}/{self._id(rng, canonical)}", self._encode_query(rng, params))
        return self._build(rng, "PATCH", target, body)

    def _operation(self, rng: random.Random, canonical: str) -> Any:
        paths = USER_PATHS if canonical == "Users" else GROUP_PATHS
        path = rng.choice(paths)
        if path is not None:
            path = path.replace("{id}", rng.choice(self.world.user_ids)).replace(
                "{id2}", str(uuid.UUID(int=rng.getrandbits(128)))
            )
        op = rng.choice(OPS)
        operation: dict[str, Any] = {"op": op}
        if path is not None:
            operation["path"] = path
        if op not in ("remove", "Remove") or rng.random() < 0.3:
            operation["value"] = self._patch_value(rng, path, canonical)
        if rng.random() < 0.05:
            operation = rng.choice([{}, {"path": path}, {"op": op, "value": None}, {"OP": "add", "PATH": "userName"}])
        return operation

    def _patch_value(self, rng: random.Random, path: str | None, canonical: str) -> Any:
        roll = rng.random()
        if roll < 0.35:
            return self._hostile(rng)
        last = (path or "").lower()
        if "members" in last:
            return rng.choice(
                [
                    [{"value": rng.choice(self.world.user_ids)}],
                    [{"value": rng.choice(self.world.user_ids), "display": "x", "$ref": None}],
                    [{"value": str(uuid.uuid4())}],
                    {"value": rng.choice(self.world.user_ids)},
                    [{"display": "no value"}],
                    [{"value": ""}],
                    [{"value": None}],
                    [],
                ]
            )
        if "active" in last or "primary" in last:
            return rng.choice([True, False, "False", "true", "TRUE", "yes", 0, 1, None])
        if "manager" in last:
            return rng.choice(
                [
                    {"value": rng.choice(self.world.user_ids)},
                    [{"value": rng.choice(self.world.user_ids), "$ref": "x"}],
                    {"value": ""},
                    "x",
                ]
            )
        if "emails" in last and "[" not in last and "." not in last:
            return [{"value": f"{uuid.uuid4().hex[:8]}@example.com", "type": "work", "primary": True}]
        if path is None:
            doc = self.user_document(rng) if canonical == "Users" else self.group_document(rng)
            keys = rng.sample(list(doc), min(len(doc), rng.randint(1, 4)))
            value: dict[str, Any] = {key: doc[key] for key in keys}
            if rng.random() < 0.3:
                value["name.givenName"] = "Dotted"
                value[f"{ENTERPRISE}:employeeNumber"] = "42"
            return value
        return rng.choice([f"v{rng.randint(0, 10**6)}", "x" * rng.randint(1, 300), "ünï", 42, True])

    def _search(self, rng: random.Random) -> FuzzRequest:
        where = rng.choice(["/Users/.search", "/Groups/.search", "/.search", "/users/.search", "/groups/.SEARCH"])
        document: dict[str, Any] = {"schemas": [SEARCH]}
        if rng.random() < 0.6:
            document["filter"] = self.filter_expression(rng) if rng.random() < 0.8 else self._hostile(rng)
        for key in ("startIndex", "count"):
            if rng.random() < 0.5:
                document[key] = rng.choice([Raw(rng.choice(NUMBER_TOKENS)), self._hostile(rng), 1, 10])
        if rng.random() < 0.25:
            document["attributes"] = rng.choice([["userName", 'emails[type eq "work"]'], "userName", [1, None], []])
        if rng.random() < 0.15:
            document["excludedAttributes"] = rng.choice([["emails"], ["members"], 5])
        if rng.random() < 0.15:
            document["sortBy"] = rng.choice(["userName", {}, 1, "meta.created"])
        if rng.random() < 0.1:
            document["sortOrder"] = rng.choice(["descending", "x", 1, None])
        if rng.random() < 0.1:
            document["schemas"] = rng.choice([[], ["urn:bogus"], "x", None])
        body = self._body(rng, self._mutate(rng, document, rate=0.1))
        return self._build(rng, rng.choice(["POST"] * 9 + ["GET"]), self._target(where), body)

    def _discovery(self, rng: random.Random) -> FuzzRequest:
        path = rng.choice(DISCOVERY)
        method = rng.choices(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"], [70, 10, 5, 5, 5, 5])[0]
        body = self._body(rng, {"schemas": [USER], "userName": "x"}) if method in ("POST", "PUT", "PATCH") else None
        query = self._encode_query(rng, self._list_params(rng)) if rng.random() < 0.3 else ""
        return self._build(rng, method, self._target(f"/{path}", query), body)

    def _protocol(self, rng: random.Random) -> FuzzRequest:
        """A request whose HTTP framing itself is hostile."""
        kind = rng.choice(
            [
                "huge_header",
                "many_headers",
                "huge_target",
                "nul_path",
                "raw_bytes_path",
                "space_path",
                "bad_method",
                "bad_version",
                "bad_header_name",
                "bad_header_value",
                "obs_fold",
                "lf_only",
                "bad_content_length",
                "duplicate_content_length",
                "short_content_length",
                "bad_chunk",
                "chunk_extension",
                "cl_and_te",
                "over_limit",
                "over_limit_chunked",
                "over_limit_declared",
                "expect_over_limit",
                "upgrade_body",
                "http10",
                "absolute_form",
                "bad_host",
                "no_host",
                "gzip_body",
                "head_with_body",
                "get_with_body",
            ]
        )
        world = self.world
        auth = b"Authorization: Bearer " + world.token.encode() + b"\r\n"
        host = f"Host: {world.host}:{world.port}\r\n".encode()
        user = dump(self.user_document(rng)).encode()
        base = SCIM.encode()

        def request(line: bytes, headers: bytes = b"", body: bytes = b"", length: bool = True) -> bytes:
            extra = b"Content-Length: " + str(len(body)).encode() + b"\r\n" if body and length else b""
            return line + b"\r\n" + host + auth + headers + extra + b"\r\n" + body

        json_type = b"Content-Type: application/scim+json\r\n"
        raw: bytes
        method, target = "GET", f"{SCIM}/Users"
        if kind == "huge_header":
            raw = request(
                b"GET " + base + b"/Users HTTP/1.1", b"X-Big: " + b"a" * rng.randint(66_000, 300_000) + b"\r\n"
            )
        elif kind == "many_headers":
            headers = b"".join(b"X-H%d: v\r\n" % i for i in range(rng.randint(260, 2000)))
            raw = request(b"GET " + base + b"/Users HTTP/1.1", headers)
        elif kind == "huge_target":
            query = b"filter=" + b"a" * rng.randint(33_000, 200_000)
            raw = request(b"GET " + base + b"/Users?" + query + b" HTTP/1.1")
        elif kind == "nul_path":
            raw = request(b"GET " + base + b"/Users/a\x00b HTTP/1.1")
        elif kind == "raw_bytes_path":
            raw = request(
                b"GET " + base + b"/Users/" + rng.choice([b"\xff\xfe", b"\xed\xa0\x80", b"\xc3\xa9"]) + b" HTTP/1.1"
            )
        elif kind == "space_path":
            raw = request(b"GET " + base + b'/Users?filter=userName eq "x" HTTP/1.1')
        elif kind == "bad_method":
            method = rng.choice(ODD_METHODS)
            raw = request(method.encode() + b" " + base + b"/Users HTTP/1.1")
        elif kind == "bad_version":
            raw = request(
                b"GET " + base + b"/Users " + rng.choice([b"HTTP/9.9", b"HTTP/1.1 x", b"HTTP/1", b"FTP/1.1", b""])
            )
        elif kind == "bad_header_name":
            raw = request(b"GET " + base + b"/Users HTTP/1.1", rng.choice([b"X A: b\r\n", b": b\r\n", b"X\x00: b\r\n"]))
        elif kind == "bad_header_value":
            raw = request(
                b"GET " + base + b"/Users HTTP/1.1",
                rng.choice([b"X-A: a\x00b\r\n", b"X-A: a\x7fb\r\n", b"X-A: \x01\r\n"]),
            )
        elif kind == "obs_fold":
            raw = request(b"GET " + base + b"/Users HTTP/1.1", b"X-A: b\r\n folded\r\n")
        elif kind == "lf_only":
            raw = (
                b"GET "
                + base
                + b"/Users HTTP/1.1\n"
                + host.replace(b"\r\n", b"\n")
                + auth.replace(b"\r\n", b"\n")
                + b"\n"
            )
        elif kind == "bad_content_length":
            method = "POST"
            raw = request(
                b"POST " + base + b"/Users HTTP/1.1",
                json_type
                + b"Content-Length: "
                + rng.choice([b"abc", b"-1", b"1.5", b"99999999999999999999999", b" ", b"\xc2\xb2"])
                + b"\r\n",
                user,
                length=False,
            )
        elif kind == "duplicate_content_length":
            method = "POST"
            raw = request(
                b"POST " + base + b"/Users HTTP/1.1",
                json_type + b"Content-Length: 2\r\nContent-Length: 3\r\n",
                b"{}",
                False,
            )
        elif kind == "short_content_length":
            method = "POST"
            body = user + b"GARBAGE / HTTP/1.1\r\n\r\n"
            raw = request(
                b"POST " + base + b"/Users HTTP/1.1",
                json_type + b"Content-Length: " + str(len(user)).encode() + b"\r\n",
                body,
                False,
            )
        elif kind == "bad_chunk":
            method = "POST"
            raw = request(
                b"POST " + base + b"/Users HTTP/1.1",
                json_type + b"Transfer-Encoding: chunked\r\n",
                rng.choice([b"zz\r\n{}\r\n0\r\n\r\n", b"2\r\n{}XX0\r\n\r\n", b"-1\r\n\r\n", b"fffffffffffffffffff\r\n"])
                + b"x" * rng.randint(0, 200_000),
                False,
            )
        elif kind == "chunk_extension":
            method = "POST"
            body = b"%x;ext=1\r\n" % len(user) + user + b"\r\n0\r\nTrailer: x\r\n\r\n"
            raw = request(
                b"POST " + base + b"/Users HTTP/1.1", json_type + b"Transfer-Encoding: chunked\r\n", body, False
            )
        elif kind == "cl_and_te":
            method = "POST"
            raw = request(
                b"POST " + base + b"/Users HTTP/1.1",
                json_type + b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n",
                b"2\r\n{}\r\n0\r\n\r\n",
                False,
            )
        elif kind in ("over_limit", "over_limit_chunked", "over_limit_declared", "expect_over_limit"):
            method = "POST"
            size = world.body_limit + rng.randint(1, 3 * world.body_limit)
            body = b'{"userName":"' + b"x" * size + b'"}'
            if kind == "over_limit":
                raw = request(b"POST " + base + b"/Users HTTP/1.1", json_type, body)
            elif kind == "over_limit_chunked":
                raw = request(
                    b"POST " + base + b"/Users HTTP/1.1",
                    json_type + b"Transfer-Encoding: chunked\r\n",
                    _chunked(rng, body),
                    False,
                )
            elif kind == "over_limit_declared":  # more is declared than is ever sent: answered at once
                declared = str(world.body_limit * rng.randint(2, 10**6)).encode()
                headers = json_type + b"Content-Length: " + declared + b"\r\nConnection: close\r\n"
                raw = request(b"POST " + base + b"/Users HTTP/1.1", headers, body[: rng.randint(0, len(body))], False)
            else:
                raw = request(b"POST " + base + b"/Users HTTP/1.1", json_type + b"Expect: 100-continue\r\n", body)
        elif kind == "upgrade_body":
            method = "POST"
            raw = request(
                b"POST " + base + b"/Users HTTP/1.1",
                json_type + b"Connection: Upgrade\r\nUpgrade: " + rng.choice([b"websocket", b"h2c", b"foo"]) + b"\r\n",
                user,
            )
        elif kind == "http10":
            raw = b"GET " + base + b"/Users HTTP/1.0\r\n" + auth + b"\r\n"
        elif kind == "absolute_form":
            raw = request(b"GET http://" + f"{world.host}:{world.port}".encode() + base + b"/Users HTTP/1.1")
        elif kind == "bad_host":
            raw = (
                b"GET "
                + base
                + b"/Users HTTP/1.1\r\nHost: "
                + rng.choice([b"[", b"", b"a:b:c", b"\xff", b"x" * 5000])
                + b"\r\n"
                + auth
                + b"\r\n"
            )
        elif kind == "no_host":
            raw = b"GET " + base + b"/Users HTTP/1.1\r\n" + auth + b"\r\n"
        elif kind == "gzip_body":
            method = "POST"
            raw = request(
                b"POST " + base + b"/Users HTTP/1.1", json_type + b"Content-Encoding: gzip\r\n", gzip.compress(user)
            )
        elif kind == "head_with_body":
            method = "HEAD"
            raw = request(b"HEAD " + base + b"/Users HTTP/1.1", json_type, user)
        else:
            raw = request(b"GET " + base + b"/Users HTTP/1.1", json_type, user)
        return FuzzRequest(0, "", method, target, raw, kind)

    # -- documents -------------------------------------------------------------------------------------------

    def user_document(self, rng: random.Random) -> dict[str, Any]:
        name = f"fuzz-{rng.getrandbits(40):x}@example.com"
        doc: dict[str, Any] = {"schemas": [USER], "userName": name}
        if rng.random() < 0.7:
            doc["name"] = {"givenName": "Fuzz", "familyName": "User", "formatted": "Fuzz User"}
        if rng.random() < 0.7:
            doc["emails"] = [{"value": name, "type": "work", "primary": True}]
        if rng.random() < 0.5:
            doc["active"] = rng.choice([True, False, "False", "true"])
        if rng.random() < 0.5:
            doc["externalId"] = f"ext-{rng.getrandbits(32):x}"
        if rng.random() < 0.3:
            doc["displayName"] = "Fuzz User"
        if rng.random() < 0.3:
            doc["password"] = "1mz050nq"
        if rng.random() < 0.2:
            doc["phoneNumbers"] = [{"value": "+1-201-555-0123", "type": "work"}]
        if rng.random() < 0.2:
            doc["addresses"] = [{"type": "work", "streetAddress": "100 Universal City Plaza", "primary": True}]
        if rng.random() < 0.15:
            doc["roles"] = [{"value": "admin", "primary": "True"}]
        if rng.random() < 0.1:
            doc["x509Certificates"] = [{"value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAw"}]
        if rng.random() < 0.3:
            doc["schemas"] = [USER, ENTERPRISE]
            doc[ENTERPRISE] = {"employeeNumber": "701984", "department": "Tour Operations"}
            if rng.random() < 0.5:
                doc[ENTERPRISE]["manager"] = {"value": rng.choice(self.world.user_ids)}
        if rng.random() < 0.2:
            doc.update({"groups": [], "meta": {"resourceType": "User", "created": "04-12-2018 00:00:00"}, "id": "x"})
        if rng.random() < 0.1:
            doc.update({"addresses": None, "phoneNumbers": None, "locale": "en-US"})
        return doc

    def group_document(self, rng: random.Random) -> dict[str, Any]:
        doc: dict[str, Any] = {"schemas": [GROUP], "displayName": f"fuzz group {rng.getrandbits(40):x}"}
        if rng.random() < 0.5:
            doc["members"] = [{"value": i} for i in rng.sample(self.world.user_ids, rng.randint(0, 3))]
        if rng.random() < 0.3:
            doc["externalId"] = f"ext-{rng.getrandbits(32):x}"
        if rng.random() < 0.1:
            doc["schemas"].append("http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group")
        return doc

    def _hostile(self, rng: random.Random) -> Any:
        roll = rng.random()
        if roll < 0.25:
            return Raw(rng.choice(NUMBER_TOKENS))
        if roll < 0.5:
            return rng.choice(STRINGS)
        if roll < 0.6:
            return "x" * rng.choice([256, 1000, 70_000])
        if roll < 0.75:
            return rng.choice([None, True, False, [], {}, [[]], [{}], {"a": {}}, [None], {"value": None}])
        if roll < 0.85:
            depth = rng.choice([10, 100, 600, 2000])
            return Raw("[" * depth + "]" * depth if rng.random() < 0.5 else '{"a":' * depth + "1" + "}" * depth)
        if roll < 0.92:
            return Pairs([("value", "a"), ("value", "b"), ("VALUE", Raw("1e400"))])
        return [self._hostile(rng) for _ in range(rng.randint(1, 3))]

    def _mutate(self, rng: random.Random, document: Any, rate: float = 0.3) -> Any:
        """Replace random nodes of a document by hostile values, duplicate keys, drop members."""
        if rng.random() > rate * 2:
            return document

        def walk(node: Any, depth: int) -> Any:
            if isinstance(node, dict):
                pairs: list[tuple[Any, Any]] = []
                for key, value in node.items():
                    roll = rng.random()
                    if roll < rate * 0.15:
                        continue
                    if roll < rate * 0.3:
                        key = rng.choice([key.upper(), key.lower(), key + "\u0000", "\ud800", key * 50])
                    value = self._hostile(rng) if rng.random() < rate else walk(value, depth + 1)
                    pairs.append((key, value))
                    if rng.random() < rate * 0.1:
                        pairs.append((key, self._hostile(rng)))  # a duplicate key
                return Pairs(pairs)
            if isinstance(node, list):
                return [self._hostile(rng) if rng.random() < rate else walk(item, depth + 1) for item in node]
            return node

        return walk(document, 0)

    def _body(self, rng: random.Random, document: Any) -> bytes:
        roll = rng.random()
        if roll < 0.82:
            return encode_text(dump(document, rng.random() < 0.8))
        text = dump(document, False)
        if roll < 0.85:
            return text.encode("utf-16", "surrogatepass")
        if roll < 0.87:
            return b"\xef\xbb\xbf" + encode_text(text)
        if roll < 0.89:
            return text.encode("latin-1", "replace") + b"\xff"
        if roll < 0.91:
            return encode_text(text)[: rng.randint(0, max(0, len(text) - 1))]
        if roll < 0.93:
            return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 300)))
        if roll < 0.96:
            return rng.choice([b"", b" ", b"null", b"[]", b'"x"', b"1e400", b"NaN", b"{}", b"{", b"}", b"\x00"])
        return encode_text(text) + b"\x00" + b" trailing"


def _chunked(rng: random.Random, body: bytes) -> bytes:
    out = []
    position = 0
    while position < len(body):
        size = rng.randint(1, max(1, min(len(body) - position, rng.choice([7, 100, 8192, 65536]))))
        out.append(b"%x\r\n" % size + body[position : position + size] + b"\r\n")
        position += size
    out.append(b"0\r\n\r\n")
    return b"".join(out)


# -- the raw-socket client ---------------------------------------------------------------------------------

_STATUS = re.compile(rb"HTTP/1\.[01] (\d{3})")


class Connection:
    """One client connection to the server, kept open between requests when both sides want it."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.last_used = 0.0
        self.reusable = False  # whether what was sent so far leaves the connection ready for another request

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None

    def exchange(self, request: FuzzRequest) -> Answer:
        reused = request.reuse and self.reusable and self.sock is not None and time.monotonic() - self.last_used < 2.0
        if not reused:
            self.close()
            self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        assert self.sock is not None
        started = time.monotonic()
        answer = exchange_on(self.sock, request.raw, request.method == "HEAD")
        answer.reused = reused
        answer.seconds = time.monotonic() - started
        self.last_used = time.monotonic()
        # A hostile framing (bytes after the body, a refused head) leaves the connection in an unknown state.
        self.reusable = request.category != "protocol"
        if answer.failure is not None or answer.closes or answer.status is None:
            self.close()
        return answer


def exchange(host: str, port: int, raw: bytes, timeout: float = 15.0, head: bool = False) -> Answer:
    """Send ``raw`` on a new connection and read one response (to replay a request printed by a failure)."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        return exchange_on(sock, raw, head)


def exchange_on(sock: socket.socket, raw: bytes, head: bool = False) -> Answer:
    """Send ``raw`` on an open connection and read one response."""
    send_error: str | None = None
    try:
        sock.sendall(raw)
    except OSError as exc:  # the server may answer and close before it has read everything
        send_error = f"{type(exc).__name__} while sending"
    buffer = b""
    try:
        while True:
            end = buffer.find(b"\r\n\r\n")
            while end < 0:
                chunk = sock.recv(65536)
                if not chunk:
                    reason = "connection closed without a response" if not buffer else "connection closed mid-head"
                    return Answer(failure=f"{reason}{f' ({send_error})' if send_error else ''}", body=buffer[:300])
                buffer += chunk
                end = buffer.find(b"\r\n\r\n")
            head_bytes, buffer = buffer[:end], buffer[end + 4 :]
            match = _STATUS.match(head_bytes)
            if match is None:
                return Answer(failure=f"not an HTTP response: {head_bytes[:100]!r}")
            status = int(match.group(1))
            headers: dict[str, str] = {}
            for line in head_bytes.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
            if 100 <= status < 200:
                continue  # 100 Continue: the final answer follows
            if head or status in (204, 304):
                return Answer(status, headers, b"")
            if headers.get("transfer-encoding", "").lower() == "chunked":
                body, buffer = _read_chunked(sock, buffer)
                return Answer(status, headers, body)
            if "content-length" in headers:
                length = int(headers["content-length"])
                while len(buffer) < length:
                    chunk = sock.recv(65536)
                    if not chunk:
                        return Answer(status, headers, buffer, failure="connection closed mid-body")
                    buffer += chunk
                return Answer(status, headers, buffer[:length])
            while chunk := sock.recv(65536):
                buffer += chunk
            return Answer(status, headers, buffer)
    except TimeoutError:
        return Answer(failure=f"no response within the timeout{f' ({send_error})' if send_error else ''}")
    except OSError as exc:
        return Answer(
            failure=f"{type(exc).__name__} with {len(buffer)} bytes read{f' ({send_error})' if send_error else ''}"
        )


def _read_chunked(sock: socket.socket, buffer: bytes) -> tuple[bytes, bytes]:
    body = b""
    while True:
        while b"\r\n" not in buffer:
            buffer += sock.recv(65536)
        line, buffer = buffer.split(b"\r\n", 1)
        size = int(line.split(b";")[0], 16)
        while len(buffer) < size + 2:
            buffer += sock.recv(65536)
        body += buffer[:size]
        buffer = buffer[size + 2 :]
        if size == 0:
            return body, buffer


# -- the checks --------------------------------------------------------------------------------------------


def problems(request: FuzzRequest, answer: Answer) -> list[str]:
    """What is wrong with an answer; empty when it is acceptable."""
    if answer.failure is not None:
        return [answer.failure]
    assert answer.status is not None
    found = []
    lowered_path = request.path.lower()
    if answer.status >= 500 and not (answer.status == 501 and lowered_path.endswith(RFC_501)):
        found.append(f"server error {answer.status}")
    if b"Traceback (most recent call last)" in answer.body or b'File "/' in answer.body:
        found.append("a traceback in the body")
    if request.method == "HEAD" or answer.status in (204, 304) or answer.status < 400:
        if answer.status < 300 and answer.body and request.method != "HEAD":
            try:
                orjson.loads(answer.body)
            except orjson.JSONDecodeError:
                found.append("a success whose body is not JSON")
        return found
    content_type = answer.headers.get("content-type", "")
    if not content_type.startswith("application/scim+json"):
        found.append(f"error with content type {content_type!r}, not application/scim+json")
    try:
        body = orjson.loads(answer.body)
    except orjson.JSONDecodeError:
        return [*found, f"error body is not JSON: {answer.body[:200]!r}"]
    if not isinstance(body, dict):
        return [*found, "error body is not an object"]
    if body.get("schemas") != [ERROR]:
        found.append(f"error schemas {body.get('schemas')!r}")
    if body.get("status") != str(answer.status):
        found.append(f"error status {body.get('status')!r} for HTTP {answer.status}")
    if not isinstance(body.get("detail"), str) or not body["detail"]:
        found.append("error without a detail")
    scim_type = body.get("scimType")
    if answer.status == 400 and scim_type not in SCIM_TYPES_400:
        found.append(f"400 with scimType {scim_type!r}")
    if answer.status == 409 and scim_type != "uniqueness":
        found.append(f"409 with scimType {scim_type!r}")
    if (
        answer.status not in (400, 409)
        and scim_type is not None
        and not (answer.status == 403 and scim_type == "sensitive")
    ):
        found.append(f"{answer.status} with scimType {scim_type!r}")
    return found


def shown(raw: bytes, limit: int = 3000) -> str:
    """A request's bytes as a Python literal, cut at ``limit`` bytes."""
    text = repr(raw[:limit])
    return text + (f" + ... ({len(raw)} bytes in all)" if len(raw) > limit else "")
