"""The addresses of a login option at Gatehouse that an administrator registers at the OpenID provider.

* Redirect URI (OIDC Core 1.0 §3.1.2.1 ``redirect_uri``; Okta's "Sign-in redirect URI", Entra ID's
  "Redirect URI (Web)"): where the provider sends the browser back with the authorization code.
* Sign-out redirect URI (OpenID Connect RP-Initiated Logout 1.0 §3 ``post_logout_redirect_uri``; Okta's
  "Sign-out redirect URIs", Entra ID's "Front-channel logout URL" is another thing): where the provider
  sends the browser after signing out there too, when the option asks for end-session sign-out.
* Initiate login URI (OIDC Core 1.0 §4, Initiating Login from a Third Party; Okta's "Initiate login URI"):
  where a provider's app tile starts a sign-in at Gatehouse.

Both derive from ``GATEHOUSE_PUBLIC_URL``, never from a request's Host header.
"""

from __future__ import annotations

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
