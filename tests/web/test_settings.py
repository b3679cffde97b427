"""Organization → Settings → SCIM Provisioning and Provisioning activity, over HTTP as an admin's browser uses
them (both databases): their own pages, Post/Redirect/Get everywhere (a new token crosses the redirect in the
server-side session, shown once), turning SCIM off confirmed first."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from httpx import Response
from starlette.testclient import TestClient

from gatehouse.app import create_app
from gatehouse.config import Settings
from gatehouse.iam import scim_control
from gatehouse.iam.authorizer import load_principal
from gatehouse.iam.users import OneTimePassword, create_local_user, new_local_user
from gatehouse.store import roles as role_store
from gatehouse.store import users as user_store
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from gatehouse.store.scim_activity import write
from gatehouse.web.routes.settings import endpoint_warning
from support.web import csrf_of, make_admin, sign_in

SETTINGS = "/organization/settings"
PAGE = f"{SETTINGS}/scim"
ACTIVITY = f"{PAGE}/activity"
SCIM = "/scim/v2"
TOKEN = re.compile(r"ghs_[A-Za-z0-9_-]{20,}")


@pytest.fixture
def admin(app_client: TestClient, db: Database) -> TestClient:
    """The app client, signed in as a Super Admin."""
    make_admin(db)
    assert sign_in(app_client).status_code == 303
    return app_client


def post(client: TestClient, path: str, **data: str) -> Response:
    """Send a form of the settings page the way the browser does (with the page's CSRF token)."""
    csrf = csrf_of(client.get(PAGE).text)
    return client.post(path, data={"csrf_token": csrf, **data}, follow_redirects=False)


def enable(client: TestClient) -> None:
    response = post(client, PAGE, enabled="on")
    assert response.status_code == 303


def generate(client: TestClient, name: str = "Okta") -> tuple[Response, str]:
    """Post the token form; on success (303) the token is read from the page the redirect leads to."""
    response = post(client, f"{SETTINGS}/tokens", name=name)
    if response.status_code == 303:
        assert response.headers["location"] == f"{PAGE}#tokens"
        assert not TOKEN.search(response.headers["location"] + response.text)
        shown = client.get(PAGE)
        found = TOKEN.findall(shown.text)
        return shown, found[0] if found else ""
    found = TOKEN.findall(response.text)
    return response, found[0] if found else ""


def disable(client: TestClient) -> Response:
    """Turn SCIM off as the browser does: the switch, then the confirmation page."""
    asked = post(client, PAGE)
    assert asked.status_code == 303 and asked.headers["location"] == f"{PAGE}/disable"
    confirm = client.get(f"{PAGE}/disable")
    assert confirm.status_code == 200
    return client.post(f"{PAGE}/disable", data={"csrf_token": csrf_of(confirm.text)}, follow_redirects=False)


def scim_get(client: TestClient, token: str, path: str = "/Users") -> int:
    return client.get(f"{SCIM}{path}", headers={"Authorization": f"Bearer {token}"}).status_code


def test_anonymous_visitors_are_sent_to_sign_in(app_client: TestClient) -> None:
    """The page and its forms need a session."""
    response = app_client.get(PAGE, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/login?next={PAGE}"
    home = app_client.get(SETTINGS, follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"] == f"/login?next={SETTINGS}"
    forged = app_client.post(PAGE, data={"enabled": "on"}, follow_redirects=False)
    assert forged.status_code == 303 and forged.headers["location"].startswith("/login")


def test_the_page_is_in_the_navigation_and_starts_off(admin: TestClient) -> None:
    """Organization → Settings opens SCIM Provisioning, a page of its own in the menu, off, with the Enable switch
    and no endpoint yet; the provisioning log is a page of its own too."""
    home = admin.get(SETTINGS, follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"] == PAGE
    page = admin.get(PAGE)
    assert page.status_code == 200
    assert 'href="/organization/settings" class="nav-group"' in page.text
    assert f'href="{PAGE}" aria-current="page">SCIM Provisioning</a>' in page.text
    assert f'href="{ACTIVITY}" >Provisioning activity</a>' in page.text
    assert 'href="/organization/settings/login-options" >Login Options</a>' in page.text
    assert "SCIM Provisioning" in page.text and 'id="scim-enabled"' in page.text
    assert "Your tokens are kept, not deleted" in page.text
    assert (
        'id="scim-enabled" name="enabled" value="on" role="switch" aria-describedby="scim-enabled-help">' in page.text
    )
    assert 'id="scim-endpoint"' not in page.text and "Generate token" not in page.text
    assert "Login Options</h" not in page.text  # the login options are on their own page
    assert page.headers["cache-control"] == "no-store"
    log = admin.get(ACTIVITY)
    assert log.status_code == 200 and "No SCIM requests yet" in log.text


def test_enable_and_disable_switch_scim_and_keep_tokens(admin: TestClient, db: Database) -> None:
    """Turning SCIM off refuses every SCIM request at once (403); tokens are kept and work again."""
    enable(admin)
    page = admin.get(PAGE)
    assert "SCIM provisioning is on." in page.text and "SCIM Endpoint URL" in page.text
    assert "https://gatehouse.test/scim/v2" in page.text and 'data-copy="#scim-endpoint"' in page.text
    _, token = generate(admin)
    assert scim_get(admin, token) == 200

    asked = post(admin, PAGE)
    assert asked.status_code == 303 and asked.headers["location"] == f"{PAGE}/disable"
    assert scim_get(admin, token) == 200  # asking changes nothing
    confirm = admin.get(f"{PAGE}/disable")
    assert "Turn off SCIM provisioning?" in confirm.text and "403 Forbidden on every SCIM request" in confirm.text
    assert "Its SCIM token will be kept." in confirm.text
    off = admin.post(f"{PAGE}/disable", data={"csrf_token": csrf_of(confirm.text)}, follow_redirects=False)
    assert off.status_code == 303 and off.headers["location"] == PAGE
    page = admin.get(PAGE)
    assert "Your SCIM token is kept and will work again when you turn it back on." in page.text
    assert "SCIM provisioning is <strong>off</strong>" in page.text and "Okta" in page.text
    assert scim_get(admin, token) == 403
    with db.snapshot() as connection:
        assert not scim_control.is_enabled(connection) and [t.name for t in scim_control.list_tokens(connection)] == [
            "Okta"
        ]

    assert admin.get(f"{PAGE}/disable", follow_redirects=False).status_code == 303  # off already: nothing to ask
    enable(admin)
    assert scim_get(admin, token) == 200


def test_a_generated_token_is_shown_once_and_works(admin: TestClient) -> None:
    """The POST redirects (Post/Redirect/Get) and the page it leads to shows the token, once, in a dialog and in
    the page; it works against the SCIM endpoint; it is in no URL, cookie or header; reloading does not show it
    again, and re-sending the form creates nothing."""
    enable(admin)
    response, token = generate(admin, "Okta")
    assert response.status_code == 200
    html = response.text
    assert token and html.count(token) == 2
    assert '<dialog id="new-token-dialog" class="token-dialog" data-open' in html and "data-secret-fallback" in html
    assert 'data-copy="#new-token-dialog-value"' in html and 'data-copy="#new-token-page-value"' in html
    assert "Enter it in your IdP as <code>Bearer &lt;token&gt;</code>" in html
    assert "Secret Token takes the token alone" in html
    headers = " ".join(f"{k}: {v}" for k, v in response.headers.items())
    assert token not in headers and response.headers["cache-control"] == "no-store"
    assert all(token not in value for value in admin.cookies.values())

    assert scim_get(admin, token) == 200
    again = admin.get(PAGE)
    assert token not in again.text and not TOKEN.search(again.text)
    assert "<strong>Okta</strong>" in again.text and token[-4:] in again.text  # the hint only

    resent, second = generate(admin, "Okta")  # the browser re-sends the form: nothing new
    assert resent.status_code == 409 and not second
    assert "already exists" in resent.text


def test_a_new_token_waits_for_its_own_page_and_no_other_session_sees_it(admin: TestClient) -> None:
    """The token kept for the settings page is not taken by another page that shows a secret once (API tokens),
    nor by another session of the same user: it is shown where it belongs, once (web/reveals.py)."""
    enable(admin)
    assert post(admin, f"{SETTINGS}/tokens", name="Okta").status_code == 303
    with TestClient(admin.app, base_url="https://testserver") as other:
        assert sign_in(other).status_code == 303
        assert not TOKEN.search(other.get(PAGE).text)  # another session: nothing to show
    api_tokens = admin.get("/organization/tokens")
    assert api_tokens.status_code == 200 and not TOKEN.search(api_tokens.text)
    shown = TOKEN.findall(admin.get(PAGE).text)
    assert shown and scim_get(admin, shown[0]) == 200
    assert not TOKEN.search(admin.get(PAGE).text)  # once


def test_a_token_needs_a_name_and_scim_on(admin: TestClient, db: Database) -> None:
    """No name is a 400 on the page; with SCIM off no token is generated."""
    off, token = generate(admin, "Okta")
    assert off.status_code == 409 and not token and "Turn on SCIM provisioning" in off.text
    enable(admin)
    blank, token = generate(admin, "   ")
    assert blank.status_code == 400 and not token
    assert 'aria-invalid="true"' in blank.text
    with db.snapshot() as connection:
        assert scim_control.list_tokens(connection) == []


def test_revoke_asks_first_and_stops_the_token_at_once(admin: TestClient, db: Database) -> None:
    """Revoke goes through a confirmation page; after it the token gets 401 on the next request."""
    enable(admin)
    _, token = generate(admin, "Okta")
    with db.snapshot() as connection:
        token_id = scim_control.list_tokens(connection)[0].id
    confirm = admin.get(f"{SETTINGS}/tokens/{token_id}/revoke")
    assert confirm.status_code == 200 and "Revoke SCIM token" in confirm.text and "Okta" in confirm.text
    assert f'action="{SETTINGS}/tokens/{token_id}/revoke"' in confirm.text
    done = admin.post(
        f"{SETTINGS}/tokens/{token_id}/revoke", data={"csrf_token": csrf_of(confirm.text)}, follow_redirects=False
    )
    assert done.status_code == 303
    assert scim_get(admin, token) == 401
    page = admin.get(PAGE)
    assert "is revoked: it no longer works" in page.text and "No SCIM tokens yet" in page.text
    twice = admin.post(
        f"{SETTINGS}/tokens/{token_id}/revoke", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    assert twice.status_code == 303
    assert "already revoked or replaced" in admin.get(PAGE).text
    assert admin.get(f"{SETTINGS}/tokens/{token_id}/revoke", follow_redirects=False).status_code == 303


def test_regenerate_replaces_the_token(admin: TestClient, db: Database) -> None:
    """The old token stops at once; the new one has the same name, is shown once and works."""
    enable(admin)
    _, old = generate(admin, "Entra ID")
    with db.snapshot() as connection:
        token_id = scim_control.list_tokens(connection)[0].id
    confirm = admin.get(f"{SETTINGS}/tokens/{token_id}/regenerate")
    assert confirm.status_code == 200 and "Regenerate SCIM token" in confirm.text
    posted = admin.post(
        f"{SETTINGS}/tokens/{token_id}/regenerate", data={"csrf_token": csrf_of(confirm.text)}, follow_redirects=False
    )
    assert posted.status_code == 303 and posted.headers["location"] == f"{PAGE}#tokens"
    response = admin.get(PAGE)
    assert response.status_code == 200
    new = TOKEN.findall(response.text)[0]
    assert new != old and "New token for “Entra ID”" in response.text
    assert "The previous token with this name no longer works." in response.text
    assert scim_get(admin, old) == 401 and scim_get(admin, new) == 200
    with db.snapshot() as connection:
        assert [t.name for t in scim_control.list_tokens(connection)] == ["Entra ID"]
    assert new not in admin.get(PAGE).text
    resent = admin.post(
        f"{SETTINGS}/tokens/{token_id}/regenerate", data={"csrf_token": csrf_of(confirm.text)}, follow_redirects=False
    )
    assert resent.status_code == 303 and not TOKEN.search(resent.text)
    assert scim_get(admin, new) == 200


def test_password_sign_in_switch(admin: TestClient, db: Database) -> None:
    """The setting is off by default, explained, and switched by its own form."""
    page = admin.get(PAGE)
    assert "Provisioned users may sign in with a password" in page.text and "sign in through SSO" in page.text
    assert post(admin, f"{SETTINGS}/password-sign-in", allowed="on").status_code == 303
    with db.snapshot() as connection:
        assert scim_control.password_sign_in(connection)
    assert (
        'name="allowed" value="on" role="switch" aria-describedby="password-sign-in-help" checked'
        in admin.get(PAGE).text
    )
    assert post(admin, f"{SETTINGS}/password-sign-in").status_code == 303
    with db.snapshot() as connection:
        assert not scim_control.password_sign_in(connection)


def test_every_form_needs_its_csrf_token(admin: TestClient, db: Database) -> None:
    """Without, or with a wrong, CSRF token every POST is refused with 403 and changes nothing."""
    with db.transaction() as connection:
        scim_control.enable(connection)
        token_id = scim_control.issue_token(connection, "Okta").info.id
    forms = {
        PAGE: {"enabled": ""},
        f"{PAGE}/disable": {},
        f"{SETTINGS}/password-sign-in": {"allowed": "on"},
        f"{SETTINGS}/tokens": {"name": "Intruder"},
        f"{SETTINGS}/tokens/{token_id}/revoke": {},
        f"{SETTINGS}/tokens/{token_id}/regenerate": {},
    }
    for path, data in forms.items():
        for csrf in ({}, {"csrf_token": "forged"}):
            response = admin.post(path, data={**data, **csrf}, follow_redirects=False)
            assert response.status_code == 403, path
            assert not TOKEN.search(response.text)
    with db.snapshot() as connection:
        assert scim_control.is_enabled(connection) and not scim_control.password_sign_in(connection)
        assert [(t.id, t.name) for t in scim_control.list_tokens(connection)] == [(token_id, "Okta")]


def test_activity_shows_why_requests_failed(admin: TestClient, db: Database) -> None:
    """A 401 (bad token) and a 403 (SCIM off) appear with their SCIM error detail, newest first."""
    enable(admin)
    _, token = generate(admin, "Okta")
    assert scim_get(admin, token, "/ServiceProviderConfig") == 200
    assert scim_get(admin, "ghs_not-a-real-token", "/Users?count=1") == 401
    assert disable(admin).status_code == 303
    assert scim_get(admin, token, "/Users") == 403
    html = admin.get(ACTIVITY).text
    section = html[html.index("<tbody>") :]
    assert "The SCIM token is invalid or has been revoked." in section
    assert "SCIM provisioning is disabled for this organization." in section
    assert "GET /scim/v2/Users?count=1" in section and "GET /scim/v2/ServiceProviderConfig" in section
    assert section.index(">403<") < section.index(">401<") < section.index(">200<")
    assert "<td>Okta</td>" in section
    assert token not in html and "ghs_not-a-real-token" not in html


def test_activity_filters_and_the_bodies_of_a_failure(admin: TestClient, db: Database) -> None:
    """Status class, resource, token, method and time filter the rows; a failed row opens to its redacted
    bodies, User-Agent and client IP; bad filter values are a clear 400 page."""
    enable(admin)
    _, token = generate(admin, "Okta")
    idp = {"Authorization": f"Bearer {token}", "User-Agent": "Okta SCIM Client 1.0.0"}
    user = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "jane@example.com",
        "password": "Sup3r-Secret-Passw0rd",
    }  # fmt: skip
    assert admin.post(f"{SCIM}/Users", json=user, headers=idp).status_code == 201
    assert admin.post(f"{SCIM}/Users", json=user, headers=idp).status_code == 409
    assert scim_get(admin, token, "/Groups/nope") == 404
    assert scim_get(admin, token, "/Schemas") == 200

    def requests(**query: str) -> list[str]:
        html = admin.get(ACTIVITY, params=query).text
        return re.findall(r'<code class="request">([^<]+)</code>', html)

    assert requests() == [
        "GET /scim/v2/Schemas", "GET /scim/v2/Groups/nope", "POST /scim/v2/Users", "POST /scim/v2/Users",
    ]  # fmt: skip
    assert requests(status="4xx") == ["GET /scim/v2/Groups/nope", "POST /scim/v2/Users"]
    assert requests(status="2xx", resource="Users") == ["POST /scim/v2/Users"]
    assert requests(resource="discovery") == ["GET /scim/v2/Schemas"]
    assert requests(token="Okta", method="POST", status="failed") == ["POST /scim/v2/Users"]
    assert len(requests(period="1h")) == 4 and requests(status="5xx") == []
    html = admin.get(ACTIVITY, params={"status": "failed", "resource": "Users"}).text
    assert '<option value="Users" selected>' in html and '<option value="failed" selected>' in html
    assert "<details>" in html and "Okta SCIM Client 1.0.0" in html
    assert "&#34;password&#34;: &#34;[redacted]&#34;" in html and "Sup3r-Secret-Passw0rd" not in html
    assert "&#34;status&#34;: &#34;409&#34;" in html and token not in html
    for bad in ({"status": "6xx"}, {"resource": "Roles"}, {"period": "forever"}, {"method": "TRACE"}):
        refused = admin.get(ACTIVITY, params=bad)
        assert refused.status_code == 400 and "Choose the" in refused.text


def test_counted_reads_are_one_entry_and_add_up_in_the_chart(admin: TestClient, db: Database) -> None:
    """An entry standing for 1,234 successful reads says so beside its request, counts as one entry, and the chart
    of the last 24 hours counts each of its requests."""
    enable(admin)
    counted = {"token_name": "Okta", "method": "GET", "path": "/scim/v2/Users", "resource": "Users", "status": 200}
    with db.transaction() as connection:
        write(connection, [{**counted, "at": utcnow(), "repeats": 1234}, {**counted, "at": utcnow(), "status": 404}])
    html = admin.get(ACTIVITY).text
    badge = r'<code class="request">GET /scim/v2/Users</code> <span class="badge[^"]*"[^>]*>× 1,234 reads<'
    assert re.search(badge, html)
    assert "2 entries" in html and "1235 requests, 1 failed" in html
    assert "Past 20 successful reads of one token in a second" in html


def test_the_page_counts_the_failures_of_the_last_hour(admin: TestClient, db: Database) -> None:
    """ "N failed requests (4xx/5xx) in the last hour", linked to Provisioning activity filtered to them."""
    enable(admin)
    _, token = generate(admin, "Okta")
    link = f'<a href="{ACTIVITY}?status=failed&amp;period=1h">'
    assert f"{link}0 failed requests (4xx/5xx) in the last hour</a>" in admin.get(PAGE).text
    assert scim_get(admin, "ghs_wrong-token-for-the-count") == 401
    assert scim_get(admin, token, "/Users/nope") == 404
    assert scim_get(admin, token) == 200
    admin.app.state.scim_activity.flush(db)  # type: ignore[attr-defined]
    html = admin.get(PAGE).text
    assert f"{link}2 failed requests (4xx/5xx) in the last hour</a>" in html
    listed = re.findall(r'<code class="request">([^<]+)</code>', admin.get(f"{ACTIVITY}?status=failed&period=1h").text)
    assert listed == ["GET /scim/v2/Users/nope", "GET /scim/v2/Users"]


@pytest.mark.parametrize(
    ("url", "warned"),
    [
        ("http://127.0.0.1:8080/scim/v2", True),
        ("http://localhost:8080/scim/v2", True),
        ("https://localhost/scim/v2", True),
        ("https://10.1.2.3/scim/v2", True),
        ("https://192.168.1.20/scim/v2", True),
        ("https://172.20.0.5/scim/v2", True),
        ("https://[::1]:8443/scim/v2", True),
        ("https://gatehouse/scim/v2", True),
        ("https://gatehouse.internal/scim/v2", True),
        ("http://gatehouse.example.com/scim/v2", True),
        ("https://gatehouse.example.com/scim/v2", False),
        ("https://203.0.114.10/scim/v2", False),
    ],
)
def test_endpoint_warning(url: str, warned: bool) -> None:
    """Only public HTTPS endpoints are free of the warning."""
    warning = endpoint_warning(url)
    assert (warning is not None) == warned
    if warning:
        assert f"IdPs in the cloud cannot reach {url}" in warning and "GATEHOUSE_PUBLIC_URL" in warning


@pytest.fixture
def app_with_public_url(settings: Settings, db: Database, request: pytest.FixtureRequest) -> Iterator[TestClient]:
    configured = settings.model_copy(update={"public_url": request.param})
    with TestClient(create_app(configured, db), base_url="https://testserver") as client:
        make_admin(db)
        sign_in(client)
        enable(client)
        yield client


@pytest.mark.parametrize("app_with_public_url", ["http://127.0.0.1:8080"], indirect=True)
def test_the_page_warns_about_a_local_endpoint(app_with_public_url: TestClient) -> None:
    html = app_with_public_url.get(PAGE).text
    assert "http://127.0.0.1:8080/scim/v2" in html and 'id="endpoint-warning"' in html
    assert "IdPs in the cloud cannot reach http://127.0.0.1:8080/scim/v2" in html


@pytest.mark.parametrize("app_with_public_url", ["https://gatehouse.example.com"], indirect=True)
def test_the_page_does_not_warn_about_a_public_https_endpoint(app_with_public_url: TestClient) -> None:
    html = app_with_public_url.get(PAGE).text
    assert "https://gatehouse.example.com/scim/v2" in html and 'id="endpoint-warning"' not in html


def test_the_checklists_name_what_to_paste_where(admin: TestClient) -> None:
    """Okta and Entra ID: the labels an admin sees in the IdP."""
    html = admin.get(PAGE).text
    for label in ("SCIM 2.0 Test App (Header Auth)", "Base URL", "API Token", "Test API Credentials", "Push Groups"):
        assert label in html
    for label in ("Create Users", "Update User Attributes", "Deactivate Users"):
        assert label in html
    for label in ("non-gallery", "Provisioning Mode", "Automatic", "Tenant URL", "Secret Token", "Test Connection"):
        assert label in html
    assert "Mappings" in html and "Provisioning Status" in html


def test_a_viewer_reads_the_settings_but_cannot_change_them(admin: TestClient, db: Database) -> None:
    """The Viewer role shows the SCIM settings without any switch or token form; a forged form is refused
    with 403, nothing changes, and the refusal is in the audit log. A user with no role is refused the page."""
    enable(admin)
    password = "viewer one time password"
    with db.transaction() as connection:
        acting = load_principal(connection, user_store.get_by_user_name(connection, "admin").id)  # type: ignore[union-attr]
        ids = {}
        for name in ("viewer", "nobody"):
            ids[name] = create_local_user(connection, acting, new_local_user(name), OneTimePassword.choose(password)).id
            user_store.require_password_change(connection, ids[name], False)
        role = role_store.get_by_name(connection, "Viewer")
        assert role is not None
        role_store.assign(connection, ids["viewer"], role.id, role_store.MANUAL, "test", utcnow())
    viewer = TestClient(admin.app, base_url="https://testserver")
    sign_in(viewer, "viewer", password)
    page = viewer.get(PAGE)
    assert page.status_code == 200 and "SCIM Endpoint URL" in page.text
    assert 'action="/organization/settings/scim"' not in page.text
    assert 'action="/organization/settings/tokens"' not in page.text
    assert viewer.get(ACTIVITY).status_code == 200
    refused = viewer.post(PAGE, data={"csrf_token": csrf_of(page.text), "enabled": "on"}, follow_redirects=False)
    assert viewer.post(PAGE, data={"csrf_token": csrf_of(page.text)}, follow_redirects=False).status_code == 403
    assert refused.status_code == 403 and "iam:UpdateSCIMProvisioning" in refused.text
    with db.snapshot() as connection:
        assert scim_control.is_enabled(connection)
        row = connection.exec_driver_sql(
            "SELECT actor, outcome, status FROM audit_events WHERE event = 'iam:UpdateSCIMProvisioning' "
            "ORDER BY id DESC LIMIT 1"
        ).one()
    assert tuple(row) == ("viewer", "refused", 403)
    nobody = TestClient(admin.app, base_url="https://testserver")
    sign_in(nobody, "nobody", password)
    assert nobody.get(PAGE).status_code == 403
    assert nobody.get(SETTINGS).status_code == 403 and nobody.get(ACTIVITY).status_code == 403
