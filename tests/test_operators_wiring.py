"""The operators as the settings choose them, per genome kind; bounds strategies in a run;
elitism; stop criteria and what stop() says."""

import numpy as np
import pytest

from evoengine import Genome, Objective, Problem
from evoengine import operators as ops
from evoengine.algorithms import ALGORITHMS
from evoengine.algorithms.variation import Variation
from evoengine.config import AlgorithmSettings
from evoengine.errors import ConfigError
from evoengine.run import optimize
from helpers import Sphere


class Misplaced(Problem):
    """Permutation problem: count of cities out of place (0 at the identity)."""

    def __init__(self, length=8):
        super().__init__(Genome("permutation", length), (Objective("f", "minimize"),))

    def evaluate(self, genomes):
        return (genomes != np.arange(genomes.shape[1])).sum(axis=1)[:, None].astype(float)


def run(problem, **values):
    values = {"population_size": 20, "generations": 8, "seed": 3, **values}
    return optimize(problem, AlgorithmSettings(**values))


# --- each setting runs its own kernel, with the settings' parameters --------------------
# Non-default parameters, so a kernel called with a default or another setting's value differs.
PARAMETERS = {"swap_probability": 0.3, "blend_alpha": 0.3, "crossover_eta": 7.0,
              "mutation_eta": 9.0, "mutation_sigma": 0.7, "gene_probability": 0.4,
              "mutation_width": 0.6, "mutation_gene": 4, "tournament_size": 4,
              "rank_pressure": 1.7}
REAL = Genome("real", 6, -3.0, 3.0)
INTEGER = Genome("integer", 6, -4, 4)
BINARY = Genome("binary", 6)
PERMUTATION = Genome("permutation", 7)
CATEGORICAL = Genome("categorical", 6, symbols=("a", "b", "c"))
LOW, HIGH = REAL.lower, REAL.upper

# setting -> (genome, the kernel call the setting stands for)
CROSSOVERS = {
    "one_point": (REAL, lambda g, c, p, r: ops.cx_one_point(g, c, p, r)),
    "midpoint": (REAL, lambda g, c, p, r: ops.cx_one_point(g, c, p, r, midpoint=True)),
    "two_point": (REAL, lambda g, c, p, r: ops.cx_two_point(g, c, p, r)),
    "uniform": (REAL, lambda g, c, p, r: ops.cx_uniform(g, c, p, 0.3, r)),
    "blend": (REAL, lambda g, c, p, r: ops.cx_blend(g, c, p, 0.3, r)),
    "arithmetic": (REAL, lambda g, c, p, r: ops.cx_arithmetic(g, c, p, r)),
    "sbx": (REAL, lambda g, c, p, r: ops.cx_simulated_binary_bounded(g, c, p, 7.0, LOW, HIGH,
                                                                     r)),
    "pmx": (PERMUTATION, lambda g, c, p, r: ops.cx_partially_matched(g, c, p, r)),
    "ordered": (PERMUTATION, lambda g, c, p, r: ops.cx_ordered(g, c, p, r)),
    "cycle": (PERMUTATION, lambda g, c, p, r: ops.cx_cycle(g, c, p, r)),
}
MUTATIONS = {
    "gaussian": (REAL, lambda g, c, p, r: ops.mut_gaussian(g, c, p, 0.4, 0.0, 0.7, r)),
    "uniform": (REAL, lambda g, c, p, r: ops.mut_uniform(g, c, p, 0.4, 0.6, r)),
    "uniform_one_gene": (REAL, lambda g, c, p, r: ops.mut_uniform_one_gene(g, c, p, 3, 0.6, r)),
    "polynomial": (REAL, lambda g, c, p, r: ops.mut_polynomial_bounded(g, c, p, 0.4, 9.0, LOW,
                                                                       HIGH, r)),
    "reset": (REAL, lambda g, c, p, r: ops.mut_reset(g, c, p, 0.4, LOW, HIGH, r)),
    "uniform_int": (INTEGER, lambda g, c, p, r: ops.mut_uniform_int(
        g, c, p, 0.4, INTEGER.lower, INTEGER.upper, r)),
    "bit_flip": (BINARY, lambda g, c, p, r: ops.mut_flip_bit(g, c, p, 0.4, r)),
    "swap": (PERMUTATION, lambda g, c, p, r: ops.mut_swap(g, c, p, 0.4, r)),
    "inversion": (PERMUTATION, lambda g, c, p, r: ops.mut_inversion(g, c, p, r)),
    "scramble": (PERMUTATION, lambda g, c, p, r: ops.mut_scramble(g, c, p, r)),
    "insertion": (PERMUTATION, lambda g, c, p, r: ops.mut_insertion(g, c, p, r)),
}
SELECTIONS = {
    "tournament": lambda s, k, r: ops.sel_tournament(s, k, 4, r),
    "best": lambda s, k, r: ops.sel_best(s, k),
    "roulette": lambda s, k, r: ops.sel_roulette(s, k, r),
    "sus": lambda s, k, r: ops.sel_stochastic_universal(s, k, r),
    "rank": lambda s, k, r: ops.sel_linear_rank(s, k, 1.7, r),
    "random": lambda s, k, r: ops.sel_random(len(s), k, r),
}


def population(genome, rows=12):
    rng = np.random.default_rng(0)
    if genome.kind == "permutation":
        return np.array([rng.permutation(genome.length) for _ in range(rows)])
    if genome.kind in ("integer", "binary", "categorical"):
        high = len(genome.symbols) - 1 if genome.kind == "categorical" else genome.upper
        return rng.integers(genome.lower, np.asarray(high) + 1, size=(rows, genome.length))
    return rng.uniform(genome.lower, genome.upper, size=(rows, genome.length))


def varied(genome, step, **settings):
    """A population after ``Variation``'s ``step`` ('mate' or 'mutate'), and its changed rows."""
    variation = Variation(AlgorithmSettings(**{**PARAMETERS, **settings}), genome,
                          np.random.default_rng(5))
    genomes, changed = population(genome), np.zeros(12, dtype=bool)
    getattr(variation, step)(genomes, changed, 0.9)
    return genomes, changed


def by_kernel(genome, kernel):
    genomes, changed = population(genome), np.zeros(12, dtype=bool)
    kernel(genomes, changed, 0.9, np.random.default_rng(5))
    return genomes, changed


@pytest.mark.parametrize("name", CROSSOVERS)
def test_each_crossover_setting_runs_its_kernel_with_the_settings_parameters(name):
    genome, kernel = CROSSOVERS[name]
    genomes, changed = varied(genome, "mate", crossover=name)
    expected, expected_changed = by_kernel(genome, kernel)
    np.testing.assert_array_equal(genomes, expected)
    assert changed.tolist() == expected_changed.tolist() and changed.any()


@pytest.mark.parametrize("name", MUTATIONS)
def test_each_mutation_setting_runs_its_kernel_with_the_settings_parameters(name):
    genome, kernel = MUTATIONS[name]
    genomes, changed = varied(genome, "mutate", mutation=name)
    expected, expected_changed = by_kernel(genome, kernel)
    np.testing.assert_array_equal(genomes, expected)
    assert changed.tolist() == expected_changed.tolist() and changed.any()


def test_categorical_reset_draws_other_symbols():
    genomes, changed = varied(CATEGORICAL, "mutate", mutation="reset")
    expected, expected_changed = by_kernel(CATEGORICAL, lambda g, c, p, r: ops.mut_reset_symbol(
        g, c, p, 0.4, np.full(6, 3, dtype=np.int64), r))
    np.testing.assert_array_equal(genomes, expected)
    assert changed.tolist() == expected_changed.tolist()


def test_the_kernels_are_told_apart_by_these_draws():
    """Every operator gives a different population here, so a name wired to another operator's
    kernel fails the tests above."""
    for table in (CROSSOVERS, MUTATIONS):
        for kind in ("real", "permutation"):
            outputs = [by_kernel(genome, kernel)[0].tobytes()
                       for genome, kernel in table.values() if genome.kind == kind]
            assert len(set(outputs)) == len(outputs), (kind, len(outputs))
    scores = np.random.default_rng(1).normal(size=30)
    chosen = [tuple(select(scores, 30, np.random.default_rng(5))) for select in SELECTIONS.values()]
    assert len(set(chosen)) == len(chosen)


@pytest.mark.parametrize("name", SELECTIONS)
def test_each_selection_setting_runs_its_kernel(name):
    scores = np.random.default_rng(1).normal(size=30)
    variation = Variation(AlgorithmSettings(**PARAMETERS, selection=name), REAL,
                          np.random.default_rng(5))
    expected = SELECTIONS[name](scores, 30, np.random.default_rng(5))
    assert variation.select(scores, 30).tolist() == expected.tolist()


@pytest.mark.parametrize("genome, name", [(INTEGER, "gaussian"), (BINARY, "uniform"),
                                          (INTEGER, "polynomial")])
def test_real_valued_mutations_on_whole_numbers_run_on_a_float_copy_then_round(genome, name):
    _, kernel = MUTATIONS[name]
    low, high = genome.lower, genome.upper

    def polynomial(g, c, p, r):  # the table's call has the real genome's bounds baked in
        ops.mut_polynomial_bounded(g, c, p, 0.4, 9.0, low, high, r)

    kernel = polynomial if name == "polynomial" else kernel
    genomes, changed = varied(genome, "mutate", mutation=name)
    floats, expected_changed = by_kernel(genome, lambda g, c, p, r: None)
    floats = floats.astype(np.float64)
    kernel(floats, expected_changed, 0.9, np.random.default_rng(5))
    assert genomes.dtype == population(genome).dtype
    np.testing.assert_array_equal(genomes, np.rint(floats))
    assert changed.tolist() == expected_changed.tolist()


def test_unset_sigma_and_gene_rate_come_from_the_genome():
    """Gaussian steps of a tenth of the mean bounds width, on one gene in ``length`` on average."""
    variation = Variation(AlgorithmSettings(mutation="gaussian"), REAL, np.random.default_rng(5))
    genomes, changed = population(REAL), np.zeros(12, dtype=bool)
    variation.mutate(genomes, changed, 0.9)
    expected, _ = by_kernel(REAL, lambda g, c, p, r: ops.mut_gaussian(g, c, p, 1 / 6, 0.0, 0.6,
                                                                      r))
    np.testing.assert_array_equal(genomes, expected)


@pytest.mark.parametrize("crossover", ["one_point", "blend", "sbx"])
@pytest.mark.parametrize("mutation", ["gaussian", "polynomial", "reset"])
def test_real_runs_stay_in_bounds_with_reflect(crossover, mutation):
    result = run(Sphere(6, -3.0, 3.0), crossover=crossover, mutation=mutation,
                 bounds_strategy="reflect", mutation_sigma=5.0)
    assert np.abs(result.best_genome).max() <= 3.0


@pytest.mark.parametrize("strategy", ["clip", "reflect", "resample"])
def test_integer_genomes_stay_integral_and_bounded(strategy):
    problem = Sphere(5, -4, 4, kind="integer")
    for mutation in ("gaussian", "uniform_int"):
        result = run(problem, mutation=mutation, crossover="sbx", bounds_strategy=strategy,
                     mutation_sigma=3.0)
        genome = result.best_genome
        assert genome.dtype == np.int64 and np.abs(genome).max() <= 4


@pytest.mark.parametrize("crossover", ["pmx", "ordered", "cycle"])
@pytest.mark.parametrize("mutation", ["swap", "inversion", "scramble", "insertion"])
def test_permutation_runs_keep_permutations(crossover, mutation):
    result = run(Misplaced(), crossover=crossover, mutation=mutation)
    assert sorted(result.best_genome.tolist()) == list(range(8))


def test_kind_defaults_replace_defaults_the_user_did_not_choose():
    result = run(Misplaced())  # one_point and gaussian would break permutations
    assert sorted(result.best_genome.tolist()) == list(range(8))
    result = run(Sphere(10, 0, 1, kind="binary"))
    assert set(result.best_genome.tolist()) <= {0, 1}


def test_an_operator_that_does_not_suit_the_genome_is_an_error_naming_the_choices():
    with pytest.raises(ConfigError, match="'crossover'.*permutation.*pmx, ordered, cycle"):
        run(Misplaced(), crossover="sbx")
    with pytest.raises(ConfigError, match="'mutation'.*binary.*uniform_int, bit_flip"):
        run(Sphere(10, 0, 1, kind="binary"), mutation="swap")


def test_real_valued_operators_on_bits_are_rounded_and_bounded():
    result = run(Sphere(10, 0, 1, kind="binary"), mutation="uniform", crossover="sbx",
                 mutation_probability=1.0, gene_probability=0.5)
    assert set(result.best_genome.tolist()) <= {0, 1}


def test_elitism_keeps_the_best_so_far_in_the_population():
    # Random selection and heavy mutation: without elitism the best is soon lost.
    values = dict(selection="random", mutation_probability=1.0, gene_probability=1.0,
                  mutation_sigma=2.0, generations=30)
    settings = AlgorithmSettings(population_size=20, seed=1, elitism=2, **values)
    opt, problem = ALGORITHMS["ea_simple"](Sphere(6, -3.0, 3.0), settings), Sphere(6, -3.0, 3.0)
    best = np.inf
    while not opt.stop():
        opt.tell(problem.evaluate(opt.ask()))
        assert opt.fitness.min() <= best
        best = min(best, opt.fitness.min())


def test_elitism_must_be_smaller_than_the_population():
    with pytest.raises(ValueError, match="elitism"):
        AlgorithmSettings(population_size=4, elitism=4)


def test_stop_says_which_criterion_fired():
    result = run(Sphere(6, -3.0, 3.0), generations=1000, max_evaluations=100)
    assert result.stop_reasons[0].startswith("max_evaluations")
    assert 100 <= result.evaluations < 100 + 20

    result = run(Sphere(6, -3.0, 3.0), generations=1000, target_fitness=0.5)
    assert result.stop_reasons[0].startswith("target_fitness")
    assert result.best_fitness[0] <= 0.5

    result = run(Sphere(6, -3.0, 3.0), generations=1000, stall_generations=5, selection="best",
                 mutation_probability=0.0, crossover_probability=0.0)
    assert result.stop_reasons == ["stall_generations: no better best for 5 generations"]
    assert result.generations == 5

    result = run(Sphere(6, -3.0, 3.0), generations=10**6, max_seconds=0.2)
    assert result.stop_reasons[0].startswith("max_seconds")

    assert run(Sphere(6, -3.0, 3.0)).stop_reasons == ["generations: reached 8"]


# --- the rest of the wiring: defaults, bounds, refusals, DEAP toolboxes -----------------------
def test_integer_genomes_go_through_real_valued_crossovers_on_a_float_copy_then_round():
    genomes, changed = varied(INTEGER, "mate", crossover="blend")
    floats, expected_changed = by_kernel(INTEGER, lambda g, c, p, r: None)
    floats = floats.astype(np.float64)
    ops.cx_blend(floats, expected_changed, 0.9, 0.3, np.random.default_rng(5))
    assert genomes.dtype == np.int64 and changed.tolist() == expected_changed.tolist()
    np.testing.assert_array_equal(genomes, np.rint(floats))
    assert not np.array_equal(floats, np.rint(floats))  # the rounding did something


def test_one_gene_mutation_on_integers_rounds_and_an_unset_gene_is_drawn():
    genomes, _ = varied(INTEGER, "mutate", mutation="uniform_one_gene", mutation_width=3.0)
    floats, changed = by_kernel(INTEGER, lambda g, c, p, r: None)
    floats = floats.astype(np.float64)
    ops.mut_uniform_one_gene(floats, changed, 0.9, 3, 3.0, np.random.default_rng(5))
    np.testing.assert_array_equal(genomes, np.rint(floats))
    variation = Variation(AlgorithmSettings(mutation="uniform_one_gene", mutation_width=0.6),
                          REAL, np.random.default_rng(5))
    genomes, changed = population(REAL), np.zeros(12, dtype=bool)
    variation.mutate(genomes, changed, 0.9)
    expected, _ = by_kernel(REAL, lambda g, c, p, r: ops.mut_uniform_one_gene(g, c, p, -1, 0.6,
                                                                              r))
    np.testing.assert_array_equal(genomes, expected)


def test_the_mutation_gene_may_be_the_last_gene_and_no_further():
    Variation(AlgorithmSettings(mutation="uniform_one_gene", mutation_gene=6), REAL,
              np.random.default_rng(0))
    with pytest.raises(ConfigError) as err:
        Variation(AlgorithmSettings(mutation="uniform_one_gene", mutation_gene=7), REAL,
                  np.random.default_rng(0))
    assert str(err.value) == "setting 'mutation_gene': 7 is past the genome's 6 genes"


@pytest.mark.parametrize("name", ["polynomial", "reset"])
def test_mutations_that_draw_within_bounds_refuse_unbounded_genes(name):
    for genome in (Genome("real", 3), Genome("real", 3, -1.0, np.inf)):
        with pytest.raises(ConfigError) as err:
            Variation(AlgorithmSettings(mutation=name), genome, np.random.default_rng(0))
        assert str(err.value) == f"setting 'mutation': {name!r} needs finite bounds on every gene"
    with pytest.raises(ConfigError, match="'uniform_int' needs finite bounds on every gene"):
        Variation(AlgorithmSettings(mutation="uniform_int"), Genome("integer", 3),
                  np.random.default_rng(0))


def test_unbounded_genes_get_a_unit_sigma():
    genome = Genome("real", 4)
    variation = Variation(AlgorithmSettings(mutation="gaussian"), genome,
                          np.random.default_rng(5))
    genomes, changed = np.zeros((12, 4)), np.zeros(12, dtype=bool)
    variation.mutate(genomes, changed, 0.9)
    expected, expected_changed = np.zeros((12, 4)), np.zeros(12, dtype=bool)
    ops.mut_gaussian(expected, expected_changed, 0.9, 0.25, 0.0, 1.0, np.random.default_rng(5))
    np.testing.assert_array_equal(genomes, expected)


@pytest.mark.parametrize("genome", [REAL, INTEGER, Genome("real", 3, 0.0, np.inf),
                                    Genome("real", 3, -np.inf, 1.0)])
def test_bound_keeps_every_bounded_gene_in_its_bounds(genome):
    variation = Variation(AlgorithmSettings(), genome, np.random.default_rng(0))
    genomes = np.full((2, genome.length), 100.0)
    genomes[1] = -100.0
    kept = variation.bound(genomes)
    low, high = genome.lower, genome.upper
    expected = np.clip(np.array([[100.0] * genome.length, [-100.0] * genome.length]), low, high)
    np.testing.assert_array_equal(kept, expected)


def test_unbounded_genes_are_left_alone_by_bound():
    variation = Variation(AlgorithmSettings(), Genome("real", 3), np.random.default_rng(0))
    genomes = np.array([[1e300, -1e300, 5.0]])
    np.testing.assert_array_equal(variation.bound(genomes.copy()), genomes)


def test_resolved_settings_add_only_what_was_derived():
    from evoengine.algorithms.variation import resolve_operators

    resolved = resolve_operators(AlgorithmSettings(seed=3), Genome("permutation", 5))
    assert (resolved.crossover, resolved.mutation) == ("ordered", "inversion")
    assert resolved.model_fields_set == {"seed", "crossover", "mutation"}


class _Recording:
    """DEAP-style operators that record their calls and change what they get visibly."""

    def __init__(self):
        self.calls = []

    def mate(self, a, b):
        self.calls.append(("mate", list(a), list(b)))
        return type(a)(b), type(b)(a)  # swap the parents

    def mutate(self, ind):
        self.calls.append(("mutate", list(ind)))
        return (type(ind)([-v for v in ind]),)

    def select(self, individuals, k):
        self.calls.append(("select", [(i.row, i.fitness.values) for i in individuals], k))
        return sorted(individuals, key=lambda i: i.fitness.values, reverse=True)[:k]


def _toolbox(recording, *names):
    from deap import base

    toolbox = base.Toolbox()
    for name in names:
        toolbox.register(name, getattr(recording, name))
    return toolbox


def test_a_toolbox_replaces_only_the_operators_it_registers():
    recording = _Recording()
    variation = Variation(AlgorithmSettings(**PARAMETERS, crossover="blend"), REAL,
                          np.random.default_rng(5), toolbox=_toolbox(recording, "mate"))
    genomes, changed = population(REAL, rows=5), np.zeros(5, dtype=bool)
    variation.mate(genomes, changed, 1.0)
    # every pair (0, 1), (2, 3) swapped; the odd last row untouched
    np.testing.assert_array_equal(genomes, population(REAL, rows=5)[[1, 0, 3, 2, 4]])
    assert changed.tolist() == [True, True, True, True, False]
    assert [c[0] for c in recording.calls] == ["mate", "mate"]
    fresh = Variation(AlgorithmSettings(**PARAMETERS, crossover="blend"), REAL,
                      np.random.default_rng(5), toolbox=_toolbox(recording, "mate"))
    scores = np.random.default_rng(1).normal(size=30)  # selection and mutation: built in
    assert fresh.select(scores, 30).tolist() == ops.sel_tournament(
        scores, 30, 4, np.random.default_rng(5)).tolist()
    genomes, changed = population(REAL), np.zeros(12, dtype=bool)
    fresh.mutate(genomes, changed, 0.9)
    assert recording.calls[2:] == [] and changed.any()


def test_toolbox_mating_and_mutation_follow_the_probability_on_the_runs_generator():
    recording = _Recording()
    variation = Variation(AlgorithmSettings(), REAL, np.random.default_rng(7),
                          toolbox=_toolbox(recording, "mate", "mutate"))
    genomes, changed = population(REAL), np.zeros(12, dtype=bool)
    variation.mutate(genomes, changed, 0.5)
    replay = np.random.default_rng(7)
    replay.integers(2**63)  # the seed for Python's random
    chosen = [replay.random() < 0.5 for _ in range(12)]
    assert changed.tolist() == chosen and 0 < sum(chosen) < 12
    original = population(REAL)
    np.testing.assert_array_equal(genomes, np.where(np.array(chosen)[:, None], -original,
                                                    original))
    variation.mate(genomes, np.zeros(12, dtype=bool), 0.0)
    assert [c[0] for c in recording.calls].count("mate") == 0


def test_toolbox_selection_sees_scores_as_fitness_and_failed_rows_last():
    recording = _Recording()
    variation = Variation(AlgorithmSettings(), REAL, np.random.default_rng(0),
                          toolbox=_toolbox(recording, "select"))
    scores = np.array([0.5, np.nan, 2.0, -np.inf, 1.0])
    rows = variation.select(scores, 4)
    assert rows.tolist() == [2, 4, 0, 1] and rows.dtype == np.int64
    (_, seen, k), = recording.calls
    worst = -np.finfo(float).max
    assert k == 4 and seen == [(0, (0.5,)), (1, (worst,)), (2, (2.0,)), (3, (worst,)),
                               (4, (1.0,))]


def test_cma_es_settings_get_its_own_population_and_step_size_written_out():
    from evoengine.algorithms.variation import resolve_operators

    resolved = resolve_operators(AlgorithmSettings(algorithm="cma_es", seed=1), REAL)
    # 4 + floor(3 ln 6) samples, a step of 0.3 of the mean bounds width (6)
    assert (resolved.offspring_size, resolved.cma_sigma) == (9, pytest.approx(1.8))
    assert resolved.model_fields_set == {"algorithm", "seed", "offspring_size", "cma_sigma"}
    assert (resolved.crossover, resolved.mutation) == ("one_point", "gaussian")  # untouched
    mine = resolve_operators(AlgorithmSettings(algorithm="cma_es", offspring_size=20,
                                               cma_sigma=0.5), REAL)
    assert (mine.offspring_size, mine.cma_sigma) == (20, 0.5)


def _replayed(seed, rows, probability, operator):
    """What a toolbox operator does to ``rows``, with the draws a Variation on
    ``default_rng(seed)`` makes: Python's random seeded from it, then one draw per row."""
    import random

    from evoengine.deap_bridge import Individual

    replay = np.random.default_rng(seed)
    random.seed(int(replay.integers(2**63)))
    out = [list(r) for r in rows]
    for i in range(len(out)):
        if replay.random() < probability:
            (out[i],) = operator(Individual(out[i]))
    return np.array(out, dtype=float)


def test_deap_operators_draw_from_pythons_random_seeded_by_the_run():
    from deap import tools

    toolbox = _toolbox(_Recording())
    toolbox.register("mutate", tools.mutGaussian, mu=0.0, sigma=1.0, indpb=0.5)
    variation = Variation(AlgorithmSettings(), REAL, np.random.default_rng(11), toolbox=toolbox)
    genomes, changed = population(REAL), np.zeros(12, dtype=bool)
    variation.mutate(genomes, changed, 0.7)
    expected = _replayed(11, population(REAL), 0.7, toolbox.mutate)
    np.testing.assert_array_equal(genomes, expected)


def test_deap_mating_and_selection_draw_from_pythons_random_seeded_by_the_run():
    import random

    from deap import tools

    from evoengine.deap_bridge import Individual

    toolbox = _toolbox(_Recording())
    toolbox.register("mate", tools.cxUniform, indpb=0.5)
    toolbox.register("select", tools.selTournament, tournsize=3)
    variation = Variation(AlgorithmSettings(), REAL, np.random.default_rng(13), toolbox=toolbox)
    genomes = population(REAL)
    variation.mate(genomes, np.zeros(12, dtype=bool), 0.8)
    scores = np.linspace(0.0, 1.0, 12)
    rows = variation.select(scores, 6)
    replay = np.random.default_rng(13)  # the same draws: a seed, one per pair, a seed
    random.seed(int(replay.integers(2**63)))
    expected = [list(r) for r in population(REAL)]
    for a in range(0, 12, 2):
        if replay.random() < 0.8:
            x, y = toolbox.mate(Individual(expected[a]), Individual(expected[a + 1]))
            expected[a], expected[a + 1] = list(x), list(y)
    np.testing.assert_array_equal(genomes, np.array(expected))
    assert not np.array_equal(genomes, population(REAL))  # the crossover did change genes
    random.seed(int(replay.integers(2**63)))
    contests = [[random.randrange(12) for _ in range(3)] for _ in range(6)]  # selRandom's draws
    assert rows.tolist() == [max(contest, key=lambda row: scores[row]) for contest in contests]


def test_deap_mating_covers_every_pair_of_an_even_population():
    recording = _Recording()
    variation = Variation(AlgorithmSettings(), REAL, np.random.default_rng(5),
                          toolbox=_toolbox(recording, "mate"))
    genomes, changed = population(REAL, rows=4), np.zeros(4, dtype=bool)
    variation.mate(genomes, changed, 1.0)
    np.testing.assert_array_equal(genomes, population(REAL, rows=4)[[1, 0, 3, 2]])
    assert changed.all()
