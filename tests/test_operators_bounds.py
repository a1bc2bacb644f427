"""Bounds strategies against pure-Python references."""

import numpy as np
import pytest

from evoengine import operators as ops
from helpers import Replay, kernel_seed

LOW = np.array([-1.0, 0.0, -np.inf, 2.0])
HIGH = np.array([1.0, 0.5, 3.0, 2.0])


def genomes():
    return np.random.default_rng(0).uniform(-6.0, 6.0, size=(50, 4))


def reflect_reference(x, lo, hi):
    # Bounce between the mirrors one step at a time: obviously right, slow.
    if lo == hi:
        return lo
    while not lo <= x <= hi:
        x = 2 * lo - x if x < lo else 2 * hi - x
        if np.isinf(lo) or np.isinf(hi):
            break
    return x


def test_clip():
    g = genomes()
    ops.apply_bounds(g, LOW, HIGH, "clip")
    np.testing.assert_array_equal(g, np.minimum(np.maximum(genomes(), LOW), HIGH))


def test_reflect_matches_reference():
    g = genomes()
    ops.apply_bounds(g, LOW, HIGH, "reflect")
    ref = [[reflect_reference(x, lo, hi) for x, lo, hi in zip(row, LOW, HIGH)]
           for row in genomes()]
    np.testing.assert_allclose(g, ref, atol=1e-12)
    assert (g >= LOW).all() and (g <= HIGH).all()


def test_resample_matches_reference():
    g = genomes()
    ops.apply_bounds(g, LOW, HIGH, "resample", np.random.default_rng(5))
    seed, ref = kernel_seed(5), genomes()
    for i, row in enumerate(ref):
        draws = Replay(seed, i)
        for j, (x, lo, hi) in enumerate(zip(row, LOW, HIGH)):
            if lo <= x <= hi:
                continue
            if np.isinf(lo) or np.isinf(hi):
                row[j] = min(max(x, lo), hi)
            else:
                row[j] = lo + draws.random() * (hi - lo)
    np.testing.assert_array_equal(g, ref)


@pytest.mark.parametrize("strategy", ops.BOUND_STRATEGIES)
def test_integer_genomes_stay_integers_in_bounds(strategy):
    g = np.random.default_rng(1).integers(-10, 11, size=(200, 3))
    ops.apply_bounds(g, np.array([-2, 0, 1]), np.array([2, 5, 1]), strategy,
                     np.random.default_rng(0))
    assert g.dtype == np.int64
    assert (g >= [-2, 0, 1]).all() and (g <= [2, 5, 1]).all()


def test_unknown_strategy_names_the_choices():
    with pytest.raises(ValueError, match="clip.*reflect.*resample"):
        ops.apply_bounds(genomes(), LOW, HIGH, "wrap")
