"""Request and response bodies of the admin API: common parts, sign-in, ``/me`` and users.

Request bodies refuse unknown fields (a typo is a 422, not a silent no-op). Responses are built from the
use cases' records by the ``of`` class methods, so routes stay thin.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal, Protocol, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from gatehouse.iam.authorizer import HeldRole
from gatehouse.iam.users import UserView
from gatehouse.store.directory import DirectoryPage, UserProfile
from gatehouse.store.group_directory import GroupPage
from gatehouse.store.policies import StoredPolicy

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class Named(Protocol):
    """What :meth:`Paging.cut_named` lists: a role, a permission policy."""

    @property
    def name(self) -> str: ...


N = TypeVar("N", bound=Named)

Id = Annotated[str, Field(min_length=1, max_length=64, description="An object's id.")]


def of_record(model: type[M], record: object, **computed: Any) -> M:
    """``model`` with each field the record's attribute of the same name, or the value ``computed`` for it."""
    return model(**{name: computed[name] if name in computed else getattr(record, name) for name in model.model_fields})


class FromRecord(BaseModel):
    """A response whose fields are a use case's record's attributes of the same names."""

    @classmethod
    def of(cls, record: Any) -> Self:
        """The record's attributes named as the fields."""
        return cls.model_validate(record, from_attributes=True)


class Body(BaseModel):
    """A request body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class Paging(BaseModel):
    """Where a page is in the whole list."""

    page: int = Field(description="The page served (1-based; a page past the end serves the last one).")
    per_page: int
    total: int = Field(description="How many items match in all.")
    pages: int

    @classmethod
    def cut(cls, items: Sequence[T], page: int, per_page: int) -> tuple[list[T], Paging]:
        """The page ``page`` of ``items`` (a page past the end serves the last one), and where it is."""
        pages = max(1, -(-len(items) // per_page))
        page = min(page, pages)
        shown = list(items[(page - 1) * per_page : page * per_page])
        return shown, cls(page=page, per_page=per_page, total=len(items), pages=pages)

    @classmethod
    def cut_named(cls, items: Sequence[N], q: str, page: int, per_page: int) -> tuple[list[N], Paging]:
        """:meth:`cut` of the items whose name starts with ``q`` (case-insensitive); all of them for an empty ``q``."""
        prefix = q.strip().lower()
        return cls.cut([item for item in items if item.name.lower().startswith(prefix)], page, per_page)


class SearchPaging(Paging):
    """Where a page of users or groups is. With a search (``q``), matches come by relevance and pages by
    cursor: ``total`` stops counting past 10,000 (``total_exact`` false), and ``page``/``pages`` say where
    the page is in that count."""

    total_exact: bool = Field(True, description="False when more than 10,000 match (`total` is then 10,001).")
    next_cursor: str | None = Field(None, description="A search's next page: send it back as `cursor`.")
    prev_cursor: str | None = Field(None, description="A search's previous page: send it back as `cursor`.")

    @classmethod
    def of(cls, page: DirectoryPage | GroupPage) -> SearchPaging:
        return of_record(cls, page, total_exact=page.exact)


class SearchPage(BaseModel):
    """A page of users or groups: each row of the store's page made an :attr:`item` (the ``items`` of a
    subclass are of that model), and where the page is."""

    item: ClassVar[type[FromRecord]]
    items: Sequence[FromRecord]
    paging: SearchPaging

    @classmethod
    def of(cls, page: DirectoryPage | GroupPage) -> Self:
        return cls(items=[cls.item.of(row) for row in page.rows], paging=SearchPaging.of(page))


# ------------------------------------------------------------------------------------------ common parts


class Reference(BaseModel):
    """A link to another object."""

    id: str
    name: str | None = None


class RoleOriginOut(BaseModel):
    """Why a user holds a role."""

    kind: Literal["super_admin", "direct", "sso", "group", "request"]
    group_id: str | None = None
    group_name: str | None = None
    expires_at: datetime | None = Field(default=None, description="A time-bound grant's end (none: until taken away).")
    description: str = Field(
        description="`direct`, `via SSO`, `via group Ops`, `Super Admin account`, `access request`; a time-bound "
        "grant adds `, until 2026-12-31 18:00 UTC`."
    )


class HeldRoleOut(BaseModel):
    """A role a user holds, every way they hold it, and its permission policies."""

    id: str
    name: str
    origins: list[RoleOriginOut]
    policies: list[Reference]

    @classmethod
    def of(cls, role: HeldRole) -> HeldRoleOut:
        return cls(
            id=role.id,
            name=role.name,
            origins=[
                RoleOriginOut(
                    kind=o.kind,
                    group_id=o.group_id,
                    group_name=o.group_name,
                    expires_at=o.until,
                    description=o.describe(),
                )
                for o in role.origins
            ],
            policies=[Reference(id=p.id, name=p.name) for p in role.policies],
        )


def policy_refs(policies: tuple[StoredPolicy, ...]) -> list[Reference]:
    return [Reference(id=p.id, name=p.name) for p in policies]


def primary_email(doc: dict[str, Any]) -> str | None:
    """The primary (else the first) e-mail of a SCIM user document."""
    emails = [e for e in doc.get("emails") or [] if isinstance(e, dict) and isinstance(e.get("value"), str)]
    for entry in emails:
        if entry.get("primary"):
            return str(entry["value"])
    return str(emails[0]["value"]) if emails else None


# ------------------------------------------------------------------------------------------ users


Source = Literal["local", "scim", "sso"]


class UserBasics(BaseModel):
    """What every view of a user starts with (a list row, a user's page)."""

    id: str
    user_name: str
    display_name: str | None
    email: str | None
    source: Source
    active: bool
    super_admin: bool


class UserSummary(UserBasics, FromRecord):
    """A user as listed."""

    last_login_at: datetime | None
    created: datetime


class UserPage(SearchPage):
    """A page of the user directory."""

    item = UserSummary
    items: list[UserSummary]


class HistoryEntry(BaseModel):
    """One entry of a user's status history."""

    at: datetime
    event: str
    actor: str | None


class SessionOut(BaseModel):
    """A live dashboard session of the user (never its id)."""

    created: datetime
    last_seen: datetime
    ip: str | None
    user_agent: str | None


class UserDetail(UserBasics):
    """A user's page: profile, SCIM attributes, groups, roles (with where each comes from) and boundaries."""

    must_change_password: bool = Field(description="The next sign-in with a password first asks for a new one.")
    external_id: str | None = Field(description="The identity provider's id for the user (SCIM `externalId`).")
    created: datetime
    last_modified: datetime
    last_login_at: datetime | None = Field(description="The last sign-in (password or SSO); `null` before the first.")
    version: int = Field(description="Counts the user's writes; SCIM's ETag is `W/\"<version>\"` (RFC 7644 §3.14).")
    attributes: dict[str, Any] = Field(description="The user's SCIM document (RFC 7643 §4.1), as stored.")
    groups: list[Reference]
    roles: list[HeldRoleOut]
    boundaries: list[Reference] = Field(description="The permission boundaries (policies) that limit the user.")
    history: list[HistoryEntry]
    sessions: list[SessionOut]

    @classmethod
    def of(cls, view: UserView) -> UserDetail:
        p: UserProfile = view.profile
        return cls(
            id=p.id,
            user_name=p.user_name,
            display_name=p.display_name,
            email=primary_email(p.doc),
            source=p.source,  # type: ignore[arg-type]
            active=p.active,
            super_admin=p.super_admin,
            must_change_password=p.must_change_password,
            external_id=p.external_id,
            created=p.created,
            last_modified=p.last_modified,
            last_login_at=p.last_login_at,
            version=p.version,
            attributes=p.doc,
            groups=[Reference(id=g.id, name=g.display) for g in p.groups],
            roles=[HeldRoleOut.of(role) for role in view.roles],
            boundaries=policy_refs(view.boundaries),
            history=[HistoryEntry(at=e.at, event=e.event, actor=e.actor) for e in p.history],
            sessions=[
                SessionOut(created=s.created, last_seen=s.last_seen, ip=s.ip, user_agent=s.user_agent)
                for s in p.sessions
            ],
        )


class NewUser(Body):
    """Invite a local user (iam:InviteUser)."""

    user_name: str = Field(min_length=1, max_length=255, description="Unique, case-insensitively; no spaces.")
    email: str | None = Field(default=None, max_length=320)
    name: str | None = Field(default=None, max_length=255)
    password: str | None = Field(
        default=None,
        max_length=1024,
        description="The one-time password (at least 12 characters); generated and returned once when omitted.",
    )


USER_AFTER = "The user's page after the change (null if you may not view the user: iam:GetUser)."


class UserResult(BaseModel):
    """The user after a change."""

    user: UserDetail | None = Field(description=USER_AFTER)


class CreatedUser(BaseModel):
    """A local user just invited; ``one_time_password`` is shown only here, and only when generated."""

    id: str
    user: UserDetail | None = Field(description=USER_AFTER)
    one_time_password: str | None = Field(
        description="The generated one-time password (null when you chose it): the user must change it at "
        "their first sign-in."
    )


class UserChanges(Body):
    """Edit a local user (iam:UpdateUser): fields left out are unchanged; `null` or `""` clears one."""

    name: str | None = Field(default=None, max_length=255)
    email: str | None = Field(default=None, max_length=320)


class NewPassword(Body):
    """Reset a local user's password (iam:ResetPassword)."""

    password: str | None = Field(
        default=None, max_length=1024, description="At least 12 characters; generated and returned once when omitted."
    )


class PasswordReset(BaseModel):
    """The user must change the one-time password at their next sign-in; their sessions ended."""

    user_id: str
    one_time_password: str | None = Field(description="The generated password (null when you chose it).")


class StatusChanged(BaseModel):
    """The outcome of a deactivation or reactivation."""

    user: UserDetail | None = Field(description=USER_AFTER)
    changed: bool = Field(description="False when the user already had that status.")
    sessions_ended: int


class RoleIds(Body):
    """The roles to hold directly, exactly (roles held through groups or SSO stay)."""

    role_ids: list[Id] = Field(max_length=100)


class PolicyIds(Body):
    """The permission policies, exactly."""

    policy_ids: list[Id] = Field(max_length=100)


class AssignmentResult(BaseModel):
    """What a replace-the-set call changed, and the user's page after it."""

    added: list[str]
    removed: list[str]
    user: UserDetail | None = Field(description=USER_AFTER)


# ------------------------------------------------------------------------------------------ sign-in and me


class SignIn(Body):
    """Password sign-in (the dashboard's, with the same throttling)."""

    username: str = Field(min_length=1, max_length=320, description="A username, or an e-mail address.")
    password: str = Field(min_length=1, max_length=1024)


class Me(BaseModel):
    """The caller: their user, roles, boundaries and what they may do."""

    user: UserDetail
    authenticated_by: Literal["session", "token"]
    token_name: str | None = Field(description="The API token used, if any.")
    csrf_token: str | None = Field(
        description="With a session: send it as `X-CSRF-Token` on every state-changing request."
    )
    must_change_password: bool
    allowed_actions: list[str] = Field(
        description="Catalog actions allowed on every object of their kind (`<kind>/*`, or the organization); "
        "an action allowed only on some objects is not listed."
    )
