"""Personal API tokens (API7 parity: Organization → Tokens; ``/api/settings/tokens``).

Thin routes over :mod:`gatehouse.iam.api_tokens`: creating is ``iam:CreateToken`` on ``token/*`` (for
oneself only); viewing and revoking is ``iam:GetToken`` / ``iam:DeleteToken`` on one's own token and
``iam:GetAnyToken`` / ``iam:DeleteAnyToken`` on someone else's. A token's secret is in the response of its
creation only; the database keeps its SHA-256. Every change runs through the audit log.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Query, Response

from gatehouse.api.auth import CallerDep
from gatehouse.api.context import ApiDep
from gatehouse.api.errors import responses
from gatehouse.api.params import id_in_path
from gatehouse.api.schemas_admin import CreatedToken, NewToken, TokenList, TokenOut
from gatehouse.iam import api_tokens
from gatehouse.iam.audit import Change
from gatehouse.store.api_tokens import TokenInfo

router = APIRouter(prefix="/tokens", tags=["API tokens"])
TokenId = Annotated[str, id_in_path("The token's id.")]
KIND: Final = "token"


@router.get("", summary="List API tokens", responses=responses(401, 403, 422))
async def list_tokens(
    caller: CallerDep,
    api: ApiDep,
    user_id: Annotated[str | None, Query(min_length=1, max_length=64, description="Whose tokens.")] = None,
) -> TokenList:
    """Your tokens, newest first (revoked and expired ones included; `iam:GetToken`). With `user_id`, another user's
    tokens that you may view (`iam:GetAnyToken`)."""
    found = await api.db.read(lambda c: api_tokens.list_tokens(c, caller.principal, user_id))
    return TokenList(items=[TokenOut.of(token) for token in found])


@router.get("/{token_id}", summary="An API token", responses=responses(401, 403, 404, 422))
async def get_token(token_id: TokenId, caller: CallerDep, api: ApiDep) -> TokenOut:
    """One token's metadata, never its secret. Someone else's token that you may not view is 404; your own without
    `iam:GetToken` is 403."""
    return TokenOut.of(await api.db.read(lambda c: api_tokens.get_token(c, caller.principal, token_id)))


@router.post("", status_code=201, summary="Create an API token", responses=responses(400, 401, 403, 409, 422))
async def create_token(body: NewToken, caller: CallerDep, api: ApiDep) -> CreatedToken:
    """A token for yourself, with your permissions (whatever they are when it is used), expiring after
    `expires_in_days` (default 30) or at the end of `expires_at`. The secret is in this response only. A live token's
    name is taken (409)."""
    expiry = body.expiry
    summary = {"token_name": body.name, "expiry": str(expiry)}
    created = await api.change(
        caller,
        Change("iam:CreateToken", KIND, None, summary),
        lambda c: api_tokens.create_token(c, caller.principal, body.name, expiry),
        describe=lambda done, recorded: recorded.about(
            done.info.id, hint=done.info.hint, token_expires_at=done.info.expires_at.isoformat()
        ),
        status=201,
    )
    return CreatedToken(token=created.token, info=TokenOut.of(created.info))


@router.delete("/{token_id}", status_code=204, summary="Revoke an API token", responses=responses(401, 403, 404, 422))
async def revoke_token(token_id: TokenId, caller: CallerDep, api: ApiDep) -> Response:
    """The token stops working at once, in every process (`iam:DeleteToken`, or `iam:DeleteAnyToken` for someone
    else's). Revoking a revoked token changes nothing."""

    def describe(token: TokenInfo, recorded: Change) -> Change:
        own = token.user_id == caller.user_id
        event = "iam:DeleteToken" if own else "iam:DeleteAnyToken"
        return Change(event, KIND, token.id, {"token_name": token.name, "owner_id": token.user_id})

    return await api.change_no_content(
        caller,
        Change("iam:DeleteToken", KIND, token_id),
        lambda c: api_tokens.revoke_token(c, caller.principal, token_id),
        describe=describe,
    )
