"""Population-level operators, compiled with Numba; one module per family, DEAP's names."""

from evoengine.operators.bounds import apply_bounds
from evoengine.operators.crossover import cx_blend, cx_one_point
from evoengine.operators.mutation import mut_gaussian, mut_uniform, mut_uniform_one_gene
from evoengine.operators.selection import sel_best, sel_tournament

__all__ = [
    "apply_bounds",
    "cx_blend",
    "cx_one_point",
    "mut_gaussian",
    "mut_uniform",
    "mut_uniform_one_gene",
    "sel_best",
    "sel_tournament",
]
