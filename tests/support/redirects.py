"""Return targets a browser would follow to another host, and where a browser lands for a ``Location``."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

HOSTILE = [
    "//evil.example",
    "//evil.example/path",
    "/\\evil.example",
    "/\\/evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "\t//evil.example",
    "/%2f/evil.example",
    "/%2F/evil.example",
    "/%5cevil.example",
    "/%5C/evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    "evil.example",
    "/ok\x00",
    "/caf\u00e9",
    "",
]
LOCAL = ["/", "/organization/users", "/organization/users?q=a%2Fb&page=2", "/a/%2f/b", "/account/password#x"]


def browser_would_go(location: str, here: str = "https://gatehouse.test/login") -> str:
    """The host a browser lands on for a ``Location``: it drops tab, CR and LF, reads ``\\`` as ``/``."""
    cleaned = location.replace("\t", "").replace("\r", "").replace("\n", "").replace("\\", "/")
    return urlsplit(urljoin(here, cleaned)).netloc
