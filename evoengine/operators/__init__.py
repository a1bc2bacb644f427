"""Population-level operators, compiled with Numba; one module per family, DEAP's names."""

from evoengine.operators.bounds import BOUND_STRATEGIES, apply_bounds
from evoengine.operators.crossover import (
    cx_arithmetic,
    cx_blend,
    cx_one_point,
    cx_simulated_binary_bounded,
    cx_two_point,
    cx_uniform,
)
from evoengine.operators.mutation import (
    mut_flip_bit,
    mut_gaussian,
    mut_polynomial_bounded,
    mut_reset,
    mut_reset_symbol,
    mut_uniform,
    mut_uniform_int,
    mut_uniform_one_gene,
)
from evoengine.operators.nsga import (
    crowding_distance,
    non_dominated_fronts,
    sel_nsga2,
    sel_tournament_dcd,
)
from evoengine.operators.permutation import (
    cx_cycle,
    cx_ordered,
    cx_partially_matched,
    mut_insertion,
    mut_inversion,
    mut_scramble,
    mut_swap,
)
from evoengine.operators.selection import (
    sel_best,
    sel_double_tournament,
    sel_lexicase,
    sel_linear_rank,
    sel_random,
    sel_roulette,
    sel_stochastic_universal,
    sel_tournament,
)

__all__ = [
    "BOUND_STRATEGIES",
    "apply_bounds",
    "crowding_distance",
    "cx_arithmetic",
    "cx_blend",
    "cx_cycle",
    "cx_one_point",
    "cx_ordered",
    "cx_partially_matched",
    "cx_simulated_binary_bounded",
    "cx_two_point",
    "cx_uniform",
    "mut_flip_bit",
    "mut_gaussian",
    "mut_insertion",
    "mut_inversion",
    "mut_polynomial_bounded",
    "mut_reset",
    "mut_reset_symbol",
    "mut_scramble",
    "mut_swap",
    "mut_uniform",
    "mut_uniform_int",
    "mut_uniform_one_gene",
    "non_dominated_fronts",
    "sel_best",
    "sel_double_tournament",
    "sel_lexicase",
    "sel_linear_rank",
    "sel_nsga2",
    "sel_random",
    "sel_roulette",
    "sel_stochastic_universal",
    "sel_tournament",
    "sel_tournament_dcd",
]
