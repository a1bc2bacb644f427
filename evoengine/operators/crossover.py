"""Crossover on a whole population: rows ``2i`` and ``2i+1`` form pair ``i``.

Each pair is mated with probability ``probability``, in place; ``changed`` is set for the rows
that were. Pair ``i`` draws from its own stream, so results do not depend on thread count.
"""

import numpy as np
from numba import njit, prange

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


@population_kernel
def _two_point(genomes, changed, probability, seed):
    n, d = genomes.shape
    for p in prange(n // 2):
        s = stream(seed, p)
        s, u = uniform(s)
        if u >= probability or d < 2:
            continue
        # DEAP's draws: randint(1, d) and randint(1, d - 1), then ordered.
        s, first = below(s, d)
        s, second = below(s, d - 1)
        first += 1
        second += 1
        if second >= first:
            second += 1
        else:
            first, second = second, first
        a, b = 2 * p, 2 * p + 1
        for j in range(first, second):
            tmp = genomes[a, j]
            genomes[a, j] = genomes[b, j]
            genomes[b, j] = tmp
        changed[a] = True
        changed[b] = True


@population_kernel
def _uniform(genomes, changed, probability, swap_probability, seed):
    n, d = genomes.shape
    for p in prange(n // 2):
        s = stream(seed, p)
        s, u = uniform(s)
        if u >= probability:
            continue
        a, b = 2 * p, 2 * p + 1
        for j in range(d):
            s, u = uniform(s)
            if u < swap_probability:
                tmp = genomes[a, j]
                genomes[a, j] = genomes[b, j]
                genomes[b, j] = tmp
        changed[a] = True
        changed[b] = True


@population_kernel
def _arithmetic(genomes, changed, probability, seed):
    n, d = genomes.shape
    for p in prange(n // 2):
        s = stream(seed, p)
        s, u = uniform(s)
        if u >= probability:
            continue
        s, w = uniform(s)
        a, b = 2 * p, 2 * p + 1
        for j in range(d):
            x1, x2 = genomes[a, j], genomes[b, j]
            genomes[a, j] = w * x1 + (1.0 - w) * x2
            genomes[b, j] = (1.0 - w) * x1 + w * x2
        changed[a] = True
        changed[b] = True


@njit(inline="always")
def _inverse_power(x, exponent, whole):
    """``x ** -exponent``; by repeated squaring when the exponent is a whole number ``whole``
    (``eta = 20`` is the usual case), several times cheaper than ``pow``."""
    if whole < 0:
        return x**-exponent
    result = 1.0
    while whole:
        if whole & 1:
            result *= x
        x *= x
        whole >>= 1
    return 1.0 / result


@population_kernel(fastmath=True)
def _sbx(genomes, changed, probability, eta, whole, low, high, seed):
    n, d = genomes.shape
    power = 1.0 / (eta + 1.0)
    for p in prange(n // 2):
        s = stream(seed, p)
        s, u = uniform(s)
        if u >= probability:
            continue
        a, b = 2 * p, 2 * p + 1
        for j in range(d):
            s, u = uniform(s)
            if u > 0.5 or abs(genomes[a, j] - genomes[b, j]) <= 1e-14:
                continue
            x1 = min(genomes[a, j], genomes[b, j])
            x2 = max(genomes[a, j], genomes[b, j])
            xl, xu = low[j], high[j]
            s, rand = uniform(s)
            # Deb's bounded SBX: the spread distribution is cut at each bound.
            beta = 1.0 + 2.0 * (x1 - xl) / (x2 - x1)
            alpha = 2.0 - _inverse_power(beta, eta + 1.0, whole)
            if rand <= 1.0 / alpha:
                beta_q = (rand * alpha) ** power
            else:
                beta_q = (1.0 / (2.0 - rand * alpha)) ** power
            c1 = 0.5 * (x1 + x2 - beta_q * (x2 - x1))
            beta = 1.0 + 2.0 * (xu - x2) / (x2 - x1)
            alpha = 2.0 - _inverse_power(beta, eta + 1.0, whole)
            if rand <= 1.0 / alpha:
                beta_q = (rand * alpha) ** power
            else:
                beta_q = (1.0 / (2.0 - rand * alpha)) ** power
            c2 = 0.5 * (x1 + x2 + beta_q * (x2 - x1))
            c1 = min(max(c1, xl), xu)
            c2 = min(max(c2, xl), xu)
            s, u = uniform(s)
            if u <= 0.5:
                genomes[a, j] = c2
                genomes[b, j] = c1
            else:
                genomes[a, j] = c1
                genomes[b, j] = c2
        changed[a] = True
        changed[b] = True


def cx_two_point(genomes: np.ndarray, changed: np.ndarray, probability: float,
                 rng: np.random.Generator) -> None:
    """Swap the genes between two cut points (``cxTwoPoint``); any genome kind but
    permutations."""
    _two_point(len(genomes) // 2, genomes, changed, probability, new_seed(rng))


def cx_uniform(genomes: np.ndarray, changed: np.ndarray, probability: float,
               swap_probability: float, rng: np.random.Generator) -> None:
    """Swap each gene with probability ``swap_probability`` (``cxUniform``'s ``indpb``)."""
    _uniform(len(genomes) // 2, genomes, changed, probability, swap_probability,
             new_seed(rng))


def cx_arithmetic(genomes: np.ndarray, changed: np.ndarray, probability: float,
                  rng: np.random.Generator) -> None:
    """Whole arithmetic crossover: children ``w x1 + (1-w) x2`` and ``(1-w) x1 + w x2`` with
    one ``w ~ U(0, 1)`` per pair; children stay on the segment between the parents."""
    _arithmetic(len(genomes) // 2, genomes, changed, probability, new_seed(rng))


def cx_simulated_binary_bounded(genomes: np.ndarray, changed: np.ndarray, probability: float,
                                eta: float, low: np.ndarray, high: np.ndarray,
                                rng: np.random.Generator) -> None:
    """Deb's bounded simulated binary crossover (``cxSimulatedBinaryBounded``): each gene
    with probability 1/2, spread ``eta`` (large: children near the parents)."""
    d = genomes.shape[1]
    low = np.broadcast_to(np.asarray(low, dtype=np.float64), (d,)).copy()
    high = np.broadcast_to(np.asarray(high, dtype=np.float64), (d,)).copy()
    whole = int(eta) + 1 if float(eta).is_integer() and 0 <= eta < 1000 else -1
    _sbx(len(genomes) // 2, genomes, changed, probability, float(eta), whole, low, high,
         new_seed(rng))
