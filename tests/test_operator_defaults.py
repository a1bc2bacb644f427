"""Each genome kind's default operators, every derived value written into config.toml, and the
error for an operator that does not suit the kind."""

import tomllib

import numpy as np
import pytest
from click.testing import CliRunner

from evoengine import Genome, Objective, Problem
from evoengine.algorithms.variation import KIND_DEFAULTS, resolve_operators
from evoengine.cli import main
from evoengine.config import AlgorithmSettings
from evoengine.errors import ConfigError
from evoengine.run import optimize


@pytest.mark.parametrize("genome, crossover, mutation", [
    (Genome("real", 4, -5.0, 5.0), "one_point", "gaussian"),
    (Genome("integer", 4, 0, 2), "two_point", "uniform_int"),
    (Genome("categorical", 4, symbols=("L", "R", "S")), "two_point", "reset"),
    (Genome("binary", 4), "two_point", "bit_flip"),
    (Genome("permutation", 4), "ordered", "inversion"),
])
def test_each_kind_gets_its_own_operators_and_a_gene_rate(genome, crossover, mutation):
    s = resolve_operators(AlgorithmSettings(), genome)
    assert (s.crossover, s.mutation) == (crossover, mutation)
    if mutation != "inversion":
        assert s.gene_probability == pytest.approx(0.25)
    assert (s.mutation_sigma is not None) == (mutation == "gaussian")
    # Kinds whose mutation changes one gene of a child on average mutate every child.
    assert s.mutation_probability == (1.0 if genome.kind in ("integer", "categorical") else 0.2)
    assert set(KIND_DEFAULTS) | {"real"} == {"real", "integer", "categorical", "binary",
                                             "permutation"}


def test_the_users_choices_stay_and_derived_values_fill_only_what_is_unset():
    genome = Genome("real", 5, -2.0, 8.0)
    s = resolve_operators(AlgorithmSettings(crossover="sbx", gene_probability=0.5), genome)
    assert (s.crossover, s.mutation, s.gene_probability, s.mutation_sigma) == (
        "sbx", "gaussian", 0.5, 1.0)
    assert resolve_operators(s, genome) == s  # resolving twice changes nothing
    moves = Genome("integer", 5, 0, 2)
    for values in ({"mutation_probability": 0.3}, {"algorithm": "mu_plus_lambda"},
                   {"mutation": "gaussian"}):
        assert resolve_operators(AlgorithmSettings(**values), moves).mutation_probability < 1


def test_integer_gaussian_sigma_is_at_least_one_so_rounded_steps_change_genes():
    s = resolve_operators(AlgorithmSettings(mutation="gaussian"), Genome("integer", 50, 0, 2))
    assert s.mutation_sigma == 1.0
    assert resolve_operators(AlgorithmSettings(mutation="gaussian"),
                             Genome("integer", 50, 0, 100)).mutation_sigma == 10.0


class Moves(Problem):
    """Integer moves in {0, 1, 2}: score = genes equal to a target sequence."""

    target = np.random.default_rng(0).integers(0, 3, 60)

    def __init__(self):
        super().__init__(Genome("integer", 60, 0, 2), (Objective("hits", "maximize"),))

    def evaluate(self, genomes):
        return (genomes == self.target).sum(axis=1)[:, None].astype(float)


def test_integer_defaults_keep_the_population_searching():
    # The failure: gaussian sigma 0.2, rounded, changed almost no genes and the
    # population collapsed. The defaults must keep improving on a 60-gene, 3-valued genome.
    settings = AlgorithmSettings(population_size=50, generations=60, seed=2)
    best = optimize(Moves(), settings).best_fitness[0]
    old = optimize(Moves(), settings.model_copy(update={"mutation": "gaussian",
                                                        "mutation_sigma": 0.2})).best_fitness[0]
    assert best >= 50 and best > old


def test_an_unsuitable_operator_names_the_kinds_choices():
    with pytest.raises(ConfigError, match="setting 'mutation': 'bit_flip' does not suit integer "
                                          "genomes; valid choices: gaussian, uniform, "
                                          "uniform_one_gene, polynomial, uniform_int"):
        resolve_operators(AlgorithmSettings(mutation="bit_flip"), Genome("integer", 3, 0, 2))


def test_config_toml_holds_the_operators_and_derived_values(tmp_path):
    result = CliRunner().invoke(main, ["run", "sphere", "--set", "dimension=4", "--set",
                                       "generations=2", "-q", "--out", str(tmp_path)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (folder,) = tmp_path.glob("sphere-*")
    used = tomllib.loads((folder / "config.toml").read_text())
    assert used["crossover"] == "blend" and used["mutation"] == "gaussian"  # sphere's own
    assert used["gene_probability"] == 0.25
    assert used["mutation_sigma"] == pytest.approx(1.024)  # a tenth of [-5.12, 5.12]


def test_an_unsuitable_operator_on_the_command_line_is_one_error_line(tmp_path):
    result = CliRunner().invoke(main, ["run", "tsp", "--set", "mutation=gaussian", "--out",
                                       str(tmp_path)])
    assert result.exit_code == 2
    assert "error: setting 'mutation': 'gaussian' does not suit permutation genomes" in (
        result.output)
