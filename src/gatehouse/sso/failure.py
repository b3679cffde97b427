"""What every SSO sign-in failure carries besides its message: a stable ``reason`` code.

The code names the check that failed (``state_invalid``, ``audience_mismatch``, ``not_provisioned``…): it
goes into the audit record and onto the refusal page as a reference for administrators, while the
message, meant for the person signing in, may be reworded freely.
"""

from __future__ import annotations

from gatehouse.errors import GatehouseError


class Reasoned(GatehouseError):
    """A domain error with a ``reason`` code; mixed into the SSO failures of each HTTP status."""

    reason: str = "sign_in_failed"

    def __init__(self, reason: str, detail: str | None = None) -> None:
        self.reason = reason
        super().__init__(detail)


def reason_of(exc: GatehouseError) -> str:
    """The stable code of a sign-in failure (the class name for errors that have none)."""
    return exc.reason if isinstance(exc, Reasoned) else type(exc).__name__
