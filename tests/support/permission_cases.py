"""How the permission matrix (``test_permission_matrix.py``) exercises a route: the rules a case names,
the fresh targets a request needs (made in the :class:`~permission_world.World` before each call), and the
forms and JSON bodies it sends. No tests here."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from gatehouse.iam import scim_control
from gatehouse.store import login_options as login_option_store
from support.permission_world import World

PUBLIC = "PUBLIC"
SIGNED_IN = "SIGNED_IN"
SCIM_ONLY = "SCIM_ONLY"
SCRAPER_ONLY = "SCRAPER_ONLY"
"""``/metrics``: opened by the metrics token or a loopback peer, never by a user's permission."""
SUPER_ONLY = "SUPER_ONLY"

Params = dict[str, str]
Prepare = Callable[[World, str], Params]


def nothing(world: World, who: str) -> Params:
    return {}


def user(world: World, who: str) -> Params:
    return {"user_id": world.new_user(), "id": ""}


def inactive_user(world: World, who: str) -> Params:
    return {"user_id": world.new_user(active=False)}


def role(world: World, who: str) -> Params:
    return {"role_id": world.new_role()}


def policy(world: World, who: str) -> Params:
    return {"policy_id": world.new_policy()}


def group(world: World, who: str) -> Params:
    return {"group_id": world.new_group()}


def user_and_role(world: World, who: str) -> Params:
    return {"user_id": world.new_user(), "role_id": world.new_role()}


def user_and_policy(world: World, who: str) -> Params:
    return {"user_id": world.new_user(), "policy_id": world.new_policy()}


def role_and_policy(world: World, who: str) -> Params:
    return {"role_id": world.new_role(), "policy_id": world.new_policy()}


def role_and_group(world: World, who: str) -> Params:
    group_id = world.new_group()
    return {"role_id": world.new_role(), "group_id": group_id, "group_name": world.group_names[group_id]}


def scim_token(world: World, who: str) -> Params:
    return {"token_id": world.new_scim_token()}


def own_token(world: World, who: str) -> Params:
    return {"token_id": world.new_api_token(who)}


def login_option(world: World, who: str) -> Params:
    return {"option_id": world.new_login_option()}


def ldap_option(world: World, who: str) -> Params:
    return {"option_id": world.new_login_option("ldap")}


def authz_rule(world: World, who: str) -> Params:
    return {"rule_id": world.new_authz_rule()}


@dataclass(frozen=True)
class Case:
    """How to exercise one route, and the rule that governs it."""

    rule: str
    prepare: Prepare = nothing
    form: Callable[[World, Params], dict[str, Any]] | None = None
    """Fields of a dashboard form (the CSRF token is added), or the JSON body of an API call."""
    url: str | None = None
    """A concrete URL when the path has no parameters to fill (a static file, a query string)."""
    fresh_session: bool = False
    """Send it from a second session of the principal (the request ends the session it comes from)."""
    denied_redirect: str | None = None
    """A denial that answers 303 to this path (``{own}`` is the principal's profile) instead of 403."""
    call: Callable[[World, str], httpx.Response] | None = None
    """A request of its own (sign-in, from a browser with no session yet)."""
    error_ok: bool = False
    """An allowed request that still answers 4xx on purpose (a wrong current password)."""


def fields(**values: str) -> Callable[[World, Params], dict[str, Any]]:
    return lambda world, params: {key: value.format(**params) for key, value in values.items()}


def unique_fields(**values: str) -> Callable[[World, Params], dict[str, Any]]:
    """Fields where ``{unique}`` is a fresh name each time."""

    def build(world: World, params: Params) -> dict[str, Any]:
        name = world.unique("matrix")
        return {key: value.format(unique=name, **params) for key, value in values.items()}

    return build


def body(**values: Any) -> Callable[[World, Params], dict[str, Any]]:
    """A JSON body; strings are formatted with the case's parameters (``{unique}`` is a fresh name)."""

    def build(world: World, params: Params) -> dict[str, Any]:
        name = world.unique("api")

        def fill_in(value: Any) -> Any:
            if isinstance(value, str):
                return value.format(unique=name, **params)
            if isinstance(value, list):
                return [fill_in(item) for item in value]
            return value

        return {key: fill_in(value) for key, value in values.items()}

    return build


def anonymous_get(url: str, kind: str = "oidc") -> Callable[[World, str], httpx.Response]:
    """A GET from a browser with no session; ``{option_id}`` in ``url`` is a fresh login option of ``kind``."""

    def call(world: World, who: str) -> httpx.Response:
        return world.client().get(url.format(option_id=world.new_login_option(kind)), follow_redirects=False)

    return call


def anonymous_post(url: str, kind: str | None, data: dict[str, str]) -> Callable[[World, str], httpx.Response]:
    """A POST from a browser with no session, carrying the double-submit CSRF token of ``url``'s page when it
    has one; ``{option_id}`` is a fresh login option of ``kind`` (``None``: an id no option has)."""

    def call(world: World, who: str) -> httpx.Response:
        option_id = world.new_login_option(kind) if kind else str(uuid.uuid4())
        browser, target = world.client(), url.format(option_id=option_id)
        page = browser.get(target)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text) if page.status_code == 200 else None
        form = {**data, **({"csrf_token": token.group(1)} if token else {})}
        return browser.post(target, data=form, follow_redirects=False)

    return call


def then_restore(path: str) -> Callable[[World, str], httpx.Response]:
    """A POST of a confirmation page that switches something off (SCIM provisioning, password sign-in), with
    a way back in for the latter; switched on again afterwards, so the other cases still have them."""

    def call(world: World, who: str) -> httpx.Response:
        world.way_back_in()
        actor = world.actors[who]
        response = actor.browser.post(path, data={"csrf_token": actor.csrf}, follow_redirects=False)
        with world.db.transaction() as connection:
            scim_control.enable(connection)
            login_option_store.set_password_login(connection, True)
        return response

    return call
