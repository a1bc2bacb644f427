"""Selection with bloat control, as compiled kernels over scores (higher is better) and sizes.

- Lexicographic parsimony tournament (Luke & Panait 2002): the best score wins; between equal
  scores, the smaller tree.
- Double tournament (DEAP ``selDoubleTournament`` with ``fitness_first=False``): each
  contestant of the fitness tournament is the winner of a size tournament of two, where the
  smaller tree wins with probability ``parsimony_size / 2`` (1 to 2; 1 means no pressure on
  size).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from evoengine.operators.selection import double_tournament
from evoengine.operators.streams import below, stream


@njit(cache=True, nogil=True)
def _lexicographic(scores, sizes, k, tournament, seed):
    n = scores.shape[0]
    out = np.empty(k, dtype=np.int64)
    for r in range(k):
        state = stream(seed, r)
        state, best = below(state, n)
        for _ in range(tournament - 1):
            state, c = below(state, n)
            if scores[c] > scores[best] or (scores[c] == scores[best] and sizes[c] < sizes[best]):
                best = c
        out[r] = best
    return out


def select(scores: np.ndarray, sizes: np.ndarray, k: int, tournament: int, seed: int, *,
           method: str = "lexicographic", parsimony_size: float = 1.4) -> np.ndarray:
    """Indices of ``k`` chosen rows (see the module docstring; ``method`` "none" is a plain
    tournament)."""
    scores = np.ascontiguousarray(scores, dtype=np.float64)
    sizes = np.ascontiguousarray(sizes, dtype=np.int64)
    if method == "double_tournament":
        return double_tournament(scores, sizes, k, tournament, parsimony_size,
                                 fitness_first=False, seed=seed)
    if method == "none":
        sizes = np.zeros_like(sizes)  # every size ties: the first best contestant wins
    return _lexicographic(scores, sizes, k, tournament, seed)
