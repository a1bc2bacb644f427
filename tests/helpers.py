"""Helpers shared by the core's tests (one place, so no test file carries its own copy).

- The kernels' random streams replayed in plain Python: :func:`stream`, :func:`uniform`,
  :func:`below`, :func:`normal`, and :class:`Replay`, which offers them behind the ``random``
  module's interface so a DEAP operator, or a slow reference, makes the draws a kernel made.
- :class:`Sphere`, the small stateless problem most engine tests run.
- :func:`prepare_faulty` and :func:`same_run`: runs of ``faulty_plugin`` built the way the CLI
  builds them, and the comparison every "same run" promise is checked with.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

import faulty_plugin
from evoengine import Genome, Objective, Problem

# --- SplitMix64 (Steele, Lea & Flood 2014), as evoengine/operators/streams.py documents it ----
MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def mix(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def stream(seed: int, row: int) -> int:
    """Initial state of row ``row``'s stream under ``seed``."""
    return mix(seed ^ mix((row * GOLDEN + GOLDEN) & MASK))


def uniform(state: int) -> tuple[int, float]:
    """The next state and a float in [0, 1) (the top 53 bits)."""
    state = (state + GOLDEN) & MASK
    return state, (mix(state) >> 11) * 2.0**-53


def below(state: int, n: int) -> tuple[int, int]:
    state, u = uniform(state)
    return state, min(int(u * n), n - 1)


def normal(state: int) -> tuple[int, float]:
    """Box-Muller on ``1 - u1``, as the kernels draw it."""
    state, u1 = uniform(state)
    state, u2 = uniform(state)
    return state, math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)


def uniforms(seed: int, row: int, n: int) -> list[float]:
    state, out = stream(seed, row), []
    for _ in range(n):
        state, u = uniform(state)
        out.append(u)
    return out


def kernel_seed(seed: int) -> int:
    """The seed a kernel call draws from ``np.random.default_rng(seed)`` (``new_seed``)."""
    return int(np.random.default_rng(seed).integers(0, 2**63 - 1))


class Replay:
    """Row ``row``'s stream under ``seed``, drawn in order; ``random``-module look-alike."""

    def __init__(self, seed: int, row: int) -> None:
        self.state = stream(seed, row)

    def random(self) -> float:
        self.state, u = uniform(self.state)
        return u

    def below(self, n: int) -> int:
        self.state, k = below(self.state, n)
        return k

    def normal(self) -> float:
        self.state, z = normal(self.state)
        return z

    # The part of the ``random`` module DEAP's operators call.
    def randint(self, a: int, b: int) -> int:
        return a + self.below(b - a + 1)

    def randrange(self, n: int) -> int:
        return self.below(n)

    def choice(self, seq):
        return seq[self.below(len(seq))]

    def sample(self, population, k: int):
        assert k == 2, "only the 2-sample DEAP's operators use"
        seq = list(population)
        first = self.below(len(seq))
        second = self.below(len(seq) - 1)
        if second >= first:
            second += 1
        return [seq[first], seq[second]]

    def shuffle(self, x) -> None:
        for i in range(len(x) - 1, 0, -1):
            j = self.below(i + 1)
            x[i], x[j] = x[j], x[i]

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self.random()

    def gauss(self, mu: float, sigma: float) -> float:
        return mu + sigma * self.normal()


# --- statistics without SciPy (a gan-plugin dependency, not the core's) ----------------------
def chi_square_p(counts, expected) -> float:
    """Upper-tail p-value of Pearson's chi-square test of ``counts`` against ``expected``, by
    the Wilson-Hilferty normal approximation (within about 1e-4 of the exact tail at the
    1e-3 level for 4 or more cells)."""
    counts, expected = np.asarray(counts, float), np.asarray(expected, float)
    statistic = float((((counts - expected) ** 2) / expected).sum())
    df = len(counts) - 1
    z = ((statistic / df) ** (1 / 3) - (1 - 2 / (9 * df))) / math.sqrt(2 / (9 * df))
    return 1.0 - NormalDist().cdf(z)


# --- problems ----------------------------------------------------------------------------
class Sphere(Problem):
    """Sum of squares; stateless (it holds configuration only)."""

    def __init__(self, length: int = 5, low: float = -5.0, high: float = 5.0,
                 kind: str = "real", sense: str = "minimize") -> None:
        super().__init__(Genome(kind, length, low, high), (Objective("f", sense),))

    def evaluate(self, genomes: np.ndarray) -> np.ndarray:
        return (np.asarray(genomes, dtype=float) ** 2).sum(axis=1)[:, None]


# --- runs of the faulty plugin -----------------------------------------------------------
def prepare_faulty(**values):
    """The faulty problem and its settings, validated the way the CLI does."""
    from evoengine.plugins import load_plugins
    from evoengine.run import prepare

    loaded = load_plugins(extra={"faulty": faulty_plugin}, only=[])
    return prepare(loaded.registry.get("faulty"), values)


def same_run(a, b) -> None:
    """Two run results are the same run: best, logbook, hall of fame and counts, exactly."""
    assert a.best_genome.tolist() == b.best_genome.tolist()
    assert a.best_fitness.tolist() == b.best_fitness.tolist()
    assert [dict(r) for r in a.logbook] == [dict(r) for r in b.logbook]
    assert [list(i) for i in a.hall_of_fame] == [list(i) for i in b.hall_of_fame]
    assert (a.evaluations, a.failures, a.generations) == (b.evaluations, b.failures,
                                                           b.generations)
