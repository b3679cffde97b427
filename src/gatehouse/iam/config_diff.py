"""What every part of a configuration plan shares (:mod:`gatehouse.iam.config_plan`): the file, the state it is
compared with, the problems found so far, and the policy and role names a file may refer to once the plan is
applied. The per-kind diffs (``config_diff_*``) each take a :class:`PlanContext` and return their changes.
Reads only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from gatehouse.errors import InvalidInput
from gatehouse.iam.config_changes import FieldChange, ObjectChange, field_changes
from gatehouse.iam.config_export import Doc, State
from gatehouse.iam.config_file import Locator, Path, Problem
from gatehouse.iam.config_model import ConfigFile, fold
from gatehouse.store.database import Connection
from gatehouse.store.records import utcnow

_LOCATION: Final = re.compile(r"([A-Za-z_]\w*)|\[(\d+)\]")
_FIELD_PREFIX: Final = re.compile(r"([A-Za-z_][\w.]*): (.*)", re.DOTALL)


class Names:
    """The objects of one kind (policies or roles) a file may refer to after the plan, by folded name."""

    def __init__(self, stored: Mapping[str, tuple[str, str, bool]]) -> None:
        self.stored = dict(stored)  # fold → (id, name, built_in)
        self.desired: dict[str, str] = {}  # fold → name as the file gives it
        self.deleted: set[str] = set()

    def final(self, name: str) -> str | None:
        key = fold(name)
        if key in self.desired:
            return self.desired[key]
        if key in self.stored and key not in self.deleted:
            return self.stored[key][1]
        return None

    def built_in(self, name: str) -> bool:
        found = self.stored.get(fold(name))
        return found is not None and found[2]


class PlanContext:
    """One plan in the making: what it compares, the problems it found, the names the file may refer to."""

    def __init__(self, connection: Connection, state: State, model: ConfigFile, where: Locator, prune: bool) -> None:
        self.now = utcnow()
        self.connection = connection
        self.state = state
        self.model = model
        self.where = where
        self.prune = prune
        self.problems: list[Problem] = []
        self.policies = Names({fold(p.name): (p.id, p.name, p.built_in) for p in state.policies})
        self.roles = Names({fold(r.name): (r.id, r.name, r.built_in) for r in state.roles})

    def problem(self, path: Path, message: str) -> None:
        self.problems.append(self.where.problem(path, message))

    def refused(self, path: Path, exc: InvalidInput) -> None:
        """A use case's refusal of a field: ``labels.team: …`` names the field under ``path``."""
        found = _FIELD_PREFIX.fullmatch(exc.detail)
        if found and " " not in found.group(1):
            self.problem((*path, *parts(found.group(1))), found.group(2))
        else:
            self.problem(path, exc.detail)

    def declare(self, names: Names, given: Sequence[str], section: str) -> None:
        """The names a section of the file gives (the built-in ones refused); with ``prune``, the others go."""
        for index, name in enumerate(given):
            key = fold(name)
            if names.built_in(name):
                noun = "permission policy" if names is self.policies else "role"
                self.problem(
                    (section, index, "name"),
                    f"the built-in {noun} '{names.stored[key][1]}' cannot be changed or removed: leave it out of "
                    "the file",
                )
                continue
            names.desired[key] = " ".join(name.split())
        if self.prune:
            names.deleted = {key for key, (_, _, built_in) in names.stored.items() if not built_in} - set(names.desired)

    def names(
        self, kind: str, given: Iterable[str], path: Path, *, built_in_ok: bool = True, index: bool = True
    ) -> list[str]:
        """Names referred to, resolved to the final objects' names (a problem for each one that is none);
        ``index``: ``path`` is the list's (else the one name's)."""
        names = self.policies if kind == "policy" else self.roles
        noun = "permission policy" if kind == "policy" else "role"
        found: list[str] = []
        for position, name in enumerate(given):
            at = (*path, position) if index else path
            final = names.final(name)
            if final is None:
                pruned = fold(name) in names.deleted
                why = " (--prune deletes it: it is not in the file)" if pruned else " in the file or in Gatehouse"
                self.problem(at, f"there is no {noun} named '{name}'{why}")
            elif not built_in_ok and names.built_in(name):
                self.problem(
                    at,
                    f"the built-in role '{final}' is held by Super Admin accounts only: it cannot be granted, bound or "
                    "mapped (create a Super Admin with `gatehouse admin create`)",
                )
            else:
                found.append(final)
        return found


def compare(kind: str, name: str, before: Doc | None, after: Doc, payload: Any) -> list[ObjectChange]:
    """The change that makes ``before`` (``None``: no such object) into ``after``, if any."""
    if before is None:
        return [ObjectChange(kind, name, "create", payload=payload)]
    fields = field_changes(before, after)
    return [ObjectChange(kind, name, "update", fields, payload=payload)] if fields else []


def setting_change(kind: str, field: str, before: Any, after: Any) -> list[ObjectChange]:
    """The change of a setting of one field (``after`` ``None``: the file leaves it as it is), if any."""
    if after is None or after == before:
        return []
    return [ObjectChange(kind, "", "update", (FieldChange(field, before, after),), payload=after)]


def parts(location: str) -> Path:
    """``statement[0].actions[1]`` → ``("statement", 0, "actions", 1)``."""
    return tuple(int(index) if index else name for name, index in _LOCATION.findall(location))
