"""Signing in to the dashboard from tests (the forms, their CSRF tokens and the session cookie)."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from gatehouse.iam.accounts import create_super_admin
from gatehouse.iam.bootstrap import ensure_rbac
from gatehouse.store.database import Database

ADMIN_PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    match = _CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def make_admin(db: Database, name: str = "admin", password: str = ADMIN_PASSWORD) -> str:
    """A Super Admin account, with the built-in and starter roles seeded as on a first run."""
    with db.transaction() as connection:
        ensure_rbac(connection)
        return create_super_admin(connection, name, password).id


def sign_in(client: TestClient, username: str = "admin", password: str = ADMIN_PASSWORD, **extra: str) -> object:
    """Post the sign-in form the way a browser does; returns the response (redirects not followed)."""
    page = client.get("/login")
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text), **extra},
        follow_redirects=False,
    )
