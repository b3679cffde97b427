"""The dashboard's error pages (:mod:`gatehouse.web.error_pages`): a form's address opened as a page leads to
that page, another method on a page says what happened (never "Not allowed"), and an error page still shows when
the database cannot be read, without the menu."""

from __future__ import annotations

import uuid

import pytest
from markupsafe import escape
from sqlalchemy.exc import OperationalError
from starlette.testclient import TestClient

from gatehouse.web.dashboard import Dashboard
from gatehouse.web.error_pages import METHOD_NOT_ALLOWED

MENU = '<nav class="sidenav" aria-label="Main">'


@pytest.mark.parametrize(
    ("address", "page"),
    [
        ("/organization/settings/tokens", "/organization/settings"),
        ("/organization/users/{id}/reactivate", "/organization/users/{id}"),
    ],
)
def test_a_form_s_address_opened_as_a_page_leads_to_its_page(console: TestClient, address: str, page: str) -> None:
    user_id = str(uuid.uuid4())
    response = console.get(address.format(id=user_id), follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == page.format(id=user_id)


def test_another_method_on_a_page_says_what_happened_with_the_menu(console: TestClient) -> None:
    response = console.delete("/organization/settings")
    assert response.status_code == 405
    assert "This address takes no such request" in response.text and str(escape(METHOD_NOT_ALLOWED)) in response.text
    assert "Not allowed" not in response.text  # reads like a permission problem, which it is not
    assert MENU in response.text  # the way back


def test_an_error_page_shows_without_the_menu_when_the_database_cannot_be_read(
    console: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert MENU in console.get("/no-such-page").text  # signed in: the menu is there

    async def unreadable(self: Dashboard, request: object) -> None:
        raise OperationalError("SELECT 1", {}, Exception("database is locked"))

    monkeypatch.setattr(Dashboard, "current_user", unreadable)
    response = console.get("/no-such-page")
    assert response.status_code == 404 and "Page not found" in response.text
    assert MENU not in response.text and "Sign out" not in response.text


@pytest.mark.parametrize(
    "address",
    [
        "/organization/users?page=²",
        "/organization/users?page=" + "1" * 5_000 + "&per_page=²",
        "/organization/groups?page=²",
        "/organization/groups?page=" + "9" * 5_000,
        "/organization/settings/scim/activity?page=²&per_page=¹⁰",
    ],
)
def test_page_numbers_no_integer_reads_are_the_first_page(console: TestClient, address: str) -> None:
    """``str.isdigit`` takes "²"; ``int`` refuses it and more than 4,300 digits: the list's first page, never a 500."""
    response = console.get(address)
    assert response.status_code == 200 and "Something went wrong" not in response.text
