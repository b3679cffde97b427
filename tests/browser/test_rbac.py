"""Role-based access control end to end in a real browser, on a server of its own (a clean audit log).

The Super Admin invites two local users; one of them (Rita) signs in with her one-time password, chooses
her own and, holding no role, sees only her own profile. The admin writes a permission policy in the JSON
editor (a broken document first: the browser's check, then the server's precise error next to the
editor), creates a role, attaches the policy and assigns the role to Rita. On her next page load Rita has
Users, Roles and Audit Logs, read-only. The policy simulator explains a denial and an allowance; the
audit log shows every step, the failed attempt included, and filters by event and outcome. Removing the
role takes Users away from Rita on her next request.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Locator, Page, expect

from support.browser import (
    ADMIN_PASSWORD,
    USERS_URL,
    ContextFactory,
    LiveServer,
    change_password,
    live_server,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.browser

POLICIES_URL = "/organization/permission-policies"
RITA = "rita"
RITA_ONE_TIME = "rita one-time pass"
RITA_PASSWORD = "rita's own passphrase"
POLICY = "Directory readers"
ROLE = "Auditors"
TYPO_DOCUMENT = """{
  "statement": [
    {
      "effect": "allow",
      "actions": ["iam:GetUser", "iam:GetUsers", "iam:GetRole", "iam:GetAudit"],
      "resources": ["*"]
    }
  ]
}"""
DOCUMENT = TYPO_DOCUMENT.replace(' "iam:GetUsers",', "")
TYPO_ERROR = "statement[0].actions[1]: 'iam:GetUsers' matches no action of the catalog; did you mean 'iam:GetUser'?"
ACCOUNT_MENU = ["My profile", "My access", "Change password"]
SETTINGS_MENU = ["Settings", "SCIM Provisioning", "Provisioning activity", "Login Options"]
NO_ROLES_SELF = "No roles: you see only your own profile."
NO_ROLES_OTHER = "No roles: this user sees only their own profile."


@pytest.fixture(scope="module")
def rbac_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server of its own, so that its audit log holds only this journey; ``admin`` has ADMIN_PASSWORD."""
    with live_server(tmp_path_factory.mktemp("rbac-server"), admin_password=ADMIN_PASSWORD) as running:
        yield running


def menu(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Main")


def nav(page: Page, name: str, *, lands: str | None = None) -> None:
    """Follow a link of the left navigation (Organization → ``name``) and wait for the page it leads to
    (``lands``, when it sends elsewhere)."""
    link = menu(page).get_by_role("link", name=name, exact=True)
    href = link.get_attribute("href")
    link.click()
    page.wait_for_url(lands or f"**{href}")


def expect_menu(page: Page, *organization: str) -> None:
    """The left navigation holds exactly these Organization links, then the Account ones."""
    expect(menu(page).get_by_role("link")).to_have_text([*organization, *ACCOUNT_MENU])


def invite(page: Page, user_name: str, name: str, one_time: str) -> str:
    """From Organization → Users: Invite user; the new user's page URL."""
    page.get_by_role("link", name="Invite user").click()
    page.get_by_label("Username").fill(user_name)
    page.get_by_label(re.compile(r"^Email")).fill(f"{user_name}@example.com")
    page.get_by_label(re.compile(r"^Name")).fill(name)
    page.get_by_label(re.compile(r"^One-time password \(")).fill(one_time)
    page.get_by_label("One-time password, again").fill(one_time)
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text(f"Local user {user_name} created.")
    return page.url


def roles_held(page: Page) -> Locator:
    return page.get_by_role("list", name="Roles held").get_by_role("listitem")


def simulate(page: Page, user: str, action: str) -> Locator:
    """Ask the policy simulator; the result card."""
    page.get_by_label(re.compile(r"^User")).fill(user)
    page.get_by_label("Action", exact=True).select_option(action)
    page.get_by_role("button", name="Simulate").click()
    page.wait_for_url(re.compile(rf"action={re.escape(action.replace(':', '%3A'))}"))
    return page.get_by_role("status").filter(has=page.get_by_role("heading", level=2))


def audit_rows(page: Page, event: str | None = None) -> Locator:
    rows = page.get_by_role("table").get_by_role("row").filter(has=page.get_by_role("cell"))
    if event is None:
        return rows
    return rows.filter(has=page.get_by_role("link", name=event, exact=True))


def filter_audit(page: Page, event: str, outcome: str = "") -> None:
    """Filter the audit log by event (and outcome: ``failed``, …); wait for the GET the form sends (which
    encodes the ``:`` of an event, not its ``*``)."""
    page.get_by_label("Event").select_option(event)
    page.get_by_label("Outcome").select_option(outcome)
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(rf"\?event={re.escape(event.replace(':', '%3A'))}&.*&outcome={outcome}&"))


def test_a_role_grants_read_access_and_its_removal_takes_it_back(
    rbac_server: LiveServer, new_context: ContextFactory
) -> None:
    admin = new_context(rbac_server).new_page()
    sign_in(admin, "admin", ADMIN_PASSWORD)
    expect_menu(
        admin,
        "Users",
        "Groups",
        "Roles",
        "Permission Policies",
        "Tokens",
        "Audit Logs",
        "Audit streaming",
        "Access requests",
        "Access review",
        "Gateway access",
        *SETTINGS_MENU,
    )

    # 1. The Super Admin invites Rita (who will get a role) and Sam (whose page she will look at).
    rita_url = invite(admin, RITA, "Rita Reader", RITA_ONE_TIME)
    rita_id = rita_url.rsplit("/", 1)[-1]
    nav(admin, "Users")
    sam_url = invite(admin, "sam", "Sam Other", "sam one-time pass")
    expect(admin.get_by_role("button", name="Save roles")).to_be_visible()  # what Rita will not see

    # 2. Rita signs in in her own browser: the forced change, then, with no role, her own profile only.
    rita = new_context(rbac_server).new_page()
    sign_in(rita, RITA, RITA_ONE_TIME, expect_path="/account/password")
    change_password(rita, RITA_ONE_TIME, RITA_PASSWORD)
    sign_in(rita, RITA, RITA_PASSWORD, expect_path=None)
    rita.wait_for_url(rita_url)
    expect(rita.get_by_role("heading", name="Rita Reader", level=1)).to_be_visible()
    expect(rita.get_by_role("region", name="Roles")).to_contain_text(NO_ROLES_SELF)
    expect_menu(rita)  # neither Users, Roles, Permission Policies nor Audit Logs
    rita.goto(USERS_URL)
    rita.wait_for_url(rita_url)  # the list sends her to her profile
    rita.goto("/organization/audit-logs")
    expect(rita.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(rita.get_by_text("Viewing the audit log needs the iam:GetAudit permission.")).to_be_visible()

    # 3. Organization → Permission Policies → Create policy, in the JSON editor.
    nav(admin, "Permission Policies")
    admin.get_by_role("link", name="Create policy").click()
    expect(admin.get_by_role("heading", name="Create a permission policy", level=1)).to_be_visible()
    admin.get_by_label("Name", exact=True).fill(POLICY)
    admin.get_by_label(re.compile(r"^Description")).fill("Read users, roles and the audit log")
    editor = admin.get_by_label(re.compile(r"^Policy document"))
    # Not JSON at all: the browser's check says so and sends nothing.
    editor.fill('{"statement": [')
    admin.get_by_role("button", name="Create policy").click()
    expect(admin.get_by_role("alert")).to_contain_text("document: not valid JSON")
    expect(editor).to_be_focused()
    assert admin.url.endswith(f"{POLICIES_URL}/new")
    # JSON, but naming an action that does not exist: the server's precise error, next to the editor.
    editor.fill(TYPO_DOCUMENT)
    with admin.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/new")) as posted:
        admin.get_by_role("button", name="Create policy").click()
    assert posted.value.status == 400
    expect(admin.get_by_role("alert")).to_have_text(TYPO_ERROR)
    expect(admin.get_by_text("The problem is in statement 0 (counting from 0).")).to_be_visible()
    editor = admin.get_by_label(re.compile(r"^Policy document"))
    expect(editor).to_have_attribute("aria-invalid", "true")
    expect(editor).to_have_accessible_description(TYPO_ERROR)
    expect(editor).to_have_value(TYPO_DOCUMENT)  # kept as typed
    expect(admin.get_by_label("Name", exact=True)).to_have_value(POLICY)
    screenshot(admin, "rbac-policy-error")
    editor.fill(DOCUMENT)
    admin.get_by_role("button", name="Create policy").click()
    admin.wait_for_url(re.compile(rf"{POLICIES_URL}/[^/]+$"))
    expect(admin.get_by_role("status")).to_have_text(f"Permission policy {POLICY} created.")
    expect(admin.get_by_role("heading", name=POLICY, level=1)).to_be_visible()
    document = admin.get_by_label("Policy document, JSON")
    for action in ("iam:GetUser", "iam:GetRole", "iam:GetAudit"):
        expect(document).to_contain_text(f'"{action}"')
    expect(document).not_to_contain_text("iam:GetUsers")
    expect(admin.get_by_text("Not attached to any role.")).to_be_visible()

    # 4. Organization → Roles → Create role; open it from the list; attach the policy.
    nav(admin, "Roles")
    admin.get_by_role("link", name="Create role").click()
    admin.get_by_label("Name", exact=True).fill(ROLE)
    admin.get_by_label(re.compile(r"^Description")).fill("Read-only access for audits")
    admin.get_by_role("button", name="Create role").click()
    admin.wait_for_url(re.compile(r"/organization/roles/[^/]+$"))
    expect(admin.get_by_role("status")).to_have_text(f"Role {ROLE} created.")
    nav(admin, "Roles")
    admin.get_by_role("link", name=ROLE, exact=True).click()
    expect(admin.get_by_role("heading", name=ROLE, level=1)).to_be_visible()
    expect(admin.get_by_text("No policies attached: this role allows nothing yet.")).to_be_visible()
    admin.get_by_role("combobox", name="Attach a policy").select_option(label=POLICY)
    admin.get_by_role("button", name="Attach", exact=True).click()
    expect(admin.get_by_role("status")).to_have_text("Policy attached.")
    attached = admin.get_by_role("table", name=f"Policies attached to {ROLE}")
    expect(attached.get_by_role("link")).to_have_text([POLICY])
    screenshot(admin, "rbac-role")

    # 5. Organization → Users → Rita → tick the role, Save roles: she holds it directly.
    nav(admin, "Users")
    admin.get_by_role("link", name=RITA, exact=True).click()
    admin.wait_for_url(rita_url)
    expect(admin.get_by_role("region", name="Roles")).to_contain_text(NO_ROLES_OTHER)
    admin.get_by_role("checkbox", name=ROLE, exact=True).check()
    admin.get_by_role("button", name="Save roles").click()
    expect(admin.get_by_role("status")).to_have_text("1 role(s) added. It applies from the user's next request.")
    expect(roles_held(admin)).to_have_text([f"{ROLE} (direct)"])
    expect(admin.get_by_role("checkbox", name=ROLE, exact=True)).to_be_checked()
    screenshot(admin, "rbac-user-roles")

    # 6. Rita reloads the page she was refused: the audit log now, and Users, Roles and Audit Logs, to read.
    rita.reload()
    expect(rita.get_by_role("heading", name="Audit Logs", level=1)).to_be_visible()
    expect_menu(rita, "Users", "Roles", "Audit Logs")
    expect(rita.get_by_role("link", name="Export CSV")).to_have_count(0)  # no iam:ExportAudits
    nav(rita, "My profile")
    expect(roles_held(rita)).to_have_text([f"{ROLE} (direct)"])
    expect(rita.get_by_role("button", name="Save roles")).to_have_count(0)  # not even on her own page
    nav(rita, "Users")
    expect(rita.get_by_role("heading", name="Users", exact=True)).to_be_visible()
    expect(rita.locator(".result-count")).to_have_text("Showing 1–3 of 3")
    for user_name in ("admin", RITA, "sam"):
        expect(rita.get_by_role("link", name=user_name, exact=True)).to_be_visible()
    expect(rita.get_by_role("link", name="Invite user")).to_have_count(0)
    rita.get_by_role("link", name="sam", exact=True).click()
    rita.wait_for_url(sam_url)
    expect(rita.get_by_role("heading", name="Sam Other", level=1)).to_be_visible()
    actions = rita.get_by_role("region", name="Actions")
    expect(actions.get_by_role("paragraph")).to_have_text(["You may not change this user."])
    expect(actions.get_by_role("link")).to_have_count(0)
    expect(actions.get_by_role("button")).to_have_count(0)
    expect(rita.get_by_role("main").get_by_role("button")).to_have_count(0)  # neither Save roles nor boundary
    nav(rita, "Roles")
    expect(rita.get_by_role("link", name=ROLE, exact=True)).to_be_visible()
    expect(rita.get_by_role("link", name="Create role")).to_have_count(0)

    # 7. The policy simulator, as the admin: a denial and an allowance, with the deciding statement.
    nav(admin, "Permission Policies")
    admin.get_by_role("link", name="Policy simulator").click()
    expect(admin.get_by_role("heading", name="Policy simulator", level=1)).to_be_visible()
    result = simulate(admin, RITA, "iam:DeleteUser")
    expect(result.get_by_role("heading")).to_have_text("DENIED")
    expect(result).to_contain_text(f"Why: no statement allows iam:DeleteUser on arn:gatehouse:iam:user/{rita_id}.")
    expect(result).to_contain_text("No statement decided: nothing allows it, so it is denied.")
    result = simulate(admin, RITA, "iam:GetUser")
    expect(result.get_by_role("heading")).to_have_text("ALLOWED")
    expect(result).to_contain_text(f"Why: allowed by statement 0 of policy '{POLICY}' in role '{ROLE}'.")
    expect(result.get_by_role("definition")).to_have_text(["statement 0 (allow)", POLICY, ROLE, "allow"])
    expect(result.get_by_role("link", name=POLICY, exact=True)).to_be_visible()
    expect(result.get_by_label("The deciding statement")).to_contain_text('"iam:GetAudit"')
    screenshot(admin, "rbac-simulator")

    # 8. Organization → Audit Logs: every step, the failed attempt included; filters by event and outcome.
    nav(admin, "Audit Logs")
    created = audit_rows(admin, "iam:CreatePermissionPolicy")
    expect(created).to_have_count(2)
    expect(created.nth(0)).to_contain_text("Success 200")  # newest first
    failed = created.nth(1)
    expect(failed).to_contain_text("Failed 400")
    screenshot(admin, "rbac-audit")
    failed.get_by_text(re.compile(r"^Details of record \d+$")).click()
    expect(failed.get_by_role("definition").first).to_have_text(TYPO_ERROR)
    for event in ("iam:CreateRole", "iam:UpdateRole", "iam:UpdateUserRole"):
        expect(audit_rows(admin, event)).to_have_count(1)
        expect(audit_rows(admin, event)).to_contain_text("Success 200")
    expect(audit_rows(admin, "iam:InviteUser")).to_have_count(2)
    sign_ins = audit_rows(admin, "auth:SignIn")
    expect(sign_ins).to_have_count(3)  # the admin once, Rita with her one-time password and with her own
    expect(sign_ins.filter(has=admin.get_by_role("link", name=RITA, exact=True))).to_have_count(2)
    expect(sign_ins.first).to_contain_text("Dashboard")

    filter_audit(admin, "iam:CreatePermissionPolicy")
    assert "event=iam%3ACreatePermissionPolicy" in admin.url
    expect(audit_rows(admin)).to_have_count(2)
    expect(audit_rows(admin, "iam:CreatePermissionPolicy")).to_have_count(2)
    filter_audit(admin, "iam:CreatePermissionPolicy", "failed")
    expect(audit_rows(admin)).to_have_count(1)
    expect(audit_rows(admin)).to_contain_text("Failed 400")
    # Sign-ins are no catalog action: the auth:* prefix first, then the event it shows, offered now.
    filter_audit(admin, "auth:*")
    expect(audit_rows(admin)).to_have_count(4)
    expect(audit_rows(admin, "auth:SignIn")).to_have_count(3)
    expect(audit_rows(admin, "auth:ChangePassword")).to_have_count(1)  # Rita's, at her first sign-in
    filter_audit(admin, "auth:SignIn")
    expect(audit_rows(admin)).to_have_count(3)
    expect(audit_rows(admin, "auth:SignIn")).to_have_count(3)
    admin.get_by_role("link", name="Clear").click()
    expect(audit_rows(admin, "iam:UpdateRole")).to_have_count(1)

    # 9. The admin removes the role; Rita's next request has no Users any more.
    nav(admin, "Users")
    admin.get_by_role("link", name=RITA, exact=True).click()
    admin.get_by_role("checkbox", name=ROLE, exact=True).uncheck()
    admin.get_by_role("button", name="Save roles").click()
    expect(admin.get_by_role("status")).to_have_text("1 role(s) removed. It applies from the user's next request.")
    expect(admin.get_by_role("region", name="Roles")).to_contain_text(NO_ROLES_OTHER)

    expect_menu(rita, "Users", "Roles", "Audit Logs")  # the page she loaded before
    nav(rita, "Users", lands=rita_url)  # no longer a list for her: her own profile
    expect_menu(rita)
    expect(rita.get_by_role("region", name="Roles")).to_contain_text(NO_ROLES_SELF)

    nav(admin, "Audit Logs")
    filter_audit(admin, "iam:UpdateUserRole")
    expect(audit_rows(admin)).to_have_count(2)
