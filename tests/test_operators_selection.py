"""Selection kernels against DEAP's selectors on the same draws, and against the theory."""

import numpy as np
import pytest
from deap import tools
from deap.tools import selection as deap_selection

from evoengine import operators as ops
from evoengine.deap_bridge import Fitness, Individual
from helpers import Replay, chi_square_p, kernel_seed

SEED = 11


def individuals(scores, sizes=None, weights=(1.0,)):
    scores = np.atleast_2d(np.asarray(scores, dtype=float).T).T
    return [Individual([0] * (1 if sizes is None else int(sizes[i])),
                       Fitness(weights, tuple(scores[i])), row=i) for i in range(len(scores))]


def deap_picks(monkeypatch, select, pop, k, *args):
    """DEAP's selector, one pick at a time, pick i drawing from stream(seed, i)."""
    seed, rows = kernel_seed(SEED), []
    for i in range(k):
        monkeypatch.setattr(deap_selection, "random", Replay(seed, i))
        rows.extend(ind.row for ind in select(pop, 1, *args))
    return np.array(rows)


@pytest.fixture
def scores():
    # Integers: sums are exact, so DEAP's running sums and ours agree to the bit; ties on purpose.
    return np.random.default_rng(3).integers(1, 30, size=40).astype(float)


def test_tournament_matches_deap(monkeypatch, scores):
    ours = ops.sel_tournament(scores, 200, 3, np.random.default_rng(SEED))
    ref = deap_picks(monkeypatch, tools.selTournament, individuals(scores), 200, 3)
    np.testing.assert_array_equal(ours, ref)


def test_random_matches_deap(monkeypatch, scores):
    ours = ops.sel_random(len(scores), 100, np.random.default_rng(SEED))
    ref = deap_picks(monkeypatch, tools.selRandom, individuals(scores), 100)
    np.testing.assert_array_equal(ours, ref)


def test_roulette_matches_deap(monkeypatch, scores):
    ours = ops.sel_roulette(scores, 200, np.random.default_rng(SEED))
    ref = deap_picks(monkeypatch, tools.selRoulette, individuals(scores), 200)
    np.testing.assert_array_equal(ours, ref)


def test_roulette_distribution_is_fitness_proportionate(scores):
    rows = ops.sel_roulette(scores, 40_000, np.random.default_rng(1))
    counts = np.bincount(rows, minlength=len(scores))
    assert chi_square_p(counts, 40_000 * scores / scores.sum()) > 1e-3


def test_roulette_windows_negative_scores():
    weights = ops.selection.roulette_weights(np.array([-3.0, -1.0, -np.inf, 0.0]))
    np.testing.assert_array_equal(weights, [0.0, 2.0, 0.0, 3.0])


def test_sus_matches_deap(monkeypatch, scores):
    ours = ops.sel_stochastic_universal(scores, 60, np.random.default_rng(SEED))
    monkeypatch.setattr(deap_selection, "random", Replay(kernel_seed(SEED), 0))
    ref = [ind.row for ind in tools.selStochasticUniversalSampling(individuals(scores), 60)]
    np.testing.assert_array_equal(ours, ref)
    expected = 60 * scores / scores.sum()  # SUS: floor or ceil of the expected count
    counts = np.bincount(ours, minlength=len(scores))
    assert np.all((counts >= np.floor(expected)) & (counts <= np.ceil(expected)))


def test_linear_rank_distribution():
    scores = np.array([5.0, 1.0, 3.0, 2.0, 4.0])
    p = ops.selection.linear_rank_probabilities(scores, 1.8)
    # Worst (score 1) gets (2 - s)/N, best (score 5) s/N, linear in rank between.
    np.testing.assert_allclose(p, np.array([1.8, 0.2, 1.0, 0.6, 1.4]) / 5)
    rows = ops.sel_linear_rank(scores, 50_000, 1.8, np.random.default_rng(2))
    counts = np.bincount(rows, minlength=5)
    assert chi_square_p(counts, 50_000 * p) > 1e-3


@pytest.mark.parametrize("fitness_first", [True, False])
def test_double_tournament_matches_deap(monkeypatch, scores, fitness_first):
    sizes = np.random.default_rng(4).integers(1, 6, size=len(scores))
    ours = ops.sel_double_tournament(scores, sizes, 150, 3, 1.4, fitness_first,
                                     np.random.default_rng(SEED))
    ref = deap_picks(monkeypatch, tools.selDoubleTournament, individuals(scores, sizes), 150,
                     3, 1.4, fitness_first)
    np.testing.assert_array_equal(ours, ref)


def test_lexicase_matches_deap(monkeypatch):
    cases = np.random.default_rng(5).integers(0, 3, size=(30, 6)).astype(float)
    ours = ops.sel_lexicase(cases, 120, np.random.default_rng(SEED))
    pop = individuals(cases, weights=(1.0,) * 6)
    ref = deap_picks(monkeypatch, tools.selLexicase, pop, 120)
    np.testing.assert_array_equal(ours, ref)


def test_best_is_truncation_and_repeats_when_k_exceeds_n():
    scores = np.array([1.0, 3.0, 3.0, 2.0])
    np.testing.assert_array_equal(ops.sel_best(scores, 2), [1, 2])
    np.testing.assert_array_equal(ops.sel_best(scores, 6), [1, 2, 3, 0, 1, 2])
