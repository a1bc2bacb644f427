"""Shared draws between evoengine's kernels and DEAP's operators, for reference tests.

A kernel gives pair or row ``i`` the stream ``stream(seed, i)``. :class:`Draws` replays that
stream in Python behind the ``random`` module's interface, so a DEAP operator run with its
module's ``random`` swapped for a :class:`Draws` makes the same draws the kernel made: the two
must then give the same children.
"""

from __future__ import annotations

import numpy as np

from evoengine.operators.streams import below, new_seed, normal, stream, uniform


def kernel_seed(seed: int) -> int:
    """The seed a kernel call draws from ``np.random.default_rng(seed)``."""
    return new_seed(np.random.default_rng(seed))


class Draws:
    """``random``-module look-alike that replays ``stream(seed, row)``."""

    def __init__(self, seed: int, row: int) -> None:
        self.state = np.uint64(stream(seed, row))  # numba hands uint64 back as int

    def random(self) -> float:
        state, u = uniform(self.state)
        self.state = np.uint64(state)
        return float(u)

    def _below(self, n: int) -> int:
        state, k = below(self.state, n)
        self.state = np.uint64(state)
        return int(k)

    def randint(self, a: int, b: int) -> int:
        return a + self._below(b - a + 1)

    def randrange(self, n: int) -> int:
        return self._below(n)

    def choice(self, seq):
        return seq[self._below(len(seq))]

    def sample(self, population, k: int):
        assert k == 2, "only the 2-sample DEAP's operators use"
        seq = list(population)
        first = self._below(len(seq))
        second = self._below(len(seq) - 1)
        if second >= first:
            second += 1
        return [seq[first], seq[second]]

    def shuffle(self, x) -> None:
        for i in range(len(x) - 1, 0, -1):
            j = self._below(i + 1)
            x[i], x[j] = x[j], x[i]

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self.random()

    def gauss(self, mu: float, sigma: float) -> float:
        state, z = normal(self.state)
        self.state = np.uint64(state)
        return mu + sigma * float(z)
