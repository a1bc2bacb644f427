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
from deap import tools

from evoengine import config
from evoengine.algorithms import ALGORITHMS, Evolution
from evoengine.algorithms.variation import resolve_operators
from evoengine.errors import NoValidSolutionError
from evoengine.limits import check_population
from evoengine.problem import Problem
from evoengine.registry import ProblemEntry
from evoengine.runs import recorded


@dataclass
class RunResult:
    """What a finished run leaves: the best solution, the logbook and why it stopped."""

    best_genome: np.ndarray
    best_fitness: np.ndarray
    logbook: tools.Logbook
    hall_of_fame: tools.HallOfFame
    generations: int
    evaluations: int
    failures: int
    stop_reasons: list[str]

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
             problem_name: str | None = None) -> RunResult:
    """Run to a stop criterion. This is exactly the ask/tell loop::

        opt = make_optimizer(problem, settings)
        with open_backend(problem, settings) as evaluate:    # settings.backend
            while not opt.stop():
                genomes = opt.ask()
                opt.tell(evaluate(genomes))     # failed rows NaN, or stop: settings.on_error

    :param optimizer: continue this optimizer (restored from a checkpoint) instead of a new one.
    :param checkpoint: an :class:`evoengine.checkpoint.Checkpointer`; it saves every
        ``checkpoint_every`` generations, at the end, and on Ctrl-C (the state after the last
        whole generation), then the KeyboardInterrupt goes on.
    :param problem_name: how fault messages name the problem.

    ``settings`` may be left out or give only some keys: the problem's ``defaults`` fill in
    the ones the user did not set (:func:`with_problem_defaults`).
    """
    from evoengine.backends import open_backend, settle

    settings = with_problem_defaults(problem, settings)

    opt = optimizer or make_optimizer(problem, settings, toolbox=toolbox)
    name = problem_name or type(problem).__name__
    # An optimizer that evaluates its own members (population-based training: the weights
    # are its state) brings its backend; the others evaluate where the settings say.
    own_backend = getattr(opt, "own_backend", None)
    backend = own_backend() if own_backend is not None else open_backend(problem, settings)
    with backend as evaluate:
        while not opt.stop():
            rng_state = opt.rng.bit_generator.state
            try:
                genomes = opt.ask()
                fitness = settle(evaluate(genomes), genomes, on_error=settings.on_error,
                                 problem_name=name, generation=opt.generation + 1)
            except KeyboardInterrupt:
                if checkpoint is not None and opt.generation >= 0:
                    opt.cancel_ask(rng_state)
                    checkpoint.save(opt)
                raise
            opt.tell(fitness)
            if on_generation is not None:
                on_generation(opt)
            if checkpoint is not None:
                checkpoint.maybe_save(opt)
    if checkpoint is not None:
        checkpoint.save(opt)
    if not len(opt.hall_of_fame):
        raise NoValidSolutionError(_no_valid_solution(opt, name))
    return result_of(opt)


def _no_valid_solution(opt: Evolution, name: str) -> str:
    return (f"problem {name!r}: no valid individual in {opt.generation + 1} generations; all "
            f"{opt.evaluations} evaluations failed (NaN, inf or an error), so there is no best "
            "to report; check that the problem can be evaluated within its bounds and data")


def result_of(opt: Evolution) -> RunResult:
    genome, fitness = opt.best
    return RunResult(genome, fitness, opt.logbook, opt.hall_of_fame, opt.generation,
                     opt.evaluations, opt.failures, opt.stop())


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
    report: list[str] = field(default_factory=list)
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
        return self.problem.describe(self.best_genome)

    def write_run_folder(self, folder: str | Path | None = None, *, out: str | Path = "runs"
                         ) -> Path:
        """Write the run folder ``evoengine run`` writes (``config.toml``, ``logbook.csv``,
        ``best.json``, ``convergence.png`` and the problem's own report, whose lines land in
        :attr:`report`), into ``folder`` or a new ``out/<problem>-<time>``. Returns it."""
        from evoengine.report import new_run_folder, write_run_folder
        from evoengine.runs import mark_finished

        folder = Path(folder) if folder is not None else new_run_folder(out, self.problem_name)
        write_run_folder(folder, self.settings, self.problem_name, self.problem, self)
        self.report = list(self.problem.finish_run(folder, self.best_genome))
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
    with recorded(folder, problem) if folder is not None else nullcontext():
        if folder is not None:
            prepared.problem.start_run(folder)
        result = optimize(prepared.problem, prepared.settings, checkpoint=checkpoint,
                          problem_name=problem)
        run = ProblemRun(**vars(result), problem_name=problem, prepared=prepared,
                         started=started, seconds=round(time.time() - clock, 3))
        if folder is not None:
            run.write_run_folder(folder)
    return run
