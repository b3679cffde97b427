"""Organization → Audit streaming: the sinks every audit record is delivered to (an HTTPS webhook, syslog, a
JSON-lines file), each with how delivery is going — records waiting, lag, last delivery, last error, next
attempt — and the forms to add, change and delete them.

Thin handlers over :mod:`gatehouse.iam.audit_sinks` (``iam:GetAuditSink`` to see, ``iam:UpdateAuditSink`` to
change); every change audited. A webhook's HMAC key is write-only.
"""

from __future__ import annotations

from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gatehouse.errors import GatehouseError
from gatehouse.iam import audit_sinks as sinks
from gatehouse.iam.audit import Change
from gatehouse.store.database import Connection
from gatehouse.store.records import utcnow
from gatehouse.web.actions import Confirmation, act_or_show, confirm_then_act, form_text, refused
from gatehouse.web.dashboard import dashboard_of, page, principal_of

BASE: Final = "/organization/audit-streaming"
FIELDS: Final = (
    "name", "kind", "url", "host", "port", "facility", "hostname", "file", "ca_bundle", "timeout", "secret_mode",
    "secret_env",
)  # fmt: skip


def _posted(request: Request) -> dict[str, str]:
    values = {name: form_text(request, name, 64_000) for name in FIELDS}
    values["enabled"] = "on" if form_text(request, "enabled", 5) else ""
    values["tls"] = "on" if form_text(request, "tls", 5) else ""
    return values


def _input(request: Request, values: dict[str, str]) -> sinks.SinkInput:
    settings: dict[str, Any] = {key: values[key] for key in ("url", "host", "file", "ca_bundle", "hostname")}
    settings.update(tls=bool(values["tls"]), timeout=values["timeout"] or 10)
    settings.update(port=values["port"] or (6514 if values["tls"] else 514), facility=values["facility"] or 13)
    secret = form_text(request, "secret", sinks.MAX_SECRET) if values["secret_mode"] == "stored" else None
    env = values["secret_env"] if values["secret_mode"] == "env" else None
    return sinks.sink_input(values["name"], values["kind"], bool(values["enabled"]), settings, secret, env)


def _values(view: sinks.SinkView) -> dict[str, str]:
    sink = view.sink
    values = {key: str(value) for key, value in sink.settings.items() if not isinstance(value, bool)}
    mode = "env" if sink.secret_env else "stored"
    tls = "on" if sink.settings.get("tls") else ""
    return {**values, "name": sink.name, "kind": sink.kind, "enabled": "on" if sink.enabled else "", "tls": tls,
            "secret_mode": mode, "secret_env": sink.secret_env or ""}  # fmt: skip


def _recorded(view: sinks.SinkView, recorded: Change) -> Change:
    """A change's audit record names the sink and its settings, as the API's does (never the key: its source)."""
    sink = view.sink
    shown = {key: value for key, value in sink.settings.items() if key != "ca_bundle"}
    key_source = {"hmac_key": view.secret_source} if sink.kind == "webhook" else {}
    return recorded.about(sink.id, name=sink.name, kind=sink.kind, enabled=sink.enabled, settings=shown, **key_source)


@page
async def listing(request: Request) -> Response:
    principal = principal_of(request)
    found = await dashboard_of(request).db.read(lambda c: sinks.list_sinks(c, principal))
    file_dir = dashboard_of(request).settings.audit_file_path
    return dashboard_of(request).render(request, "audit_sinks/list.html", views=found, now=utcnow(), file_dir=file_dir)


async def _form(
    request: Request, view: sinks.SinkView | None, values: dict[str, str], exc: GatehouseError | None
) -> Response:
    return dashboard_of(request).render(
        request, "audit_sinks/form.html", status=exc.status if exc else 200, error=exc.detail if exc else None,
        view=view, values=values, file_dir=dashboard_of(request).settings.audit_file_path,
    )  # fmt: skip


@page
async def create(request: Request) -> Response:
    principal, dashboard = principal_of(request), dashboard_of(request)
    if request.method == "GET":
        try:
            sinks.require_change(principal)
        except GatehouseError as exc:
            return refused(request, exc, BASE)
        return await _form(request, None, {"kind": request.query_params.get("kind", "webhook"), "enabled": "on"}, None)
    values = _posted(request)

    def work(connection: Connection) -> sinks.SinkView:
        data = _input(request, values)
        return sinks.create_sink(connection, principal, data, dashboard.secrets() if data.secret else None)

    return await act_or_show(
        request,
        Change(sinks.UPDATE, "audit_sink", None, {"name": values["name"], "kind": values["kind"]}),
        work,
        back=BASE,
        show_again=lambda exc: _form(request, None, values, exc),
        done=lambda view: (BASE, f"Sink {view.sink.name} added: it receives every record from now on."),
        describe=_recorded,
    )


@page
async def edit(request: Request) -> Response:
    principal, dashboard, sink_id = principal_of(request), dashboard_of(request), request.path_params["sink_id"]
    try:
        view = await dashboard.db.read(lambda c: sinks.editable_sink(c, principal, sink_id))
    except GatehouseError as exc:
        return refused(request, exc, BASE)
    if request.method == "GET":
        return await _form(request, view, _values(view), None)
    values = {**_posted(request), "kind": view.sink.kind}

    def work(connection: Connection) -> sinks.SinkView:
        data = _input(request, values)
        return sinks.update_sink(connection, principal, sink_id, data, dashboard.secrets() if data.secret else None)

    return await act_or_show(
        request,
        Change(sinks.UPDATE, "audit_sink", sink_id, {"name": values["name"], "enabled": bool(values["enabled"])}),
        work,
        back=BASE,
        show_again=lambda exc: _form(request, view, values, exc),
        done=lambda saved: (BASE, f"Sink {saved.sink.name} saved."),
        describe=_recorded,
    )


def _delete_question(connection: Connection, request: Request) -> Confirmation:
    view = sinks.editable_sink(connection, principal_of(request), request.path_params["sink_id"])
    waiting = f" {view.waiting:,} record(s) still waiting for it are dropped." if view.waiting else ""
    return Confirmation(
        f"Delete the sink {view.sink.name}?",
        f"Records will no longer be delivered to it.{waiting}",
        "Delete sink",
        "Every audit record stays in Gatehouse's own audit log.",
    )


@page
async def delete(request: Request) -> Response:
    principal, sink_id = principal_of(request), request.path_params["sink_id"]
    return await confirm_then_act(
        request,
        back=BASE,
        ask=lambda c: _delete_question(c, request),
        what=Change(sinks.UPDATE, "audit_sink", sink_id, {"deleted": True}),
        work=lambda c: sinks.delete_sink(c, principal, sink_id),
        done=lambda sink: (BASE, f"Sink {sink.name} deleted."),
        describe=lambda sink, recorded: recorded.about(name=sink.name, kind=sink.kind),
    )


ROUTES: Final = [
    Route(BASE, listing, methods=["GET"]),
    Route(f"{BASE}/new", create, methods=["GET", "POST"]),
    Route(BASE + "/{sink_id}", edit, methods=["GET", "POST"]),
    Route(BASE + "/{sink_id}/delete", delete, methods=["GET", "POST"]),
]
