"""How population kernels are compiled.

A kernel is written once with ``prange`` and compiled twice: serially (cached on disk, cheap to
call) and with ``parallel=True`` (not cached: caching parallel kernels crashed when the thread
count changed, pynndescent#175). Small populations take the serial one, where starting threads
would cost more than the work.
"""

from collections.abc import Callable

from numba import njit

# Fast-math flags without nnan/ninf, so isnan and isinf keep working (stumpy#708).
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}
# Measured here: a Gaussian mutation plus a tournament over 100 genes already runs faster on
# two threads from about 128 rows; below that, waking the threads costs more than the work.
PARALLEL_MIN_ROWS = 256


class PopulationKernel:
    """A kernel compiled serial and parallel; call it with the row count first."""

    def __init__(self, func: Callable, *, fastmath: bool = False) -> None:
        flags = FASTMATH if fastmath else False
        self.py_func = func
        self.serial = njit(cache=True, nogil=True, fastmath=flags)(func)
        self.parallel = njit(parallel=True, nogil=True, fastmath=flags)(func)
        self.__doc__ = func.__doc__
        self.__name__ = func.__name__

    def __call__(self, rows: int, *args):
        kernel = self.parallel if rows >= PARALLEL_MIN_ROWS else self.serial
        return kernel(*args)


def population_kernel(func: Callable | None = None, *, fastmath: bool = False):
    """Decorator: ``@population_kernel`` or ``@population_kernel(fastmath=True)``."""
    if func is None:
        return lambda f: PopulationKernel(f, fastmath=fastmath)
    return PopulationKernel(func, fastmath=fastmath)
