"""Every hook a plugin can implement. Each is an empty, typed function: pluggy reads the signature.

A plugin is a module (or object) with functions marked ``@evoengine.hookimpl`` and named as
below, published under the entry-point group ``evoengine``::

    [project.entry-points.evoengine]
    myplugin = "evoengine_myplugin.plugin"
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import click

    from evoengine.registry import ProblemRegistry

PROJECT_NAME = "evoengine"
hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def evoengine_register_problems(registry: ProblemRegistry) -> None:
    """Register the plugin's problems.

    Called once per plugin when the engine starts. Call ``registry.add(name, factory,
    settings=Model, summary=...)`` for each problem; a name already taken by another plugin
    raises :class:`evoengine.errors.DuplicateProblemError`.

    :param registry: the registry to add problems to.
    :return: nothing; problems are added through ``registry``.
    """


@hookspec
def evoengine_add_commands(cli: click.Group) -> None:
    """Add the plugin's own commands to the ``evoengine`` command line.

    Called when the CLI looks up a command it does not know, or lists its commands. Call
    ``cli.add_command(command)`` with a ``click.Command``; import heavy modules inside the
    command's body, so that ``evoengine --help`` stays fast.

    :param cli: the ``evoengine`` click group.
    :return: nothing; commands are added through ``cli``.
    """
