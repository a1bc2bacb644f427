"""The operators a run uses, chosen by name in the settings or taken from a DEAP toolbox.

Every operator works on a whole population in place, so the algorithms never loop in Python:

- ``select(scores, k) -> rows``
- ``mate(genomes, changed, probability)`` on pairs of rows ``(2i, 2i+1)``
- ``mutate(genomes, changed, probability)`` on each row

A ``deap.base.Toolbox`` with ``select``, ``mate`` or ``mutate`` registered replaces the
built-in operator of that name: rows become DEAP individuals, go through the DEAP function, and
come back. Slower, but any DEAP operator works. DEAP operators draw from Python's global
``random``; it is reseeded from the run's generator before each call, so runs stay reproducible.
"""

from __future__ import annotations

import random
from functools import partial

import numpy as np

from evoengine import operators as ops
from evoengine.config import AlgorithmSettings
from evoengine.deap_bridge import Fitness, Individual
from evoengine.errors import ConfigError
from evoengine.problem import Genome


class Variation:
    """Selection, crossover, mutation and bounds for one run."""

    def __init__(self, settings: AlgorithmSettings, genome: Genome,
                 rng: np.random.Generator, toolbox=None) -> None:
        self.rng = rng
        self.low, self.high = genome.lower, genome.upper
        self.bounded = genome.kind in ("real", "integer") and (
            np.isfinite(self.low).any() or np.isfinite(self.high).any())
        self.bounds_strategy = settings.bounds_strategy
        self.select = self._builtin_select(settings)
        self.mate = self._builtin_mate(settings)
        self.mutate = self._builtin_mutate(settings, genome)
        if toolbox is not None:
            self._use_toolbox(toolbox)

    # --- built-ins -----------------------------------------------------------------------
    def _builtin_select(self, s: AlgorithmSettings):
        if s.selection == "best":
            return lambda scores, k: ops.sel_best(scores, k)
        return lambda scores, k: ops.sel_tournament(scores, k, s.tournament_size, self.rng)

    def _builtin_mate(self, s: AlgorithmSettings):
        if s.crossover == "blend":
            return lambda g, changed, p: ops.cx_blend(g, changed, p, s.blend_alpha, self.rng)
        midpoint = s.crossover == "midpoint"
        return lambda g, changed, p: ops.cx_one_point(g, changed, p, self.rng, midpoint=midpoint)

    def _builtin_mutate(self, s: AlgorithmSettings, genome: Genome):
        gene_p = s.gene_probability if s.gene_probability is not None else 1.0 / genome.length
        if s.mutation == "uniform":
            return lambda g, changed, p: ops.mut_uniform(
                g, changed, p, gene_p, s.mutation_width, self.rng)
        if s.mutation == "uniform_one_gene":
            if s.mutation_gene is not None and s.mutation_gene > genome.length:
                raise ConfigError(f"setting 'mutation_gene': {s.mutation_gene} is past the "
                                  f"genome's {genome.length} genes")
            gene = -1 if s.mutation_gene is None else s.mutation_gene - 1
            return lambda g, changed, p: ops.mut_uniform_one_gene(
                g, changed, p, gene, s.mutation_width, self.rng)
        sigma = s.mutation_sigma
        if sigma is None:
            width = self.high - self.low
            sigma = float(np.mean(width)) / 10 if np.all(np.isfinite(width)) else 1.0
        return lambda g, changed, p: ops.mut_gaussian(g, changed, p, gene_p, 0.0, sigma,
                                                      self.rng)

    def bound(self, genomes: np.ndarray) -> np.ndarray:
        """Bounds and integrality after variation; returns the array to keep."""
        if self.bounded:
            ops.apply_bounds(genomes, self.low, self.high, self.bounds_strategy)
        return genomes

    # --- DEAP toolbox operators ----------------------------------------------------------
    def _use_toolbox(self, toolbox) -> None:
        if hasattr(toolbox, "select"):
            self.select = partial(_deap_select, toolbox.select, self.rng)
        if hasattr(toolbox, "mate"):
            self.mate = partial(_deap_mate, toolbox.mate, self.rng)
        if hasattr(toolbox, "mutate"):
            self.mutate = partial(_deap_mutate, toolbox.mutate, self.rng)


def _deap_select(select, rng, scores, k):
    random.seed(int(rng.integers(2**63)))
    # Scores already carry the objective's sense, so the individuals maximize a single value.
    pop = [Individual((), Fitness((1.0,), (float(v),) if np.isfinite(v) else ()), row=i)
           for i, v in enumerate(scores)]
    for ind in pop:
        if not ind.fitness.valid:  # DEAP compares wvalues; failed rows rank last
            ind.fitness.values = (-np.finfo(float).max,)
    return np.array([ind.row for ind in select(pop, k)], dtype=np.int64)


def _deap_mate(mate, rng, genomes, changed, probability):
    random.seed(int(rng.integers(2**63)))
    for a in range(0, len(genomes) - 1, 2):
        if rng.random() < probability:
            x, y = Individual(genomes[a].tolist()), Individual(genomes[a + 1].tolist())
            x, y = mate(x, y)
            genomes[a], genomes[a + 1] = x, y
            changed[a] = changed[a + 1] = True


def _deap_mutate(mutate, rng, genomes, changed, probability):
    random.seed(int(rng.integers(2**63)))
    for i in range(len(genomes)):
        if rng.random() < probability:
            (ind,) = mutate(Individual(genomes[i].tolist()))
            genomes[i] = ind
            changed[i] = True
