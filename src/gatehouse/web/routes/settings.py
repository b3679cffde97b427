"""Organization → Settings → SCIM Provisioning (``/organization/settings/scim``): the switch, the endpoint URL,
tokens, password sign-in of provisioned users, the IdP checklists, and how many SCIM requests failed in the last
hour (a link to them in Provisioning activity, :mod:`~gatehouse.web.routes.provisioning_activity`).
``/organization/settings`` opens the first settings page the viewer may read; login options have pages of their own.

Thin handlers over :mod:`gatehouse.iam.provisioning`, which checks every permission itself; every change is audited
(:mod:`gatehouse.web.actions`). Turning SCIM off asks on its own page first. Forms follow Post/Redirect/Get; the
tokens' forms are :mod:`~gatehouse.web.routes.scim_tokens`, whose new token's secret this page shows once."""

from __future__ import annotations

import ipaddress
from typing import Any, Final
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gatehouse.errors import Forbidden, GatehouseError
from gatehouse.iam import login_options, provisioning, scim_guard
from gatehouse.iam.audit import Change
from gatehouse.iam.authorizer import allowed
from gatehouse.iam.catalog import ORGANIZATION
from gatehouse.iam.provisioning_activity import failures_last_hour
from gatehouse.store.database import Connection
from gatehouse.web import reveals
from gatehouse.web.actions import Confirmation, Settled, act, change, confirm_then_act, form_text, refused
from gatehouse.web.dashboard import dashboard_of, page, principal_of

BASE: Final = "/organization/settings"
SCIM_PAGE: Final = f"{BASE}/scim"
SCIM_SECTION: Final = SCIM_PAGE
TOKENS: Final = f"{SCIM_PAGE}#tokens"
LOGIN_OPTIONS: Final = f"{BASE}/login-options"
REVEAL: Final = "scim_token"
OFF_WARNING: Final = (
    "Your identity provider gets 403 Forbidden on every SCIM request from that moment: nothing it changes "
    "(new people, deactivations, group changes) reaches Gatehouse until you turn provisioning back on. "
    "Okta and Entra ID report the integration as failing. Your tokens are kept and work again then."
)

_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa", ".localdomain")


def endpoint_warning(url: str) -> str | None:
    """Why an IdP in the cloud could not reach ``url``, or ``None`` when it is public HTTPS."""
    parts = urlsplit(url)
    reasons = []
    if parts.scheme != "https":
        reasons.append("it is not HTTPS")
    if _local_host((parts.hostname or "").lower()):
        reasons.append("its host is a local or private-network address")
    if not reasons:
        return None
    return (
        f"IdPs in the cloud cannot reach {url}: {' and '.join(reasons)}. "
        "Set GATEHOUSE_PUBLIC_URL to your public https address (for example https://gatehouse.example.com) "
        "and restart Gatehouse."
    )


def _local_host(host: str) -> bool:
    if not host or host == "localhost" or host.endswith(_LOCAL_SUFFIXES):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "." not in host  # a single-label name only resolves inside a network
    return not address.is_global


# ------------------------------------------------------------------------------------------ the page


async def show(request: Request, status: int = 200, **extra: Any) -> Response:
    """The SCIM Provisioning page (with ``extra`` in its context: a form's error); a token kept for this page
    by the POST that made it is shown, once."""
    dashboard, principal = dashboard_of(request), principal_of(request)
    state, guard_banner, failures = await dashboard.db.read(
        lambda c: (provisioning.state(c, principal), scim_guard.banner(c, principal), failures_last_hour(c, principal))
    )
    issued = await reveals.take(request, REVEAL)
    endpoint = dashboard.settings.scim_base_url
    return dashboard.render(
        request, "settings/scim.html", status=status, state=state, endpoint=endpoint,
        endpoint_warning=endpoint_warning(endpoint), issued=issued,
        regenerated=bool(issued and issued.get("regenerated")), guard_banner=guard_banner, failures=failures, **extra,
    )  # fmt: skip


def _change(**summary: Any) -> Change:
    return Change(provisioning.UPDATE, "organization", "scim", summary)


def _tokens(count: int) -> str:
    return "SCIM token" if count == 1 else f"{count} SCIM tokens"


def switched(turned_on: bool, kept: int) -> str:
    """The message after the SCIM switch, saying what became of the ``kept`` tokens."""
    if turned_on:
        message = "SCIM provisioning is on."
        if kept:
            message += f" Your {_tokens(kept)} {'works' if kept == 1 else 'work'} again."
        return message
    message = "SCIM provisioning is off: every SCIM request is now refused."
    if kept:
        verb = "is" if kept == 1 else "are"
        message += f" Your {_tokens(kept)} {verb} kept and will work again when you turn it back on."
    return message


@page
async def settings_home(request: Request) -> Response:
    """Organization → Settings: the first settings page the viewer may read."""
    principal = principal_of(request)
    if allowed(principal, provisioning.READ, ORGANIZATION):
        return dashboard_of(request).redirect(SCIM_PAGE)
    if allowed(principal, login_options.GET_ACTION, ORGANIZATION):
        return dashboard_of(request).redirect(LOGIN_OPTIONS)
    return refused(request, Forbidden("You may not see the organization's settings."), "/")


@page
async def scim_page(request: Request) -> Response:
    return await show(request)  # without iam:GetSCIMProvisioning: the 403 page (web/error_pages.py)


@page
async def scim_switch(request: Request) -> Response:
    """On at once; off only after its own confirmation page (what the IdP will see)."""
    dashboard, principal, turn_on = (
        dashboard_of(request),
        principal_of(request),
        form_text(request, "enabled", 10) == "on",
    )
    if not turn_on:
        try:
            await dashboard.db.read(lambda c: provisioning.state_to_change(c, principal))
        except GatehouseError as exc:
            return refused(request, exc, SCIM_PAGE)
        return dashboard.redirect(f"{SCIM_PAGE}/disable")
    try:
        now = await change(
            request, _change(enabled=True), lambda c: provisioning.update_settings(c, principal, enabled=True)
        )
    except GatehouseError as exc:
        return refused(request, exc, SCIM_PAGE)
    return dashboard_of(request).redirect(SCIM_PAGE, switched(True, len(now.tokens)))


def _disable_question(connection: Connection, request: Request) -> Confirmation | Settled | GatehouseError:
    state = provisioning.state_to_change(connection, principal_of(request))
    if not state.enabled:
        return Settled("SCIM provisioning is already off.")
    kept = f" Its {_tokens(len(state.tokens))} will be kept." if state.tokens else ""
    endpoint = dashboard_of(request).settings.scim_base_url
    return Confirmation(
        "Turn off SCIM provisioning?",
        f"Gatehouse will refuse every request of your identity provider at {endpoint}.{kept}",
        "Turn off SCIM provisioning",
        OFF_WARNING,
    )


@page
async def scim_disable(request: Request) -> Response:
    principal = principal_of(request)
    return await confirm_then_act(
        request,
        back=SCIM_PAGE,
        ask=lambda c: _disable_question(c, request),
        what=_change(enabled=False),
        work=lambda c: provisioning.update_settings(c, principal, enabled=False),
        done=lambda now: (SCIM_PAGE, switched(False, len(now.tokens))),
    )


@page
async def password_switch(request: Request) -> Response:
    principal, allowed_ = principal_of(request), form_text(request, "allowed", 10) == "on"
    if allowed_:
        done = "Provisioned users may now sign in with the password their IdP sends."
    else:
        done = "Provisioned users sign in through SSO only; passwords sent by the IdP are discarded."
    return await act(
        request,
        _change(password_sign_in=allowed_),
        lambda c: provisioning.update_settings(c, principal, password_sign_in=allowed_),
        f"{SCIM_PAGE}#password-sign-in",
        done,
    )


ROUTES: Final = [
    Route(BASE, settings_home, methods=["GET"]),
    Route(SCIM_PAGE, scim_page, methods=["GET"]),
    Route(SCIM_PAGE, scim_switch, methods=["POST"]),
    Route(f"{SCIM_PAGE}/disable", scim_disable, methods=["GET", "POST"]),
    Route(f"{BASE}/password-sign-in", password_switch, methods=["POST"]),
]
