"""Organization → Settings pages (placeholder until the page lands)."""

from __future__ import annotations

from starlette.routing import Route

from gatehouse.web.dashboard import Dashboard


def routes(dashboard: Dashboard) -> list[Route]:
    """The settings routes."""
    return []
