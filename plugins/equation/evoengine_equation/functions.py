"""Classic benchmark functions, any dimension, minimized, each a compiled batched kernel.

Every function has its global minimum 0 (Schwefel's within 1e-4 at its optimum).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import prange

from evoengine import Genome, Objective, Problem
from evoengine.kernels import population_kernel


@population_kernel(fastmath=True)
def _evaluate(kind, x):
    n, d = x.shape
    out = np.empty(n)
    for i in prange(n):
        s = 0.0
        if kind == 0:  # sphere
            for j in range(d):
                s += x[i, j] * x[i, j]
        elif kind == 1:  # rastrigin
            s = 10.0 * d
            for j in range(d):
                s += x[i, j] * x[i, j] - 10.0 * np.cos(2.0 * np.pi * x[i, j])
        elif kind == 2:  # rosenbrock
            for j in range(d - 1):
                a = x[i, j + 1] - x[i, j] * x[i, j]
                b = 1.0 - x[i, j]
                s += 100.0 * a * a + b * b
        elif kind == 3:  # ackley
            sq = 0.0
            cs = 0.0
            for j in range(d):
                sq += x[i, j] * x[i, j]
                cs += np.cos(2.0 * np.pi * x[i, j])
            s = -20.0 * np.exp(-0.2 * np.sqrt(sq / d)) - np.exp(cs / d) + 20.0 + np.e
        elif kind == 4:  # griewank
            sq = 0.0
            prod = 1.0
            for j in range(d):
                sq += x[i, j] * x[i, j]
                prod *= np.cos(x[i, j] / np.sqrt(j + 1.0))
            s = sq / 4000.0 - prod + 1.0
        else:  # schwefel
            s = 418.9828872724339 * d
            for j in range(d):
                s -= x[i, j] * np.sin(np.sqrt(abs(x[i, j])))
        out[i] = s
    return out


@dataclass(frozen=True)
class TestFunction:
    name: str
    kind: int
    low: float
    high: float
    optimum: float  # each coordinate of the minimizer
    summary: str


TEST_FUNCTIONS = {f.name: f for f in (
    TestFunction("sphere", 0, -5.12, 5.12, 0.0, "sum of squares"),
    TestFunction("rastrigin", 1, -5.12, 5.12, 0.0, "highly multimodal, regular grid of minima"),
    TestFunction("rosenbrock", 2, -5.0, 10.0, 1.0, "narrow curved valley"),
    TestFunction("ackley", 3, -32.768, 32.768, 0.0, "flat outer region, deep centre"),
    TestFunction("griewank", 4, -600.0, 600.0, 0.0, "many regular minima"),
    TestFunction("schwefel", 5, -500.0, 500.0, 420.968746, "deceptive: best far from next best"),
)}

FUNCTION_DEFAULTS = {
    "algorithm": "ea_simple",
    "population_size": 200,
    "generations": 300,
    "crossover": "blend",
    "crossover_probability": 0.8,
    "mutation": "gaussian",
    "mutation_probability": 0.3,
    "tournament_size": 3,
}


def evaluate_function(name: str, genomes: np.ndarray) -> np.ndarray:
    """Values of test function ``name`` at each row (the slow path is a loop in tests)."""
    return _evaluate(len(genomes), TEST_FUNCTIONS[name].kind,
                     np.ascontiguousarray(genomes, dtype=float))


class TestFunctionProblem(Problem):
    def __init__(self, function: TestFunction, dimension: int, low=None, high=None) -> None:
        self.function = function
        super().__init__(
            genome=Genome("real", dimension, function.low if low is None else low,
                          function.high if high is None else high),
            objectives=(Objective(function.name, "minimize"),),
            defaults=dict(FUNCTION_DEFAULTS),
        )

    def evaluate(self, genomes: np.ndarray) -> np.ndarray:
        return evaluate_function(self.function.name, genomes)[:, None]
