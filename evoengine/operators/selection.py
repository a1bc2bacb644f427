"""Selection: which rows of the population become parents.

Every selector takes ``scores`` (one float per row, higher is better, failed rows at ``-inf``)
and returns row indices. Scores already carry the objective's sense, so selectors always
maximize.
"""

import numpy as np
from numba import prange

from evoengine.operators.compile import population_kernel
from evoengine.operators.streams import below, new_seed, stream


@population_kernel
def _tournament(scores, k, tournament_size, seed):
    n = scores.shape[0]
    chosen = np.empty(k, dtype=np.int64)
    for i in prange(k):
        s = stream(seed, i)
        s, best = below(s, n)
        for _ in range(tournament_size - 1):
            s, c = below(s, n)
            if scores[c] > scores[best]:
                best = c
        chosen[i] = best
    return chosen


def sel_tournament(scores: np.ndarray, k: int, tournament_size: int,
                   rng: np.random.Generator) -> np.ndarray:
    """``k`` winners of tournaments among ``tournament_size`` rows drawn with replacement.

    Same distribution as DEAP's ``selTournament``; the first aspirant wins ties.
    """
    scores = np.ascontiguousarray(scores, dtype=np.float64)
    return _tournament(k, scores, k, tournament_size, new_seed(rng))


def sel_best(scores: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` best rows, best first; among equal scores the earlier row first (``selBest``)."""
    return np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")[:k]
