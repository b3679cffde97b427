"""Gatehouse as code (``/api/config``): export the access configuration, plan a file against it, apply it.

Thin routes over :mod:`gatehouse.iam.config_export` (``iam:ExportConfig``), :mod:`gatehouse.iam.config_plan`
(``iam:ExportConfig``) and :mod:`gatehouse.iam.config_apply` (``iam:ApplyConfig``, then each change's own
action), as the CLI's ``gatehouse config`` commands. An apply is one transaction with one audit record per
object changed and one for the change set. The file's JSON Schema is public (it describes a format, like
``/openapi.json``). A file with problems is 400 with one ``fields`` entry per problem (object, field, line).
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Query
from starlette.responses import JSONResponse, Response

from gatehouse.api.auth import CallerDep
from gatehouse.api.context import ApiDep
from gatehouse.api.errors import FieldError, error_response, responses
from gatehouse.api.schemas_config import ApplyIn, ApplyOut, ConfigIn, PlanOut
from gatehouse.iam import config_apply, config_export, config_file, config_model, config_plan
from gatehouse.iam.config_apply import Applied
from gatehouse.iam.config_file import ConfigError, Locator
from gatehouse.iam.config_model import ConfigFile
from gatehouse.store.database import Connection
from gatehouse.store.records import utcnow

router = APIRouter(prefix="/config", tags=["Configuration as code"])
CONFIG_ID_HEADER: Final = "X-Gatehouse-Config-Id"
INVALID: Final = "The file has problems: each is in `fields`, with the object, the field and the line."


def _read(body: ConfigIn) -> tuple[Locator, ConfigFile]:
    where = config_file.parse(body.text) if body.text is not None else Locator(body.config, {})
    return where, config_model.validate(where)


def _problems(exc: ConfigError) -> Response:
    fields = [
        FieldError(loc=["config", *problem.path], message=problem.text(), type="config_problem")
        for problem in exc.problems
    ]
    return error_response(400, f"{INVALID} {exc.detail}"[:2000], fields)


@router.get(
    "/schema",
    summary="The configuration file's JSON Schema",
    responses={200: {"content": {"application/schema+json": {}}}},
)
async def schema() -> Response:
    """JSON Schema (draft 2020-12) of the file `export` gives and `plan` and `apply` take, for editors to complete and
    check it. Public: it describes a format."""
    return JSONResponse(config_model.json_schema(), media_type="application/schema+json")


@router.get(
    "/export",
    summary="Export the access configuration",
    description="Every permission policy, role, group binding, user grant, login option, SCIM setting and token "
    "name, forward-auth rule and gateway resource label, by name, sorted, never a secret (`iam:ExportConfig`). "
    f"`format=yaml` answers the YAML file. The `{CONFIG_ID_HEADER}` header is its id (what `plan_id` checks).",
    responses={**responses(401, 403, 422), 200: {"content": {"application/json": {}, "application/yaml": {}}}},
)
async def export(
    caller: CallerDep, api: ApiDep, format: Annotated[Literal["json", "yaml"], Query()] = "json"
) -> Response:
    state = await api.db.read(lambda c: config_export.export(c, caller.principal))
    headers = {CONFIG_ID_HEADER: state.plan_id}
    if format == "yaml":
        return Response(config_file.dump(state.data), media_type="application/yaml", headers=headers)
    return JSONResponse(state.data, headers=headers)


@router.post(
    "/plan",
    response_model=PlanOut,
    summary="Plan a configuration file",
    responses=responses(400, 401, 403, 422),
)
async def plan(body: ConfigIn, caller: CallerDep, api: ApiDep) -> Any:
    """What applying the file would change, object by object (create, update with the fields before and after, delete
    with `prune`), and the id of the configuration it was computed against (`iam:ExportConfig`). Changes nothing."""
    try:
        where, model = _read(body)
        found = await api.db.read(lambda c: config_plan.plan(c, caller.principal, model, where, prune=body.prune))
    except ConfigError as exc:
        return _problems(exc)
    return found.as_json()


@router.post(
    "/apply",
    response_model=ApplyOut,
    summary="Apply a configuration file",
    responses=responses(400, 401, 403, 409, 412, 422),
)
async def apply(body: ApplyIn, caller: CallerDep, api: ApiDep) -> Any:
    """Applies the file's plan in one transaction, all or nothing (`iam:ApplyConfig` and `iam:ExportConfig`, then each
    change's own action, as in the dashboard). Refused (412) when `plan_id` is given and the configuration changed
    since; refused (400) when the file names SCIM tokens that do not exist, unless `issue_tokens`. Writes one audit
    record per object changed and one for the change set."""
    change = config_apply.change_set(body.plan_id, body.prune)
    url = api.settings.public_url
    try:
        where, model = await api.prepare(caller, change, lambda: _read(body))

        def work(connection: Connection) -> Applied:
            return config_apply.apply(
                connection, caller.principal, caller.origin, model, where, public_url=url, now=utcnow(),
                prune=body.prune, plan_id=body.plan_id, issue_tokens=body.issue_tokens,
            )  # fmt: skip

        applied = await api.change(
            caller, change, work, describe=lambda done, recorded: recorded.about(done.plan.plan_id, **done.summary())
        )
    except ConfigError as exc:
        return _problems(exc)
    return applied.as_json()
