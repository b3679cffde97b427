"""What the admin API's exports (access review, audit log) answer alike: a file named for the moment it was
made, as CSV or JSON."""

from __future__ import annotations

from typing import Final, Literal

from gatehouse.store.records import utcnow

Format = Literal["csv", "json"]
MEDIA_TYPES: Final[dict[str, str]] = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


def attachment(stem: str, format: Format) -> dict[str, str]:
    """The header that saves the response as ``{stem}-{UTC moment}.{format}``."""
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    return {"Content-Disposition": f'attachment; filename="{stem}-{stamp}.{format}"'}
