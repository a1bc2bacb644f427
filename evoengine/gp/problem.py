"""Problems whose individuals are trees: what a plugin hands the GP engine.

A plugin gives its language (a :class:`~evoengine.gp.primitives.PrimitiveSet`, e.g. its
features as variables) and a batched fitness of a :class:`~evoengine.gp.trees.Trees`
population; the engine evolves trees with :class:`~evoengine.gp.algorithm.GeneticProgramming`
when ``evoengine.optimize`` sees the genome kind ``"tree"``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from evoengine.gp.primitives import PrimitiveSet
from evoengine.gp.trees import NODE_DTYPE, Trees
from evoengine.problem import Genome, Objective, Problem


class TreeProblem(Problem):
    """Base of tree problems: override :meth:`evaluate` (``Trees`` -> N x M), or pass a
    batched ``fitness`` function. ``max_size`` is the default size limit of a tree."""

    def __init__(self, primitives: PrimitiveSet, *,
                 fitness: Callable[..., np.ndarray] | None = None,
                 objectives: tuple[Objective, ...] = (Objective("error", "minimize"),),
                 defaults: Mapping[str, Any] | None = None, notes: tuple[str, ...] = (),
                 max_size: int = 128) -> None:
        primitives.tables  # check the set now: a missing terminal type is a user error
        super().__init__(genome=Genome("tree", max_size), objectives=objectives,
                         defaults=dict(defaults or {}), notes=notes)
        self.primitives = primitives
        self._fitness = fitness

    def evaluate(self, trees: Trees, context=None) -> np.ndarray:
        """The ``fitness`` function's values; it gets the evaluation context too when it takes
        two arguments (``fitness(trees, context)``)."""
        if self._fitness is None:
            raise NotImplementedError(f"{type(self).__name__} must override evaluate(trees) "
                                      "or be given a fitness function")
        if context is not None and _takes_two(self._fitness):
            values = self._fitness(trees, context)
        else:
            values = self._fitness(trees)
        return np.asarray(values, dtype=float).reshape(len(trees), -1)

    def seed_trees(self) -> list[np.ndarray]:
        """Trees (node arrays) the first population starts with, in place of as many random
        ones: e.g. what a problem's exact pre-step found. None by default."""
        return []

    def trees_of(self, genomes) -> Trees:
        """One tree (a node array, as in ``best.json``) or a list of them, as ``Trees``."""
        if isinstance(genomes, Trees):
            return genomes
        if isinstance(genomes, np.ndarray) and genomes.dtype == NODE_DTYPE:
            genomes = [genomes]
        return Trees.from_nodes(self.primitives, [np.asarray(g, NODE_DTYPE) for g in genomes])

    def describe(self, genome) -> dict[str, Any]:
        trees = self.trees_of(genome)
        return {"tree": trees.to_string(0), "infix": trees.to_infix(0),
                "size": int(trees.lengths[0])}


def _takes_two(func) -> bool:
    try:
        parameters = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY,
                                                      p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in parameters)
