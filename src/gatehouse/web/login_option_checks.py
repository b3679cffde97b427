"""What the "Check" button of a login option shows (:func:`gatehouse.sso.provider_checks.check`, the same check as
the admin API's and the CLI's): the page's variables for an OpenID provider's discovery and keys, an LDAP
directory's connection steps (connect, TLS, service bind, base DN), or a SAML IdP's metadata read afresh. Read-only;
the page shows the result above the option's form.

:func:`provider_problem` is the same check as one sentence, or ``None`` when it passes: an option is enabled
only while it passes (so enabling one never offers a sign-in button that cannot work).
"""

from __future__ import annotations

from typing import Any

from gatehouse.iam.login_options import OptionView
from gatehouse.sso import provider_checks
from gatehouse.web.dashboard import Dashboard


async def check_page(dashboard: Dashboard, view: OptionView) -> dict[str, Any]:
    """The option page's variables for the result of checking ``view``'s provider now."""
    found = await provider_checks.check(dashboard, view)
    if found.steps:
        return {"steps": found.steps, "steps_title": "Test connection"}
    if not found.ok:
        return {"check_error": found.detail}
    if found.oidc is not None:
        return {"check": found.oidc, "check_warnings": found.warnings}
    return {"saml_check": {"idp": found.idp_entity_id, "sso_url": found.sso_url}, "check_warnings": found.warnings}


async def provider_problem(dashboard: Dashboard, view: OptionView) -> str | None:
    """Why the option's provider check fails now (a sentence), or ``None`` when it passes."""
    return (await provider_checks.check(dashboard, view)).problem
