"""Crossover on a whole population: rows ``2i`` and ``2i+1`` form pair ``i``.

Each pair is mated with probability ``probability``, in place; ``changed`` is set for the rows
that were. Pair ``i`` draws from its own stream, so results do not depend on thread count.
"""

import numpy as np
from numba import prange

from evoengine.operators.compile import population_kernel
from evoengine.operators.streams import below, new_seed, stream, uniform


@population_kernel
def _one_point(genomes, changed, probability, midpoint, seed):
    n, d = genomes.shape
    for p in prange(n // 2):
        s = stream(seed, p)
        s, u = uniform(s)
        if u >= probability or d < 2:
            continue
        if midpoint:
            point = d // 2
        else:
            s, point = below(s, d - 1)
            point += 1
        a, b = 2 * p, 2 * p + 1
        for j in range(point, d):
            tmp = genomes[a, j]
            genomes[a, j] = genomes[b, j]
            genomes[b, j] = tmp
        changed[a] = True
        changed[b] = True


@population_kernel
def _blend(genomes, changed, probability, alpha, seed):
    n, d = genomes.shape
    for p in prange(n // 2):
        s = stream(seed, p)
        s, u = uniform(s)
        if u >= probability:
            continue
        a, b = 2 * p, 2 * p + 1
        for j in range(d):
            s, u = uniform(s)
            gamma = (1.0 + 2.0 * alpha) * u - alpha
            x1, x2 = genomes[a, j], genomes[b, j]
            genomes[a, j] = (1.0 - gamma) * x1 + gamma * x2
            genomes[b, j] = gamma * x1 + (1.0 - gamma) * x2
        changed[a] = True
        changed[b] = True


def cx_one_point(genomes: np.ndarray, changed: np.ndarray, probability: float,
                 rng: np.random.Generator, *, midpoint: bool = False) -> None:
    """Swap the genes after a cut point, drawn in ``1..D-1`` (``cxOnePoint``) or ``D // 2``."""
    _one_point(len(genomes) // 2, genomes, changed, probability, midpoint, new_seed(rng))


def cx_blend(genomes: np.ndarray, changed: np.ndarray, probability: float, alpha: float,
             rng: np.random.Generator) -> None:
    """BLX-alpha per gene, as DEAP's ``cxBlend``: ``gamma ~ U(-alpha, 1 + alpha)``."""
    _blend(len(genomes) // 2, genomes, changed, probability, alpha, new_seed(rng))
