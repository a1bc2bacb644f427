"""Running a problem to the end: the ask/tell loop, and building a run from settings."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from deap import tools

from evoengine import config
from evoengine.algorithms import ALGORITHMS, Evolution
from evoengine.problem import Problem, evaluate_population
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
    """The ask/tell optimizer that ``settings.algorithm`` names."""
    return ALGORITHMS[settings.algorithm](problem, settings, toolbox=toolbox)


def optimize(problem: Problem, settings: config.AlgorithmSettings, *, toolbox=None,
             on_generation: Callable[[Evolution], None] | None = None) -> RunResult:
    """Run to a stop criterion. This is exactly the ask/tell loop::

        opt = make_optimizer(problem, settings)
        while not opt.stop():
            genomes = opt.ask()
            opt.tell(problem.evaluate(genomes))
    """
    opt = make_optimizer(problem, settings, toolbox=toolbox)
    while not opt.stop():
        genomes = opt.ask()
        opt.tell(evaluate_population(problem, genomes))
        if on_generation is not None:
            on_generation(opt)
    return result_of(opt)


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
    settings = config.validate(config.AlgorithmSettings, merged)
    return PreparedRun(entry, problem, problem_settings, settings)
