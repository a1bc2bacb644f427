"""The operators a run uses, chosen by name in the settings or taken from a DEAP toolbox.

Every operator works on a whole population in place, so the algorithms never loop in Python:

- ``select(scores, k) -> rows``
- ``mate(genomes, changed, probability)`` on pairs of rows ``(2i, 2i+1)``
- ``mutate(genomes, changed, probability)`` on each row

A ``deap.base.Toolbox`` with ``select``, ``mate`` or ``mutate`` registered replaces the
built-in operator of that name: rows become DEAP individuals, go through the DEAP function, and
come back. Slower, but any DEAP operator works. DEAP operators draw from Python's global
``random``; it is reseeded from the run's generator before each call, so runs stay reproducible.
"""

from __future__ import annotations

import random
from functools import partial

import numpy as np

from evoengine import operators as ops
from evoengine.config import AlgorithmSettings
from evoengine.deap_bridge import Fitness, Individual
from evoengine.errors import ConfigError
from evoengine.problem import Genome


_FIXED = ("real", "integer", "binary")
_SYMBOLS = ("categorical",)
_PERMUTATION = ("permutation",)
# Genome kinds each built-in operator keeps valid. Categorical genes have no order, so only the
# operators that move whole genes suit them (never blend, arithmetic, sbx or a numeric step).
CROSSOVERS: dict[str, tuple[str, ...]] = {
    "one_point": _FIXED + _SYMBOLS, "midpoint": _FIXED + _SYMBOLS,
    "two_point": _FIXED + _SYMBOLS, "uniform": _FIXED + _SYMBOLS,
    "blend": _FIXED, "arithmetic": _FIXED, "sbx": _FIXED,
    "pmx": _PERMUTATION, "ordered": _PERMUTATION, "cycle": _PERMUTATION,
}
MUTATIONS: dict[str, tuple[str, ...]] = {
    "gaussian": _FIXED, "uniform": _FIXED, "uniform_one_gene": _FIXED, "polynomial": _FIXED,
    "reset": ("real",) + _SYMBOLS, "uniform_int": ("integer", "binary"), "bit_flip": ("binary",),
    "swap": _PERMUTATION, "inversion": _PERMUTATION, "scramble": _PERMUTATION,
    "insertion": _PERMUTATION,
}
VECTOR_KINDS = _FIXED + _SYMBOLS + _PERMUTATION
# The operators each kind gets when the user (or the problem) chose none. Real genomes keep the
# settings' own defaults (one_point, gaussian). Integer genes are ordered but usually few-valued
# (moves, levels): a gaussian step of a tenth of the range rounds back to the same value, so they
# get a redraw in their range; categorical genes get a redraw of another symbol; both keep
# blocks of neighbouring genes together with two-point crossover, and mutate every child (at
# 1/length of its genes: one gene on average) rather than a fifth of them: on Snake (issue 16,
# benchmarks/test_bench_snake.py) that raised the mean best score from 1039 to 1312.
KIND_DEFAULTS = {"integer": {"crossover": "two_point", "mutation": "uniform_int"},
                 "categorical": {"crossover": "two_point", "mutation": "reset"},
                 "binary": {"crossover": "two_point", "mutation": "bit_flip"},
                 "permutation": {"crossover": "ordered", "mutation": "inversion"}}
# Where the kind's mutation changes few genes, every child is mutated (DEAP's varAnd
# algorithms; the varOr ones, mu_plus_lambda and mu_comma_lambda, make each child by one
# operator and keep the settings' split).
KIND_MUTATION_PROBABILITY = {"integer": 1.0, "categorical": 1.0}
VAR_AND = ("ea_simple", "steady_state", "nsga2")
# Operators that compute in floating point: integer and binary genomes go through them on a
# float copy, rounded, then bounded (binary to {0, 1}).
REAL_VALUED = {"blend", "arithmetic", "sbx", "gaussian", "uniform", "uniform_one_gene",
               "polynomial"}
# Mutations that draw per gene with gene_probability.
PER_GENE = {"gaussian", "uniform", "polynomial", "reset", "uniform_int", "bit_flip", "swap"}


def _operator_for(s: AlgorithmSettings, genome: Genome, key: str,
                  table: dict[str, tuple[str, ...]]) -> str:
    """The operator named by setting ``key``, checked against the genome kind. A default the
    user did not choose is swapped for the kind's own default (e.g. ordered for permutations)."""
    name = getattr(s, key)
    if genome.kind not in VECTOR_KINDS:
        return name  # other kinds (trees) bring their own operators
    if key not in s.model_fields_set and key in KIND_DEFAULTS.get(genome.kind, {}):
        return KIND_DEFAULTS[genome.kind][key]
    if genome.kind in table[name]:
        return name
    valid = ", ".join(n for n, kinds in table.items() if genome.kind in kinds)
    raise ConfigError(f"setting {key!r}: {name!r} does not suit {genome.kind} genomes; "
                      f"valid choices: {valid}")


def default_sigma(genome: Genome) -> float:
    """Gaussian mutation's sigma when unset: a tenth of the mean bounds width (1 when
    unbounded); on integer genes at least 1, so a rounded step changes a gene 62% of the time
    rather than almost never."""
    width = genome.upper - genome.lower
    sigma = float(np.mean(width)) / 10 if np.all(np.isfinite(width)) else 1.0
    return max(sigma, 1.0) if genome.kind == "integer" else sigma


def resolve_operators(settings: AlgorithmSettings, genome: Genome) -> AlgorithmSettings:
    """``settings`` with the operators in force for this genome and every value derived from
    them written out (crossover, mutation and its probability, gene_probability, the gaussian
    sigma; for CMA-ES its lambda and initial step size), so a run folder's config.toml says
    exactly what ran. Unchanged for trees, which bring their own variation. Raises
    ConfigError for an operator that does not suit the kind."""
    if genome.kind not in VECTOR_KINDS:
        return settings
    if settings.algorithm == "cma_es":
        from evoengine.algorithms import cma_es

        derived = {"offspring_size": settings.offspring_size
                   or cma_es.default_lambda(genome.length),
                   "cma_sigma": settings.cma_sigma or cma_es.default_sigma(genome)}
        return type(settings).model_validate({**settings.model_dump(exclude_unset=True),
                                              **derived})
    derived = {"crossover": _operator_for(settings, genome, "crossover", CROSSOVERS),
               "mutation": _operator_for(settings, genome, "mutation", MUTATIONS)}
    if ("mutation_probability" not in settings.model_fields_set and settings.algorithm in VAR_AND
            and genome.kind in KIND_MUTATION_PROBABILITY
            and derived["mutation"] == KIND_DEFAULTS[genome.kind]["mutation"]):
        derived["mutation_probability"] = KIND_MUTATION_PROBABILITY[genome.kind]
    if derived["mutation"] in PER_GENE and settings.gene_probability is None:
        derived["gene_probability"] = 1.0 / genome.length
    if derived["mutation"] == "gaussian" and settings.mutation_sigma is None:
        derived["mutation_sigma"] = default_sigma(genome)
    values = {**settings.model_dump(exclude_unset=True), **derived}
    return type(settings).model_validate(values)


def _on_reals(operator, genome: Genome, real_valued: bool):
    """Run a floating-point operator on an integer or binary genome through a float copy,
    rounded."""
    if genome.kind not in ("integer", "binary") or not real_valued:
        return operator

    def rounded(genomes, changed, probability):
        values = genomes.astype(np.float64)
        operator(values, changed, probability)
        genomes[:] = np.rint(values)

    return rounded


class Variation:
    """Selection, crossover, mutation and bounds for one run."""

    def __init__(self, settings: AlgorithmSettings, genome: Genome,
                 rng: np.random.Generator, toolbox=None) -> None:
        settings = resolve_operators(settings, genome)
        self.rng = rng
        self.low, self.high = genome.lower, genome.upper
        self.bounded = genome.kind in ("real", "integer", "binary") and (
            np.isfinite(self.low).any() or np.isfinite(self.high).any())
        self.bounds_strategy = settings.bounds_strategy
        self.select = self._builtin_select(settings)
        self.mate = self._builtin_mate(settings, genome)
        self.mutate = self._builtin_mutate(settings, genome)
        if toolbox is not None:
            self._use_toolbox(toolbox)

    # --- built-ins -----------------------------------------------------------------------
    def _builtin_select(self, s: AlgorithmSettings):
        rng = self.rng
        if s.selection == "best":
            return lambda scores, k: ops.sel_best(scores, k)
        if s.selection == "roulette":
            return lambda scores, k: ops.sel_roulette(scores, k, rng)
        if s.selection == "sus":
            return lambda scores, k: ops.sel_stochastic_universal(scores, k, rng)
        if s.selection == "rank":
            return lambda scores, k: ops.sel_linear_rank(scores, k, s.rank_pressure, rng)
        if s.selection == "random":
            return lambda scores, k: ops.sel_random(len(scores), k, rng)
        return lambda scores, k: ops.sel_tournament(scores, k, s.tournament_size, rng)

    def _builtin_mate(self, s: AlgorithmSettings, genome: Genome):
        name = s.crossover
        rng, low, high = self.rng, self.low, self.high
        table = {
            "one_point": lambda g, c, p: ops.cx_one_point(g, c, p, rng),
            "midpoint": lambda g, c, p: ops.cx_one_point(g, c, p, rng, midpoint=True),
            "two_point": lambda g, c, p: ops.cx_two_point(g, c, p, rng),
            "uniform": lambda g, c, p: ops.cx_uniform(g, c, p, s.swap_probability, rng),
            "blend": lambda g, c, p: ops.cx_blend(g, c, p, s.blend_alpha, rng),
            "arithmetic": lambda g, c, p: ops.cx_arithmetic(g, c, p, rng),
            "sbx": lambda g, c, p: ops.cx_simulated_binary_bounded(
                g, c, p, s.crossover_eta, low, high, rng),
            "pmx": lambda g, c, p: ops.cx_partially_matched(g, c, p, rng),
            "ordered": lambda g, c, p: ops.cx_ordered(g, c, p, rng),
            "cycle": lambda g, c, p: ops.cx_cycle(g, c, p, rng),
        }
        return _on_reals(table[name], genome, name in REAL_VALUED)

    def _builtin_mutate(self, s: AlgorithmSettings, genome: Genome):
        name = s.mutation
        rng, low, high = self.rng, self.low, self.high
        gene_p = s.gene_probability if s.gene_probability is not None else 1.0 / genome.length
        if name in ("polynomial", "reset", "uniform_int") and not genome.bounded:
            raise ConfigError(f"setting 'mutation': {name!r} needs finite bounds on every gene")
        if name == "uniform_one_gene":
            if s.mutation_gene is not None and s.mutation_gene > genome.length:
                raise ConfigError(f"setting 'mutation_gene': {s.mutation_gene} is past the "
                                  f"genome's {genome.length} genes")
            gene = -1 if s.mutation_gene is None else s.mutation_gene - 1
            return _on_reals(lambda g, c, p: ops.mut_uniform_one_gene(
                g, c, p, gene, s.mutation_width, rng), genome, True)
        sigma = s.mutation_sigma if s.mutation_sigma is not None else default_sigma(genome)
        if name == "reset" and genome.kind == "categorical":
            counts = np.full(genome.length, len(genome.symbols), dtype=np.int64)
            return lambda g, c, p: ops.mut_reset_symbol(g, c, p, gene_p, counts, rng)
        table = {
            "gaussian": lambda g, c, p: ops.mut_gaussian(g, c, p, gene_p, 0.0, sigma, rng),
            "uniform": lambda g, c, p: ops.mut_uniform(g, c, p, gene_p, s.mutation_width, rng),
            "polynomial": lambda g, c, p: ops.mut_polynomial_bounded(
                g, c, p, gene_p, s.mutation_eta, low, high, rng),
            "reset": lambda g, c, p: ops.mut_reset(g, c, p, gene_p, low, high, rng),
            "uniform_int": lambda g, c, p: ops.mut_uniform_int(g, c, p, gene_p, low, high, rng),
            "bit_flip": lambda g, c, p: ops.mut_flip_bit(g, c, p, gene_p, rng),
            "swap": lambda g, c, p: ops.mut_swap(g, c, p, gene_p, rng),
            "inversion": lambda g, c, p: ops.mut_inversion(g, c, p, rng),
            "scramble": lambda g, c, p: ops.mut_scramble(g, c, p, rng),
            "insertion": lambda g, c, p: ops.mut_insertion(g, c, p, rng),
        }
        return _on_reals(table[name], genome, name in REAL_VALUED)

    def bound(self, genomes: np.ndarray) -> np.ndarray:
        """Bounds and integrality after variation; returns the array to keep."""
        if self.bounded:
            ops.apply_bounds(genomes, self.low, self.high, self.bounds_strategy, self.rng)
        return genomes

    # --- DEAP toolbox operators ----------------------------------------------------------
    def _use_toolbox(self, toolbox) -> None:
        if hasattr(toolbox, "select"):
            self.select = partial(_deap_select, toolbox.select, self.rng)
        if hasattr(toolbox, "mate"):
            self.mate = partial(_deap_mate, toolbox.mate, self.rng)
        if hasattr(toolbox, "mutate"):
            self.mutate = partial(_deap_mutate, toolbox.mutate, self.rng)


def _deap_select(select, rng, scores, k):
    random.seed(int(rng.integers(2**63)))
    # Scores already carry the objective's sense, so the individuals maximize a single value.
    pop = [Individual((), Fitness((1.0,), (float(v),) if np.isfinite(v) else ()), row=i)
           for i, v in enumerate(scores)]
    for ind in pop:
        if not ind.fitness.valid:  # DEAP compares wvalues; failed rows rank last
            ind.fitness.values = (-np.finfo(float).max,)
    return np.array([ind.row for ind in select(pop, k)], dtype=np.int64)


def _deap_mate(mate, rng, genomes, changed, probability):
    random.seed(int(rng.integers(2**63)))
    for a in range(0, len(genomes) - 1, 2):
        if rng.random() < probability:
            x, y = Individual(genomes[a].tolist()), Individual(genomes[a + 1].tolist())
            x, y = mate(x, y)
            genomes[a], genomes[a + 1] = x, y
            changed[a] = changed[a + 1] = True


def _deap_mutate(mutate, rng, genomes, changed, probability):
    random.seed(int(rng.integers(2**63)))
    for i in range(len(genomes)):
        if rng.random() < probability:
            (ind,) = mutate(Individual(genomes[i].tolist()))
            genomes[i] = ind
            changed[i] = True
