"""Every hook a plugin can implement. Each is an empty, typed function: pluggy reads the signature.

A plugin is a module (or object) with functions marked ``@evoengine.hookimpl`` and named as
below, published under the entry-point group ``evoengine``::

    [project.entry-points.evoengine]
    myplugin = "evoengine_myplugin.plugin"

Two kinds of hooks: *registration* (problems, commands), called when the engine starts, and
the run *lifecycle* (``evoengine_run_start``, ``evoengine_generation_end``,
``evoengine_run_end``), called by :func:`evoengine.run.optimize` in the driver process for
every run, from the CLI or from Python. Observers (a logger, TensorBoard, a dashboard) and a
problem's own pictures and closing report are lifecycle hooks; a problem's plugin recognises
its runs with ``isinstance(run.problem, MyProblem)``. A lifecycle hook that raises is reported
(a warning naming the plugin) and skipped, and the run goes on; an
:class:`~evoengine.errors.EvoengineError` it raises stops the run with its ``error:`` line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import click

    from evoengine.records import GenerationRecord, RunView
    from evoengine.registry import ProblemRegistry
    from evoengine.run import RunResult

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


@hookspec
def evoengine_run_start(run: RunView) -> None:
    """A run begins (or resumes: ``run.resumed``), before its first evaluation.

    The run folder (``run.folder``, None for a run from Python without one) exists. A resumed
    run's ``run.recorder`` already holds the histories up to its checkpoint.

    :param run: the run: problem name and object, settings, folder, recorder.
    :return: nothing.
    """


@hookspec
def evoengine_generation_end(run: RunView, record: GenerationRecord) -> None:
    """A generation has been evaluated, told to the algorithm and recorded.

    Called once per generation, 0 (the initial population) first, in the driver process
    whatever the backend. ``record`` holds the rows evaluated this generation, their fitness
    and info, the logbook row and the problem's summary (scalars, images, tables), which the
    recorder has already written to the run folder.

    :param run: the run, as for :func:`evoengine_run_start`.
    :param record: this generation.
    :return: nothing.
    """


@hookspec
def evoengine_run_end(run: RunView, result: RunResult) -> list[str] | None:
    """The run has stopped and its folder is written (``config.toml``, ``logbook.csv``,
    ``best.json``, ``convergence.png``; the last checkpoint too).

    A problem's plugin writes its closing report here (a validation match, the best
    configuration trained again) and returns lines to show the user, and may add the report's
    tables as records to ``run.closing`` for the observers; an observer closes its files,
    marked ``@hookimpl(trylast=True)`` so that it sees those tables. Not called for a run
    interrupted by Ctrl-C (it resumes later).

    :param run: the run, as for :func:`evoengine_run_start`.
    :param result: the best solution, its info, the logbook and why the run stopped.
    :return: lines to show the user, or None.
    """
