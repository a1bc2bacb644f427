"""The foundation's kernels against tests/naive.py, with the same draws, and against DEAP's
operators in distribution."""

import random

import numba
import numpy as np
import pytest
from deap import tools

import naive
from evoengine import operators as ops
from evoengine.operators import compile as kernel_compile
from evoengine.operators.streams import new_seed


class FixedSeed:
    """Stands in for the run's Generator so the kernel's seed is known to the reference."""

    def __init__(self, seed):
        self.seed = seed

    def integers(self, low, high):
        return self.seed


@pytest.fixture(params=[3, 2**40 + 17])
def seed(request):
    return request.param


def test_tournament_matches_reference(seed):
    scores = np.random.default_rng(0).normal(size=50)
    got = ops.sel_tournament(scores, 30, 3, FixedSeed(seed))
    assert got.tolist() == naive.tournament(scores.tolist(), 30, 3, seed)


def test_tournament_never_prefers_failed_rows(seed):
    scores = [-np.inf, 1.0, -np.inf, 0.5]
    got = ops.sel_tournament(np.array(scores), 200, 2, FixedSeed(seed))
    failed = {0, 2}
    mixed_contests = 0
    for i, winner in enumerate(got.tolist()):
        draws = naive.Draws(seed, i)
        aspirants = [draws.below(len(scores)) for _ in range(2)]
        # a failed row wins exactly when every aspirant is a failed row
        assert (winner in failed) == (set(aspirants) <= failed), (aspirants, winner)
        assert winner in aspirants
        mixed_contests += bool(set(aspirants) & failed) and not (set(aspirants) <= failed)
    assert mixed_contests > 50  # the case the test is named for did occur


@pytest.mark.parametrize("midpoint", [False, True])
def test_one_point_matches_reference(seed, midpoint):
    pop = np.random.default_rng(1).normal(size=(9, 7))
    ref, ref_changed = naive.one_point(pop.tolist(), 0.7, midpoint, seed)
    changed = np.zeros(9, dtype=bool)
    ops.cx_one_point(pop, changed, 0.7, FixedSeed(seed), midpoint=midpoint)
    assert pop.tolist() == ref and changed.tolist() == ref_changed


def test_blend_matches_reference(seed):
    pop = np.random.default_rng(2).normal(size=(10, 5))
    ref, ref_changed = naive.blend(pop.tolist(), 0.8, 0.5, seed)
    changed = np.zeros(10, dtype=bool)
    ops.cx_blend(pop, changed, 0.8, 0.5, FixedSeed(seed))
    np.testing.assert_allclose(pop, ref, rtol=0, atol=1e-12)
    assert changed.tolist() == ref_changed


def test_gaussian_matches_reference(seed):
    pop = np.random.default_rng(3).normal(size=(12, 6))
    ref, ref_changed = naive.gaussian(pop.tolist(), 0.6, 0.4, 0.1, 2.0, seed)
    changed = np.zeros(12, dtype=bool)
    ops.mut_gaussian(pop, changed, 0.6, 0.4, 0.1, 2.0, FixedSeed(seed))
    np.testing.assert_allclose(pop, ref, rtol=0, atol=1e-12)
    assert changed.tolist() == ref_changed


def test_uniform_matches_reference(seed):
    pop = np.random.default_rng(4).normal(size=(12, 6))
    ref, ref_changed = naive.uniform(pop.tolist(), 0.6, 0.5, 1.5, seed)
    changed = np.zeros(12, dtype=bool)
    ops.mut_uniform(pop, changed, 0.6, 0.5, 1.5, FixedSeed(seed))
    np.testing.assert_allclose(pop, ref, rtol=0, atol=1e-12)
    assert changed.tolist() == ref_changed


@pytest.mark.parametrize("gene", [-1, 4])
def test_uniform_one_gene_matches_reference(seed, gene):
    pop = np.random.default_rng(5).normal(size=(8, 6))
    ref, ref_changed = naive.uniform_one_gene(pop.tolist(), 1.0, gene, 1.0, seed)
    changed = np.zeros(8, dtype=bool)
    ops.mut_uniform_one_gene(pop, changed, 1.0, gene, 1.0, FixedSeed(seed))
    np.testing.assert_allclose(pop, ref, rtol=0, atol=1e-12)
    assert changed.tolist() == ref_changed


def test_tournament_distribution_matches_deap():
    """Same selection probabilities as DEAP's selTournament (chi-square on ranks)."""
    n, k, size = 10, 20_000, 3
    scores = np.arange(n, dtype=float)  # row i has rank i
    ours = np.bincount(ops.sel_tournament(scores, k, size, np.random.default_rng(7)), minlength=n)

    class Ind:
        def __init__(self, i):
            self.fitness = _Fit(i)
            self.i = i

    random.seed(7)
    theirs = np.bincount([ind.i for ind in tools.selTournament([Ind(i) for i in range(n)], k,
                                                                size)], minlength=n)
    # exact probability of rank i winning: ((i+1)^3 - i^3) / n^3
    expected = np.array([((i + 1) ** size - i**size) / n**size for i in range(n)]) * k
    for counts in (ours, theirs):
        chi2 = float((((counts - expected) ** 2) / expected).sum())
        assert chi2 < 30  # 9 degrees of freedom: p < 0.001 above ~27.9


class _Fit:
    """The part of a DEAP fitness that selTournament compares."""

    def __init__(self, v):
        self.wvalues = (v,)

    def __gt__(self, other):
        return self.wvalues > other.wvalues


def test_results_do_not_depend_on_thread_count(monkeypatch):
    """The parallel kernel with 1 and 2 threads, and the serial one, agree exactly."""
    pop0 = np.random.default_rng(8).normal(size=(3000, 20))
    results = []
    for threads, parallel_from in [(1, 1), (2, 1), (2, 10**9)]:
        monkeypatch.setattr(kernel_compile, "PARALLEL_MIN_ROWS", parallel_from)
        numba.set_num_threads(threads)
        pop = pop0.copy()
        changed = np.zeros(len(pop), dtype=bool)
        rng = np.random.default_rng(11)
        ops.cx_blend(pop, changed, 0.9, 0.5, rng)
        ops.mut_gaussian(pop, changed, 0.5, 0.2, 0.0, 1.0, rng)
        results.append((pop, ops.sel_tournament(pop[:, 0], 3000, 3, rng)))
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    for pop, chosen in results[1:]:
        np.testing.assert_array_equal(pop, results[0][0])
        np.testing.assert_array_equal(chosen, results[0][1])


def test_sel_best_is_stable_and_descending():
    scores = np.array([1.0, 3.0, 3.0, -np.inf, 2.0])
    assert ops.sel_best(scores, 4).tolist() == [1, 2, 4, 0]


def test_apply_bounds_clips_in_place():
    g = np.array([[-5.0, 0.5, 9.0]])
    ops.apply_bounds(g, np.array([-1.0, 0, 0]), np.array([1.0, 1, np.inf]))
    assert g.tolist() == [[-1.0, 0.5, 9.0]]


def test_new_seed_comes_from_the_run_generator():
    rng = np.random.default_rng(5)
    first, second = new_seed(rng), new_seed(rng)
    replay = np.random.default_rng(5)
    # each call takes the next draw of the run's generator, in the non-negative int64 range
    assert [first, second] == [int(replay.integers(0, 2**63 - 1)) for _ in range(2)]
    assert first != second and 0 <= min(first, second)
    assert new_seed(np.random.default_rng(6)) != first
