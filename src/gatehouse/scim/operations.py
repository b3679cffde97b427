"""What a finished SCIM request was, for the ``gatehouse_scim_operations_total`` metric: the token that made it,
the operation (RFC 7644 §3: create, get, list, search, replace, patch, delete, on ``Users``, ``Groups`` or a
discovery endpoint, §4) and its outcome. Read from the route template, so a label never holds an id."""

from __future__ import annotations

import functools
from typing import Final

from gatehouse.metrics import outcome_of

PREFIX: Final = "/scim/v2/"
NO_TOKEN: Final = "-"
"""The token label of a request that did not authenticate."""

_VERBS: Final = {"POST": "create", "PUT": "replace", "PATCH": "patch", "DELETE": "delete"}


def operation_of(route: str, method: str, token: str | None, status: int) -> tuple[str, str, str] | None:
    """``(token name, operation, outcome)`` of a request answered by ``route`` (a route template) with the token
    named ``token`` (SCIM leaves it in the scope under :data:`~gatehouse.scim.activity.TOKEN_KEY`), as
    ``("Okta", "Users:patch", "success")``; None when the request was not SCIM's."""
    operation = _operation(route, method)
    if operation is None:
        return None
    return str(token or NO_TOKEN), operation, outcome_of(status)


@functools.lru_cache(maxsize=256)
def _operation(route: str, method: str) -> str | None:
    """``Users:get``, ``Groups:patch``, ``Users:search``, ``ServiceProviderConfig:list``…, or None off SCIM."""
    if not route.startswith(PREFIX):
        return None
    parts = route[len(PREFIX) :].split("/")
    resource = parts[0] or "root"
    if resource == ".search" or (len(parts) > 1 and parts[1] == ".search"):
        verb = "search"
    elif method == "GET":
        verb = "get" if len(parts) > 1 else "list"
    else:
        verb = _VERBS.get(method, method.lower())
    return f"{resource.removeprefix('.')}:{verb}"
