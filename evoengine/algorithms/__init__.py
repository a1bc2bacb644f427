"""The algorithms, by the name used in the ``algorithm`` setting."""

from evoengine.algorithms.base import Evolution, Offspring
from evoengine.algorithms.cma_es import CMAES
from evoengine.algorithms.mu_lambda import MuCommaLambda, MuPlusLambda
from evoengine.algorithms.nsga2 import NSGA2
from evoengine.algorithms.simple import EaSimple
from evoengine.algorithms.steady_state import SteadyState

ALGORITHMS: dict[str, type[Evolution]] = {
    cls.name: cls for cls in (EaSimple, MuPlusLambda, MuCommaLambda, SteadyState, NSGA2, CMAES)
}

__all__ = ["ALGORITHMS", "CMAES", "NSGA2", "EaSimple", "Evolution", "MuCommaLambda", "MuPlusLambda",
           "Offspring", "SteadyState"]
