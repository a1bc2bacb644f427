"""Categorical genomes: symbols without order, the reset-to-another-symbol kernel against its
slow reference, the operators that suit the kind, and a run that keeps every gene a symbol."""

import numpy as np
import pytest

import naive
from evoengine import Genome, Objective, Problem
from evoengine import operators as ops
from evoengine.config import AlgorithmSettings
from evoengine.errors import ConfigError
from evoengine.run import optimize
from test_core_operators import FixedSeed


@pytest.fixture(params=[5, 2**41 + 3])
def seed(request):
    return request.param


def test_reset_symbol_matches_reference(seed):
    counts = np.array([2, 3, 5, 3, 4, 7])
    pop = np.random.default_rng(1).integers(0, counts, size=(14, 6))
    ref, ref_changed = naive.reset_symbol(pop.tolist(), 0.7, 0.5, counts.tolist(), seed)
    changed = np.zeros(14, dtype=bool)
    ops.mut_reset_symbol(pop, changed, 0.7, 0.5, counts, FixedSeed(seed))
    assert pop.tolist() == ref and changed.tolist() == ref_changed
    assert any(ref_changed) and not all(ref_changed)


def test_reset_symbol_always_changes_a_mutated_gene_and_reaches_every_other_symbol():
    pop = np.zeros((3000, 1), dtype=np.int64)
    changed = np.zeros(3000, dtype=bool)
    ops.mut_reset_symbol(pop, changed, 1.0, 1.0, 4, np.random.default_rng(2))
    counts = np.bincount(pop[:, 0], minlength=4)
    assert counts[0] == 0 and changed.all()
    assert np.all(np.abs(counts[1:] - 1000) < 120)  # uniform over the other three


def test_reset_symbol_needs_two_symbols():
    with pytest.raises(ValueError, match="two symbols"):
        ops.mut_reset_symbol(np.zeros((2, 2), np.int64), np.zeros(2, bool), 1.0, 1.0, 1,
                             np.random.default_rng(0))


def test_genome_checks_its_symbols():
    genome = Genome("categorical", 4, symbols=("L", "R", "S"))
    assert genome.lower.tolist() == [0] * 4 and genome.upper.tolist() == [2] * 4
    assert genome.dtype == np.int64 and genome.bounded
    with pytest.raises(ConfigError, match="two distinct symbols"):
        Genome("categorical", 4, symbols=("L", "L"))
    with pytest.raises(ConfigError, match="symbols apply to categorical"):
        Genome("integer", 4, 0, 2, symbols=("a", "b"))


class Word(Problem):
    """Match a target word over an alphabet (the number of right letters, maximized)."""

    alphabet = tuple("abcdefgh")
    target = np.array([1, 7, 3, 3, 0, 5, 6, 2, 4, 1, 0, 7])

    def __init__(self):
        super().__init__(Genome("categorical", len(self.target), symbols=self.alphabet),
                         (Objective("letters", "maximize"),))

    def evaluate(self, genomes):
        return (genomes == self.target).sum(axis=1)[:, None].astype(float)


@pytest.mark.parametrize("crossover", ["one_point", "two_point", "uniform", "midpoint"])
def test_categorical_runs_keep_symbols_and_find_the_word(crossover):
    settings = AlgorithmSettings(population_size=60, generations=60, seed=4, crossover=crossover,
                                 elitism=1)
    result = optimize(Word(), settings)
    assert set(result.best_genome.tolist()) <= set(range(8))
    assert result.best_fitness[0] == len(Word.target)
    assert Word().describe(result.best_genome)["symbols"] == [Word.alphabet[g]
                                                              for g in Word.target]


@pytest.mark.parametrize("key, name", [("crossover", "blend"), ("crossover", "sbx"),
                                       ("mutation", "gaussian"), ("mutation", "uniform_int")])
def test_operators_that_step_values_are_refused_naming_the_choices(key, name):
    with pytest.raises(ConfigError, match=f"'{key}': '{name}' does not suit categorical genomes; "
                                          "valid choices: "):
        optimize(Word(), AlgorithmSettings(population_size=10, generations=1, **{key: name}))
