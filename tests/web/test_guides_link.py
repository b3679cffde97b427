"""The sign-in error page and the provisioning log point to the guides' Troubleshooting page: a link when
``GATEHOUSE_DOCS_URL`` says where the guides (``make docs``) are served, else the page named in text (the guides
are a separate, offline build)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from pydantic import ValidationError
from starlette.testclient import TestClient

from gatehouse.app import create_app
from gatehouse.config import Settings
from gatehouse.iam import scim_control
from gatehouse.store.database import Database
from support.web import make_admin, sign_in

UNKNOWN_OPTION = "/sso/oidc/00000000-0000-0000-0000-000000000000/login"


def guide_line(text: str) -> str:
    found = re.search(r'<p class="muted" id="sso-error-guide">(.*?)</p>', text, re.DOTALL)
    assert found, "the sign-in error page has no pointer to the guides"
    return found.group(1)


@pytest.fixture
def docs_client(settings: Settings, db: Database) -> Iterator[TestClient]:
    served = Settings(**{**settings.model_dump(), "docs_url": "https://docs.example.com/gatehouse/"})
    with TestClient(create_app(served, db), base_url="https://testserver") as client:
        yield client


def test_without_a_docs_url_the_error_page_names_the_troubleshooting_page(app_client: TestClient) -> None:
    page = app_client.get(UNKNOWN_OPTION)
    assert page.status_code == 404 and 'id="sso-error-reason">option_unavailable<' in page.text
    line = guide_line(page.text)
    assert "<strong>Troubleshooting</strong> in the Gatehouse guides (<code>make docs</code>)" in line
    assert "<a " not in line


def test_with_a_docs_url_the_error_page_links_to_the_troubleshooting_page(docs_client: TestClient) -> None:
    page = docs_client.get(UNKNOWN_OPTION)
    assert page.status_code == 404
    line = guide_line(page.text)
    assert 'href="https://docs.example.com/gatehouse/troubleshooting.html#sso-error-page"' in line
    assert ">Troubleshooting</a> in the Gatehouse guides" in line


def test_the_docs_url_must_be_a_web_address() -> None:
    with pytest.raises(ValidationError, match="docs_url"):
        Settings(docs_url="javascript:alert(1)")
    assert Settings(docs_url="http://docs.internal/").docs_url == "http://docs.internal"
    assert Settings().docs_url == ""


def test_the_provisioning_log_links_to_the_scim_troubleshooting(docs_client: TestClient, db: Database) -> None:
    make_admin(db)
    with db.transaction() as connection:
        scim_control.enable(connection)
        token = scim_control.issue_token(connection, "Okta").token
    assert docs_client.get("/scim/v2/Users", headers={"Authorization": f"Bearer {token}x"}).status_code == 401
    sign_in(docs_client)
    page = docs_client.get("/organization/settings/scim/activity")
    found = re.search(r'<p class="hint" id="activity-guide">(.*?)</p>', page.text, re.DOTALL)
    assert found, page.text[:2000]
    assert 'href="https://docs.example.com/gatehouse/troubleshooting.html#scim-provisioning"' in found.group(1)
