"""Selection: which rows of the population become parents.

Every selector takes ``scores`` (one float per row, higher is better, failed rows at ``-inf``)
and returns row indices. Scores already carry the objective's sense, so selectors always
maximize. Pick ``i`` draws from its own stream ``stream(seed, i)``, so the picks do not depend
on the thread count; each kernel makes its draws in the order DEAP's operator of the same name
makes them, so the two give the same picks for the same draws.
"""

import numpy as np
from numba import prange

from evoengine.operators.compile import population_kernel
from evoengine.operators.streams import below, new_seed, stream, uniform


def _as_scores(scores) -> np.ndarray:
    return np.ascontiguousarray(scores, dtype=np.float64)


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

    As DEAP's ``selTournament``; the first aspirant wins ties.
    """
    scores = _as_scores(scores)
    return _tournament(k, scores, k, tournament_size, new_seed(rng))


def sel_best(scores: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` best rows, best first; among equal scores the earlier row first (``selBest``).

    Truncation selection: with ``k`` larger than the population, rows repeat in that order.
    """
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    return np.resize(order, k) if k > len(order) else order[:k]


@population_kernel
def _random(n, k, seed):
    chosen = np.empty(k, dtype=np.int64)
    for i in prange(k):
        s, row = below(stream(seed, i), n)
        chosen[i] = row
    return chosen


def sel_random(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` rows drawn uniformly with replacement (``selRandom``)."""
    return _random(k, n, k, new_seed(rng))


def roulette_weights(scores: np.ndarray) -> np.ndarray:
    """Selection weights for fitness-proportionate selectors.

    Non-negative scores are used as they are (DEAP's convention). When some are negative
    (a minimized objective) they are shifted so the worst valid row weighs 0 (windowing);
    failed rows weigh 0.
    """
    scores = _as_scores(scores)
    valid = np.isfinite(scores)
    weights = np.where(valid, scores, 0.0)
    if valid.any() and weights[valid].min() < 0:
        weights = np.where(valid, scores - scores[valid].min(), 0.0)
    if not (weights > 0).any():  # all equal: every valid row equally likely
        # (no valid row at all, a generation where every evaluation failed: every row)
        weights = valid.astype(np.float64) if valid.any() else np.ones(len(scores))
    return weights


@population_kernel
def _roulette(cumulative, order, k, seed):
    chosen = np.empty(k, dtype=np.int64)
    total = cumulative[-1]
    for i in prange(k):
        s = stream(seed, i)
        s, u = uniform(s)
        # First row whose running sum exceeds u * total (DEAP: `if sum_ > u`).
        j = np.searchsorted(cumulative, u * total, side="right")
        chosen[i] = order[min(j, order.shape[0] - 1)]
    return chosen


def sel_roulette(scores: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Fitness-proportionate selection over the rows sorted best first (``selRoulette``)."""
    weights = roulette_weights(scores)
    order = np.argsort(-weights, kind="stable")
    cumulative = np.cumsum(weights[order])
    return _roulette(k, cumulative, order, k, new_seed(rng))


def sel_stochastic_universal(scores: np.ndarray, k: int,
                             rng: np.random.Generator) -> np.ndarray:
    """Stochastic universal sampling (``selStochasticUniversalSampling``): ``k`` equally spaced
    pointers from one draw, so each row gets ``floor`` or ``ceil`` of its expected count."""
    weights = roulette_weights(scores)
    order = np.argsort(-weights, kind="stable")
    cumulative = np.cumsum(weights[order])
    distance = cumulative[-1] / k
    start = distance * uniform(np.uint64(stream(new_seed(rng), 0)))[1]  # uint64 state
    points = start + distance * np.arange(k)
    # DEAP stops at the first row whose running sum reaches the pointer (`while sum_ < p`).
    rows = np.minimum(np.searchsorted(cumulative, points, side="left"), len(order) - 1)
    return order[rows]


def linear_rank_probabilities(scores: np.ndarray, pressure: float) -> np.ndarray:
    """Baker's linear ranking: the worst row gets ``(2 - pressure) / N``, the best
    ``pressure / N``, linear in between (``pressure`` in [1, 2]); ties share by position."""
    scores = _as_scores(scores)
    n = len(scores)
    rank = np.empty(n)
    rank[np.argsort(scores, kind="stable")] = np.arange(n)  # 0 = worst
    if n == 1:
        return np.ones(1)
    return ((2.0 - pressure) + 2.0 * (pressure - 1.0) * rank / (n - 1)) / n


def sel_linear_rank(scores: np.ndarray, k: int, pressure: float,
                    rng: np.random.Generator) -> np.ndarray:
    """Linear rank selection: roulette over :func:`linear_rank_probabilities`."""
    if not 1.0 <= pressure <= 2.0:
        raise ValueError(f"rank selection pressure must be in [1, 2], got {pressure}")
    probabilities = linear_rank_probabilities(scores, pressure)
    order = np.arange(len(probabilities))
    return _roulette(k, np.cumsum(probabilities), order, k, new_seed(rng))


@population_kernel
def _double_tournament(scores, sizes, k, fitness_size, parsimony_size, fitness_first, seed):
    n = scores.shape[0]
    chosen = np.empty(k, dtype=np.int64)
    for i in prange(k):
        s = stream(seed, i)
        if fitness_first:  # two fitness tournaments, then the smaller winner is favoured
            pair = np.empty(2, dtype=np.int64)
            for t in range(2):
                s, best = below(s, n)
                for _ in range(fitness_size - 1):
                    s, c = below(s, n)
                    if scores[c] > scores[best]:
                        best = c
                pair[t] = best
            small, large = pair[0], pair[1]
            prob = parsimony_size / 2.0
            if sizes[small] > sizes[large]:
                small, large = large, small
            elif sizes[small] == sizes[large]:
                prob = 0.5
            s, u = uniform(s)
            chosen[i] = small if u < prob else large
        else:  # a fitness tournament among winners of size tournaments
            best = -1
            for _ in range(fitness_size):
                s, a = below(s, n)
                s, b = below(s, n)
                prob = parsimony_size / 2.0
                if sizes[a] > sizes[b]:
                    a, b = b, a
                elif sizes[a] == sizes[b]:
                    prob = 0.5
                s, u = uniform(s)
                c = a if u < prob else b
                if best < 0 or scores[c] > scores[best]:
                    best = c
            chosen[i] = best
    return chosen


def sel_double_tournament(scores: np.ndarray, sizes: np.ndarray, k: int, fitness_size: int,
                          parsimony_size: float, fitness_first: bool,
                          rng: np.random.Generator) -> np.ndarray:
    """Luke & Panait's double tournament against bloat (``selDoubleTournament``): a fitness
    tournament of ``fitness_size`` and a size tournament of two where the smaller row wins with
    probability ``parsimony_size / 2`` (in [1, 2])."""
    return double_tournament(scores, sizes, k, fitness_size, parsimony_size, fitness_first,
                             new_seed(rng))


def double_tournament(scores: np.ndarray, sizes: np.ndarray, k: int, fitness_size: int,
                      parsimony_size: float, fitness_first: bool, seed: int) -> np.ndarray:
    """:func:`sel_double_tournament` for callers that draw kernel seeds themselves (GP)."""
    if not 1.0 <= parsimony_size <= 2.0:
        raise ValueError(f"parsimony_size must be in [1, 2], got {parsimony_size}")
    sizes = np.ascontiguousarray(sizes, dtype=np.float64)
    return _double_tournament(k, _as_scores(scores), sizes, k, fitness_size,
                              float(parsimony_size), bool(fitness_first), seed)


@population_kernel
def _lexicase(cases, k, seed):
    n, m = cases.shape
    chosen = np.empty(k, dtype=np.int64)
    for i in prange(k):
        s = stream(seed, i)
        order = np.arange(m)
        for j in range(m - 1, 0, -1):  # Fisher-Yates, as random.shuffle
            s, r = below(s, j + 1)
            tmp = order[j]
            order[j] = order[r]
            order[r] = tmp
        candidates = np.arange(n)
        count = n
        for c in range(m):
            if count <= 1:
                break
            case = order[c]
            best = cases[candidates[0], case]
            for t in range(1, count):
                best = max(best, cases[candidates[t], case])
            kept = 0
            for t in range(count):
                if cases[candidates[t], case] == best:
                    candidates[kept] = candidates[t]
                    kept += 1
            count = kept
        s, r = below(s, count)
        chosen[i] = candidates[r]
    return chosen


def sel_lexicase(cases: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Lexicase selection (``selLexicase``) on ``cases`` (``N x C``, higher is better per case):
    cases in a random order each keep only the rows best on them; a random survivor wins."""
    cases = np.ascontiguousarray(cases, dtype=np.float64)
    if cases.ndim != 2:
        raise ValueError("lexicase needs an N x C array of per-case scores")
    return _lexicase(k, cases, k, new_seed(rng))
