"""Genetic programming: programs (expression trees) as arrays, compiled evaluation and variation.

The pieces, each in its own module:

- ``primitives``: :class:`PrimitiveSet`, the language (built-ins, user functions compiled by
  Numba, variables, constants, ephemeral constants, types); ``PrimitiveSet.from_deap(pset)``
  takes a DEAP ``PrimitiveSet``/``PrimitiveSetTyped`` as it is.
- ``trees``: :class:`Trees`, a population as prefix arrays; infix and DEAP string forms.
- ``evaluator``: the one stack machine: :func:`evaluate_trees` (N trees x P points),
  :func:`mean_squared_error`, :func:`evaluate_program` (one parsed expression), and
  :func:`run_tree` (one tree at a chunk of points, callable from a plugin's ``@njit`` code).
- ``generate``, ``variation``, ``selection``: initialization, crossover and mutations, bloat
  control, as compiled kernels.
- ``algorithm``: :class:`GeneticProgramming`, the ask/tell algorithm; ``problem``:
  :class:`TreeProblem`, what a plugin hands over.
- ``deap_io``: conversion to and from DEAP ``PrimitiveTree`` and its string form.

For a plugin (e.g. evolving an evaluation function over game features)::

    from evoengine.gp import PrimitiveSet, TreeProblem, evaluate_trees
    ps = PrimitiveSet(["material", "mobility", "center"])
    ps.add_builtin("add", "sub", "mul", "neg", "max", "min")
    ps.add_ephemeral("c", -1.0, 1.0)

    def fitness(trees):                          # a whole population at once -> N values
        values = evaluate_trees(trees, features)  # N trees x P positions
        return score_games(values)

    problem = TreeProblem(ps, fitness=fitness,
                          objectives=(evoengine.Objective("win_rate", "maximize"),))
    result = evoengine.run.optimize(problem, evoengine.config.GPSettings(generations=30))

``Program``/``parse_expression``/``evaluate_program`` (one parsed expression, used by the
equation plugin) share the opcode table ``OPS`` and run on the same machine as the trees.


This package is the public API of genetic programming for plugins: import from
``evoengine.gp``, not from its modules.
"""

from evoengine.gp.parse import parse_expression
from evoengine.gp.program import ARITY, CONST, OPCODE, OPS, VAR, Program

_LAZY = {
    "GeneticProgramming": "evoengine.gp.algorithm",
    "PrimitiveSet": "evoengine.gp.primitives", "USER": "evoengine.gp.primitives",
    "EPHEMERAL": "evoengine.gp.primitives",
    "TreeProblem": "evoengine.gp.problem", "SizeFront": "evoengine.gp.algorithm",
    "Trees": "evoengine.gp.trees", "NODE_DTYPE": "evoengine.gp.trees",
    "to_program": "evoengine.gp.trees",
    "evaluate_trees": "evoengine.gp.evaluator", "mean_squared_error": "evoengine.gp.evaluator",
    "evaluate_program": "evoengine.gp.evaluator", "run_tree": "evoengine.gp.evaluator",
    "PROTECT": "evoengine.gp.evaluator",
    "fit_constants": "evoengine.gp.constants", "linear_fit": "evoengine.gp.constants",
    "parse_tree": "evoengine.gp.deap_io", "to_deap": "evoengine.gp.deap_io",
    "from_deap": "evoengine.gp.deap_io",
}

__all__ = sorted(["ARITY", "CONST", "OPCODE", "OPS", "Program", "VAR", "parse_expression",
                  *_LAZY])


def __getattr__(name):
    # Imported on first use: the equation plugin imports this package for the parser alone,
    # and the GP modules compile (or load) their kernels when imported.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'evoengine.gp' has no attribute {name!r}")
