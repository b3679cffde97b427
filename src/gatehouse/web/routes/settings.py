"""Organization → Settings: SCIM Provisioning (the switch, the endpoint URL, tokens, password sign-in of
provisioned users, IdP checklists and the recent provisioning activity).

A new token's secret is known only in the request that creates it: the POST handler renders the page
itself (200) with the token in it, once — never through a redirect, a cookie or a query string — and
nothing keeps it. Reloading the page does not show it again; re-sending the form creates nothing
(the name is taken, or the regenerated token is already gone).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import Connection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gatehouse.errors import GatehouseError, InvalidInput
from gatehouse.iam import login_options, provisioning
from gatehouse.iam.audit import Change, audited
from gatehouse.iam.authorizer import Principal, allowed, require
from gatehouse.iam.catalog import ORGANIZATION
from gatehouse.iam.scim_control import IssuedToken
from gatehouse.store import scim_activity
from gatehouse.store.scim_tokens import TokenInfo
from gatehouse.web.dashboard import Dashboard, page, posted

BASE = "/organization/settings"
SCIM_SECTION = f"{BASE}#scim"

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


@dataclass(frozen=True, slots=True)
class ScimState:
    """What the page shows, read in one go."""

    enabled: bool
    password_sign_in: bool
    tokens: list[TokenInfo]
    recent: list[scim_activity.Activity]
    login_options: login_options.LoginOptionsState | None = None
    """Shown to those who may read them (``iam:GetLoginOption``)."""
    scim_visible: bool = True
    """Whether the SCIM part is shown (``iam:GetSCIMProvisioning``)."""


def _state(connection: Connection, principal: Principal, public_url: str) -> ScimState:
    """The page's content: its SCIM part and its Login Options part, each for those who may read it; one of
    them at least (403 otherwise)."""
    logins = None
    if allowed(principal, login_options.GET_ACTION, ORGANIZATION):
        logins = login_options.state(connection, principal, public_url)
        if not allowed(principal, provisioning.READ, ORGANIZATION):
            return ScimState(False, False, [], [], logins, scim_visible=False)
    current = provisioning.state(connection, principal)
    return ScimState(
        current.enabled, current.password_sign_in, current.tokens, scim_activity.recent(connection), logins
    )


def _change(event: str = provisioning.UPDATE, **summary: Any) -> Change:
    return Change(event, "organization", "scim", summary)


def routes(dashboard: Dashboard) -> list[Route]:
    """The settings routes."""
    db = dashboard.db
    endpoint = dashboard.settings.scim_base_url
    warning = endpoint_warning(endpoint)

    async def show(request: Request, status: int = 200, **extra: Any) -> Response:
        recorder: scim_activity.Recorder | None = getattr(request.app.state, "scim_activity", None)
        if recorder is not None:
            await recorder.flush_async(db)  # this process's latest requests, without waiting for the tick
        state = await db.read(lambda c: _state(c, principal(request), dashboard.settings.public_url))
        return dashboard.render(
            request,
            "settings/index.html",
            status=status,
            state=state,
            endpoint=endpoint,
            endpoint_warning=warning,
            dropped=recorder.dropped if recorder is not None else 0,
            keep_rows=scim_activity.KEEP_ROWS,
            recent_count=scim_activity.RECENT,
            **extra,
        )

    def principal(request: Request) -> Principal:
        return request.scope["gatehouse.principal"]  # type: ignore[no-any-return]

    async def change(request: Request, event: Change, work: Any, describe: Any = None) -> Any:
        return await audited(db, dashboard.origin(request), event, work, describe=describe)

    @page(dashboard)
    async def settings_page(request: Request) -> Response:
        return await show(request)

    @page(dashboard)
    async def scim_switch(request: Request) -> Response:
        turn_on = posted(request).get("enabled") == "on"
        me = principal(request)
        kept = await change(request, _change(enabled=turn_on), lambda c: provisioning.set_enabled(c, me, turn_on))
        if turn_on:
            message = "SCIM provisioning is on."
            if kept:
                message += f" Your {_tokens(kept)} {'works' if kept == 1 else 'work'} again."
        else:
            message = "SCIM provisioning is off: every SCIM request is now refused."
            if kept:
                message += (
                    f" Your {_tokens(kept)} {'is' if kept == 1 else 'are'} kept and will work again "
                    "when you turn it back on."
                )
        return dashboard.redirect(SCIM_SECTION, message)

    @page(dashboard)
    async def password_switch(request: Request) -> Response:
        allowed = posted(request).get("allowed") == "on"
        me = principal(request)
        await change(
            request,
            _change(password_sign_in=allowed),
            lambda c: provisioning.set_password_sign_in(c, me, allowed),
        )
        if allowed:
            message = "Provisioned users may now sign in with the password their IdP sends."
        else:
            message = "Provisioned users sign in through SSO only; passwords sent by the IdP are discarded."
        return dashboard.redirect(f"{BASE}#password-sign-in", message)

    @page(dashboard)
    async def generate(request: Request) -> Response:
        name = str(posted(request).get("name", "")).strip()
        me = principal(request)
        try:
            if not name:
                raise InvalidInput("Give the token a name, such as the IdP that will use it.")
            issued = await change(
                request,
                Change("iam:UpdateSCIMProvisioning", "scimtoken", None, {"action": "create", "token_name": name}),
                lambda c: provisioning.issue_token(c, me, name),
                describe=lambda result, event: event.about(result.info.id),
            )
        except GatehouseError as exc:
            if exc.status == 403:
                raise
            return await show(request, status=exc.status, token_error=exc.detail, token_name=name)
        return await show(request, issued=issued)

    async def confirm(request: Request, token: TokenInfo, action: str) -> Response:
        if action == "revoke":
            return dashboard.render(
                request,
                "confirm.html",
                title="Revoke SCIM token",
                question=f"Revoke the SCIM token “{token.name}” ({token.hint})?",
                warning="The IdP that uses it is refused at once (401) until you give it a new token.",
                action=f"{BASE}/tokens/{token.id}/revoke",
                confirm_label="Revoke token",
                cancel=SCIM_SECTION,
            )
        return dashboard.render(
            request,
            "confirm.html",
            title="Regenerate SCIM token",
            question=f"Replace the SCIM token “{token.name}” ({token.hint}) with a new one of the same name?",
            warning="The current token stops working at once. The new one is shown once: "
            "paste it into your IdP right away.",
            action=f"{BASE}/tokens/{token.id}/regenerate",
            confirm_label="Regenerate token",
            cancel=SCIM_SECTION,
        )

    def gone() -> Response:
        return dashboard.redirect(SCIM_SECTION, "This SCIM token was already revoked or replaced.", "error")

    @page(dashboard)
    async def revoke(request: Request) -> Response:
        token_id = request.path_params["token_id"]
        me = principal(request)
        if request.method == "GET":
            require(me, provisioning.UPDATE, ORGANIZATION)  # the confirmation page of a change
            token = await db.read(lambda c: provisioning.live_token(c, me, token_id))
            return gone() if token is None else await confirm(request, token, "revoke")
        try:
            name = await change(
                request,
                Change(provisioning.UPDATE, "scimtoken", token_id, {"action": "revoke"}),
                lambda c: provisioning.revoke_token(c, me, token_id),
            )
        except GatehouseError as exc:
            if exc.status == 403:
                raise
            return gone()
        return dashboard.redirect(SCIM_SECTION, f"The SCIM token “{name}” is revoked: it no longer works.")

    @page(dashboard)
    async def regenerate(request: Request) -> Response:
        token_id = request.path_params["token_id"]
        me = principal(request)
        if request.method == "GET":
            require(me, provisioning.UPDATE, ORGANIZATION)  # the confirmation page of a change
            token = await db.read(lambda c: provisioning.live_token(c, me, token_id))
            return gone() if token is None else await confirm(request, token, "regenerate")
        try:
            issued: IssuedToken = await change(
                request,
                Change(provisioning.UPDATE, "scimtoken", token_id, {"action": "regenerate"}),
                lambda c: provisioning.regenerate_token(c, me, token_id),
                describe=lambda result, event: event.about(new_token_id=result.info.id),
            )
        except GatehouseError as exc:
            if exc.status == 403:
                raise
            if exc.status == 409:
                return dashboard.redirect(SCIM_SECTION, exc.detail, "error")
            return gone()
        return await show(request, issued=issued, regenerated=True)

    return [
        Route(BASE, settings_page, methods=["GET"]),
        Route(f"{BASE}/scim", scim_switch, methods=["POST"]),
        Route(f"{BASE}/password-sign-in", password_switch, methods=["POST"]),
        Route(f"{BASE}/tokens", generate, methods=["POST"]),
        Route(f"{BASE}/tokens/{{token_id}}/revoke", revoke, methods=["GET", "POST"]),
        Route(f"{BASE}/tokens/{{token_id}}/regenerate", regenerate, methods=["GET", "POST"]),
    ]


def _tokens(count: int) -> str:
    return "SCIM token" if count == 1 else f"{count} SCIM tokens"
