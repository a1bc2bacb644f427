"""The counter-based streams against the pure-Python SplitMix64 of tests/helpers.py."""

import numpy as np
from numba import njit

from evoengine.operators import streams
from helpers import uniforms as py_uniforms

@njit
def nb_uniforms(seed, row, n):
    s = streams.stream(seed, row)
    out = np.empty(n)
    for i in range(n):
        s, out[i] = streams.uniform(s)
    return out


def test_uniforms_match_reference_splitmix64():
    for seed, row in [(0, 0), (12345, 7), (2**62 + 3, 10**6)]:
        assert nb_uniforms(seed, row, 5).tolist() == py_uniforms(seed, row, 5)


def test_rows_and_seeds_give_different_streams():
    a, b, c = nb_uniforms(1, 0, 4), nb_uniforms(1, 1, 4), nb_uniforms(2, 0, 4)
    assert not np.array_equal(a, b) and not np.array_equal(a, c)


@njit
def nb_draws(seed, n):
    s = streams.stream(seed, 0)
    u = np.empty(n)
    z = np.empty(n)
    k = np.empty(n, dtype=np.int64)
    for i in range(n):
        s, u[i] = streams.uniform(s)
        s, z[i] = streams.normal(s)
        s, k[i] = streams.below(s, 7)
    return u, z, k


def test_distributions():
    u, z, k = nb_draws(99, 200_000)
    assert 0.0 <= u.min() and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.005
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1.0) < 0.01
    counts = np.bincount(k, minlength=7)
    assert counts.min() > 0.95 * len(k) / 7 and k.max() == 6
