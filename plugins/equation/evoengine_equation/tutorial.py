"""Gad's tutorial: find weights w1..w6 maximizing y = w1*x1 + ... + w6*x6.

Faithful to "Genetic Algorithm Implementation in Python" (A. Gad): inputs
(4, -2, 3.5, 5, -11, -4.7), 8 solutions, genes starting in U(-4, 4), the 4 best kept as
parents, single-point crossover at the middle with parents paired around a ring, U(-1, 1) added
to the fifth gene of each child. The article's text runs 5 generations, its project code 1000;
1000 is the default here.

Without bounds the problem is unbounded: y grows for ever as the weights grow, so the "best"
is only where the run stopped. With ``bounds=[-4, 4]`` the maximum is 4 * sum(|x|) = 120.8.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from evoengine import Genome, Objective, Problem
from evoengine.kernels import population_kernel

TUTORIAL_INPUTS = (4.0, -2.0, 3.5, 5.0, -11.0, -4.7)
TUTORIAL_DEFAULTS = {
    "algorithm": "steady_state",
    "population_size": 8,
    "parents": 4,
    "generations": 1000,
    "selection": "best",
    "crossover": "midpoint",
    "crossover_probability": 1.0,
    "mutation": "uniform_one_gene",
    "mutation_gene": 5,
    "mutation_width": 1.0,
    "mutation_probability": 1.0,
}
UNBOUNDED_NOTE = (
    "the tutorial's problem is unbounded: y = sum(w_i * x_i) grows without limit, so the best "
    "value only says where the run stopped. Add --set bounds=[-4,4] for a real maximum (120.8)."
)


@population_kernel
def _weighted_sums(weights, inputs):
    out = np.empty(weights.shape[0])
    for i in prange(weights.shape[0]):
        total = 0.0
        for j in range(weights.shape[1]):
            total += weights[i, j] * inputs[j]
        out[i] = total
    return out


class WeightedSum(Problem):
    """y = sum(w_i * x_i) over fixed inputs x; the genome is the weights."""

    def __init__(self, inputs=TUTORIAL_INPUTS, low=-np.inf, high=np.inf,
                 sense="maximize") -> None:
        self.inputs = np.asarray(inputs, dtype=float)
        bounded = np.all(np.isfinite([low, high]))
        super().__init__(
            genome=Genome("real", len(self.inputs), low, high),
            objectives=(Objective("y", sense),),
            defaults=dict(TUTORIAL_DEFAULTS),
            notes=() if bounded else (UNBOUNDED_NOTE,),
        )

    def evaluate(self, genomes: np.ndarray) -> np.ndarray:
        return _weighted_sums(len(genomes), np.ascontiguousarray(genomes, dtype=float),
                              self.inputs)[:, None]

    def initial_population(self, size, rng):
        # The tutorial's start, U(-4, 4), kept inside the bounds when they are narrower.
        low = np.maximum(self.genome.lower, -4.0)
        high = np.minimum(self.genome.upper, 4.0)
        return rng.uniform(low, high, size=(size, self.genome.length))

    def describe(self, genome):
        return {f"w{i}": float(w) for i, w in enumerate(genome, start=1)}
