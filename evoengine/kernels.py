"""Compiled population kernels for plugins: the public face of :mod:`evoengine.operators`.

- the operator kernels (selection, crossover, mutation, bounds, NSGA-II), DEAP's names, each
  taking whole populations as arrays;
- :func:`population_kernel`, the decorator that compiles a plugin's own kernel (written once
  with ``prange``) serial and parallel, and picks one by the row count;
- the counter-based random streams (:func:`stream` and the draws) a kernel uses so that a
  row's draws depend on ``(seed, row)`` only, never on the thread that ran it, and
  :func:`new_seed`, one kernel call's seed from the run's generator.

::

    from evoengine.kernels import population_kernel, stream, uniform
"""

from evoengine.operators import *  # noqa: F403 - the operator kernels, by their DEAP names
from evoengine.operators import __all__ as _operator_names
from evoengine.operators.compile import FASTMATH, PopulationKernel, population_kernel
from evoengine.operators.streams import below, new_seed, next_u64, normal, stream, uniform

__all__ = [*_operator_names, "FASTMATH", "PopulationKernel", "below", "new_seed", "next_u64",
           "normal", "population_kernel", "stream", "uniform"]
