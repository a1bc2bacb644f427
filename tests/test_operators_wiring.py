"""The operators as the settings choose them, per genome kind; bounds strategies in a run;
elitism; stop criteria and what stop() says."""

import numpy as np
import pytest

from evoengine import Genome, Objective, Problem
from evoengine.algorithms import ALGORITHMS
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


@pytest.mark.parametrize("crossover", ["one_point", "midpoint", "two_point", "uniform", "blend",
                                       "arithmetic", "sbx"])
@pytest.mark.parametrize("mutation", ["gaussian", "polynomial", "reset"])
def test_real_operators_run_and_respect_bounds(crossover, mutation):
    result = run(Sphere(6, -3.0, 3.0), crossover=crossover, mutation=mutation, bounds_strategy="reflect")
    assert np.abs(result.best_genome).max() <= 3.0


@pytest.mark.parametrize("selection", ["tournament", "best", "roulette", "sus", "rank",
                                       "random"])
def test_every_selection_runs(selection):
    result = run(Sphere(6, -3.0, 3.0), selection=selection)
    assert result.generations == 8


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
