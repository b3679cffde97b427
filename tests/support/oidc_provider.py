"""A real OpenID provider for the SSO tests: Canaille, started on localhost by pytest-iam's ``iam_server``.

:class:`Provider` wraps it with what the tests need: register Gatehouse as a client, create users and
groups (whose names reach Gatehouse in the ``groups`` claim), and play the browser's part at the provider
(sign the user in there and follow its redirect back) for tests that do not drive a real browser.
Nothing of the protocol is mocked: Gatehouse fetches discovery, keys, tokens and UserInfo over HTTP.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa
from pytest_iam import Server

from gatehouse.login.options import LoginOptionWrite
from gatehouse.secrets_box import SecretBox
from gatehouse.store import login_options
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow

SCOPES = "openid profile email groups"


class Provider:
    """The OpenID provider of a test, and its Gatehouse client."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.issuer = server.url.rstrip("/")

    def register_client(self, redirect: str, *, audience: list[Any] | None = None) -> tuple[str, str]:
        """A confidential client (code flow, client_secret_basic); returns its id and secret."""
        client_id, secret = f"gatehouse-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
        with self.server.app.app_context():
            client = self.server.models.Client(
                client_id=client_id,
                client_secret=secret,
                client_name="Gatehouse",
                redirect_uris=[redirect],
                grant_types=["authorization_code"],
                response_types=["code"],
                token_endpoint_auth_method="client_secret_basic",
                scope=SCOPES.split(),
                client_id_issued_at=datetime.datetime.now(datetime.UTC),
            )
            self.server.backend.save(client)
            client.audience = audience if audience is not None else [client]  # what registration does
            self.server.backend.save(client)
        return client_id, secret

    def register_redirect(self, client_id: str, redirect: str, post_logout: str | None = None) -> None:
        """What an administrator does at the provider with the URIs the setup page shows."""
        with self.server.app.app_context():
            client = self.server.backend.get(self.server.models.Client, client_id=client_id)
            client.redirect_uris = [redirect]
            if post_logout:
                client.post_logout_redirect_uris = [post_logout]
            self.server.backend.save(client)

    def client(self, client_id: str) -> Any:
        with self.server.app.app_context():
            return self.server.backend.get(self.server.models.Client, client_id=client_id)

    def user(self, user_name: str, *, email: str | None = None, groups: tuple[str, ...] = ()) -> Any:
        """A user of the provider (``sub`` is their user name), member of these groups."""
        with self.server.app.app_context():
            user = self.server.models.User(
                user_name=user_name,
                given_name=user_name.title(),
                family_name="Tester",
                formatted_name=f"{user_name.title()} Tester",
                display_name=user_name,  # Canaille sends it as preferred_username
                emails=[email or f"{user_name}@example.org"],
                password="correct horse battery staple",
            )
            self.server.backend.save(user)
        self.set_groups(user, groups)
        return user

    def set_groups(self, user: Any, names: tuple[str, ...]) -> None:
        """Make ``user`` a member of exactly the groups ``names`` (created as needed)."""
        with self.server.app.app_context():
            backend, models = self.server.backend, self.server.models
            user = backend.get(models.User, user_name=user.user_name)
            for group in backend.query(models.Group):
                members = [m for m in (group.members or []) if m.user_name != user.user_name]
                if group.display_name in names:
                    members.append(user)
                if len(members) != len(group.members or []) or group.display_name in names:
                    group.members = members
                    backend.save(group)
            existing = {group.display_name for group in backend.query(models.Group)}
            for name in names:
                if name not in existing:
                    backend.save(models.Group(display_name=name, members=[user]))

    def authorize(self, url: str, user: Any) -> str:
        """Be the browser at the provider: signed in as ``user`` (consent given), follow the authorization
        request; returns the URL the provider redirects back to."""
        self.server.login(user)
        self.server.consent(user)
        try:
            response = httpx.get(url, follow_redirects=False, timeout=10)
        finally:
            self.server.logout()
        assert response.status_code in (302, 303), response.text[:500]
        return str(response.headers["location"])


def add_option(
    db: Database,
    provider: Provider,
    client_id: str,
    secret: str,
    box: SecretBox,
    *,
    name: str = "Canaille",
    rules: list[dict[str, str]] | None = None,
    scim_only: bool | None = None,
    option_id: str | None = None,
) -> str:
    """Store an enabled login option for the provider (secret encrypted), as an administrator would."""
    option_id = option_id or str(uuid.uuid4())
    write = LoginOptionWrite(
        name=name,
        issuer=provider.issuer,
        client_id=client_id,
        scopes=SCOPES,
        client_secret_encrypted=box.encrypt(secret, option_id),
        scim_only=scim_only,
        role_rules=rules or [],
    )
    with db.transaction() as connection:
        login_options.insert(connection, option_id, write, utcnow())
    return option_id


def path_of(url: str) -> str:
    """The path and query of a URL (to replay a redirect to Gatehouse through a test client)."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def count(db: Database, table: sa.Table) -> int:
    with db.snapshot() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
