"""Mutation on a whole population, in place.

Each row is mutated with probability ``probability``; within a mutated row each gene changes
with probability ``gene_probability`` (DEAP's ``indpb``). ``changed`` marks mutated rows.
"""

import numpy as np
from numba import prange

from evoengine.operators.compile import population_kernel
from evoengine.operators.streams import below, new_seed, normal, stream, uniform


@population_kernel
def _gaussian(genomes, changed, probability, gene_probability, mu, sigma, seed):
    n, d = genomes.shape
    for i in prange(n):
        s = stream(seed, i)
        s, u = uniform(s)
        if u >= probability:
            continue
        for j in range(d):
            s, u = uniform(s)
            if u < gene_probability:
                s, z = normal(s)
                genomes[i, j] += mu + sigma * z
        changed[i] = True


@population_kernel
def _uniform(genomes, changed, probability, gene_probability, width, seed):
    n, d = genomes.shape
    for i in prange(n):
        s = stream(seed, i)
        s, u = uniform(s)
        if u >= probability:
            continue
        for j in range(d):
            s, u = uniform(s)
            if u < gene_probability:
                s, v = uniform(s)
                genomes[i, j] += width * (2.0 * v - 1.0)
        changed[i] = True


@population_kernel
def _uniform_one_gene(genomes, changed, probability, gene, width, seed):
    n, d = genomes.shape
    for i in prange(n):
        s = stream(seed, i)
        s, u = uniform(s)
        if u >= probability:
            continue
        j = gene
        if j < 0:
            s, j = below(s, d)
        s, v = uniform(s)
        genomes[i, j] += width * (2.0 * v - 1.0)
        changed[i] = True


def mut_gaussian(genomes: np.ndarray, changed: np.ndarray, probability: float,
                 gene_probability: float, mu: float, sigma: float,
                 rng: np.random.Generator) -> None:
    """Add ``N(mu, sigma)`` to genes, as DEAP's ``mutGaussian``."""
    _gaussian(len(genomes), genomes, changed, probability, gene_probability, mu, sigma,
              new_seed(rng))


def mut_uniform(genomes: np.ndarray, changed: np.ndarray, probability: float,
                gene_probability: float, width: float, rng: np.random.Generator) -> None:
    """Add ``U(-width, width)`` to genes."""
    _uniform(len(genomes), genomes, changed, probability, gene_probability, width,
             new_seed(rng))


def mut_uniform_one_gene(genomes: np.ndarray, changed: np.ndarray, probability: float,
                         gene: int, width: float, rng: np.random.Generator) -> None:
    """Add ``U(-width, width)`` to exactly one gene: index ``gene``, or a random one if -1.

    This is the tutorial's mutation (Gad: ``U(-1, 1)`` added to the fifth gene).
    """
    _uniform_one_gene(len(genomes), genomes, changed, probability, gene, width,
                      new_seed(rng))


@population_kernel(fastmath=True)
def _polynomial(genomes, changed, probability, gene_probability, eta, low, high, seed):
    n, d = genomes.shape
    power = 1.0 / (eta + 1.0)
    for i in prange(n):
        s = stream(seed, i)
        s, u = uniform(s)
        if u >= probability:
            continue
        for j in range(d):
            s, u = uniform(s)
            if u > gene_probability:  # DEAP: `random() <= indpb` mutates
                continue
            x, xl, xu = genomes[i, j], low[j], high[j]
            delta_1 = (x - xl) / (xu - xl)
            delta_2 = (xu - x) / (xu - xl)
            s, rand = uniform(s)
            if rand < 0.5:
                val = 2.0 * rand + (1.0 - 2.0 * rand) * (1.0 - delta_1) ** (eta + 1.0)
                delta_q = val ** power - 1.0
            else:
                val = 2.0 * (1.0 - rand) + 2.0 * (rand - 0.5) * (1.0 - delta_2) ** (eta + 1.0)
                delta_q = 1.0 - val ** power
            genomes[i, j] = min(max(x + delta_q * (xu - xl), xl), xu)
        changed[i] = True


@population_kernel
def _reset(genomes, changed, probability, gene_probability, low, high, seed):
    n, d = genomes.shape
    for i in prange(n):
        s = stream(seed, i)
        s, u = uniform(s)
        if u >= probability:
            continue
        for j in range(d):
            s, u = uniform(s)
            if u < gene_probability:
                s, v = uniform(s)
                genomes[i, j] = low[j] + v * (high[j] - low[j])
        changed[i] = True


@population_kernel
def _uniform_int(genomes, changed, probability, gene_probability, low, high, seed):
    n, d = genomes.shape
    for i in prange(n):
        s = stream(seed, i)
        s, u = uniform(s)
        if u >= probability:
            continue
        for j in range(d):
            s, u = uniform(s)
            if u < gene_probability:
                s, v = below(s, high[j] - low[j] + 1)  # randint(low, high)
                genomes[i, j] = low[j] + v
        changed[i] = True


@population_kernel
def _flip_bit(genomes, changed, probability, gene_probability, seed):
    n, d = genomes.shape
    for i in prange(n):
        s = stream(seed, i)
        s, u = uniform(s)
        if u >= probability:
            continue
        for j in range(d):
            s, u = uniform(s)
            if u < gene_probability:
                genomes[i, j] = 1 - genomes[i, j]
        changed[i] = True


def _per_gene(values, d: int, dtype=np.float64) -> np.ndarray:
    return np.broadcast_to(np.asarray(values, dtype=dtype), (d,)).copy()


def _require_finite(low, high, name: str) -> None:
    if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
        raise ValueError(f"{name} mutation needs finite bounds on every gene")


def mut_polynomial_bounded(genomes: np.ndarray, changed: np.ndarray, probability: float,
                           gene_probability: float, eta: float, low, high,
                           rng: np.random.Generator) -> None:
    """Deb's bounded polynomial mutation (``mutPolynomialBounded``); ``eta`` large keeps
    children near the parent. Needs finite bounds."""
    d = genomes.shape[1]
    low, high = _per_gene(low, d), _per_gene(high, d)
    _require_finite(low, high, "polynomial")
    _polynomial(len(genomes), genomes, changed, probability, gene_probability, float(eta),
                low, high, new_seed(rng))


def mut_reset(genomes: np.ndarray, changed: np.ndarray, probability: float,
              gene_probability: float, low, high, rng: np.random.Generator) -> None:
    """Uniform reset: a mutated gene is redrawn from ``U(low, high)``. Needs finite bounds."""
    d = genomes.shape[1]
    low, high = _per_gene(low, d), _per_gene(high, d)
    _require_finite(low, high, "reset")
    _reset(len(genomes), genomes, changed, probability, gene_probability, low, high,
           new_seed(rng))


def mut_uniform_int(genomes: np.ndarray, changed: np.ndarray, probability: float,
                    gene_probability: float, low, high, rng: np.random.Generator) -> None:
    """A mutated gene becomes a random integer in ``[low, high]`` (``mutUniformInt``)."""
    d = genomes.shape[1]
    low, high = _per_gene(low, d), _per_gene(high, d)
    _require_finite(low, high, "uniform_int")
    _uniform_int(len(genomes), genomes, changed, probability, gene_probability,
                 low.astype(np.int64), high.astype(np.int64), new_seed(rng))


def mut_flip_bit(genomes: np.ndarray, changed: np.ndarray, probability: float,
                 gene_probability: float, rng: np.random.Generator) -> None:
    """Flip 0/1 genes with probability ``gene_probability`` each (``mutFlipBit``)."""
    _flip_bit(len(genomes), genomes, changed, probability, gene_probability, new_seed(rng))


@population_kernel
def _reset_symbol(genomes, changed, probability, gene_probability, counts, seed):
    n, d = genomes.shape
    for i in prange(n):
        s = stream(seed, i)
        s, u = uniform(s)
        if u >= probability:
            continue
        for j in range(d):
            s, u = uniform(s)
            if u < gene_probability:
                # One of the other counts[j] - 1 symbols, each equally likely.
                s, v = below(s, counts[j] - 1)
                genomes[i, j] = v + (v >= genomes[i, j])
        changed[i] = True


def mut_reset_symbol(genomes: np.ndarray, changed: np.ndarray, probability: float,
                     gene_probability: float, counts, rng: np.random.Generator) -> None:
    """Categorical reset: a mutated gene becomes another of its ``counts`` symbols (never the
    one it holds), each equally likely. Genes are symbol indices ``0 .. counts-1``."""
    d = genomes.shape[1]
    counts = _per_gene(counts, d, np.int64)
    if np.any(counts < 2):
        raise ValueError("reset_symbol mutation needs at least two symbols per gene")
    _reset_symbol(len(genomes), genomes, changed, probability, gene_probability, counts,
                  new_seed(rng))
