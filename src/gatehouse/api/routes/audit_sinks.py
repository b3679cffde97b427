"""Audit streaming sinks (beyond API7): webhooks, syslog and JSON-lines files every audit record is delivered
to, and each one's delivery status (what waits, the lag, the last error).

Thin routes over :mod:`gatehouse.iam.audit_sinks` (``iam:GetAuditSink`` to read, ``iam:UpdateAuditSink`` to
change). A webhook's HMAC key is write-only: it is stored encrypted (or named by an environment variable) and
never returned.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from gatehouse.api.auth import CallerDep
from gatehouse.api.context import Api, ApiDep, Caller
from gatehouse.api.errors import responses
from gatehouse.api.params import id_in_path
from gatehouse.iam import audit_sinks as sinks
from gatehouse.iam.audit import Change
from gatehouse.store.records import utcnow

router = APIRouter(prefix="/audit-sinks", tags=["Audit logs"])
SinkId = Annotated[str, id_in_path()]
KIND: Final = "audit_sink"


class SinkIn(BaseModel):
    name: str = Field(min_length=1, max_length=sinks.MAX_NAME)
    kind: Literal["webhook", "syslog", "file"]
    enabled: bool = True
    settings: dict[str, Any] = Field(
        description="webhook: `url` (https), `ca_bundle`, `timeout`; syslog: `host`, `port`, `tls`, `ca_bundle`, "
        "`facility`, `hostname`; file: `file` (a name in GATEHOUSE_AUDIT_FILE_DIR)."
    )
    secret: str | None = Field(default=None, max_length=sinks.MAX_SECRET, description="A webhook's HMAC key.")
    secret_env: str | None = Field(default=None, max_length=100, description="Or the variable holding it.")

    def checked(self) -> sinks.SinkInput:
        return sinks.sink_input(self.name, self.kind, self.enabled, self.settings, self.secret, self.secret_env)


def _box(api: Any, data: sinks.SinkInput) -> Any:
    return api.secrets() if data.secret else None


async def _checked(body: SinkIn, sink_id: str | None, caller: Caller, api: Api) -> tuple[sinks.SinkInput, Change]:
    """The sink's settings checked (a refusal is audited with its name and kind) and the change that records them."""
    sent = Change(sinks.UPDATE, KIND, sink_id, {"name": body.name, "kind": body.kind})
    data = await api.prepare(caller, sent, body.checked)
    return data, Change(sinks.UPDATE, KIND, sink_id, data.summary())


@router.get("", summary="Audit sinks", responses=responses(401, 403))
async def list_sinks(caller: CallerDep, api: ApiDep) -> list[dict[str, Any]]:
    """Every sink with its status: records waiting, lag (age of the oldest waiting record), last delivery, last error,
    next attempt (`iam:GetAuditSink`)."""
    found = await api.db.read(lambda c: sinks.list_sinks(c, caller.principal))
    now = utcnow()
    return [view.as_dict(now) for view in found]


@router.get("/{sink_id}", summary="An audit sink", responses=responses(401, 403, 404, 422))
async def get_sink(sink_id: SinkId, caller: CallerDep, api: ApiDep) -> dict[str, Any]:
    found = await api.db.read(lambda c: sinks.get_sink(c, caller.principal, sink_id))
    return found.as_dict(utcnow())


@router.post("", status_code=201, summary="Create an audit sink", responses=responses(401, 403, 409, 422))
async def create_sink(body: SinkIn, caller: CallerDep, api: ApiDep) -> dict[str, Any]:
    """It receives every record written from now on (`iam:UpdateAuditSink`)."""
    data, change = await _checked(body, None, caller, api)
    found = await api.change(
        caller,
        change,
        lambda c: sinks.create_sink(c, caller.principal, data, _box(api, data)),
        describe=lambda done, recorded: recorded.about(done.sink.id),
        status=201,
    )
    return found.as_dict(utcnow())


@router.put("/{sink_id}", summary="Replace an audit sink", responses=responses(401, 403, 404, 409, 422))
async def update_sink(sink_id: SinkId, body: SinkIn, caller: CallerDep, api: ApiDep) -> dict[str, Any]:
    """Its settings (the stored HMAC key is kept unless a new one is given) (`iam:UpdateAuditSink`)."""
    data, change = await _checked(body, sink_id, caller, api)
    found = await api.change(
        caller, change, lambda c: sinks.update_sink(c, caller.principal, sink_id, data, _box(api, data))
    )
    return found.as_dict(utcnow())


@router.delete("/{sink_id}", status_code=204, summary="Delete an audit sink", responses=responses(401, 403, 404, 422))
async def delete_sink(sink_id: SinkId, caller: CallerDep, api: ApiDep) -> Response:
    """With every record still waiting for it (`iam:UpdateAuditSink`)."""
    change = Change(sinks.UPDATE, KIND, sink_id, {"deleted": True})
    return await api.change_no_content(
        caller,
        change,
        lambda c: sinks.delete_sink(c, caller.principal, sink_id),
        describe=lambda done, recorded: recorded.about(name=done.name, kind=done.kind),
    )
