"""Request and response bodies of the admin API's organization settings: SCIM provisioning, personal API
tokens and the audit log (API7 parity: "SCIM Provisioning", "Tokens", "Audit logs")."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from gatehouse.api.schemas import Body, FromRecord, of_record
from gatehouse.iam.provisioning import Provisioning
from gatehouse.iam.scim_control import IssuedToken
from gatehouse.iam.scim_guard import GuardStatus
from gatehouse.store.api_tokens import TokenInfo
from gatehouse.store.audit import AuditPage, AuditRecord
from gatehouse.store.records import utcnow
from gatehouse.store.scim_activity_pages import ActivityPage

# ------------------------------------------------------------------------------------------ SCIM


class ScimTokenOut(FromRecord):
    """A live SCIM token (never its secret)."""

    id: str
    name: str
    hint: str = Field(description="Its last characters, to recognise it.")
    created: datetime
    last_used_at: datetime | None
    last_used_ip: str | None
    last_used_user_agent: str | None


class ScimSettings(BaseModel):
    """SCIM provisioning: the endpoint URL to paste into the identity provider, the switches, the tokens."""

    enabled: bool
    password_sign_in: bool = Field(description="Whether provisioned users may sign in with the password the IdP sends.")
    endpoint_url: str = Field(description="The SCIM 2.0 base URL (the IdP's Tenant URL / SCIM connector base URL).")
    tokens: list[ScimTokenOut]

    @classmethod
    def of(cls, state: Provisioning, endpoint_url: str) -> ScimSettings:
        return cls(
            enabled=state.enabled,
            password_sign_in=state.password_sign_in,
            endpoint_url=endpoint_url,
            tokens=[ScimTokenOut.of(t) for t in state.tokens],
        )


class HeldDeprovisioning(BaseModel):
    """A SCIM deactivation or deletion held by the mass-deprovisioning guard."""

    user_id: str
    user_name: str
    kind: Literal["deactivate", "delete"]
    token_name: str | None = Field(description="The SCIM token that sent it.")
    at: datetime


class ScimGuard(BaseModel):
    """The mass-deprovisioning guard: its settings, what applied within its window, what it holds."""

    enabled: bool
    window_minutes: int
    percent: float
    min_users: int
    threshold: int = Field(description="Deactivations and deletions that may apply within the window now.")
    applied_in_window: int
    held_count: int
    held_since: datetime | None
    allowed_until: datetime | None = Field(description="Until when an Allow keeps the guard open, if it does.")
    tripped_at: datetime | None = Field(description="When the guard last tripped.")
    held: list[HeldDeprovisioning] = Field(description="The held requests, oldest first (at most 1,000).")

    @classmethod
    def of(cls, status: GuardStatus) -> ScimGuard:
        return cls.model_validate(status.as_dict())


class ScimGuardDecision(BaseModel):
    """The outcome of Allow or Keep blocking."""

    allowed: bool = Field(description="True after Allow (the guard is open until the window passes).")
    held: int = Field(description="How many held requests the decision cleared.")


class ScimRequest(BaseModel):
    """One SCIM request of the provisioning log. The bodies are kept for failed requests only (status 400 and
    above), with secrets redacted and capped at 4 KiB; never a header but the User-Agent, never a token."""

    id: int
    at: datetime
    token_name: str | None = Field(description="The SCIM token that authenticated it, if one did.")
    method: str
    path: str = Field(description="SCIM's own query parameters with their values, any other by name only.")
    resource: Literal["Users", "Groups", "discovery", "other"]
    status: int
    detail: str | None = Field(description="The SCIM error's detail.")
    ip: str | None
    user_agent: str | None
    request_body: str | None = Field(description="Failed requests only: the body as far as it was read, redacted.")
    response_body: str | None = Field(description="Failed requests only: the response body, redacted.")
    repeats: int = Field(
        description="Requests the entry stands for: above 1 for successful reads of one token counted in one second "
        "past GATEHOUSE_SCIM_ACTIVITY_READS_PER_SECOND (the time, client and User-Agent are the last one's)."
    )


class ScimActivity(BaseModel):
    """The matching SCIM requests, newest first, from `offset`."""

    items: list[ScimRequest]
    total: int = Field(description="How many entries match (an entry of counted reads is one).")
    offset: int
    limit: int

    @classmethod
    def of(cls, found: ActivityPage, offset: int, limit: int) -> ScimActivity:
        items = [ScimRequest.model_validate(item.as_dict()) for item in found.items]
        return cls(items=items, total=found.total, offset=offset, limit=limit)


class ScimSettingsChange(Body):
    """Turn provisioning on or off, allow or forbid password sign-in; fields left out are unchanged."""

    enabled: bool | None = None
    password_sign_in: bool | None = None


class NewScimToken(Body):
    """Generate a SCIM token (provisioning must be on)."""

    name: str | None = Field(default=None, max_length=100, description="Unique among live tokens; dated if omitted.")


class IssuedScimToken(BaseModel):
    """A SCIM token just generated: `token` is shown here once and never again."""

    token: str = Field(description="The bearer token for the identity provider. Copy it now.")
    info: ScimTokenOut

    @classmethod
    def of(cls, issued: IssuedToken) -> IssuedScimToken:
        return cls(token=issued.token, info=ScimTokenOut.of(issued.info))


# ------------------------------------------------------------------------------------------ API tokens

EXPIRY_DAYS = Literal[7, 30, 60, 90, 180, 365]
NEVER_USED = "`null` until it is first used."


class TokenOut(BaseModel):
    """A personal API token (never its secret)."""

    id: str
    user_id: str
    name: str
    hint: str = Field(description="Its last characters, to recognise it.")
    status: Literal["active", "expired", "revoked"]
    created: datetime
    expires_at: datetime = Field(description="The first moment it no longer works (UTC).")
    last_used_at: datetime | None = Field(description=f"Its last use, recorded at most once a minute. {NEVER_USED}")
    last_used_ip: str | None = Field(description=f"The client address of that use. {NEVER_USED}")
    last_used_user_agent: str | None = Field(description=f"The User-Agent of that use. {NEVER_USED}")
    revoked_at: datetime | None = Field(description="When it was revoked; `null` while it was not.")

    @classmethod
    def of(cls, info: TokenInfo) -> TokenOut:
        return of_record(cls, info, status=info.status(utcnow()))


class TokenList(BaseModel):
    """A user's tokens, newest first (revoked and expired ones included)."""

    items: list[TokenOut]


class NewToken(Body):
    """Create a personal API token for yourself (iam:CreateToken): it acts with your permissions."""

    name: str = Field(min_length=1, max_length=100, description="Unique among your live tokens.")
    expires_in_days: EXPIRY_DAYS | None = Field(default=None, description="Defaults to 30 days.")
    expires_at: date | None = Field(
        default=None, description="Or the last day it works (UTC), today to 366 days ahead."
    )

    @model_validator(mode="after")
    def _one_expiry(self) -> NewToken:
        if self.expires_in_days is not None and self.expires_at is not None:
            raise ValueError("give expires_in_days or expires_at, not both")
        return self

    @property
    def expiry(self) -> int | date:
        if self.expires_at is not None:
            return self.expires_at
        return self.expires_in_days if self.expires_in_days is not None else 30


class CreatedToken(BaseModel):
    """A token just created: `token` is shown here once and never again (only its hash is stored)."""

    token: str = Field(description="Send it as `X-API-KEY: <token>` or `Authorization: Bearer <token>`.")
    info: TokenOut


# ------------------------------------------------------------------------------------------ audit


class AuditEntry(BaseModel):
    """One audit record: who attempted what, through which surface, and how it ended."""

    id: int
    occurred_at: datetime
    source: Literal["dashboard", "api", "scim", "cli", "sso", "system", "gateway"]
    event: str = Field(description="A catalog action (`iam:UpdateUserStatus`), `scim:CreateUser`, `auth:SignIn`...")
    actor: str = Field(description="e.g. `alice`, `alice (token ci)`, `SCIM token okta`.")
    actor_id: str | None
    resource_type: str | None
    resource_id: str | None
    ip: str | None
    user_agent: str | None
    outcome: Literal["success", "refused", "failed"]
    status: int
    error: str | None
    summary: dict[str, Any] = Field(description="What changed (secrets masked).")

    @classmethod
    def of(cls, record: AuditRecord) -> AuditEntry:
        values: dict[str, Any] = record.as_dict()
        values["occurred_at"] = record.occurred_at
        return cls(**values)


class AuditLogPage(BaseModel):
    """A page of the audit log, newest first."""

    items: list[AuditEntry]
    next_cursor: str | None = Field(description="Pass it as `cursor` for the next (older) page; null at the end.")

    @classmethod
    def of(cls, page: AuditPage) -> AuditLogPage:
        return cls(items=[AuditEntry.of(r) for r in page.records], next_cursor=page.next_cursor)
