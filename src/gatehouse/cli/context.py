"""What CLI commands share: a database for the configured settings, migrated; who is acting; one audited
transaction per change.

Who acts:

- with ``--token`` (or ``GATEHOUSE_API_TOKEN``), the owner of that API token, with their current
  permissions, exactly as through the admin API: a Viewer's token cannot turn SCIM on;
- without a token, the **host operator**: whoever can run this command on the server holds the
  database credentials, so they are treated as a Super Admin (named ``operator (CLI)`` in the audit
  log). This is the break-glass path (``admin reset-password`` when every admin is locked out).

Every command that changes data runs through :func:`run_change`: one transaction with its audit
record, or, when refused or failed, the record in a transaction of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from gatehouse.config import Settings, load_settings
from gatehouse.errors import Forbidden, GatehouseError
from gatehouse.iam import api_tokens
from gatehouse.iam.audit import Change, Origin, audited_sync, record
from gatehouse.iam.authorizer import Principal, load_principal, super_admin_role
from gatehouse.store import migration
from gatehouse.store.database import Connection, Database

T = TypeVar("T")

OPERATOR = "operator (CLI)"
USER_AGENT = "gatehouse-cli"

_identity: dict[str, str | None] = {"token": None}


def use_token(token: str | None) -> None:
    """Act as the owner of this API token for the rest of the command (``None``: the host operator)."""
    _identity["token"] = token.strip() if token and token.strip() else None


def operator() -> Principal:
    """The host operator: every permission, like the built-in Super Admin."""
    return Principal(None, OPERATOR, True, True, (super_admin_role(),))


def acting(connection: Connection) -> Principal:
    """Who this command acts as (see the module); a token that does not work is refused (401)."""
    token = _identity["token"]
    if token is None:
        return operator()
    caller = api_tokens.authenticate(connection, token)
    return load_principal(connection, caller.user_id, token_name=caller.token_name)


def require_super_admin(principal: Principal, what: str) -> None:
    """Break-glass commands: the host operator, or a Super Admin's token."""
    if not principal.super_admin:
        raise Forbidden(f"Only the host operator or a Super Admin may {what}.")


@contextmanager
def open_database(settings: Settings) -> Iterator[Database]:
    """A database for one command, disposed afterwards."""
    db = Database.from_url(settings.database_url, pool_size=1)
    try:
        yield db
    finally:
        db.dispose()


def run_read(work: Callable[[Connection, Principal], T], settings: Settings | None = None) -> T:
    """Migrate if needed, then run permission-checked read ``work`` as the acting principal."""
    with open_database(settings or load_settings()) as db:
        migration.upgrade(db.engine)
        with db.transaction() as connection:
            return work(connection, acting(connection))


def run_change(
    event: str,
    resource_type: str | None,
    resource_id: str | None,
    work: Callable[[Connection, Principal], T],
    *,
    summary: Mapping[str, Any] | None = None,
    describe: Callable[[Any, Change], Change] | None = None,
    settings: Settings | None = None,
) -> T:
    """Run a data change as the acting principal, with its audit record (see the module)."""
    change = Change(event, resource_type, resource_id, dict(summary or {}))
    with open_database(settings or load_settings()) as db:
        migration.upgrade(db.engine)
        try:
            with db.transaction() as connection:
                principal = acting(connection)
        except GatehouseError as exc:  # a token that does not work: refused, and recorded
            with db.transaction() as connection:
                who = Origin("cli", "unknown API token", None, None, USER_AGENT)
                record(connection, who, change, status=exc.status, error=exc.detail)
            raise
        origin = Origin("cli", principal.actor, principal.user_id, None, USER_AGENT)
        return audited_sync(db, origin, change, lambda c: work(c, principal), describe=describe)
