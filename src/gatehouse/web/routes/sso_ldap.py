"""Signing in through an LDAP login option: ``/sso/ldap/{option_id}/login`` shows the option's username and
password form (the sign-in page's "Sign in with {name}" leads there) and takes it.

Thin routes over the dashboard's :class:`gatehouse.sso.ldap_signin.LdapSignIn` (``Dashboard.ldap``): the
form carries the sign-in page's double-submit CSRF token; a refusal shows the form again with the reason (a
wrong password never says which part was wrong), an option that is gone or off the refusal page.
"""

from __future__ import annotations

from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gatehouse.errors import GatehouseError
from gatehouse.login.urls import local_target
from gatehouse.sso.completion import OptionUnavailable
from gatehouse.web.dashboard import dashboard_of
from gatehouse.web.routes.sso import failure_page, session_opened

LOGIN_PATH: Final = "/sso/ldap/{option_id}/login"
HOME: Final = "/organization/users"


async def login(request: Request) -> Response:
    dashboard, option_id = dashboard_of(request), request.path_params["option_id"]
    try:
        option = await dashboard.ldap.option(option_id)
    except OptionUnavailable as exc:
        return failure_page(request, exc)
    if request.method == "GET":
        next_path = request.query_params.get("next", "")
        return dashboard.sign_in_form(request, "auth/ldap_login.html", option=option, next=next_path)
    form = await dashboard.form(request, None)
    username, password = str(form.get("username", ""))[:300], str(form.get("password", ""))[:1000]
    next_path = str(form.get("next", ""))[:500]
    try:
        signed_in = await dashboard.ldap.sign_in(
            option_id, username, password, local_target(next_path, HOME),
            ip=dashboard.client_ip(request), agent=request.headers.get("user-agent"),
        )  # fmt: skip
    except GatehouseError as exc:
        return dashboard.sign_in_form(
            request, "auth/ldap_login.html", exc.status, option=option, next=next_path, username=username,
            error=exc.detail,
        )  # fmt: skip
    return session_opened(request, signed_in)


ROUTES: Final = [Route(LOGIN_PATH, login, methods=["GET", "POST"])]
