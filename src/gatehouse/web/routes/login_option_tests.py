"""Organization → Settings → Login Options → an LDAP option → "Test sign-in as…": an administrator types a
username and password and sees every step of a sign-in (connect, TLS, service bind, search, user bind,
groups), then what the option's rules would map, without a session, a link or any change.

It binds as a person with their password, so it is ``iam:UpdateLoginOption`` (those who manage the option),
and it is recorded in the audit log (``iam:TestLoginOption``: the option, the username and the outcome,
never the password). The password is used for the bind and forgotten: never shown again, never logged.
"""

from __future__ import annotations

from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gatehouse.errors import InvalidInput
from gatehouse.iam import login_options as uc
from gatehouse.iam import role_mapping_rules
from gatehouse.iam.audit import Change, record_apart
from gatehouse.login.ldap import StepResult
from gatehouse.web.actions import form_text
from gatehouse.web.dashboard import dashboard_of, page, principal_of
from gatehouse.web.login_option_forms import values_of
from gatehouse.web.routes.login_options import BASE, form_page

TEST: Final = Change("iam:TestLoginOption", "login_option")


@page
async def test_sign_in(request: Request) -> Response:
    dashboard, principal, option_id = dashboard_of(request), principal_of(request), request.path_params["option_id"]
    public = dashboard.settings.public_url
    view = await dashboard.db.read(lambda c: uc.option_to_test(c, principal, option_id, public))
    username, password = form_text(request, "username", 300), form_text(request, "password", 1000)
    steps, claims = await dashboard.ldap.test_sign_in(view.id, username, password)
    mapping = None
    if claims is not None:
        rules = [rule.to_json() for rule in view.rules]
        try:
            mapping = await dashboard.db.read(lambda c: role_mapping_rules.dry_run(c, principal, rules, claims))
        except InvalidInput as exc:
            steps = [*steps, StepResult("mapping", False, exc.detail)]
        else:
            granted = ", ".join(g.target.label for g in mapping.roles) or "no role"
            steps = [*steps, StepResult("mapping", True, f"The rules grant {granted}.")]
    passed = all(step.ok for step in steps)
    what = TEST.about(view.id, username=username[:255], passed=passed, failed_step=None if passed else steps[-1].step)
    await record_apart(dashboard.db, dashboard.origin(request), what, 200)
    return await form_page(
        request, view.id, values_of(view), steps=steps, steps_title=f"Test sign-in as {username}",
        test_username=username, test_claims=claims, mapping=mapping,
    )  # fmt: skip


ROUTES: Final = [Route(BASE + "/{option_id}/test-sign-in", test_sign_in, methods=["POST"])]
