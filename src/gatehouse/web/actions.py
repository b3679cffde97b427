"""How a dashboard page changes something: the posted form's fields, the audited change, the page of a
change that was not made, and the confirm-then-act flow of changes that cannot be undone.

Every change runs through :func:`gatehouse.iam.audit.audited` as the signed-in user from this browser: its
audit record commits with it, and a refusal or failure is recorded in a transaction of its own. A handler
built on these stays a few lines: parse the form, call one use case, redirect (Post/Redirect/Get) or show
why nothing was done.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from gatehouse.errors import GatehouseError, InvalidInput
from gatehouse.iam.audit import Change, audited
from gatehouse.numerals import whole_number
from gatehouse.store.database import Connection
from gatehouse.web.dashboard import Dashboard, dashboard_of, posted

T = TypeVar("T")

_REFUSAL_TITLES = {403: "Not allowed", 404: "Not found", 409: "Not done"}


# ------------------------------------------------------------------------------------------ the form


def form_text(request: Request, name: str, limit: int = 10_000) -> str:
    """One field of the posted form, as text (a missing field is empty; absurd lengths are cut)."""
    return str(posted(request).get(name, ""))[:limit]


def form_list(request: Request, name: str) -> list[str]:
    """Every non-empty value of a repeated field (checkboxes, multi-selects)."""
    return [str(value) for value in posted(request).getlist(name) if value]


def form_version(request: Request) -> int | None:
    """The version the form was loaded at (for optimistic concurrency), if it carries one."""
    raw = form_text(request, "version", 20)
    return whole_number(raw, 20)


def key_value_lines(text: str) -> Iterator[tuple[int, str, str | None]]:
    """The lines of a ``key=value`` field that are not blank, numbered from 1 (for error messages), each as
    ``(number, key, value)``, trimmed; ``value`` is None on a line without ``=``."""
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line:
            key, equals, value = line.partition("=")
            yield number, key.strip(), value.strip() if equals else None


def parse_labels(text: str) -> dict[str, str]:
    """Labels written one per line as ``key=value`` (blank lines skipped); keys and values are checked
    afterwards by the use case's form (:func:`gatehouse.iam.rbac_forms.check_labels`)."""
    labels: dict[str, str] = {}
    for number, key, value in key_value_lines(text):
        if value is None or not key:
            raise InvalidInput(f"labels, line {number}: write one label per line as key=value, e.g. team=sre.")
        if key in labels:
            raise InvalidInput(f"labels, line {number}: the key '{key}' is given twice.")
        labels[key] = value
    return labels


def labels_text(labels: Mapping[str, str]) -> str:
    """Labels as the form shows them: ``key=value`` lines."""
    return "\n".join(f"{key}={value}" for key, value in labels.items())


class Named(Protocol):
    """A record with a name (a role, a permission policy): what a deletion's message names."""

    @property
    def name(self) -> str: ...


class Labelled(Named, Protocol):
    """A named record with a description and labels (a role, a permission policy)."""

    @property
    def description(self) -> str: ...
    @property
    def labels(self) -> Mapping[str, str]: ...


def labelled_values(record: Labelled) -> dict[str, str]:
    """The fields an edit form of ``record`` starts with: its name, description and labels."""
    return {"name": record.name, "description": record.description, "labels": labels_text(record.labels)}


# ------------------------------------------------------------------------------------------ changes


def refused(request: Request, exc: GatehouseError, back: str, back_label: str | None = None) -> Response:
    """The page of a change that was not made: not allowed (403), gone (404) or refused (409, 400), with a
    link to ``back`` (``back_label``, or "Back")."""
    return dashboard_of(request).render(
        request,
        "refused.html",
        status=exc.status,
        title=_REFUSAL_TITLES.get(exc.status, "Not done"),
        detail=exc.detail,
        back=back,
        back_label=back_label,
    )


async def change(
    request: Request,
    what: Change,
    work: Callable[[Connection], T],
    describe: Callable[[T, Change], Change] | None = None,
) -> T:
    """Run ``work`` audited, as the signed-in user from this browser (raises what the use case raises)."""
    dashboard = dashboard_of(request)
    result: T = await audited(dashboard.db, dashboard.origin(request), what, work, describe=describe)
    return result


async def act(
    request: Request,
    what: Change,
    work: Callable[[Connection], T],
    back: str,
    done: str | Callable[[T], str],
    describe: Callable[[T, Change], Change] | None = None,
) -> Response:
    """Run a change audited (its record completed by ``describe``), then back to ``back`` with ``done`` (or
    ``done(result)``) as the message, or the refusal page."""
    try:
        result = await change(request, what, work, describe)
    except GatehouseError as exc:
        return refused(request, exc, back)
    return dashboard_of(request).redirect(back, done if isinstance(done, str) else done(result))


async def act_or_show(
    request: Request,
    what: Change,
    work: Callable[[Connection], T],
    *,
    back: str,
    show_again: Callable[[GatehouseError], Awaitable[Response]],
    done: Callable[[T], tuple[str, str]],
    describe: Callable[[T, Change], Change] | None = None,
) -> Response:
    """A form's change: on success to ``done(result)`` (where, message); a refusal (403, 404) on its page;
    any other error (invalid input, a conflict) shows the form again, as typed, with the error."""
    try:
        result = await change(request, what, work, describe)
    except GatehouseError as exc:
        if exc.status in (403, 404):
            return refused(request, exc, back)
        return await show_again(exc)
    url, message = done(result)
    return dashboard_of(request).redirect(url, message)


# ------------------------------------------------------------------------------------------ confirm, then act


@dataclass(frozen=True, slots=True)
class Confirmation:
    """What the confirmation page asks before a change that cannot be undone."""

    title: str
    question: str
    confirm_label: str
    warning: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)
    """Hidden fields the confirming POST carries back."""


@dataclass(frozen=True, slots=True)
class Settled:
    """What ``ask`` answers when there is nothing left to confirm (the change is made already): back to
    ``back`` with ``message`` as a note."""

    message: str


def in_use_warning(subject: str, uses: Iterable[str], until: str) -> str | None:
    """A deletion's warning that ``subject`` is still in use: "{subject} is {use} and {use}: it cannot be
    deleted until {until}." (the ``uses`` that are not empty), or None when none is."""
    held = [use for use in uses if use]
    return f"{subject} is {' and '.join(held)}: it cannot be deleted until {until}." if held else None


async def confirm_then_act(
    request: Request,
    *,
    back: str,
    ask: Callable[[Connection], Confirmation | Settled | GatehouseError],
    what: Change,
    work: Callable[[Connection], T],
    done: Callable[[T], tuple[str, str] | Awaitable[Response]],
    describe: Callable[[T, Change], Change] | None = None,
    back_label: str | None = None,
    refusal: Callable[[GatehouseError], Response] | None = None,
) -> Response:
    """GET: the confirmation page (``ask`` reads what to say, or returns or raises why the change may not be
    made, shown on the refusal page, or returns that it is made already). POST to the
    same address: the audited change, then ``done(result)``: (where, message) to redirect to, or the page to
    show (a secret shown once); or the refusal page. ``refusal(exc)``, when given, answers a refusal instead
    of the refusal page (back with a message, say, when the thing to change is gone already)."""
    dashboard = dashboard_of(request)
    refuse = refusal or (lambda exc: refused(request, exc, back, back_label))
    if request.method == "GET":
        try:
            question = await dashboard.db.read(ask)
        except GatehouseError as exc:
            question = exc
        if isinstance(question, GatehouseError):
            return refuse(question)
        if isinstance(question, Settled):
            return dashboard.redirect(back, question.message, "info")
        return _confirmation_page(dashboard, request, question, back)
    try:
        result = await change(request, what, work, describe)
    except GatehouseError as exc:
        return refuse(exc)
    outcome = done(result)
    if isinstance(outcome, tuple):
        url, message = outcome
        return dashboard.redirect(url, message)
    return await outcome


def deletion_question(what: str, name: str, label: str, warning: str | None, after: str = "") -> Confirmation:
    """The question before a named record is deleted for good: "Delete the {what} {name}?", with ``after``
    added to the sentence that says it cannot be undone, ``label`` on the button."""
    return Confirmation(f"Delete the {what} {name}?", f"The {what} {name} is deleted for good{after}.", label, warning)


N = TypeVar("N", bound=Named)


async def delete_named(
    request: Request,
    what: Change,
    work: Callable[[Connection], N],
    *,
    noun: str,
    listing: str,
    back: str,
    ask: Callable[[Connection], Confirmation | GatehouseError],
) -> Response:
    """Delete a named record through :func:`confirm_then_act`: once done, to ``listing`` with "{noun} {name}
    deleted.", and its name kept in the audit record (the record itself is gone)."""
    return await confirm_then_act(
        request,
        back=back,
        ask=ask,
        what=what,
        work=work,
        done=lambda gone: (listing, f"{noun} {gone.name} deleted."),
        describe=lambda gone, recorded: recorded.about(None, name=gone.name),
    )


def _confirmation_page(dashboard: Dashboard, request: Request, question: Confirmation, back: str) -> Response:
    return dashboard.render(
        request,
        "confirm.html",
        title=question.title,
        question=question.question,
        warning=question.warning,
        fields=question.fields,
        action=request.url.path,
        confirm_label=question.confirm_label,
        cancel=back,
    )
