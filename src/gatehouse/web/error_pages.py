"""Error pages a person can find their way back from: with the navigation of the signed-in user (read for
the error page, as a page handler would), and for a GET on an address that only takes a form (the address a
browser shows after posting one, reloaded or bookmarked), a redirect to the page that form belongs to rather
than an error. A 405 otherwise says what happened, never "Not allowed" (which reads like a permission problem).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match

from gatehouse.web.dashboard import Dashboard

TITLES = {
    400: "Something is not right",
    403: "Not allowed",
    404: "Page not found",
    405: "This address takes no such request",
    409: "Conflict",
    429: "Too many attempts",
}
METHOD_NOT_ALLOWED = (
    "This address is the target of a form, not a page to open. Use the page's own buttons and forms; "
    "the menu on the left leads to every page."
)


def page_of_form(request: Request) -> str | None:
    """The nearest address above ``request``'s path that a GET opens (``/organization/settings/tokens`` →
    ``/organization/settings``), or ``None``."""
    segments = request.url.path.rstrip("/").split("/")
    router = request.app.router
    while len(segments) > 1:
        segments.pop()
        candidate = "/".join(segments) or "/"
        scope = {**request.scope, "method": "GET", "path": candidate, "root_path": ""}
        if any(route.matches(scope)[0] == Match.FULL for route in router.routes):
            return candidate
    return None


async def error_page(dashboard: Dashboard, request: Request, status: int, detail: str) -> Response:
    """The error page, with the navigation when someone is signed in (none during a forced password change)."""
    try:
        user = await dashboard.current_user(request)
        if user is not None and not user.must_change_password:
            await dashboard.principal(request)
    except Exception:  # an error page never fails for want of a database: it shows without the menu
        request.scope.pop("gatehouse.user", None)
    return dashboard.render(request, "error.html", status=status, title=TITLES.get(status, "Error"), detail=detail)


async def method_not_allowed(dashboard: Dashboard, request: Request) -> Response:
    """A GET of a form's address: to its page; any other method: the page saying what happened (405)."""
    if request.method in ("GET", "HEAD"):
        target = page_of_form(request)
        if target is not None:
            return dashboard.redirect(target)
    return await error_page(dashboard, request, 405, METHOD_NOT_ALLOWED)
