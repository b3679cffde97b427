"""Organization → Tokens: the signed-in user's personal API tokens, and everyone's for those who may see them.

Thin handlers over :mod:`gatehouse.iam.api_tokens`, whose use cases check every permission
(``iam:CreateToken``, ``iam:GetToken`` / ``iam:DeleteToken`` on one's own tokens, ``iam:GetAnyToken`` /
``iam:DeleteAnyToken`` on other users'); the page only hides what the viewer may not use. Every change is
audited (:mod:`gatehouse.web.actions`), refusals included; the secret never reaches the audit log.
Revoking asks on its own page first.

Post/Redirect/Get: a new token's secret crosses the redirect sealed in the server-side session
(:mod:`gatehouse.web.reveals`), never in a URL or a cookie, and the page after it takes it once (200,
``no-store``); the database keeps only its SHA-256. Reloading shows the list without it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Final
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gatehouse.errors import GatehouseError, InvalidInput
from gatehouse.iam import api_tokens as tokens
from gatehouse.iam.audit import Change
from gatehouse.numerals import whole_number
from gatehouse.store.api_tokens import TokenStatus
from gatehouse.store.database import Connection
from gatehouse.store.records import utcnow
from gatehouse.web import reveals
from gatehouse.web.actions import Confirmation, Settled, change, confirm_then_act, form_text, refused
from gatehouse.web.dashboard import dashboard_of, page, principal_of

BASE: Final = "/organization/tokens"
BACK_LABEL: Final = "Back to the tokens"
EXPIRY_CHOICES: Final = tuple(days for days in (7, 30, 90, 365) if days in tokens.EXPIRY_DAYS)
"""The expiries offered in the form, in days (a date may be chosen instead)."""
DEFAULT_EXPIRY: Final = 30
REVEAL: Final = "api_token"
STATUS_LABELS: Final[dict[TokenStatus, str]] = {"active": "Active", "expired": "Expired", "revoked": "Revoked"}
REVOKE_WARNING: Final = (
    "Scripts and tools that use it are refused at once (401). This cannot be undone: create a new token to replace it."
)


def parse_expiry(choice: str, on: str) -> int | date:
    """The form's expiry: a number of days from :data:`EXPIRY_CHOICES`, or ``date`` with a ``YYYY-MM-DD`` day."""
    if choice == "date":
        try:
            return date.fromisoformat(on.strip())
        except ValueError as exc:
            raise InvalidInput("expiry: choose the day the token expires (YYYY-MM-DD).") from exc
    days = whole_number(choice)
    if days is not None and days in EXPIRY_CHOICES:
        return days
    offered = ", ".join(str(days) for days in EXPIRY_CHOICES)
    raise InvalidInput(f"expiry: choose {offered} days, or a date.")


def _expiry_text(choice: str, on: str) -> str:
    return on.strip()[:10] if choice == "date" else f"{choice[:4]} days"


def list_url(user: str) -> str:
    return f"{BASE}?{urlencode({'user': user})}" if user else BASE


def _wanted(request: Request) -> str:
    """Whose tokens the page is asked for (``user``: empty for one's own, ``all``, or a user)."""
    if request.method == "POST":
        return form_text(request, "user", 255)
    return request.query_params.get("user", "")[:255]


async def _show(request: Request, status: int = 200, **extra: Any) -> Response:
    """The page: the list asked for, the form to create a token (``values``), and ``extra`` (an error, a new token)."""
    dashboard, principal, wanted = dashboard_of(request), principal_of(request), request.query_params.get("user", "")
    try:
        found = await dashboard.db.read(lambda c: tokens.token_listing(c, principal, wanted[:255]))
    except GatehouseError as exc:
        return refused(request, exc, BASE, BACK_LABEL)
    today = utcnow().date()
    return dashboard.render(
        request, "tokens/index.html", status=status, listing=found, view_any=found.view_any,
        may_create=found.may_create, expiry_choices=EXPIRY_CHOICES, max_days=tokens.MAX_EXPIRY_DAYS,
        max_name=tokens.MAX_NAME, status_labels=STATUS_LABELS, today=today.isoformat(),
        latest=(today + timedelta(days=tokens.MAX_EXPIRY_DAYS - 1)).isoformat(),
        values=extra.pop("values", {"name": "", "expiry": str(DEFAULT_EXPIRY), "expires_on": ""}),
        api_me=f"{dashboard.settings.public_url}/api/me", all_limit=tokens.ALL_LIMIT,
        new=await reveals.take(request, REVEAL), **extra,
    )  # fmt: skip


@page
async def index(request: Request) -> Response:
    return await _show(request)


@page
async def create(request: Request) -> Response:
    principal = principal_of(request)
    name, choice, on = (form_text(request, key) for key in ("name", "expiry", "expires_on"))
    summary = {"name": " ".join(name.split())[: tokens.MAX_NAME], "expiry": _expiry_text(choice, on)}

    def describe(new: tokens.NewToken, recorded: Change) -> Change:
        return recorded.about(new.info.id, name=new.info.name, expires_at=new.info.expires_at.isoformat())

    try:
        new = await change(
            request,
            Change("iam:CreateToken", "token", summary=summary),
            lambda c: tokens.create_token(c, principal, name, parse_expiry(choice, on)),
            describe,
        )
    except GatehouseError as exc:
        if exc.status == 403:
            return refused(request, exc, BASE, BACK_LABEL)
        typed = {"name": name, "expiry": choice, "expires_on": on}
        return await _show(request, exc.status, error=exc.detail, values=typed)
    shown = {
        "name": new.info.name,
        "token": new.token,
        "expires_at": new.info.expires_at.strftime("%Y-%m-%d %H:%M UTC"),
    }
    await reveals.keep(request, REVEAL, shown)
    return dashboard_of(request).redirect(BASE, f"API token “{new.info.name}” created: copy it now.")


def _revoke_question(connection: Connection, request: Request) -> Confirmation | Settled:
    asked = tokens.revocation(connection, principal_of(request), request.path_params["token_id"])
    token = asked.token
    if not asked.active:
        return Settled(f"The token “{token.name}” is already revoked or expired.")
    whose = "" if asked.own else f" of {asked.owner or 'a deleted user'}"
    question = f"Revoke {'your' if asked.own else 'the'} API token “{token.name}” ({token.hint}){whose}?"
    user = _wanted(request)
    return Confirmation("Revoke API token", question, "Revoke token", REVOKE_WARNING, {"user": user} if user else {})


@page
async def revoke(request: Request) -> Response:
    dashboard, principal, token_id = dashboard_of(request), principal_of(request), request.path_params["token_id"]
    back = list_url(_wanted(request))
    return await confirm_then_act(
        request,
        back=back,
        ask=lambda c: _revoke_question(c, request),
        what=await dashboard.db.read(lambda c: tokens.revoke_change(c, principal, token_id)),
        work=lambda c: tokens.revoke_token(c, principal, token_id),
        done=lambda revoked: (back, f"The API token “{revoked.name}” is revoked: it no longer works."),
        back_label=BACK_LABEL,
    )


ROUTES: Final = [
    Route(BASE, index, methods=["GET"]),
    Route(BASE, create, methods=["POST"]),
    Route(BASE + "/{token_id}/revoke", revoke, methods=["GET", "POST"]),
]
