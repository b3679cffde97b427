"""Dashboard sign-in, sessions, CSRF and throttling (over HTTP, on both databases)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from gatehouse.config import Settings
from gatehouse.iam.bootstrap import ensure_super_admin
from gatehouse.store import users
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from support.redirects import HOSTILE, browser_would_go
from support.web import ADMIN_PASSWORD, csrf_of, make_admin, sign_in


def test_sign_in_sets_a_server_side_session_cookie(app_client: TestClient, db: Database) -> None:
    """A correct password opens a session: HttpOnly, SameSite=Lax cookie; the table keeps only a hash."""
    make_admin(db)
    response = sign_in(app_client)
    assert response.status_code == 303 and response.headers["location"] == "/organization/users"
    cookie = response.headers["set-cookie"]
    assert "gatehouse_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" in cookie  # the test public URL is https
    raw = app_client.cookies["gatehouse_session"]
    with db.snapshot() as connection:
        stored = connection.exec_driver_sql("SELECT id_hash FROM sessions").scalars().all()
    assert len(stored) == 1 and raw not in stored[0]
    assert app_client.get("/account/password").status_code == 200


def test_sign_in_by_email_and_wrong_password(app_client: TestClient, db: Database) -> None:
    """Email works as identifier; a wrong password says so without telling which part was wrong."""
    make_admin(db, "root")
    wrong = sign_in(app_client, "root", "not the password")
    assert wrong.status_code == 401 and "Invalid username or password" in wrong.text
    unknown = sign_in(app_client, "nobody", "whatever it is")
    assert unknown.status_code == 401 and "Invalid username or password" in unknown.text


def test_pages_need_a_session(app_client: TestClient) -> None:
    """Anonymous requests are sent to the sign-in page with a safe `next`."""
    response = app_client.get("/account/password", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/account/password"


def test_next_cannot_leave_the_site(app_client: TestClient, db: Database) -> None:
    """Every `next` a browser would follow away (absolute, protocol-relative, backslash, tab or CR/LF, encoded
    slash or backslash) is refused by the check and the sign-in lands at home; a local one is kept."""
    make_admin(db)
    for target in HOSTILE:
        response = sign_in(app_client, next=target)
        assert response.headers["location"] == "/organization/users", target
        assert browser_would_go(response.headers["location"]) == "gatehouse.test"
        app_client.cookies.clear()
        page = app_client.get("/login", params={"next": target})
        assert page.status_code == 200
    kept = sign_in(app_client, next="/organization/groups?q=ops")
    assert kept.headers["location"] == "/organization/groups?q=ops"


def test_csrf_is_required_on_every_form(app_client: TestClient, db: Database) -> None:
    """Forms without, or with a wrong, CSRF token are refused with 403 and change nothing."""
    make_admin(db)
    refused = app_client.post("/login", data={"username": "admin", "password": ADMIN_PASSWORD})
    assert refused.status_code == 403
    assert sign_in(app_client).status_code == 303
    forged = app_client.post("/logout", data={"csrf_token": "forged"})
    assert forged.status_code == 403
    assert app_client.get("/account/password").status_code == 200


def test_logout_ends_the_session(app_client: TestClient, db: Database) -> None:
    """Sign out deletes the session row; the old cookie no longer works."""
    make_admin(db)
    sign_in(app_client)
    old = app_client.cookies["gatehouse_session"]
    page = app_client.get("/account/password")
    app_client.post("/logout", data={"csrf_token": csrf_of(page.text)})
    app_client.cookies.set("gatehouse_session", old)
    assert app_client.get("/account/password", follow_redirects=False).status_code == 303
    with db.snapshot() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM sessions").scalar() == 0


def test_deactivation_ends_sessions_at_once_and_blocks_sign_in(app_client: TestClient, db: Database) -> None:
    """A deactivated user is signed out on the next request and cannot sign in again."""
    user_id = make_admin(db, "ops")
    with db.transaction() as connection:
        connection.exec_driver_sql(f"UPDATE users SET super_admin = false WHERE id = '{user_id}'")
    sign_in(app_client, "ops")
    assert app_client.get("/account/password").status_code == 200
    with db.transaction() as connection:
        users.set_active(connection, user_id, False, utcnow())
    gone = app_client.get("/account/password", follow_redirects=False)
    assert gone.status_code == 303 and gone.headers["location"].startswith("/login")
    again = sign_in(app_client, "ops")
    assert again.status_code == 403 and "deactivated" in again.text


def test_failed_sign_ins_are_throttled_and_counters_survive(app_client: TestClient, db: Database) -> None:
    """After five failures the account answers 429, even with the right password."""
    make_admin(db)
    for _ in range(5):
        assert sign_in(app_client, "admin", "wrong password!").status_code == 401
    with db.snapshot() as connection:
        assert connection.exec_driver_sql("SELECT failures FROM login_throttle WHERE key = 'user:admin'").scalar() == 5
    locked = sign_in(app_client)
    assert locked.status_code == 429 and "Too many" in locked.text


def test_first_run_password_must_be_changed(app_client: TestClient, db: Database) -> None:
    """The generated bootstrap password signs in once, then forces a change before anything else."""
    with db.transaction() as connection:
        generated = ensure_super_admin(connection, None)
        assert ensure_super_admin(connection, None) is None
    assert generated
    response = sign_in(app_client, "admin", generated)
    assert response.headers["location"] == "/account/password"
    blocked = app_client.get("/", follow_redirects=False)
    assert blocked.headers["location"] == "/account/password"
    page = app_client.get("/account/password")
    changed = app_client.post(
        "/account/password",
        data={
            "csrf_token": csrf_of(page.text),
            "current_password": generated,
            "new_password": "a brand new password",
            "confirm_password": "a brand new password",
        },
        follow_redirects=False,
    )
    assert changed.status_code == 303
    assert sign_in(app_client, "admin", "a brand new password").headers["location"] == "/organization/users"


@pytest.fixture
def proxied_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"trusted_proxies": ["127.0.0.0/8", "testclient"]})


def test_client_ip_honours_only_trusted_proxies(settings: Settings) -> None:
    """X-Forwarded-For is believed only from a configured proxy, read from the right."""
    from starlette.requests import Request

    from gatehouse.network import MAX_ADDRESS, client_ip

    def request(peer: str, forwarded: str) -> Request:
        return Request({"type": "http", "client": (peer, 1), "headers": [(b"x-forwarded-for", forwarded.encode())]})

    assert client_ip(request("203.0.113.9", "1.2.3.4"), []) == "203.0.113.9"
    assert client_ip(request("10.0.0.2", "6.6.6.6, 198.51.100.7"), ["10.0.0.0/8"]) == "198.51.100.7"
    assert client_ip(request("10.0.0.2", "198.51.100.7, 10.0.0.9"), ["10.0.0.0/8"]) == "198.51.100.7"
    assert client_ip(request("192.0.2.1", "198.51.100.7"), ["10.0.0.0/8"]) == "192.0.2.1"
    # Entries with the port some proxies add (Azure Application Gateway): the address alone, so that one client
    # is one address to the sign-in throttle whichever connection it came on.
    assert client_ip(request("10.0.0.2", "198.51.100.7:50123"), ["10.0.0.0/8"]) == "198.51.100.7"
    assert client_ip(request("10.0.0.2", "198.51.100.7:1, 10.0.0.9:443"), ["10.0.0.0/8"]) == "198.51.100.7"
    assert client_ip(request("10.0.0.2", "[2001:db8::7]:443"), ["10.0.0.0/8"]) == "2001:db8::7"
    assert client_ip(request("10.0.0.2", "2001:db8::7"), ["10.0.0.0/8"]) == "2001:db8::7"
    assert client_ip(request("10.0.0.2", "[fd00::1]:8443"), ["10.0.0.0/8", "fd00::/8"]) == "10.0.0.2"
    # A dual-stack listener sees an IPv4 proxy as ::ffff:10.0.0.2: still the trusted 10.0.0.0/8; addresses come in
    # one spelling, so that one client is one key to the sign-in throttle.
    assert client_ip(request("::ffff:10.0.0.2", "198.51.100.7"), ["10.0.0.0/8"]) == "198.51.100.7"
    assert client_ip(request("::ffff:10.0.0.2", "::ffff:198.51.100.7"), ["10.0.0.0/8"]) == "198.51.100.7"
    assert client_ip(request("::ffff:192.0.2.1", "198.51.100.7"), ["10.0.0.0/8"]) == "192.0.2.1"
    assert client_ip(request("10.0.0.2", "2001:DB8::0007"), ["10.0.0.0/8"]) == "2001:db8::7"
    # What is no address is kept as the proxy wrote it, never longer than the columns that store it.
    assert client_ip(request("10.0.0.2", "unknown"), ["10.0.0.0/8"]) == "unknown"
    assert client_ip(request("10.0.0.2", "x" * 500), ["10.0.0.0/8"]) == "x" * MAX_ADDRESS


def test_sessions_end_after_idle_and_absolute_timeouts(db: Database) -> None:
    """A session is refused once idle too long, or past its absolute lifetime even when active."""
    from datetime import timedelta

    from gatehouse.store import sessions

    user_id = make_admin(db)
    start = utcnow()
    with db.transaction() as connection:
        raw, _ = sessions.create(connection, user_id, start, timedelta(hours=12), None, None)
    idle = timedelta(minutes=60)
    with db.snapshot() as connection:
        assert sessions.lookup(connection, raw, start + timedelta(minutes=59), idle) is not None
        assert sessions.lookup(connection, raw, start + timedelta(minutes=61), idle) is None
    with db.transaction() as connection:
        sessions.touch(
            connection,
            sessions.lookup(connection, raw, start, idle).session_hash,
            start + timedelta(hours=11, minutes=59),
        )
    with db.snapshot() as connection:
        assert sessions.lookup(connection, raw, start + timedelta(hours=11, minutes=59, seconds=30), idle) is not None
        assert sessions.lookup(connection, raw, start + timedelta(hours=12, seconds=1), idle) is None
