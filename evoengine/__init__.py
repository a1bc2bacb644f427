"""evoengine: evolutionary optimization with Numba-compiled population operators.

Plugins supply problems through :data:`hookimpl`; the core supplies genomes held as NumPy
arrays, compiled operators, and DEAP's statistics, logbook and hall of fame around them.
"""

from importlib.metadata import PackageNotFoundError, version

from evoengine.context import Evaluation, EvaluationContext, Summary
from evoengine.errors import ConfigError, EvoengineError
from evoengine.hookspecs import hookimpl
from evoengine.problem import Genome, Objective, Problem

try:
    __version__ = version("evoengine")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"



def __getattr__(name: str):
    # evoengine.run_problem without importing the engine (Numba, DEAP) for every plugin import.
    if name == "run_problem":
        from evoengine.run import run_problem

        return run_problem
    raise AttributeError(f"module 'evoengine' has no attribute {name!r}")


__all__ = [
    "ConfigError",
    "Evaluation",
    "EvaluationContext",
    "EvoengineError",
    "Genome",
    "Objective",
    "Problem",
    "Summary",
    "__version__",
    "hookimpl",
    "run_problem",
]
