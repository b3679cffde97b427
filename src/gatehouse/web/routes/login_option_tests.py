"""Organization → Settings → Login Options → an LDAP option → "Test sign-in as…": an administrator types a
username and password and sees every step of a sign-in (connect, TLS, service bind, search, user bind,
groups), then what the option's rules would map, without a session, a link or any change. Post/Redirect/Get: the
result (steps, attributes found; never the password) waits for the next page in the session, sealed
(:mod:`gatehouse.web.reveals`).

It binds as a person with their password, so it is ``iam:UpdateLoginOption`` (those who manage the option),
and it is recorded in the audit log (``iam:TestLoginOption``: the option, the username and the outcome,
never the password). The password is used for the bind and forgotten: never shown again, never logged.
"""

from __future__ import annotations

from typing import Final

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gatehouse.errors import InvalidInput
from gatehouse.iam import login_options as uc
from gatehouse.iam import role_mapping_rules
from gatehouse.iam.audit import Change, record_apart
from gatehouse.login.ldap import StepResult
from gatehouse.web import reveals
from gatehouse.web.actions import form_text
from gatehouse.web.dashboard import dashboard_of, page, principal_of
from gatehouse.web.login_option_forms import values_of
from gatehouse.web.routes.login_options import BASE, form_page

TEST: Final = Change("iam:TestLoginOption", "login_option")


RESULT: Final = "ldap_test_sign_in"
"""The kind of the result kept across the redirect (:mod:`gatehouse.web.reveals`)."""


@page
async def test_sign_in(request: Request) -> Response:
    """POST: the test, recorded, its result kept for the page the browser is sent to (Post/Redirect/Get: a reload
    binds nothing again and records nothing). GET: that page, with the result once; without one, the option's
    page."""
    dashboard, principal, option_id = dashboard_of(request), principal_of(request), request.path_params["option_id"]
    public = dashboard.settings.public_url
    view = await dashboard.db.read(lambda c: uc.option_to_test(c, principal, option_id, public))
    if request.method == "GET":
        return await _result_page(request, view)
    username, password = form_text(request, "username", 300), form_text(request, "password", 1000)
    steps, claims = await dashboard.ldap.test_sign_in(view.id, username, password)
    passed = all(step.ok for step in steps)
    kept = {"option_id": view.id, "username": username, "claims": claims,
            "steps": [{"step": s.step, "ok": s.ok, "detail": s.detail} for s in steps]}  # fmt: skip
    await reveals.keep(request, RESULT, kept)
    failed_step = None if passed or not steps else steps[-1].step
    what = TEST.about(view.id, username=username[:255], passed=passed, failed_step=failed_step)
    await record_apart(dashboard.db, dashboard.origin(request), what, 200)
    return RedirectResponse(request.url.path, status_code=303)


async def _result_page(request: Request, view: uc.OptionView) -> Response:
    """The option's page with the kept result of its last test sign-in (and what the rules map from it)."""
    dashboard, principal = dashboard_of(request), principal_of(request)
    kept = await reveals.take(request, RESULT)
    if kept is None or kept.get("option_id") != view.id:
        return RedirectResponse(f"{BASE}/{view.id}", status_code=303)
    steps = [StepResult(**step) for step in kept["steps"]]
    claims, username, mapping = kept.get("claims"), str(kept["username"]), None
    if claims is not None:
        rules = [rule.to_json() for rule in view.rules]
        try:
            mapping = await dashboard.db.read(lambda c: role_mapping_rules.dry_run(c, principal, rules, claims))
        except InvalidInput as exc:
            steps = [*steps, StepResult("mapping", False, exc.detail)]
        else:
            granted = ", ".join(g.target.label for g in mapping.roles) or "no role"
            steps = [*steps, StepResult("mapping", True, f"The rules grant {granted}.")]
    return await form_page(
        request, view.id, values_of(view), steps=steps, steps_title=f"Test sign-in as {username}",
        test_username=username, test_claims=claims, mapping=mapping,
    )  # fmt: skip


ROUTES: Final = [Route(BASE + "/{option_id}/test-sign-in", test_sign_in, methods=["GET", "POST"])]
