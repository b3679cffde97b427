"""What the "Check" button of an LDAP or SAML login option finds (OpenID Connect's is the provider client's
check): the directory's connection steps (connect, TLS, service bind, base DN), or the IdP's metadata read
afresh (its entity id and sign-in URL). Read-only; the page shows the result above the option's form.
"""

from __future__ import annotations

from typing import Any

from gatehouse.errors import GatehouseError
from gatehouse.iam.login_options import OptionView
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
