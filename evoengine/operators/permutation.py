"""Crossover and mutation for permutation genomes: children are always valid permutations.

Rows hold the integers ``0 .. D-1`` once each. Crossover mates rows ``2i`` and ``2i+1`` with
probability ``probability``; mutation changes each row with probability ``probability``. Pair or
row ``i`` draws from ``stream(seed, i)``, in the order DEAP's operator of the same name draws.
"""

import numpy as np
from numba import prange

from evoengine.operators.compile import population_kernel
from evoengine.operators.streams import below, new_seed, stream, uniform


@population_kernel
def _pmx(genomes, changed, probability, seed):
    n, d = genomes.shape
    for p in prange(n // 2):
        s = stream(seed, p)
        s, u = uniform(s)
        if u >= probability or d < 2:
            continue
        a, b = 2 * p, 2 * p + 1
        pos_a = np.empty(d, dtype=np.int64)
        pos_b = np.empty(d, dtype=np.int64)
        for j in range(d):
            pos_a[genomes[a, j]] = j
            pos_b[genomes[b, j]] = j
        # DEAP's draws: randint(0, d) and randint(0, d - 1), then ordered.
        s, first = below(s, d + 1)
        s, second = below(s, d)
        if second >= first:
            second += 1
        else:
            first, second = second, first
        for j in range(first, second):
            va, vb = genomes[a, j], genomes[b, j]
            # Swap values within each child so it stays a permutation.
            genomes[a, j], genomes[a, pos_a[vb]] = vb, va
            genomes[b, j], genomes[b, pos_b[va]] = va, vb
            pos_a[va], pos_a[vb] = pos_a[vb], pos_a[va]
            pos_b[va], pos_b[vb] = pos_b[vb], pos_b[va]
        changed[a] = True
        changed[b] = True


@population_kernel
def _ordered(genomes, changed, probability, seed):
    n, d = genomes.shape
    for p in prange(n // 2):
        s = stream(seed, p)
        s, u = uniform(s)
        if u >= probability or d < 2:
            continue
        s, lo = below(s, d)  # random.sample(range(d), 2)
        s, hi = below(s, d - 1)
        if hi >= lo:
            hi += 1
        if lo > hi:
            lo, hi = hi, lo
        a, b = 2 * p, 2 * p + 1
        parent_a = genomes[a].copy()
        parent_b = genomes[b].copy()
        # Child a keeps parent a's order outside the values parent b brings into [lo, hi].
        hole_a = np.ones(d, dtype=np.bool_)
        hole_b = np.ones(d, dtype=np.bool_)
        for j in range(d):
            if j < lo or j > hi:
                hole_a[parent_b[j]] = False
                hole_b[parent_a[j]] = False
        ka, kb = hi + 1, hi + 1
        for j in range(d):
            va = parent_a[(j + hi + 1) % d]
            vb = parent_b[(j + hi + 1) % d]
            if not hole_a[va]:
                genomes[a, ka % d] = va
                ka += 1
            if not hole_b[vb]:
                genomes[b, kb % d] = vb
                kb += 1
        for j in range(lo, hi + 1):
            genomes[a, j] = parent_b[j]
            genomes[b, j] = parent_a[j]
        changed[a] = True
        changed[b] = True


@population_kernel
def _cycle(genomes, changed, probability, seed):
    n, d = genomes.shape
    for p in prange(n // 2):
        s = stream(seed, p)
        s, u = uniform(s)
        if u >= probability:
            continue
        a, b = 2 * p, 2 * p + 1
        pos_a = np.empty(d, dtype=np.int64)
        for j in range(d):
            pos_a[genomes[a, j]] = j
        seen = np.zeros(d, dtype=np.bool_)
        swap = False
        for start in range(d):
            if seen[start]:
                continue
            # Walk one cycle; every other cycle swaps between the children (Oliver et al.).
            j = start
            while not seen[j]:
                seen[j] = True
                if swap:
                    tmp = genomes[a, j]
                    genomes[a, j] = genomes[b, j]
                    genomes[b, j] = tmp
                j = pos_a[genomes[b, j] if not swap else genomes[a, j]]
            swap = not swap
        changed[a] = True
        changed[b] = True


@population_kernel
def _swap(genomes, changed, probability, gene_probability, seed):
    n, d = genomes.shape
    for i in prange(n):
        s = stream(seed, i)
        s, u = uniform(s)
        if u >= probability or d < 2:
            continue
        for j in range(d):
            s, u = uniform(s)
            if u < gene_probability:
                s, other = below(s, d - 1)  # randint(0, d - 2), skipping j
                if other >= j:
                    other += 1
                tmp = genomes[i, j]
                genomes[i, j] = genomes[i, other]
                genomes[i, other] = tmp
        changed[i] = True


@population_kernel
def _segment(genomes, changed, probability, how, seed):
    # how: 0 inversion, 1 scramble, 2 insertion
    n, d = genomes.shape
    for i in prange(n):
        s = stream(seed, i)
        s, u = uniform(s)
        if u >= probability:
            continue
        s, first = below(s, d)
        s, second = below(s, d)
        if how == 2:  # move the gene at `first` to position `second`
            gene = genomes[i, first]
            if first < second:
                for j in range(first, second):
                    genomes[i, j] = genomes[i, j + 1]
            else:
                for j in range(first, second, -1):
                    genomes[i, j] = genomes[i, j - 1]
            genomes[i, second] = gene
        else:
            lo, hi = min(first, second), max(first, second)
            if how == 0:  # reverse [lo, hi), as mutInversion
                for t in range((hi - lo) // 2):
                    tmp = genomes[i, lo + t]
                    genomes[i, lo + t] = genomes[i, hi - 1 - t]
                    genomes[i, hi - 1 - t] = tmp
            else:  # shuffle [lo, hi), Fisher-Yates as random.shuffle
                for t in range(hi - lo - 1, 0, -1):
                    s, r = below(s, t + 1)
                    tmp = genomes[i, lo + t]
                    genomes[i, lo + t] = genomes[i, lo + r]
                    genomes[i, lo + r] = tmp
        changed[i] = True


def cx_partially_matched(genomes: np.ndarray, changed: np.ndarray, probability: float,
                         rng: np.random.Generator) -> None:
    """PMX (Goldberg & Lingle), as DEAP's ``cxPartialyMatched``."""
    _pmx(len(genomes) // 2, genomes, changed, probability, new_seed(rng))


def cx_ordered(genomes: np.ndarray, changed: np.ndarray, probability: float,
               rng: np.random.Generator) -> None:
    """Ordered crossover (OX, Goldberg), as DEAP's ``cxOrdered``."""
    _ordered(len(genomes) // 2, genomes, changed, probability, new_seed(rng))


def cx_cycle(genomes: np.ndarray, changed: np.ndarray, probability: float,
             rng: np.random.Generator) -> None:
    """Cycle crossover (Oliver, Smith & Holland): every gene keeps its position from one
    parent; alternate cycles of positions come from alternate parents."""
    _cycle(len(genomes) // 2, genomes, changed, probability, new_seed(rng))


def mut_swap(genomes: np.ndarray, changed: np.ndarray, probability: float,
             gene_probability: float, rng: np.random.Generator) -> None:
    """Each position swaps with another random one with probability ``gene_probability``
    (DEAP's ``mutShuffleIndexes``)."""
    _swap(len(genomes), genomes, changed, probability, gene_probability, new_seed(rng))


def mut_inversion(genomes: np.ndarray, changed: np.ndarray, probability: float,
                  rng: np.random.Generator) -> None:
    """Reverse a random segment (``mutInversion``; a 2-opt move on a tour)."""
    _segment(len(genomes), genomes, changed, probability, 0, new_seed(rng))


def mut_scramble(genomes: np.ndarray, changed: np.ndarray, probability: float,
                 rng: np.random.Generator) -> None:
    """Shuffle a random segment, drawn as in :func:`mut_inversion`."""
    _segment(len(genomes), genomes, changed, probability, 1, new_seed(rng))


def mut_insertion(genomes: np.ndarray, changed: np.ndarray, probability: float,
                  rng: np.random.Generator) -> None:
    """Move one random gene to another random position, shifting those between."""
    _segment(len(genomes), genomes, changed, probability, 2, new_seed(rng))
