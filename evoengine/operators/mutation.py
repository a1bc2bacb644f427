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
