"""The ask/tell core every algorithm shares.

``ask()`` returns the genomes that need a fitness; ``tell(fitness)`` takes it back. The public
methods do the bookkeeping (generation count, evaluations, failed evaluations, DEAP statistics,
logbook and hall of fame); an algorithm implements only ``_offspring`` and ``_replace``.

The population is two arrays: ``genomes`` (``N x D``) and ``fitness`` (``N x M``, raw objective
values). Selection works on ``scores``: the fitness times the objective's weight (+1 maximize,
-1 minimize), with failed rows (NaN or inf) at ``-inf``, so they are never chosen as best.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from deap import tools

from evoengine.algorithms.variation import Variation
from evoengine.config import AlgorithmSettings
from evoengine.deap_bridge import to_individuals
from evoengine.errors import ConfigError
from evoengine.problem import Problem


def _valid(values):
    # Statistics.compile gets [fitness array] (see _record), so values[0] is N x M.
    return values[0]


def _stat(func):
    def compute(values):
        column = _valid(values)
        if len(column) == 0:
            return float("nan")
        out = func(column, axis=0)
        return float(out[0]) if out.shape == (1,) else out.tolist()

    compute.__name__ = func.__name__
    return compute


def make_statistics() -> tools.Statistics:
    """DEAP statistics over the valid fitness values of a generation."""
    stats = tools.Statistics()
    stats.register("avg", _stat(np.mean))
    stats.register("std", _stat(np.std))
    stats.register("min", _stat(np.min))
    stats.register("max", _stat(np.max))
    return stats


@dataclass
class Offspring:
    """What ``_offspring`` proposes: genomes, the fitness they inherit, rows to evaluate."""

    genomes: np.ndarray
    fitness: np.ndarray
    changed: np.ndarray


class Evolution:
    """Base of the ask/tell algorithms. Use through a subclass, or :func:`evoengine.optimize`."""

    name = "base"

    def __init__(self, problem: Problem, settings: AlgorithmSettings, *, toolbox=None) -> None:
        if len(problem.objectives) != 1:
            raise ConfigError(
                f"algorithm {settings.algorithm!r} optimizes one objective; this problem has "
                f"{len(problem.objectives)}"
            )
        self.problem = problem
        self.settings = settings
        self.rng = np.random.default_rng(settings.seed)
        self.weights = problem.weights
        self.variation = Variation(settings, problem.genome, self.rng, toolbox)
        self.genomes: np.ndarray | None = None
        self.fitness: np.ndarray | None = None
        self.generation = -1  # the initial population is generation 0
        self.evaluations = 0
        self.failures = 0
        self.logbook = tools.Logbook()
        self.logbook.header = ["gen", "nevals", "failed", "avg", "std", "min", "max", "best"]
        self.statistics = make_statistics()
        self.hall_of_fame = tools.HallOfFame(settings.hall_of_fame_size, similar=np.array_equal)
        self._pending: Offspring | None = None

    # --- public ask/tell -----------------------------------------------------------------
    def ask(self) -> np.ndarray:
        """The genomes whose fitness :meth:`tell` expects next (a copy the caller may keep)."""
        if self._pending is not None:
            raise RuntimeError("ask() called twice without tell()")
        if self.genomes is None:
            size = self.settings.population_size
            genomes = np.asarray(self.problem.initial_population(size, self.rng))
            genomes = genomes.astype(self.problem.genome.dtype, copy=False)
            nan = np.full((size, len(self.weights)), np.nan)
            self._pending = Offspring(genomes, nan, np.ones(size, dtype=bool))
        else:
            self._pending = self._offspring()
        return self._pending.genomes[self._pending.changed].copy()

    def tell(self, fitness: np.ndarray) -> None:
        """Fitness of the genomes the last :meth:`ask` returned, ``K x M``."""
        pending, self._pending = self._pending, None
        if pending is None:
            raise RuntimeError("tell() called without ask()")
        fitness = np.asarray(fitness, dtype=float).reshape(-1, len(self.weights))
        count = int(pending.changed.sum())
        if len(fitness) != count:
            raise ValueError(f"tell() got {len(fitness)} fitness rows for {count} genomes")
        pending.fitness[pending.changed] = fitness
        failed = int((~np.isfinite(fitness)).any(axis=1).sum())
        if self.genomes is None:
            self.genomes, self.fitness = pending.genomes, pending.fitness
        else:
            self.genomes, self.fitness = self._replace(pending)
        self.generation += 1
        self.evaluations += count
        self.failures += failed
        self._record(count, failed)

    def stop(self) -> list[str]:
        """Names of the stop criteria that fired; empty while the run should go on."""
        reasons = []
        if self.generation >= self.settings.generations:
            reasons.append(f"generations: reached {self.settings.generations}")
        return reasons

    # --- what subclasses implement -------------------------------------------------------
    def _offspring(self) -> Offspring:
        raise NotImplementedError

    def _replace(self, offspring: Offspring) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    # --- helpers -------------------------------------------------------------------------
    def scores(self, fitness: np.ndarray | None = None) -> np.ndarray:
        """One number per row, higher is better, failed rows at -inf."""
        fitness = self.fitness if fitness is None else fitness
        score = fitness[:, 0] * self.weights[0]
        return np.where(np.isfinite(score), score, -np.inf)

    def vary(self, genomes: np.ndarray, fitness: np.ndarray, *, crossover: bool = True,
             mutation: bool = True) -> Offspring:
        """Crossover on pairs, then mutation, with the settings' probabilities (DEAP varAnd)."""
        changed = np.zeros(len(genomes), dtype=bool)
        if crossover:
            self.variation.mate(genomes, changed, self.settings.crossover_probability)
        if mutation:
            self.variation.mutate(genomes, changed, self.settings.mutation_probability)
        genomes = self.variation.bound(genomes)
        fitness[changed] = np.nan
        return Offspring(genomes, fitness, changed)

    @property
    def best(self) -> tuple[np.ndarray, np.ndarray]:
        """Best genome and its fitness over the whole run (from the hall of fame)."""
        if not len(self.hall_of_fame):
            raise RuntimeError("no valid individual has been evaluated yet")
        top = self.hall_of_fame[0]
        return np.asarray(top, dtype=self.problem.genome.dtype), np.array(top.fitness.values)

    def _record(self, nevals: int, failed: int) -> None:
        valid = np.isfinite(self.fitness).all(axis=1)
        scores = self.scores()
        k = min(self.hall_of_fame.maxsize, int(valid.sum()))
        if k:
            # Only the generation's top k can enter a hall of fame of size k.
            top = np.argsort(-scores, kind="stable")[:k]
            self.hall_of_fame.update(
                to_individuals(self.genomes[top], self.fitness[top], self.weights))
        record = self.statistics.compile([self.fitness[valid]])
        best = self.best[1].tolist() if len(self.hall_of_fame) else [float("nan")]
        self.logbook.record(gen=self.generation, nevals=nevals, failed=failed,
                            best=best[0] if len(best) == 1 else best, **record)
