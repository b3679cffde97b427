"""``gatehouse authz …``: the forward-auth rule table and its preset from a terminal (permission-checked and
audited: see :mod:`gatehouse.cli.context`). ``rules list`` needs ``iam:GetAuthzRule``; ``rules add``,
``rules delete`` and ``preset enable|disable`` need ``iam:UpdateAuthzRule``.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from gatehouse.cli.context import run_change, run_read
from gatehouse.cli.output import echo
from gatehouse.errors import InvalidInput
from gatehouse.iam import gateway_access as access
from gatehouse.iam.authorizer import Principal
from gatehouse.iam.gateway_access import RuleTable, RuleView, rule_input, rule_summary
from gatehouse.store.database import Connection

authz_app = typer.Typer(help="Gateway authorization: forward-auth rules and the API7 preset.", no_args_is_help=True)
rules_app = typer.Typer(help="The forward-auth rule table (custom rules, in order).", no_args_is_help=True)
preset_app = typer.Typer(help='The built-in preset "API7 / APISIX admin API".', no_args_is_help=True)
authz_app.add_typer(rules_app, name="rules")
authz_app.add_typer(preset_app, name="preset")


def _line(position: int, view: RuleView) -> str:
    rule = view.rule
    query = "".join(f" ?{parameter}→{{{part}}}" for part, parameter in rule.query.items())
    return f"{position + 1}\t{rule.methods_text}\t{rule.path}{query}\t{rule.action}\t{rule.resource}\tid {view.id}"


@rules_app.command("list")
def list_rules(
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
    preset: bool = typer.Option(False, "--preset", help="Also list the preset's rules."),
) -> None:
    """The custom rules in the order they apply, and whether the preset is on."""
    table: RuleTable = run_read(lambda c, p: access.rule_table(c, p))
    if as_json:
        found = {
            "rules": [
                {**view.rule.as_dict(), "position": view.position, "version": view.version} for view in table.rules
            ],
            "preset": {"name": table.preset_name, "enabled": table.preset_enabled},
        }
        if preset:
            found["preset"]["rules"] = [rule.as_dict() for rule in table.preset]  # type: ignore[index]
        echo(json.dumps(found))
        return
    if not table.rules:
        echo("No custom rules.")
    for view in table.rules:
        echo(_line(view.position, view))
    echo(f"Preset {table.preset_name!r}: {'on (after the rules above)' if table.preset_enabled else 'off'}")
    if preset:
        for rule in table.preset:
            query = "".join(f" ?{parameter}" for parameter in rule.query.values())
            echo(f"preset\t{rule.methods_text}\t{rule.path}{query}\t{rule.action}\t{rule.resource}")


def _pairs(values: list[str]) -> dict[str, str]:
    found = {}
    for value in values:
        name, equals, parameter = value.partition("=")
        if not equals:
            raise InvalidInput(f"--query {value!r}: write part=parameter, e.g. gg=gateway_group_id.")
        found[name.strip()] = parameter.strip()
    return found


@rules_app.command("add")
def add_rule(
    path: str = typer.Option(..., "--path", help="e.g. /api/gateway_groups/{gg}/services/{sid}"),
    action: str = typer.Option(..., "--action", help="A catalog action, e.g. gateway:GetPublishedService."),
    resource: str = typer.Option(
        ..., "--resource", help="e.g. arn:api7:gateway:gatewaygroup/{gg}/publishedservice/{sid}"
    ),
    method: Annotated[
        list[str] | None, typer.Option("--method", help="An HTTP method (repeat it; default GET), or *.")
    ] = None,
    query: Annotated[
        list[str] | None, typer.Option("--query", help="A part from a query parameter: gg=gateway_group_id.")
    ] = None,
    labels: str = typer.Option(
        "", "--labels", help='Label templates as JSON: {"gateway_group_label": {"env": "dev"}}.'
    ),
    description: str = typer.Option("", "--description"),
    position: int | None = typer.Option(None, "--position", min=1, help="1 is first; default: last."),
    as_json: bool = typer.Option(False, "--json", help="Print the rule as JSON."),
) -> None:
    """Add a rule (checked: a known action, a resource using only parts the path and query define)."""
    try:
        label_templates = json.loads(labels) if labels.strip() else {}
    except json.JSONDecodeError:
        raise InvalidInput("--labels: a JSON object.") from None
    rule = rule_input(method or ["GET"], path, action, resource, _pairs(query or []), label_templates, description)
    index = None if position is None else position - 1

    def work(connection: Connection, principal: Principal) -> RuleView:
        return access.create_rule(connection, principal, rule, index)

    view: RuleView = run_change(
        access.RULE_CHANGE.event,
        access.RULE_CHANGE.resource_type,
        None,
        work,
        summary={"created": rule_summary(rule)},
        describe=lambda done, change: change.about(done.id, position=done.position),
    )
    if as_json:
        echo(json.dumps({**view.rule.as_dict(), "position": view.position, "version": view.version}))
    else:
        echo(_line(view.position, view))


@rules_app.command("delete")
def delete_rule(rule_id: str = typer.Argument(..., help="The rule's id (see `gatehouse authz rules list`).")) -> None:
    """Delete a rule: it stops applying at once, in every process."""

    def work(connection: Connection, principal: Principal) -> RuleView:
        return access.delete_rule(connection, principal, rule_id)

    view: RuleView = run_change(
        access.RULE_CHANGE.event,
        access.RULE_CHANGE.resource_type,
        rule_id[:64],
        work,
        summary={"deleted": True},
        describe=lambda done, change: change.about(deleted=rule_summary(done.rule)),
    )
    echo(f"Rule deleted: {view.rule.methods_text} {view.rule.path}")


def _switch(enabled: bool) -> None:
    def work(connection: Connection, principal: Principal) -> bool:
        return access.set_preset(connection, principal, enabled)

    run_change(
        access.PRESET.event, access.PRESET.resource_type, access.PRESET.resource_id, work, summary={"enabled": enabled}
    )
    state = "on: its rules apply after the custom rules" if enabled else "off"
    echo(f"The preset {access.RuleTable([], enabled).preset_name!r} is {state}.")


@preset_app.command("enable")
def enable_preset() -> None:
    """Switch the preset on (after the custom rules)."""
    _switch(True)


@preset_app.command("disable")
def disable_preset() -> None:
    """Switch the preset off."""
    _switch(False)
