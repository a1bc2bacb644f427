"""Counter-based random streams for compiled kernels.

Every kernel call takes one ``seed`` drawn from the run's ``numpy.random.Generator`` and gives
row ``i`` its own stream, ``stream(seed, i)``. A row's draws therefore depend only on the seed
and the row, never on which thread ran it: the same seed gives the same population whatever
the number of threads. The generator is SplitMix64 (Steele, Lea & Flood 2014), small enough to
inline and good enough for variation operators.

Functions return ``(new_state, value)``; kernels thread the state through their loops.
"""

import numpy as np
from numba import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53


@njit(inline="always")
def _mix(z):
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@njit(inline="always")
def stream(seed, row):
    """Initial state of row ``row``'s stream under ``seed``."""
    return _mix(np.uint64(seed) ^ _mix(np.uint64(row) * _GOLDEN + _GOLDEN))


@njit(inline="always")
def next_u64(state):
    state = state + _GOLDEN
    return state, _mix(state)


@njit(inline="always")
def uniform(state):
    """A float in [0, 1)."""
    state, z = next_u64(state)
    return state, np.float64(z >> _S11) * _TO_UNIT


@njit(inline="always")
def below(state, n):
    """An integer in [0, n)."""
    state, u = uniform(state)
    k = np.int64(u * n)
    return state, min(k, n - 1)


@njit(inline="always")
def normal(state):
    """A standard normal deviate (Box-Muller; uses 1-u so the log never sees 0)."""
    state, u1 = uniform(state)
    state, u2 = uniform(state)
    return state, np.sqrt(-2.0 * np.log(1.0 - u1)) * np.cos(2.0 * np.pi * u2)


def new_seed(rng: np.random.Generator) -> int:
    """The seed for one kernel call, drawn from the run's generator."""
    return int(rng.integers(0, 2**63 - 1))
