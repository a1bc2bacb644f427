"""Finding and loading plugins.

One function, :func:`load_plugins`, builds the plugin manager the way pytest and pluggy's own
example do: hookspecs first, then every entry point of the group ``evoengine`` (built-in plugins
are published exactly like third-party ones), then the problems each plugin registers.

A plugin that fails to import, or whose hook raises, is recorded in ``failures`` and skipped: a
broken third-party package must not take the CLI down. Set ``EVOENGINE_DISABLE_PLUGINS=1`` to
load no entry points at all, or to a comma-separated list of plugin names to skip those.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points

import pluggy

from evoengine import hookspecs
from evoengine.errors import DuplicateProblemError, EvoengineError
from evoengine.registry import ProblemRegistry

DISABLE_ENV = "EVOENGINE_DISABLE_PLUGINS"
log = logging.getLogger("evoengine")


@dataclass
class PluginInfo:
    name: str
    version: str
    problems: list[str] = field(default_factory=list)


@dataclass
class LoadedPlugins:
    """The plugin manager, the problems the plugins registered, and what failed to load."""

    manager: pluggy.PluginManager
    registry: ProblemRegistry
    plugins: dict[str, PluginInfo]
    failures: dict[str, str]


def _disabled_names() -> set[str] | None:
    """None: autoload on. Empty set: autoload off. Otherwise the names to skip."""
    raw = os.environ.get(DISABLE_ENV, "").strip()
    if not raw or raw.lower() in {"0", "false", "no"}:
        return None
    if raw.lower() in {"1", "true", "yes", "all"}:
        return set()
    return {name.strip() for name in raw.split(",") if name.strip()}


def _entry_points(only: list[str] | None) -> list[EntryPoint]:
    found = list(entry_points(group=hookspecs.PROJECT_NAME))
    disabled = _disabled_names()
    if only is not None:
        return [ep for ep in found if ep.name in only]
    if disabled is None:
        return found
    if not disabled:
        return []
    return [ep for ep in found if ep.name not in disabled]


def new_manager() -> pluggy.PluginManager:
    """A plugin manager with evoengine's hookspecs and no plugins (what a run from Python
    uses unless it is given one: its lifecycle hooks then call nothing)."""
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    return pm


def call_hook(manager: pluggy.PluginManager, name: str, **kwargs) -> list:
    """Call a lifecycle hook (``evoengine_run_start`` ...) in pluggy's order, with each
    plugin's failure reported and skipped: a broken observer must not end a run (its
    checkpoints and results go on). An :class:`~evoengine.errors.EvoengineError` (a user's
    mistake, one ``error:`` line) and Ctrl-C still stop it. Returns the non-None results, in
    the order the plugins were registered."""
    caller = getattr(manager.hook, name)
    impls = caller.get_hookimpls()
    if any(impl.hookwrapper or getattr(impl, "wrapper", False) for impl in impls):
        return list(reversed(caller(**kwargs)))  # wrappers need pluggy's own call
    results = []
    for impl in reversed(impls):  # pluggy calls the last registered first
        try:
            value = impl.function(*[kwargs[arg] for arg in impl.argnames])
        except EvoengineError:
            raise
        except Exception as exc:
            log.warning("plugin %r: its %s failed and was skipped: %s: %s", impl.plugin_name,
                        name, type(exc).__name__, exc)
            continue
        if value is not None:
            results.append(value)
    return results[::-1]


def load_plugins(
    *, extra: dict[str, object] | None = None, only: list[str] | None = None
) -> LoadedPlugins:
    """Load the plugins and collect their problems.

    :param extra: plugin objects to register directly by name (tests, embedding programs).
    :param only: load just these entry-point names, even when autoload is disabled.
    """
    pm = new_manager()
    infos: dict[str, PluginInfo] = {}
    failures: dict[str, str] = {}

    for ep in _entry_points(only):
        if pm.has_plugin(ep.name) or ep.name in failures:
            continue
        version = ep.dist.version if ep.dist is not None else "?"
        try:
            plugin = ep.load()
            pm.register(plugin, name=ep.name)
        except Exception as exc:  # a broken plugin is reported, not fatal
            failures[ep.name] = f"import of {ep.value!r} failed: {type(exc).__name__}: {exc}"
            continue
        infos[ep.name] = PluginInfo(ep.name, version)

    for name, plugin in (extra or {}).items():
        pm.register(plugin, name=name)
        infos[name] = PluginInfo(name, getattr(plugin, "__version__", "-"))

    registry = ProblemRegistry()
    for impl in pm.hook.evoengine_register_problems.get_hookimpls():
        name = impl.plugin_name
        registry.registering_for(name)
        before = {entry.name for entry in registry}
        try:
            impl.function(registry=registry)
        except DuplicateProblemError:
            raise
        except Exception as exc:
            failures[name] = f"registering problems failed: {type(exc).__name__}: {exc}"
            infos.pop(name, None)
            continue
        info = infos.setdefault(name, PluginInfo(name, "-"))
        info.problems = sorted({entry.name for entry in registry} - before)
    return LoadedPlugins(pm, registry, infos, failures)
