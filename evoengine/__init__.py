"""evoengine: evolutionary optimization with Numba-compiled population operators.

Plugins supply problems through :data:`hookimpl`; the core supplies genomes held as NumPy
arrays, compiled operators, and DEAP's statistics, logbook and hall of fame around them.
"""

import os
import sys
from importlib.metadata import PackageNotFoundError, version


def _use_engine_cache_locators() -> None:
    # Before any kernel compiles: cached kernels stamped with the engine's sources too, so a
    # plugin kernel never keeps an old engine callee (evoengine/numba_cache.py says why). Numba
    # imports the locators itself, so importing evoengine does not import Numba.
    if os.environ.get("NUMBA_CACHE_LOCATOR_CLASSES"):
        return  # the user's choice
    os.environ["NUMBA_CACHE_LOCATOR_CLASSES"] = _LOCATORS
    if "numba" in sys.modules:  # imported before evoengine: its config has already read the env
        sys.modules["numba"].core.config.CACHE_LOCATOR_CLASSES = _LOCATORS


_LOCATORS = ",".join([*(f"evoengine.numba_cache.{name}CacheLocator"
                        for name in ("UserProvided", "InTree", "UserWide")),
                      "IPythonCacheLocator", "ZipCacheLocator"])
_use_engine_cache_locators()

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
