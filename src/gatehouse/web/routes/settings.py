"""Organization → Settings: SCIM Provisioning (the switch, the endpoint URL, tokens, password sign-in of
provisioned users, IdP checklists and the recent provisioning activity), and the Login Options section.

Thin handlers over :mod:`gatehouse.iam.provisioning`, which checks every permission itself (the page shows
each part to those who may read it: :func:`gatehouse.iam.provisioning.settings_page`); every change is
audited (:mod:`gatehouse.web.actions`). Revoking and regenerating a token ask on their own page first.

A new token's secret is known only in the request that creates it: the POST handler renders the page
itself (200) with the token in it, once — never through a redirect, a cookie or a query string — and
nothing keeps it. Reloading the page does not show it again; re-sending the form creates nothing
(the name is taken, or the regenerated token is already gone).
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from typing import Any, Final
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gatehouse.errors import GatehouseError, InvalidInput
from gatehouse.iam import provisioning
from gatehouse.iam.audit import Change
from gatehouse.iam.scim_control import IssuedToken
from gatehouse.store.database import Connection
from gatehouse.store.scim_activity import KEEP_ROWS, RECENT, Recorder
from gatehouse.web.actions import Confirmation, act, change, confirm_then_act, form_text, refused
from gatehouse.web.dashboard import dashboard_of, page, principal_of

BASE: Final = "/organization/settings"
SCIM_SECTION: Final = f"{BASE}#scim"

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
    """The settings page (with ``extra`` in its context: a new token, a form's error)."""
    dashboard, principal = dashboard_of(request), principal_of(request)
    recorder: Recorder | None = getattr(request.app.state, "scim_activity", None)
    if recorder is not None:
        await recorder.flush_async(dashboard.db)  # this process's latest requests, without waiting for the tick
    state = await dashboard.db.read(lambda c: provisioning.settings_page(c, principal, dashboard.settings.public_url))
    endpoint = dashboard.settings.scim_base_url
    return dashboard.render(
        request, "settings/index.html", status=status, state=state, endpoint=endpoint,
        endpoint_warning=endpoint_warning(endpoint), dropped=recorder.dropped if recorder is not None else 0,
        keep_rows=KEEP_ROWS, recent_count=RECENT, **extra,
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
async def settings_page(request: Request) -> Response:
    return await show(request)


@page
async def scim_switch(request: Request) -> Response:
    principal, turn_on = principal_of(request), form_text(request, "enabled", 10) == "on"
    try:
        now = await change(
            request, _change(enabled=turn_on), lambda c: provisioning.update_settings(c, principal, enabled=turn_on)
        )
    except GatehouseError as exc:
        return refused(request, exc, SCIM_SECTION)
    return dashboard_of(request).redirect(SCIM_SECTION, switched(turn_on, len(now.tokens)))


@page
async def password_switch(request: Request) -> Response:
    principal, allowed = principal_of(request), form_text(request, "allowed", 10) == "on"
    if allowed:
        done = "Provisioned users may now sign in with the password their IdP sends."
    else:
        done = "Provisioned users sign in through SSO only; passwords sent by the IdP are discarded."
    return await act(
        request,
        _change(password_sign_in=allowed),
        lambda c: provisioning.update_settings(c, principal, password_sign_in=allowed),
        f"{BASE}#password-sign-in",
        done,
    )


# ------------------------------------------------------------------------------------------ tokens


@page
async def generate(request: Request) -> Response:
    principal, name = principal_of(request), form_text(request, "name").strip()
    what = Change(provisioning.UPDATE, "scimtoken", None, {"action": "create", "token_name": name})
    try:
        if not name:
            raise InvalidInput("Give the token a name, such as the IdP that will use it.")
        issued: IssuedToken = await change(
            request, what, lambda c: provisioning.issue_token(c, principal, name), lambda r, e: e.about(r.info.id)
        )
    except GatehouseError as exc:
        if exc.status == 403:
            return refused(request, exc, SCIM_SECTION)
        return await show(request, status=exc.status, token_error=exc.detail, token_name=name)
    return await show(request, issued=issued)


_QUESTIONS: Final = {
    "revoke": Confirmation(
        "Revoke SCIM token",
        "Revoke the SCIM token “{name}” ({hint})?",
        "Revoke token",
        "The IdP that uses it is refused at once (401) until you give it a new token.",
    ),
    "regenerate": Confirmation(
        "Regenerate SCIM token",
        "Replace the SCIM token “{name}” ({hint}) with a new one of the same name?",
        "Regenerate token",
        "The current token stops working at once. The new one is shown once: paste it into your IdP right away.",
    ),
}


def _token_question(connection: Connection, request: Request, action: str) -> Confirmation | GatehouseError:
    try:
        token = provisioning.token_to_change(connection, principal_of(request), request.path_params["token_id"])
    except GatehouseError as exc:
        return exc
    asked = _QUESTIONS[action]
    return replace(asked, question=asked.question.format(name=token.name, hint=token.hint))


def _token_refused(request: Request, exc: GatehouseError) -> Response:
    """Not allowed: the refusal page; the token gone or SCIM off: back to the tokens, saying so."""
    if exc.status == 403:
        return refused(request, exc, SCIM_SECTION)
    return dashboard_of(request).redirect(SCIM_SECTION, exc.detail, "error")


@page
async def revoke(request: Request) -> Response:
    principal, token_id = principal_of(request), request.path_params["token_id"]
    return await confirm_then_act(
        request,
        back=SCIM_SECTION,
        ask=lambda c: _token_question(c, request, "revoke"),
        what=Change(provisioning.UPDATE, "scimtoken", token_id, {"action": "revoke"}),
        work=lambda c: provisioning.revoke_token(c, principal, token_id),
        done=lambda name: (SCIM_SECTION, f"The SCIM token “{name}” is revoked: it no longer works."),
        refusal=lambda exc: _token_refused(request, exc),
    )


@page
async def regenerate(request: Request) -> Response:
    principal, token_id = principal_of(request), request.path_params["token_id"]
    return await confirm_then_act(
        request,
        back=SCIM_SECTION,
        ask=lambda c: _token_question(c, request, "regenerate"),
        what=Change(provisioning.UPDATE, "scimtoken", token_id, {"action": "regenerate"}),
        work=lambda c: provisioning.regenerate_token(c, principal, token_id),
        done=lambda issued: show(request, issued=issued, regenerated=True),
        describe=lambda issued, recorded: recorded.about(new_token_id=issued.info.id),
        refusal=lambda exc: _token_refused(request, exc),
    )


ROUTES: Final = [
    Route(BASE, settings_page, methods=["GET"]),
    Route(f"{BASE}/scim", scim_switch, methods=["POST"]),
    Route(f"{BASE}/password-sign-in", password_switch, methods=["POST"]),
    Route(f"{BASE}/tokens", generate, methods=["POST"]),
    Route(BASE + "/tokens/{token_id}/revoke", revoke, methods=["GET", "POST"]),
    Route(BASE + "/tokens/{token_id}/regenerate", regenerate, methods=["GET", "POST"]),
]
