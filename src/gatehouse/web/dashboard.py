"""What every dashboard page shares: the signed-in user, CSRF checks, flash messages, rendering.

Sessions are server-side (see :mod:`gatehouse.store.sessions`): each request looks its session up
together with the user, so a deactivated or deleted user is signed out on the very next request.
Forms carry a per-session CSRF token; the sign-in form, before any session exists, uses a
double-submit cookie.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar, overload
from urllib.parse import quote, unquote

import orjson
from anyio import to_thread
from markupsafe import Markup
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from gatehouse.config import Settings
from gatehouse.errors import Forbidden
from gatehouse.iam.audit import Origin
from gatehouse.iam.authorizer import Principal, allowed, load_principal
from gatehouse.iam.catalog import ResourceKind, resource_name
from gatehouse.iam.login_options import sign_in_choices
from gatehouse.iam.signin import SESSION_COOKIE, SignInPolicy
from gatehouse.login.urls import post_logout_uri
from gatehouse.network import client_ip
from gatehouse.resources.search import marked
from gatehouse.secrets_box import LazySecretBox
from gatehouse.sso.ldap_signin import LdapSignIn
from gatehouse.sso.provider import ProviderClient
from gatehouse.sso.saml_logout import SamlLogout
from gatehouse.sso.saml_signin import SamlSignIn
from gatehouse.sso.signin import OidcSignIn
from gatehouse.store import sessions
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from gatehouse.store.sessions import SessionUser

LOGIN_CSRF_COOKIE = "gatehouse_login_csrf"
FLASH_COOKIE = "gatehouse_flash"
TEMPLATES = Path(__file__).parent / "templates"

Handler = Callable[[Request], Awaitable[Response]]
T = TypeVar("T")


class CsrfFailed(Forbidden):
    """The form's CSRF token is missing or wrong."""

    default_detail = "This form has expired or did not come from Gatehouse. Reload the page and try again."


class Dashboard:
    """The dashboard's shared services, built once per app: its settings and database, the templates, the
    sign-in policy, and the sign-ins of the login options: OpenID Connect (``sso``, with its client of the
    providers, ``provider``), LDAP (``ldap``) and SAML (``saml``).
    """

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.templates = Jinja2Templates(directory=str(TEMPLATES))
        self.templates.env.globals["scim_endpoint"] = settings.scim_base_url
        self.templates.env.globals["sign_out_redirect_uri"] = post_logout_uri(settings.public_url)
        self.templates.env.globals["docs_url"] = settings.docs_url  # templates/_guides.html links to the guides
        self.templates.env.filters["when"] = _when
        self.templates.env.filters["when_cell"] = _when_cell
        self.templates.env.filters["search_pieces"] = marked  # a search's matches, for templates/_search.html
        self.idle = timedelta(minutes=settings.session_idle_minutes)
        self.secrets = LazySecretBox(settings.secret_key_path)  # SSO client secrets at rest
        self.policy = SignInPolicy(
            max_failures=settings.login_max_failures,
            window=timedelta(seconds=settings.login_lockout_seconds),
            idle=self.idle,
            absolute=timedelta(hours=settings.session_absolute_hours),
        )
        self.provider = ProviderClient(
            settings.sso_http_timeout_seconds,
            settings.sso_metadata_ttl_seconds,
            deny_private=settings.outbound_deny_private,
        )
        self.sso = OidcSignIn(db, self.provider, settings.public_url, self.secrets, self.policy.absolute)
        self.ldap = LdapSignIn(db, self.secrets, self.policy)
        ttl = settings.sso_metadata_ttl_seconds
        self.saml = SamlSignIn(
            db, self.provider, settings.public_url, self.secrets, self.policy.absolute, metadata_ttl=ttl
        )
        self.saml_logout = SamlLogout(self.saml)

    # -- who is asking ------------------------------------------------------------------------------

    def client_ip(self, request: Request) -> str | None:
        return client_ip(request, self.settings.trusted_proxies)

    async def current_user(self, request: Request) -> SessionUser | None:
        """The user of the request's session, or ``None`` (then the cookie is worthless)."""
        if "gatehouse.user" in request.scope:
            return request.scope["gatehouse.user"]  # type: ignore[no-any-return]
        raw = request.cookies.get(SESSION_COOKIE)
        user = None
        if raw:
            now = utcnow()
            user = await self.db.read(lambda c: sessions.lookup(c, raw, now, self.idle))
            if user is not None and now - user.last_seen >= sessions.TOUCH_INTERVAL:
                await self.db.write(lambda c: sessions.touch(c, user.session_hash, now))
        request.scope["gatehouse.user"] = user
        return user

    async def principal(self, request: Request) -> Principal:
        """What the signed-in user may do, read once per request (a user with no session may do nothing)."""
        if "gatehouse.principal" in request.scope:
            return request.scope["gatehouse.principal"]  # type: ignore[no-any-return]
        user = await self.current_user(request)
        found = Principal.nobody() if user is None else await self.db.read(lambda c: load_principal(c, user.user_id))
        request.scope["gatehouse.principal"] = found
        return found

    def origin(self, request: Request, actor: str | None = None, actor_id: str | None = None) -> Origin:
        """The audit log's view of who is asking: the signed-in user from this browser, or ``actor`` (the
        name typed into the sign-in form, before any session exists)."""
        user: SessionUser | None = request.scope.get("gatehouse.user")
        if actor is None:
            actor, actor_id = (user.user_name, user.user_id) if user else ("anonymous", None)
        return Origin("dashboard", actor, actor_id, self.client_ip(request), request.headers.get("user-agent"))

    # -- forms ----------------------------------------------------------------------------------------

    async def form(self, request: Request, user: SessionUser | None) -> FormData:
        """The posted form, after its CSRF token has been checked."""
        form = await request.form()
        sent = str(form.get("csrf_token", ""))
        expected = user.csrf_token if user else request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if not sent or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
            raise CsrfFailed()
        return form

    # -- responses ------------------------------------------------------------------------------------

    def render(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        """A page, with the user, CSRF token and any flash message in its context."""
        user = request.scope.get("gatehouse.user")
        principal: Principal = request.scope.get("gatehouse.principal") or Principal.nobody()

        def can(action: str, kind: ResourceKind = "organization", id: str = "*") -> bool:
            return allowed(principal, action, resource_name(kind, id))

        flash = _read_flash(request)
        csrf = user.csrf_token if user else context.pop("login_csrf", "")
        response = self.templates.TemplateResponse(
            request,
            template,
            {
                "user": user,
                "can": can,
                "csrf_token": csrf,
                "flash": flash,
                "path": request.url.path,
                **context,
            },
            status_code=status,
        )
        if flash:
            response.delete_cookie(FLASH_COOKIE, path="/")
        response.headers["Cache-Control"] = "no-store"  # a page may hold a CSRF token; the rest: ResponseHeaders
        return response

    def redirect(self, url: str, message: str | None = None, kind: str = "success") -> RedirectResponse:
        """See-other redirect, optionally carrying a flash message to the next page."""
        response = RedirectResponse(url, status_code=303)
        if message:
            value = orjson.dumps({"kind": kind, "text": message}).decode()
            response.set_cookie(FLASH_COOKIE, quote(value), max_age=60, path="/", httponly=True, samesite="lax")
        return response

    def set_session(self, response: Response, cookie: str) -> None:
        """Attach the session cookie (``Secure`` when the public URL is https)."""
        response.set_cookie(
            SESSION_COOKIE,
            cookie,
            max_age=int(self.policy.absolute.total_seconds()),
            path="/",
            httponly=True,
            samesite="lax",
            secure=self.settings.secure_cookies,
        )
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")

    def clear_session(self, response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE, path="/")

    def login_csrf(self, request: Request) -> str:
        """The double-submit token of the sign-in form (reused while its cookie lives)."""
        return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)

    async def login_page(self, request: Request, status: int = 200, **context: Any) -> HTMLResponse:
        """The sign-in page: a "Sign in with {name}" button per enabled login option and, unless it is
        turned off, the password form, whose CSRF token is in the form and in a cookie."""
        choices = await self.db.read(sign_in_choices)
        return self.sign_in_form(request, "auth/login.html", status, choices=choices, **context)

    def sign_in_form(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        """A page with a form posted before any session exists (the sign-in page, an LDAP option's form): its
        CSRF token is in the form and in a cookie (double submit)."""
        token = self.login_csrf(request)
        response = self.render(request, template, status=status, login_csrf=token, **context)
        response.set_cookie(
            LOGIN_CSRF_COOKIE,
            token,
            max_age=3600,
            path="/",
            httponly=True,
            samesite="lax",
            secure=self.settings.secure_cookies,
        )
        return response


def _read_flash(request: Request) -> dict[str, str] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        value = orjson.loads(unquote(raw))
    except orjson.JSONDecodeError:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("text"), str):
        return None
    kind = value.get("kind") if value.get("kind") in ("success", "error", "info") else "info"
    return {"kind": str(kind), "text": value["text"][:500]}


def _when(value: Any) -> str:
    """A timestamp as shown in tables: UTC, to the minute."""
    if value is None:
        return "—"
    return str(value.strftime("%Y-%m-%d %H:%M UTC"))


def _when_cell(value: Any) -> Markup:
    """A timestamp in a table cell: a ``<time>`` that a narrow table may break between the day and the time, and
    nowhere else (a date breaks at its hyphens otherwise), so the names beside it keep their room."""
    if value is None:
        return Markup("—")
    day, _, time = _when(value).partition(" ")  # the same text as :func:`_when`, in two halves
    return Markup('<time datetime="{}"><span class="nowrap">{}</span> <span class="nowrap">{}</span></time>').format(
        value.isoformat(), day, time
    )


@overload
def page(target: Handler) -> Handler: ...


@overload
def page(target: Dashboard | None = None, *, allow_password_change: bool = False) -> Callable[[Handler], Handler]: ...


def page(
    target: Handler | Dashboard | None = None, *, allow_password_change: bool = False
) -> Handler | Callable[[Handler], Handler]:
    """Decorate a page handler (``@page``, or ``@page(allow_password_change=True)``): sign-in required,
    forced password change honoured, CSRF checked on POST, the principal read once."""
    if callable(target):
        return _guarded(target, None, allow_password_change)
    return lambda handler: _guarded(handler, target, allow_password_change)


def _guarded(handler: Handler, fixed: Dashboard | None, allow_password_change: bool) -> Handler:
    @wraps(handler)
    async def guarded(request: Request) -> Response:
        dashboard = fixed or dashboard_of(request)
        user = await dashboard.current_user(request)
        if user is None:
            return _to_sign_in(dashboard, request)
        if user.must_change_password and not allow_password_change:
            return dashboard.redirect("/account/password", "Choose a new password to continue.", "info")
        if request.method == "POST":
            request.scope["gatehouse.form"] = await dashboard.form(request, user)
        await dashboard.principal(request)
        return await handler(request)

    return guarded


def dashboard_of(request: Request) -> Dashboard:
    """The dashboard's services, set on the app by the app factory."""
    return request.app.state.dashboard  # type: ignore[no-any-return]


def principal_of(request: Request) -> Principal:
    """The principal of a request that :func:`page` let through (read once, in the guard)."""
    return request.scope["gatehouse.principal"]  # type: ignore[no-any-return]


def _to_sign_in(dashboard: Dashboard, request: Request) -> Response:
    """To the sign-in page; a dead session cookie (expired, or its user deactivated) is cleared."""
    target = f"/login?next={quote(request.url.path)}"
    if not request.cookies.get(SESSION_COOKIE):
        return dashboard.redirect(target)
    response = dashboard.redirect(target, "Your session has ended. Sign in again.", "info")
    dashboard.clear_session(response)
    return response


async def blocking(work: Callable[[], T]) -> T:
    """Run blocking work (Argon2 hashing, a database call) off the event loop."""
    return await to_thread.run_sync(work)


def posted(request: Request) -> FormData:
    """The CSRF-checked form of a POST handled by :func:`page`."""
    return request.scope["gatehouse.form"]  # type: ignore[no-any-return]
