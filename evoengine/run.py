"""Running a problem to the end: the ask/tell loop, and building a run from settings."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pluggy
from deap import tools

from evoengine import config
from evoengine.algorithms import ALGORITHMS, Evolution
from evoengine.algorithms.variation import resolve_operators
from evoengine.context import Evaluation, EvaluationContext
from evoengine.errors import NoValidSolutionError
from evoengine.limits import check_population
from evoengine.problem import Problem, describe_solution
from evoengine.records import GenerationRecord, Recorder, RunView
from evoengine.registry import ProblemEntry
from evoengine.runs import recorded

ARTIFACTS_FOLDER = "artifacts"


@dataclass
class RunResult:
    """What a finished run leaves: the best solution (and the info its evaluation returned),
    the logbook, why it stopped, and the lines the ``evoengine_run_end`` hooks returned."""

    best_genome: np.ndarray
    best_fitness: np.ndarray
    logbook: tools.Logbook
    hall_of_fame: tools.HallOfFame
    generations: int
    evaluations: int
    failures: int
    stop_reasons: list[str]
    best_info: dict[str, Any] | None = None
    report: list[str] = field(default_factory=list)

    @property
    def best_value(self) -> float | tuple[float, ...]:
        """The best fitness as plain numbers: a float for one objective, a tuple of floats (in
        the objectives' order) for several."""
        values = tuple(float(v) for v in np.asarray(self.best_fitness).ravel())
        return values[0] if len(values) == 1 else values


def with_problem_defaults(problem: Problem, settings: config.AlgorithmSettings | None = None
                          ) -> config.AlgorithmSettings:
    """``settings`` laid over ``problem.defaults``: each setting the user gave (its
    ``model_fields_set``) wins, the problem's defaults fill in the rest, the engine's defaults
    what is left. A tree problem gets :class:`~evoengine.config.GPSettings`. Applying it twice
    changes nothing, so settings made by :func:`prepare` pass through unchanged."""
    if settings is None:
        settings = config.AlgorithmSettings()
    model = type(settings)
    if problem.genome.kind == "tree" and not isinstance(settings, config.GPSettings):
        model = config.GPSettings
    given = settings.model_dump(include=settings.model_fields_set)
    if problem.genome.kind != "tree" and model is config.AlgorithmSettings:
        gp_only = sorted(set(problem.defaults) - set(model.model_fields))
        if gp_only:
            raise config.ConfigError(f"setting {gp_only[0]!r} applies to genetic programming "
                                     "(tree problems) only")
    return config.validate(model, {**problem.defaults, **given})


def make_optimizer(problem: Problem, settings: config.AlgorithmSettings | None = None, *,
                   toolbox=None) -> Evolution:
    """The ask/tell optimizer that ``settings.algorithm`` names (genetic programming for a
    problem whose genome kind is ``"tree"``; the problem's own, if it brings one). The
    problem's defaults sit under ``settings`` (:func:`with_problem_defaults`)."""
    settings = with_problem_defaults(problem, settings)
    own = problem.own_optimizer(settings, toolbox=toolbox)
    if own is not None:
        return own
    if problem.genome.kind == "tree":
        from evoengine.gp.algorithm import GeneticProgramming

        return GeneticProgramming(problem, settings, toolbox=toolbox)
    return ALGORITHMS[settings.algorithm](problem, settings, toolbox=toolbox)


def optimize(problem: Problem, settings: config.AlgorithmSettings | None = None, *,
             toolbox=None, on_generation: Callable[[Evolution], None] | None = None,
             optimizer: Evolution | None = None, checkpoint=None,
             problem_name: str | None = None, folder: str | Path | None = None,
             plugins: pluggy.PluginManager | None = None, recorder: Recorder | None = None,
             resumed: bool = False, device: str = "cpu",
             run_config: Mapping[str, Any] | None = None,
             before_end: Callable[[RunResult], None] | None = None) -> RunResult:
    """Run to a stop criterion. This is exactly the ask/tell loop::

        opt = make_optimizer(problem, settings)
        hooks.evoengine_run_start(run)
        with open_backend(problem, settings) as evaluate:    # settings.backend
            while not opt.stop():
                genomes = opt.ask()
                context = EvaluationContext(opt.seed, generation, row_ids, device, artifacts)
                outcome = evaluate(genomes, context)   # failed rows NaN, or stop: on_error
                opt.tell(outcome.fitness, outcome.info)
                summary = problem.summarize(genomes, evaluation, context)
                recorder.record(generation, summary, logbook_row)
                hooks.evoengine_generation_end(run, record)
        before_end(result)                              # e.g. write the run folder
        result.report = hooks.evoengine_run_end(run, result)

    Row ids count the run's evaluations, so a row's context never depends on the backend,
    on how it split the batch, or on a resume.

    :param optimizer: continue this optimizer (restored from a checkpoint) instead of a new one.
    :param checkpoint: an :class:`evoengine.checkpoint.Checkpointer`; it saves every
        ``checkpoint_every`` generations, at the end, and on Ctrl-C (the state after the last
        whole generation, the recorder's included), then the KeyboardInterrupt goes on.
    :param problem_name: how fault messages and hooks name the problem.
    :param folder: the run folder (records, artifacts), or None.
    :param plugins: the plugin manager whose lifecycle hooks see the run (default: none).
    :param recorder: continue this recorder (restored from a checkpoint).
    :param resumed: the run continues from a checkpoint (told to the hooks).
    :param device: where evaluations may compute (``context.device``).
    :param run_config: every setting in force, for the hooks (``RunView.config``).
    :param before_end: called with the result before the ``evoengine_run_end`` hooks.

    ``settings`` may be left out or give only some keys: the problem's ``defaults`` fill in
    the ones the user did not set (:func:`with_problem_defaults`).
    """
    from evoengine.backends import open_backend, settle
    from evoengine.observers import attach_observers
    from evoengine.plugins import call_hook, new_manager

    settings = with_problem_defaults(problem, settings)

    opt = optimizer or make_optimizer(problem, settings, toolbox=toolbox)
    name = problem_name or type(problem).__name__
    folder = None if folder is None else Path(folder)
    recorder = recorder if recorder is not None else Recorder(folder)
    manager = plugins or new_manager()
    attach_observers(manager, getattr(opt.settings, "observer", []))  # --set observer=...
    run = RunView(name, problem, opt.settings, folder, resumed, recorder,
                  dict(run_config or {}))
    recorder.start()  # makes the run folder
    artifacts = None
    if folder is not None:
        artifacts = folder / ARTIFACTS_FOLDER
        artifacts.mkdir(exist_ok=True)
    call_hook(manager, "evoengine_run_start", run=run)
    # An optimizer that evaluates its own members (population-based training: the weights
    # are its state) brings its backend; the others evaluate where the settings say.
    own_backend = getattr(opt, "own_backend", None)
    backend = own_backend() if own_backend is not None else open_backend(problem, settings)
    with backend as evaluate:
        while not opt.stop():
            rng_state = opt.rng.bit_generator.state
            try:
                genomes = opt.ask()
                context = EvaluationContext(
                    opt.seed, opt.generation + 1,
                    opt.evaluations + np.arange(len(genomes), dtype=np.int64), device,
                    artifacts)
                outcome = evaluate(genomes, context)
                fitness = settle(outcome, genomes, on_error=settings.on_error,
                                 problem_name=name, generation=opt.generation + 1)
            except KeyboardInterrupt:
                if checkpoint is not None and opt.generation >= 0:
                    opt.cancel_ask(rng_state)
                    checkpoint.save(opt, recorder)
                raise
            opt.tell(fitness, outcome.info)
            evaluation = Evaluation(fitness, outcome.info)
            summary = problem.summarize(genomes, evaluation, context)
            row = dict(opt.logbook[-1])
            recorder.record(opt.generation, summary, row)
            call_hook(manager, "evoengine_generation_end", run=run, record=GenerationRecord(
                opt.generation, genomes, fitness, outcome.info, row, dict(summary.scalars),
                dict(summary.images), dict(summary.tables)))
            if on_generation is not None:
                on_generation(opt)
            if checkpoint is not None:
                checkpoint.maybe_save(opt, recorder)
    if checkpoint is not None:
        checkpoint.save(opt, recorder)
    if not len(opt.hall_of_fame):
        raise NoValidSolutionError(_no_valid_solution(opt, name))
    result = result_of(opt)
    if before_end is not None:
        before_end(result)
    for lines in call_hook(manager, "evoengine_run_end", run=run, result=result):
        result.report.extend(lines)
    return result


def _no_valid_solution(opt: Evolution, name: str) -> str:
    return (f"problem {name!r}: no valid individual in {opt.generation + 1} generations; all "
            f"{opt.evaluations} evaluations failed (NaN, inf or an error), so there is no best "
            "to report; check that the problem can be evaluated within its bounds and data")


def result_of(opt: Evolution) -> RunResult:
    genome, fitness = opt.best
    return RunResult(genome, fitness, opt.logbook, opt.hall_of_fame, opt.generation,
                     opt.evaluations, opt.failures, opt.stop(), opt.best_info)


@dataclass
class PreparedRun:
    """A problem built from validated settings, ready for :func:`optimize`."""

    entry: ProblemEntry
    problem: Problem
    problem_settings: Any
    settings: config.AlgorithmSettings

    def as_dict(self) -> dict[str, Any]:
        """Every setting in force, problem and algorithm, for the run folder's config.toml."""
        out = {"problem": self.entry.name}
        out.update(self.problem_settings.model_dump(exclude_none=True))
        out.update(self.settings.model_dump(exclude_none=True))
        return out


def prepare(entry: ProblemEntry, values: Mapping[str, Any]) -> PreparedRun:
    """Validate flat settings against the problem's model and the algorithm's, and build the
    problem. The problem's own defaults sit under the user's values."""
    values = {k: v for k, v in values.items() if k != "problem"}
    problem_values, algorithm_values = config.split_settings(values, entry.settings)
    problem_settings = config.validate(entry.settings, problem_values)
    problem = entry.build(problem_settings)
    merged = {**problem.defaults, **algorithm_values}
    model = config.GPSettings if problem.genome.kind == "tree" else config.AlgorithmSettings
    gp_only = sorted(set(merged) - set(model.model_fields))
    if gp_only:
        raise config.ConfigError(f"setting {gp_only[0]!r} applies to genetic programming "
                                 "(tree problems) only")
    settings = config.validate(model, merged)
    check_population(settings, problem.genome)
    # The operators in force and their derived values (sigma, gene rate) go into config.toml.
    settings = resolve_operators(settings, problem.genome)
    return PreparedRun(entry, problem, problem_settings, settings)


@dataclass
class ProblemRun(RunResult):
    """A run of a registered problem (:func:`run_problem`): its result, and what ran."""

    problem_name: str = ""
    prepared: PreparedRun | None = None
    folder: Path | None = None
    started: str | None = None      # ISO time the run started
    seconds: float | None = None    # how long it ran

    @property
    def problem(self) -> Problem:
        return self.prepared.problem

    @property
    def settings(self) -> dict[str, Any]:
        """Every setting in force, as the run folder's ``config.toml`` holds them."""
        return self.prepared.as_dict()

    def solution(self) -> dict[str, Any]:
        """The best solution in the problem's own words (``best.json``'s ``solution``)."""
        return describe_solution(self.problem, self.best_genome, self.best_info)

    def write_run_folder(self, folder: str | Path | None = None, *, out: str | Path = "runs"
                         ) -> Path:
        """Write the run folder ``evoengine run`` writes (``config.toml``, ``logbook.csv``,
        ``best.json``, ``convergence.png``) into ``folder`` or a new ``out/<problem>-<time>``.
        Returns it. (A plugin's closing report, from its ``evoengine_run_end`` hook, is
        written only for a run that had its folder from the start: ``run_problem(out=...)``;
        its lines are in :attr:`report`.)"""
        from evoengine.report import new_run_folder, write_run_folder
        from evoengine.runs import mark_finished

        folder = Path(folder) if folder is not None else new_run_folder(out, self.problem_name)
        write_run_folder(folder, self.settings, self.problem_name, self.problem, self)
        mark_finished(folder, self)
        self.folder = folder
        return folder


def run_problem(problem: str, /, *, out: str | Path | None = None,
                config_file: str | Path | None = None, **settings: Any) -> ProblemRun:
    """Run the registered problem named ``problem`` as ``evoengine run`` does: the same
    plugins, validation (a mistake raises :class:`~evoengine.errors.ConfigError` naming the
    setting), the problem's defaults under your settings, and a seed drawn and recorded when
    none is given::

        import evoengine

        run = evoengine.run_problem("rastrigin", dimension=30, generations=50, seed=1)
        run.best_value            # a float for one objective
        run.solution()            # the best solution in the problem's words
        run.write_run_folder()    # runs/rastrigin-<time>/, as the command line writes it

    :param settings: problem and algorithm settings by key (``--set key=value``).
    :param config_file: a TOML file of settings, under ``settings`` (``-c``).
    :param out: make the run folder in this folder as the run starts, with checkpoints, so
        ``evoengine resume`` can continue an interrupted run; ``None`` writes nothing until
        :meth:`ProblemRun.write_run_folder`.
    """
    import secrets

    from evoengine.plugins import load_plugins

    loaded = load_plugins()
    entry = loaded.registry.get(problem)
    values = config.read_toml(config_file) if config_file is not None else {}
    values.update(settings)
    prepared = prepare(entry, values)
    if prepared.settings.seed is None:  # record the seed actually used, so the run repeats
        prepared.settings.seed = secrets.randbits(32)
    checkpoint = folder = None
    if out is not None:
        from evoengine.checkpoint import Checkpointer, RunInfo
        from evoengine.report import new_run_folder

        folder = new_run_folder(out, problem)
        plugin = loaded.plugins.get(entry.plugin)
        info = RunInfo(entry.name, entry.plugin, plugin.version if plugin else "-",
                       prepared.as_dict())
        checkpoint = Checkpointer(folder, info, prepared.settings.checkpoint_every)
    started, clock = datetime.now().astimezone().isoformat(timespec="seconds"), time.time()

    def write_folder(result: RunResult) -> None:  # before the run_end hooks read it
        from evoengine.report import write_run_folder

        write_run_folder(folder, prepared.as_dict(), problem, prepared.problem, result)

    with recorded(folder, problem) if folder is not None else nullcontext():
        result = optimize(prepared.problem, prepared.settings, checkpoint=checkpoint,
                          problem_name=problem, folder=folder, plugins=loaded.manager,
                          run_config=prepared.as_dict(),
                          before_end=write_folder if folder is not None else None)
        run = ProblemRun(**vars(result), problem_name=problem, prepared=prepared,
                         started=started, seconds=round(time.time() - clock, 3))
        if folder is not None:
            from evoengine.runs import mark_finished

            mark_finished(folder, run)
            run.folder = folder
    return run
