"""The addresses of a login option at Gatehouse that an administrator registers at the OpenID provider.

* Redirect URI (OIDC Core 1.0 §3.1.2.1 ``redirect_uri``; Okta's "Sign-in redirect URI", Entra ID's
  "Redirect URI (Web)"): where the provider sends the browser back with the authorization code.
* Sign-out redirect URI (OpenID Connect RP-Initiated Logout 1.0 §3 ``post_logout_redirect_uri``; Okta's
  "Sign-out redirect URIs", Entra ID's "Front-channel logout URL" is another thing): where the provider
  sends the browser after signing out there too, when the option asks for end-session sign-out.
* Initiate login URI (OIDC Core 1.0 §4, Initiating Login from a Third Party; Okta's "Initiate login URI"):
  where a provider's app tile starts a sign-in at Gatehouse.

Both derive from ``GATEHOUSE_PUBLIC_URL``, never from a request's Host header.

Also here: the one check of a page to return to (``next``) after signing in, by any protocol.
"""

from __future__ import annotations

import re
from typing import Final

LOGIN_PATH: Final = "/sso/oidc/{option_id}/login"
CALLBACK_PATH: Final = "/sso/oidc/{option_id}/callback"


def redirect_uri(public_url: str, option_id: str) -> str:
    """The callback URL of ``option_id`` (exactly what the provider must have registered)."""
    return public_url.rstrip("/") + CALLBACK_PATH.format(option_id=option_id)


def initiate_login_uri(public_url: str, option_id: str) -> str:
    """The URL that starts a sign-in with ``option_id``."""
    return public_url.rstrip("/") + LOGIN_PATH.format(option_id=option_id)


def post_logout_uri(public_url: str) -> str:
    """Where a provider returns the browser after an end-session sign-out: Gatehouse's sign-in page."""
    return public_url.rstrip("/") + "/login"


_ENCODED_SEPARATOR: Final = re.compile(r"/%(?:2f|5c)", re.IGNORECASE)


def is_local_path(target: str) -> bool:
    """Whether ``target`` is a path on this server that a browser cannot be led away by.

    It starts with a single ``/`` and holds only printable ASCII without a backslash: browsers read ``//host``,
    a slash and a backslash before a host, and a slash, a tab and a slash before one (tab, CR and LF are dropped
    from URLs) as another host. A percent-encoded
    slash or backslash right after the first ``/`` (``/%2f/host``, ``/%5chost``) is refused too, since some
    servers and proxies decode it before a browser sees it.
    """
    if not target.startswith("/") or target.startswith("//"):
        return False
    if any(not 0x20 < ord(char) < 0x7F or char == "\\" for char in target):
        return False
    return _ENCODED_SEPARATOR.match(target) is None


def local_target(target: str | None, default: str = "/") -> str:
    """``target`` if it is a local path (:func:`is_local_path`) of at most 500 characters, else ``default``."""
    return target if target and len(target) <= 500 and is_local_path(target) else default
