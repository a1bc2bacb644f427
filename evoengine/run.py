"""Running a problem to the end: the ask/tell loop, and building a run from settings."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
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


def make_optimizer(problem: Problem, settings: config.AlgorithmSettings, *,
                   toolbox=None) -> Evolution:
    """The ask/tell optimizer that ``settings.algorithm`` names (genetic programming for a
    problem whose genome kind is ``"tree"``; the problem's own, if it brings one)."""
    own = problem.own_optimizer(settings, toolbox=toolbox)
    if own is not None:
        return own
    if problem.genome.kind == "tree":
        from evoengine.gp.algorithm import GeneticProgramming

        return GeneticProgramming(problem, settings, toolbox=toolbox)
    return ALGORITHMS[settings.algorithm](problem, settings, toolbox=toolbox)


def optimize(problem: Problem, settings: config.AlgorithmSettings, *, toolbox=None,
             on_generation: Callable[[Evolution], None] | None = None,
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
    """
    from evoengine.backends import open_backend, settle

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
