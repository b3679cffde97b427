"""Organization → Settings → SCIM Provisioning → tokens (``/organization/settings/tokens``): generate a token
(its secret shown once, on the SCIM Provisioning page), revoke or regenerate one, each after its own confirmation
page.

Thin handlers over :mod:`gatehouse.iam.provisioning`, which checks every permission itself; every change is audited
(:mod:`gatehouse.web.actions`). A new token's secret crosses the redirect sealed in the server-side session
(:mod:`gatehouse.web.reveals`), never in a URL or a cookie, taken once by the page
(:func:`~gatehouse.web.routes.settings.show`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Final, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gatehouse.errors import GatehouseError, InvalidInput
from gatehouse.iam import provisioning
from gatehouse.iam.audit import Change
from gatehouse.iam.authorizer import Principal
from gatehouse.iam.scim_control import IssuedToken
from gatehouse.store.database import Connection
from gatehouse.web import reveals
from gatehouse.web.actions import Confirmation, change, confirm_then_act, form_text, refused
from gatehouse.web.dashboard import dashboard_of, page, principal_of
from gatehouse.web.routes.settings import BASE, REVEAL, SCIM_PAGE, TOKENS, show

T = TypeVar("T")


async def _reveal(request: Request, issued: IssuedToken, regenerated: bool) -> Response:
    """Keep the new token for the page, then redirect to it (Post/Redirect/Get)."""
    value = {"name": issued.name, "token": issued.token, "hint": issued.info.hint, "regenerated": regenerated}
    await reveals.keep(request, REVEAL, value)
    verb = "regenerated" if regenerated else "created"
    return dashboard_of(request).redirect(TOKENS, f"SCIM token “{issued.name}” {verb}: copy it now.")


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
            return refused(request, exc, SCIM_PAGE)
        return await show(request, status=exc.status, token_error=exc.detail, token_name=name)
    return await _reveal(request, issued, regenerated=False)


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


def _token_question(connection: Connection, request: Request, action: str) -> Confirmation:
    token = provisioning.token_to_change(connection, principal_of(request), request.path_params["token_id"])
    asked = _QUESTIONS[action]
    return replace(asked, question=asked.question.format(name=token.name, hint=token.hint))


def _token_refused(request: Request, exc: GatehouseError) -> Response:
    """Not allowed: the refusal page; the token gone or SCIM off: back to the tokens, saying so."""
    if exc.status == 403:
        return refused(request, exc, SCIM_PAGE)
    return dashboard_of(request).redirect(TOKENS, exc.detail, "error")


async def _on_token(
    request: Request,
    action: str,
    work: Callable[[Connection, Principal, str], T],
    done: Callable[[T], tuple[str, str] | Awaitable[Response]],
    describe: Callable[[T, Change], Change] | None = None,
) -> Response:
    """Ask first (:func:`_token_question`), then ``work`` on the token of the address (``action``: ``revoke`` or
    ``regenerate``), audited; a refusal as :func:`_token_refused` answers it."""
    principal, token_id = principal_of(request), request.path_params["token_id"]
    return await confirm_then_act(
        request,
        back=TOKENS,
        ask=lambda c: _token_question(c, request, action),
        what=Change(provisioning.UPDATE, "scimtoken", token_id, {"action": action}),
        work=lambda c: work(c, principal, token_id),
        done=done,
        describe=describe,
        refusal=lambda exc: _token_refused(request, exc),
    )


def _revoked(name: str) -> tuple[str, str]:
    return TOKENS, f"The SCIM token “{name}” is revoked: it no longer works."


@page
async def revoke(request: Request) -> Response:
    return await _on_token(request, "revoke", provisioning.revoke_token, _revoked)


@page
async def regenerate(request: Request) -> Response:
    return await _on_token(
        request,
        "regenerate",
        provisioning.regenerate_token,
        lambda issued: _reveal(request, issued, regenerated=True),
        lambda issued, recorded: recorded.about(new_token_id=issued.info.id),
    )


ROUTES: Final = [
    Route(f"{BASE}/tokens", generate, methods=["POST"]),
    Route(BASE + "/tokens/{token_id}/revoke", revoke, methods=["GET", "POST"]),
    Route(BASE + "/tokens/{token_id}/regenerate", regenerate, methods=["GET", "POST"]),
]
