"""Organization → Access review: effective access user by user with filters (role, origin, not signed in for N
days, holding a token unused for N days), CSV and JSON exports, revoking a grant from the report (after a
confirmation page), recording the review of the scope shown, and "who may do this?".

Thin handlers over :mod:`gatehouse.iam.access_review` (``iam:GetAccessReview``; ``iam:CreateAccessReview`` to record
a review; a revocation needs its own permission); every change, and every export, audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gatehouse.errors import GatehouseError, InvalidInput
from gatehouse.iam import access_review as review
from gatehouse.iam.audit import Change
from gatehouse.iam.authorizer import Principal
from gatehouse.store.access_review import ReviewQuery, ReviewRecord
from gatehouse.store.database import Connection
from gatehouse.web.actions import Confirmation, act, change, confirm_then_act, form_text
from gatehouse.web.dashboard import dashboard_of, page, principal_of

BASE: Final = "/organization/access-review"
FILTERS: Final = ("role_id", "origin", "not_signed_in_days", "token_unused_days")
ORIGIN_LABELS: Final = {
    "direct": "Assigned directly", "request": "By access request", "sso": "Mapped at SSO sign-in",
    "group": "Through a group", "timebound": "Time-bound (any way)", "super_admin": "Super Admin account",
}  # fmt: skip


def _raw(params: Mapping[str, str]) -> dict[str, str]:
    return {name: params.get(name, "")[:64] for name in FILTERS}


def _query(raw: Mapping[str, str]) -> ReviewQuery:
    return review.review_query(raw["role_id"], raw["origin"], raw["not_signed_in_days"], raw["token_unused_days"])


def _url(path: str, raw: Mapping[str, str], **extra: str) -> str:
    kept = {k: v for k, v in {**raw, **extra}.items() if v}
    return f"{path}?{urlencode(kept)}" if kept else path


@page
async def report(request: Request) -> Response:
    principal, raw = principal_of(request), _raw(request.query_params)
    cursor = request.query_params.get("cursor", "")[:300] or None
    error = None
    try:
        query = _query(raw)
    except InvalidInput as exc:
        query, error = ReviewQuery(), exc.detail

    def read(connection: Connection) -> tuple[object, object, object]:
        found = review.report(connection, principal, query, cursor)
        return found, review.role_choices(connection, principal), review.reviews(connection, principal, 10)

    found, roles, recent = await dashboard_of(request).db.read(read)
    return dashboard_of(request).render(
        request, "review/report.html", status=400 if error else 200, error=error, page=found, roles=roles,
        reviews=recent, raw=raw, origins=ORIGIN_LABELS, origin_text=review.origin_text,
        next_url=_url(BASE, raw, cursor=found.next_cursor or "") if found.next_cursor else None,  # type: ignore[attr-defined]
        export_csv=_url(f"{BASE}/export", raw, format="csv"), export_json=_url(f"{BASE}/export", raw, format="json"),
    )  # fmt: skip


@page
async def export(request: Request) -> Response:
    principal, raw = principal_of(request), _raw(request.query_params)
    kind = "json" if request.query_params.get("format") == "json" else "csv"
    query = _query(raw)

    def work(connection: Connection) -> bytes:
        found = list(review.export(connection, principal, query))
        return review.to_json(found) if kind == "json" else review.to_csv(found).encode()

    body: bytes = await change(request, Change(review.READ, "organization", None, {"export": kind, "scope": raw}), work)
    media = "application/json" if kind == "json" else "text/csv; charset=utf-8"
    disposition = f'attachment; filename="gatehouse-access-review.{kind}"'
    return Response(body, media_type=media, headers={"Content-Disposition": disposition})


@page
async def record(request: Request) -> Response:
    principal = principal_of(request)
    raw = {name: form_text(request, name, 64) for name in FILTERS}
    note = form_text(request, "note", review.MAX_NOTE)
    what = Change(review.RECORD, "access_review", None, {"scope": raw, "note": note})

    def work(connection: Connection) -> ReviewRecord:
        return review.record_review(connection, principal, _query(raw), note)

    done = "Review recorded: the scope shown, by you, now."
    return await act(request, what, work, _url(BASE, raw), done)


def _revocation(request: Request) -> dict[str, str]:
    source = request.query_params if request.method == "GET" else None
    names = ("user_id", "role_id", "origin", "group_id", "user", "role", "group")
    if source is not None:
        return {name: source.get(name, "")[:200] for name in names}
    return {name: form_text(request, name, 200) for name in names}


def _revoke_question(principal: Principal, values: Mapping[str, str]) -> Confirmation | GatehouseError:
    if values["origin"] not in review.REVOCABLE:
        return InvalidInput("Nothing to revoke: choose a grant on the report.")
    review.may_revoke(principal, values["user_id"], values["origin"], values["group_id"])
    warning: str | None
    if values["origin"] == "group":
        question = f"Unbind {values['role']} from the group {values['group']}? Every member of the group loses it."
        warning = "The group's membership comes from your identity provider; the binding is Gatehouse's."
    else:
        question = f"Take {values['role']} ({review.ORIGIN_NAMES[values['origin']]}) away from {values['user']}?"
        warning = (
            "A role mapped at SSO sign-in comes back at the next sign-in unless the rule changes."
            if values["origin"] == "sso"
            else None
        )
    return Confirmation("Revoke access?", question, "Revoke", warning, fields=dict(values))


@page
async def revoke(request: Request) -> Response:
    principal, values = principal_of(request), _revocation(request)
    kind, target = ("group", values["group_id"]) if values["origin"] == "group" else ("user", values["user_id"])
    event = "iam:UpdateGroupBinding" if values["origin"] == "group" else "iam:UpdateUserRole"
    return await confirm_then_act(
        request,
        back=BASE,
        ask=lambda c: _revoke_question(principal, values),
        what=Change(event, kind, target, {"revoke": values, "via": "access review"}),
        work=lambda c: review.revoke(
            c, principal, values["user_id"], values["role_id"], values["origin"], values["group_id"]
        ),
        done=lambda text: (BASE, text),
        back_label="Back to the access review",
    )


@page
async def who_may(request: Request) -> Response:
    principal, params = principal_of(request), request.query_params
    asked = {name: params.get(name, "")[:2_000] for name in ("action", "resource", "labels", "cursor")}
    answer, error, status = None, None, 200
    if asked["action"] and asked["resource"]:
        try:
            labels = review.parse_labels_text(asked["labels"])
            answer = await dashboard_of(request).db.read(
                lambda c: review.who_may(
                    c, principal, asked["action"], asked["resource"], labels, asked["cursor"] or None
                )
            )
        except GatehouseError as exc:
            error, status = exc.detail, exc.status
    else:
        await dashboard_of(request).db.read(lambda c: review.role_choices(c, principal))  # the permission check
    next_url = _url(f"{BASE}/who-may", asked, cursor=answer.next_cursor) if answer and answer.next_cursor else None
    return dashboard_of(request).render(
        request, "review/who_may.html", status=status, asked=asked, answer=answer, error=error,
        actions=review.action_names(), next_url=next_url,
    )  # fmt: skip


ROUTES: Final = [
    Route(BASE, report, methods=["GET"]),
    Route(f"{BASE}/export", export, methods=["GET"]),
    Route(f"{BASE}/reviews", record, methods=["POST"]),
    Route(f"{BASE}/revoke", revoke, methods=["GET", "POST"]),
    Route(f"{BASE}/who-may", who_may, methods=["GET"]),
]
