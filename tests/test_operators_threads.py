"""The same seed gives the same result whatever the number of threads: each kernel's parallel
build, run on one thread and on two, equals its serial build."""

import numba
import numpy as np
import pytest

from evoengine.operators import bounds, crossover, mutation, nsga, permutation, selection


def reals():
    return np.random.default_rng(0).uniform(-1.0, 1.0, size=(64, 7))


def perms():
    return np.argsort(np.random.default_rng(0).random((64, 9)), axis=1)


LOW, HIGH = np.full(7, -1.0), np.full(7, 1.0)
CASES = {
    "tournament": (selection._tournament, lambda: (np.arange(64.0), 64, 3, 99)),
    "sbx": (crossover._sbx, lambda: (reals(), np.zeros(64, bool), 0.9, 20.0, 21, LOW, HIGH, 99)),
    "gaussian": (mutation._gaussian,
                 lambda: (reals(), np.zeros(64, bool), 1.0, 0.3, 0.0, 0.5, 99)),
    "ordered": (permutation._ordered, lambda: (perms(), np.zeros(64, bool), 0.9, 99)),
    "resample": (bounds._resample, lambda: (3 * reals(), LOW, HIGH, False, 99)),
    "dominated_by": (nsga._dominated_by,
                     lambda: (np.random.default_rng(1).random((64, 2)),)),
}


@pytest.mark.parametrize("name", CASES)
def test_parallel_result_does_not_depend_on_threads(name):
    kernel, make_args = CASES[name]
    serial_args = make_args()
    expected = kernel.serial(*serial_args)
    default = numba.get_num_threads()
    try:
        for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(threads)
            args = make_args()
            result = kernel.parallel(*args)
            if result is not None:
                np.testing.assert_array_equal(result, expected)
            for ours, ref in zip(args, serial_args):  # in-place kernels
                if isinstance(ours, np.ndarray):
                    np.testing.assert_array_equal(ours, ref)
    finally:
        numba.set_num_threads(default)
