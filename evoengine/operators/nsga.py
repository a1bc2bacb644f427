"""NSGA-II's pieces (Deb et al. 2002): non-dominated sorting, crowding distance, and the
selections built on them, for several objectives.

``wfitness`` is ``N x M`` with every objective already multiplied by its weight (+1 maximize,
-1 minimize), so bigger is better on every column; failed rows should be ``-inf`` throughout.
"""

import numpy as np
from numba import njit, prange

from evoengine.operators.compile import population_kernel
from evoengine.operators.streams import new_seed, stream, uniform


@njit(inline="always")
def _dominates(wfitness, a, b):
    """Row ``a`` is no worse than ``b`` on every objective and better on one."""
    better = False
    for m in range(wfitness.shape[1]):
        if wfitness[a, m] < wfitness[b, m]:
            return False
        if wfitness[a, m] > wfitness[b, m]:
            better = True
    return better


@population_kernel
def _dominated_by(wfitness):
    n = wfitness.shape[0]
    count = np.zeros(n, dtype=np.int64)
    for i in prange(n):
        for j in range(n):
            if j != i and _dominates(wfitness, j, i):
                count[i] += 1
    return count


@population_kernel
def _peel(wfitness, count, front, current, level):
    # Rows of the front just found release the rows they dominate; parallel over the rows
    # released, so no two threads write the same counter.
    n = wfitness.shape[0]
    for j in prange(n):
        if front[j] >= 0:
            continue
        for c in current:
            if _dominates(wfitness, c, j):
                count[j] -= 1
        if count[j] == 0:
            front[j] = level


def non_dominated_fronts(wfitness: np.ndarray, k: int | None = None) -> np.ndarray:
    """Front number of every row (0 = non-dominated), as DEAP's ``sortNondominated``.

    Sorting stops once ``k`` rows are in fronts; the rest get -1.
    """
    wfitness = np.ascontiguousarray(wfitness, dtype=np.float64)
    n = len(wfitness)
    k = n if k is None else min(k, n)
    count = _dominated_by(n, wfitness)
    front = np.where(count == 0, 0, -1)
    level, sorted_rows = 0, int((front == 0).sum())
    while sorted_rows < k:
        current = np.flatnonzero(front == level)
        level += 1
        _peel(n, wfitness, count, front, current, level)
        sorted_rows += int((front == level).sum())
    return front


def crowding_distance(fitness: np.ndarray) -> np.ndarray:
    """Crowding distance of the rows of one front (``assignCrowdingDist``): per objective, the
    gap between each row's neighbours over the objective's range, summed and divided by M;
    the extreme rows get infinity. Ties are ordered as DEAP's successive stable sorts order
    them, so the same rows get the same distances."""
    fitness = np.asarray(fitness, dtype=np.float64)
    n, m = fitness.shape
    distance = np.zeros(n)
    if n == 0:
        return distance
    order = np.arange(n)
    for obj in range(m):
        order = order[np.argsort(fitness[order, obj], kind="stable")]
        values = fitness[order, obj]
        distance[order[0]] = distance[order[-1]] = np.inf
        if values[-1] == values[0]:
            continue
        distance[order[1:-1]] += (values[2:] - values[:-2]) / (m * (values[-1] - values[0]))
    return distance


def sel_nsga2(fitness: np.ndarray, weights: np.ndarray, k: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NSGA-II environmental selection (``selNSGA2``): whole fronts while they fit, then the
    last front's most isolated rows.

    Returns ``(rows, front, crowding)``: the chosen rows, and the front number and crowding
    distance of each chosen row (what :func:`sel_tournament_dcd` needs next).
    """
    fitness = np.asarray(fitness, dtype=np.float64)
    wfitness = fitness * np.asarray(weights, dtype=np.float64)
    wfitness = np.where(np.isfinite(wfitness).all(axis=1, keepdims=True), wfitness, -np.inf)
    front = non_dominated_fronts(wfitness, k)
    crowding = np.zeros(len(fitness))
    chosen = []
    for level in range(front.max() + 1):
        rows = np.flatnonzero(front == level)
        crowding[rows] = crowding_distance(np.where(np.isfinite(fitness[rows]),
                                                    fitness[rows], 0.0))
        if len(rows) <= k - sum(map(len, chosen)):
            chosen.append(rows)
        else:
            keep = k - sum(map(len, chosen))
            chosen.append(rows[np.argsort(-crowding[rows], kind="stable")[:keep]])
            break
    rows = np.concatenate(chosen) if chosen else np.empty(0, dtype=np.int64)
    return rows, front[rows], crowding[rows]


@population_kernel
def _tournament_dcd(wfitness, crowding, first, second, seed):
    k = first.shape[0]
    chosen = np.empty(k, dtype=np.int64)
    for i in prange(k):
        a, b = first[i], second[i]
        if _dominates(wfitness, a, b):
            chosen[i] = a
        elif _dominates(wfitness, b, a):
            chosen[i] = b
        elif crowding[a] != crowding[b]:
            chosen[i] = a if crowding[a] > crowding[b] else b
        else:
            s, u = uniform(stream(seed, i))
            chosen[i] = a if u <= 0.5 else b
    return chosen


def sel_tournament_dcd(fitness: np.ndarray, weights: np.ndarray, crowding: np.ndarray,
                       k: int, rng: np.random.Generator) -> np.ndarray:
    """Binary tournaments on dominance, then crowding distance, then a coin
    (``selTournamentDCD``). As DEAP, contestants are consecutive rows of two random
    permutations of the population, so every row fights at least once (any ``k``)."""
    wfitness = np.asarray(fitness, dtype=np.float64) * np.asarray(weights, dtype=np.float64)
    wfitness = np.where(np.isfinite(wfitness).all(axis=1, keepdims=True), wfitness, -np.inf)
    n = len(wfitness)
    shuffled = np.concatenate([rng.permutation(n) for _ in range(-(-2 * k // n) + 1)])
    first, second = shuffled[0:2 * k:2], shuffled[1:2 * k:2]
    return _tournament_dcd(k, wfitness, np.asarray(crowding, dtype=np.float64),
                           first, second, new_seed(rng))
