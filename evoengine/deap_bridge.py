"""DEAP objects for rows of a NumPy population.

DEAP's hall of fame and toolbox operators work on individuals that carry a ``fitness``.
These classes are defined once, here, at module level: ``creator.create`` is never called, so
nothing is written into DEAP's globals at run time and everything pickles (DEAP/deap#57).
"""

from __future__ import annotations

import numpy as np
from deap import base


class Fitness(base.Fitness):
    """A DEAP fitness whose weights belong to the instance, not to a class made at run time."""

    weights = ()

    def __init__(self, weights=(), values=()):
        self.weights = tuple(weights)
        super().__init__(values)

    def __deepcopy__(self, memo):
        copy = Fitness(self.weights)
        copy.wvalues = self.wvalues
        return copy

    def __reduce__(self):
        return (Fitness, (self.weights, self.values))


class Individual(list):
    """One genome as a list of genes (what DEAP operators expect), with its fitness and the
    population row it came from."""

    def __init__(self, genes=(), fitness: Fitness | None = None, row: int = -1):
        super().__init__(genes)
        self.fitness = fitness if fitness is not None else Fitness()
        self.row = row

    def __deepcopy__(self, memo):
        # Genes are floats or ints: a shallow list copy is a deep one. (The hall of fame copies
        # every individual it admits; copy.deepcopy's generic path is most of its cost.)
        return Individual(self, self.fitness.__deepcopy__(memo), self.row)

    def __reduce__(self):
        return (Individual, (list(self), self.fitness, self.row))


def to_individuals(genomes: np.ndarray, fitness: np.ndarray | None,
                   weights: np.ndarray) -> list[Individual]:
    """Rows as DEAP individuals; a row whose fitness holds NaN gets an invalid (empty) fitness."""
    rows = genomes.tolist()
    if fitness is None:
        return [Individual(genes, Fitness(weights), row=i) for i, genes in enumerate(rows)]
    valid = np.isfinite(fitness).all(axis=1).tolist()
    return [Individual(genes, Fitness(weights, tuple(values) if ok else ()), row=i)
            for i, (genes, values, ok) in enumerate(zip(rows, fitness.tolist(), valid,
                                                        strict=True))]
