"""Organization → Tokens: the signed-in user's personal API tokens, and everyone's for those who may see them.

Thin handlers over :mod:`gatehouse.iam.api_tokens`, whose use cases check every permission
(``iam:CreateToken``, ``iam:GetToken`` / ``iam:DeleteToken`` on one's own tokens, ``iam:GetAnyToken`` /
``iam:DeleteAnyToken`` on other users'). Every change runs through :func:`gatehouse.iam.audit.audited`, so
a success is recorded in its own transaction and a refusal or failure in one of its own; the secret never
reaches the audit log.

A new token's secret exists only in the response to the POST that creates it: the handler renders the
page itself (200, ``no-store``) with the token in it, once; no redirect, cookie or query string carries it
and the database keeps only its SHA-256. Reloading shows the list without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final
from urllib.parse import urlencode

from sqlalchemy.engine import Connection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gatehouse.errors import Forbidden, GatehouseError, InvalidInput, NotFound
from gatehouse.iam import api_tokens as use
from gatehouse.iam.audit import Change, audited
from gatehouse.iam.authorizer import Principal, allowed
from gatehouse.iam.catalog import ANY_ID, resource_name
from gatehouse.store import api_tokens as token_store
from gatehouse.store import users as user_store
from gatehouse.store.api_tokens import TokenInfo, TokenStatus
from gatehouse.store.records import utcnow
from gatehouse.web.dashboard import Dashboard, page, posted

BASE = "/organization/tokens"
ALL = "all"
EXPIRY_CHOICES: Final = tuple(days for days in (7, 30, 90, 365) if days in use.EXPIRY_DAYS)
"""The expiries offered in the form, in days (a date may be chosen instead)."""
DEFAULT_EXPIRY: Final = 30
ALL_LIMIT: Final = 500
"""The most tokens the "All users" view lists (newest first); a user filter narrows it."""
STATUS_LABELS: Final[dict[TokenStatus, str]] = {"active": "Active", "expired": "Expired", "revoked": "Revoked"}


@dataclass(frozen=True, slots=True)
class Row:
    """A token as listed: its metadata, owner, status and whether the viewer may revoke it."""

    token: TokenInfo
    owner: str
    status: TokenStatus
    revocable: bool


@dataclass(frozen=True, slots=True)
class Listing:
    """What the list shows: ``view`` is ``own``, ``all`` or ``user`` (one user, by name)."""

    view: str
    rows: list[Row]
    user_filter: str = ""
    truncated: bool = False


# ---------------------------------------------------------------------------------------- reading


def may_view_any(principal: Principal) -> bool:
    return allowed(principal, "iam:GetAnyToken", resource_name("token", ANY_ID))


def _revocable(principal: Principal, token: TokenInfo, status: TokenStatus) -> bool:
    if status != "active":
        return False
    action = "iam:DeleteToken" if token.user_id == principal.user_id else "iam:DeleteAnyToken"
    return allowed(principal, action, resource_name("token", token.id))


def _viewable(principal: Principal, token: TokenInfo) -> bool:
    action = "iam:GetToken" if token.user_id == principal.user_id else "iam:GetAnyToken"
    return allowed(principal, action, resource_name("token", token.id))


def _row(principal: Principal, token: TokenInfo, owner: str, now: datetime) -> Row:
    status = token.status(now)
    return Row(token, owner, status, _revocable(principal, token, status))


def everyones_tokens(connection: Connection, principal: Principal, limit: int = ALL_LIMIT) -> tuple[list[Row], bool]:
    """Every user's tokens, newest first, those the principal may view (at most ``limit``; whether more exist).

    Only for a principal with ``iam:GetAnyToken``; the metadata only, never a secret or its digest.
    """
    if not may_view_any(principal):
        return [], False
    found = token_store.newest(connection, limit + 1)
    now = utcnow()
    rows = [_row(principal, token, owner, now) for token, owner in found[:limit]]
    return [row for row in rows if _viewable(principal, row.token)], len(found) > limit


def user_named(connection: Connection, name: str) -> tuple[str, str] | None:
    """``(id, user_name)`` of the user with this username (any case) or id, or ``None``."""
    wanted = name.strip()
    if not wanted:
        return None
    user = user_store.get_by_user_name(connection, wanted) or user_store.get(connection, wanted[:36])
    return (user.id, user.user_name) if user else None


def listing(connection: Connection, principal: Principal, wanted: str) -> Listing:
    """The list for the ``user`` query parameter: empty for one's own, ``all``, or a username."""
    now = utcnow()
    if wanted and may_view_any(principal):
        if wanted == ALL:
            rows, truncated = everyones_tokens(connection, principal)
            return Listing(ALL, rows, truncated=truncated)
        found = user_named(connection, wanted)
        if found is None:
            return Listing("user", [], wanted)
        user_id, user_name = found
        tokens = use.list_tokens(connection, principal, user_id)
        return Listing("user", [_row(principal, t, user_name, now) for t in tokens], user_name)
    tokens = use.list_tokens(connection, principal)
    return Listing("own", [_row(principal, t, principal.user_name or "", now) for t in tokens])


# ---------------------------------------------------------------------------------------- the form


def parse_expiry(choice: str, on: str) -> int | date:
    """The form's expiry: a number of days from :data:`EXPIRY_CHOICES`, or ``date`` with a ``YYYY-MM-DD`` day."""
    if choice == "date":
        try:
            return date.fromisoformat(on.strip())
        except ValueError as exc:
            raise InvalidInput("expiry: choose the day the token expires (YYYY-MM-DD).") from exc
    if choice.isdigit() and int(choice) in EXPIRY_CHOICES:
        return int(choice)
    offered = ", ".join(str(days) for days in EXPIRY_CHOICES)
    raise InvalidInput(f"expiry: choose {offered} days, or a date.")


def _expiry_text(choice: str, on: str) -> str:
    return on.strip()[:10] if choice == "date" else f"{choice[:4]} days"


def list_url(user: str) -> str:
    return f"{BASE}?{urlencode({'user': user})}" if user else BASE


# ---------------------------------------------------------------------------------------- routes


def routes(dashboard: Dashboard) -> list[Route]:
    """The tokens routes."""
    db = dashboard.db
    api_me = f"{dashboard.settings.public_url}/api/me"

    async def show(request: Request, status: int = 200, **extra: Any) -> Response:
        principal = await dashboard.principal(request)
        wanted = request.query_params.get("user", "")[:255]
        found = await db.read(lambda c: listing(c, principal, wanted))
        values = extra.pop("values", {"name": "", "expiry": str(DEFAULT_EXPIRY), "expires_on": ""})
        return dashboard.render(
            request,
            "tokens/index.html",
            status=status,
            listing=found,
            view_any=may_view_any(principal),
            may_create=allowed(principal, "iam:CreateToken", resource_name("token", ANY_ID)),
            expiry_choices=EXPIRY_CHOICES,
            max_days=use.MAX_EXPIRY_DAYS,
            max_name=use.MAX_NAME,
            status_labels=STATUS_LABELS,
            today=utcnow().date().isoformat(),
            latest=(utcnow().date() + timedelta(days=use.MAX_EXPIRY_DAYS - 1)).isoformat(),
            values=values,
            api_me=api_me,
            all_limit=ALL_LIMIT,
            **extra,
        )

    def refused(request: Request, exc: GatehouseError, back: str = BASE) -> Response:
        return dashboard.render(request, "tokens/refused.html", status=exc.status, detail=exc.detail, back=back)

    @page(dashboard)
    async def index(request: Request) -> Response:
        try:
            return await show(request)
        except Forbidden as exc:
            return refused(request, exc)

    @page(dashboard)
    async def create(request: Request) -> Response:
        form = posted(request)
        name, choice, on = (str(form.get(key, "")) for key in ("name", "expiry", "expires_on"))
        principal = await dashboard.principal(request)
        change = Change(
            "iam:CreateToken",
            "token",
            summary={"name": " ".join(name.split())[: use.MAX_NAME], "expiry": _expiry_text(choice, on)},
        )

        def work(connection: Connection) -> use.NewToken:
            return use.create_token(connection, principal, name, parse_expiry(choice, on))

        def describe(new: use.NewToken, change: Change) -> Change:
            return change.about(new.info.id, name=new.info.name, expires_at=new.info.expires_at.isoformat())

        try:
            new = await audited(db, dashboard.origin(request), change, work, describe=describe)
        except GatehouseError as exc:
            if isinstance(exc, Forbidden):
                return refused(request, exc)
            values = {"name": name, "expiry": choice, "expires_on": on}
            return await show(request, status=exc.status, error=exc.detail, values=values)
        return await show(request, new=new)

    async def target(request: Request) -> TokenInfo:
        principal = await dashboard.principal(request)
        token_id = request.path_params["token_id"]
        return await db.read(lambda c: use.get_token(c, principal, token_id))

    @page(dashboard)
    async def revoke(request: Request) -> Response:
        principal = await dashboard.principal(request)
        token_id = request.path_params["token_id"]
        back = list_url(str(posted(request).get("user", "")) if request.method == "POST" else "")
        if request.method == "GET":
            try:
                token = await target(request)
                if not use.may_revoke(principal, token):
                    action = "iam:DeleteToken" if token.user_id == principal.user_id else "iam:DeleteAnyToken"
                    raise Forbidden(f"You are not allowed to revoke this token ({action}).")
            except (NotFound, Forbidden) as exc:
                return refused(request, exc)
            if token.user_id == principal.user_id:
                question = f"Revoke your API token “{token.name}” ({token.hint})?"
            else:
                owner = await db.read(lambda c: user_store.get(c, token.user_id))
                whose = owner.user_name if owner else "a deleted user"
                question = f"Revoke the API token “{token.name}” ({token.hint}) of {whose}?"
            user = request.query_params.get("user", "")[:255]
            if token.status(utcnow()) != "active":
                message = f"The token “{token.name}” is already revoked or expired."
                return dashboard.redirect(list_url(user), message, "info")
            return dashboard.render(
                request,
                "confirm.html",
                title="Revoke API token",
                question=question,
                warning="Scripts and tools that use it are refused at once (401). This cannot be undone: "
                "create a new token to replace it.",
                action=f"{BASE}/{token.id}/revoke",
                fields={"user": user} if user else {},
                confirm_label="Revoke token",
                cancel=list_url(user),
            )
        # Pick the event from the token's owner (what the use case checks); its existence and the
        # permission are checked again inside the audited work.
        known = await db.read(lambda c: token_store.get(c, token_id[:36]))
        own = known is None or known.user_id == principal.user_id
        change = Change(
            "iam:DeleteToken" if own else "iam:DeleteAnyToken",
            "token",
            token_id[:64],
            summary={"name": known.name} if known else {},
        )
        if not own and known is not None:
            change = change.about(user_id=known.user_id)
        try:
            revoked = await audited(
                db, dashboard.origin(request), change, lambda c: use.revoke_token(c, principal, token_id)
            )
        except GatehouseError as exc:
            return refused(request, exc, back)
        return dashboard.redirect(back, f"The API token “{revoked.name}” is revoked: it no longer works.")

    return [
        Route(BASE, index, methods=["GET"]),
        Route(BASE, create, methods=["POST"]),
        Route(BASE + "/{token_id}/revoke", revoke, methods=["GET", "POST"]),
    ]
