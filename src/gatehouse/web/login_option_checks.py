"""What the "Check" button of an LDAP or SAML login option finds (OpenID Connect's is the provider client's
check): the directory's connection steps (connect, TLS, service bind, base DN), or the IdP's metadata read
afresh (its entity id and sign-in URL). Read-only; the page shows the result above the option's form.

:func:`provider_problem` is the same check as one sentence, or ``None`` when it passes: an option is enabled
only while it passes (so enabling one never offers a sign-in button that cannot work).
"""

from __future__ import annotations

from typing import Any

from gatehouse.errors import GatehouseError
from gatehouse.iam.login_options import OptionView
from gatehouse.sso.protocol import ProviderError
from gatehouse.web.dashboard import Dashboard


async def check_other(dashboard: Dashboard, view: OptionView) -> dict[str, Any]:
    """The template's variables for the result of checking ``view`` (an LDAP or SAML option)."""
    if view.kind == "ldap":
        return {"steps": await dashboard.ldap.test_connection(view.id), "steps_title": "Test connection"}
    try:
        idp, sso_url = await dashboard.saml.check(view.id)
    except GatehouseError as exc:
        return {"check_error": exc.detail}
    return {"saml_check": {"idp": idp, "sso_url": sso_url}}


async def provider_problem(dashboard: Dashboard, view: OptionView) -> str | None:
    """Why the option's provider check fails now (a sentence), or ``None`` when it passes."""
    try:
        if view.kind == "oidc":
            await dashboard.provider.check(view.issuer)
            return None
        found = await check_other(dashboard, view)
    except (ProviderError, GatehouseError) as exc:
        return exc.detail
    if "check_error" in found:
        return str(found["check_error"])
    steps = found.get("steps") or []
    if steps and not steps[-1].ok:
        return f"{steps[-1].label} failed: {steps[-1].detail}"
    return None
