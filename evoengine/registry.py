"""The registry that plugins add their problems to.

A plugin's ``evoengine_register_problems`` hook receives a :class:`ProblemRegistry` and calls
:meth:`ProblemRegistry.add` for each problem. The registry knows which plugin is registering,
so a duplicate name is reported with both plugins' names.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from evoengine.errors import DuplicateProblemError, ProblemLookupError
from evoengine.problem import Problem


class NoSettings(BaseModel):
    """Settings model of a problem that takes none."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class ProblemEntry:
    """A registered problem: ``factory(settings) -> Problem``, ``settings`` a pydantic model."""

    name: str
    plugin: str
    factory: Callable[[BaseModel], Problem]
    settings: type[BaseModel]
    summary: str

    def build(self, settings: BaseModel) -> Problem:
        return self.factory(settings)


class ProblemRegistry:
    """Problems by name, each remembering the plugin that registered it."""

    def __init__(self) -> None:
        self._entries: dict[str, ProblemEntry] = {}
        self._plugin = "<direct>"

    def registering_for(self, plugin: str) -> None:
        """Attribute the next ``add`` calls to ``plugin`` (called by the plugin loader)."""
        self._plugin = plugin

    def add(
        self,
        name: str,
        factory: Callable[[BaseModel], Problem],
        *,
        settings: type[BaseModel] = NoSettings,
        summary: str = "",
    ) -> None:
        """Register a problem.

        :param name: what users type after ``evoengine run``.
        :param factory: builds the problem from its validated settings.
        :param settings: pydantic model of the problem's own settings (forbid extra keys).
        :param summary: one line for ``evoengine plugins``.
        """
        if name in self._entries:
            other = self._entries[name].plugin
            raise DuplicateProblemError(
                f"problem {name!r} is registered by both plugin {other!r} and plugin "
                f"{self._plugin!r}; uninstall or disable one of them"
            )
        self._entries[name] = ProblemEntry(name, self._plugin, factory, settings, summary)

    def get(self, name: str) -> ProblemEntry:
        try:
            return self._entries[name]
        except KeyError:
            close = difflib.get_close_matches(name, self._entries, n=3)
            hint = f"did you mean {', '.join(map(repr, close))}? " if close else ""
            known = ", ".join(sorted(self._entries)) or "none (no plugin loaded)"
            raise ProblemLookupError(f"unknown problem {name!r}; {hint}known problems: {known}")

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[ProblemEntry]:
        return iter(sorted(self._entries.values(), key=lambda e: e.name))

    def __len__(self) -> int:
        return len(self._entries)
