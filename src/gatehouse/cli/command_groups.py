"""The root command's groups, each imported when a command line names it.

Every group pulls in its own part of Gatehouse (``login-options`` the admin API's models and the single
sign-on clients, ``config`` the configuration-as-code models, ...); importing all of them made every command,
``gatehouse serve`` included, pay for all of them before doing anything. The root knows each group by name,
module and attribute, and loads only the one a command line uses (``gatehouse --help`` loads them all, to
list them)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:  # Typer's own copy of Click, which its classes are built on
    from typer._click import Command, Context

GROUPS: Final[Mapping[str, tuple[str, str]]] = {
    "scim": ("gatehouse.cli.scim", "scim_app"),
    "login-options": ("gatehouse.cli.login_options", "login_options_app"),
    "authz": ("gatehouse.cli.authz", "authz_app"),
    "access": ("gatehouse.cli.access", "access_app"),
    "audit-sinks": ("gatehouse.cli.audit_sinks", "audit_sinks_app"),
    "config": ("gatehouse.cli.config", "config_app"),
}
"""Each group's name on the command line, and the module and attribute of its ``typer.Typer``."""


class CommandGroups(TyperGroup):
    """A root group whose :data:`GROUPS` are built on first use; its own commands are as Typer made them."""

    def list_commands(self, ctx: Context) -> list[str]:
        own = super().list_commands(ctx)  # in the order they were added, then the groups in GROUPS' order
        return [*own, *(name for name in GROUPS if name not in own)]

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if cmd_name not in GROUPS or cmd_name in self.commands:
            return super().get_command(ctx, cmd_name)
        module, attribute = GROUPS[cmd_name]
        group = typer.main.get_group(getattr(importlib.import_module(module), attribute))  # a group, even of one
        group.name = cmd_name
        self.add_command(group, cmd_name)
        return group
