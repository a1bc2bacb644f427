"""The ask/tell core and the four classic algorithms."""

import numpy as np
import pytest
from deap import base, tools

from evoengine import Genome, Objective, Problem
from evoengine.config import AlgorithmSettings
from evoengine.run import make_optimizer, optimize
from helpers import Sphere


class Counted(Sphere):
    """Counts the rows it is asked to evaluate (a probe for this file's counting test)."""

    calls = 0

    def evaluate(self, genomes):
        self.calls += len(genomes)
        return super().evaluate(genomes)


def settings(**kw):
    base_kw = {"population_size": 40, "generations": 30, "seed": 1, "crossover": "blend"}
    return AlgorithmSettings(**{**base_kw, **kw})


@pytest.mark.parametrize("algorithm", ["ea_simple", "mu_plus_lambda", "mu_comma_lambda",
                                       "steady_state"])
def test_same_seed_same_result_and_progress(algorithm):
    extra = {"offspring_size": 80} if algorithm == "mu_comma_lambda" else {}
    if algorithm.startswith("mu"):
        extra["mutation_probability"] = 0.2
    runs = [optimize(Sphere(), settings(algorithm=algorithm, **extra)) for _ in range(2)]
    np.testing.assert_array_equal(runs[0].best_genome, runs[1].best_genome)
    assert runs[0].logbook.select("avg") == runs[1].logbook.select("avg")
    other = optimize(Sphere(), settings(algorithm=algorithm, seed=2, **extra))
    assert not np.array_equal(other.best_genome, runs[0].best_genome)
    first_best = runs[0].logbook[0]["min"]
    assert runs[0].best_fitness[0] < first_best / 5, "the run should make progress"


def test_ea_simple_evaluates_only_changed_rows_and_counts_them():
    problem = Counted()
    result = optimize(problem, settings(crossover_probability=0.5, mutation_probability=0.1))
    nevals = result.logbook.select("nevals")
    assert nevals[0] == 40 and all(0 < n < 40 for n in nevals[1:])
    assert sum(nevals) == problem.calls == result.evaluations


def test_ask_tell_by_hand_matches_optimize():
    problem, s = Sphere(), settings()
    opt = make_optimizer(problem, s)
    while not opt.stop():
        x = opt.ask()
        opt.tell(problem.evaluate(x))
    result = optimize(Sphere(), s)
    np.testing.assert_array_equal(opt.best[0], result.best_genome)
    assert opt.stop() == ["generations: reached 30"]


def test_tell_checks_the_number_of_rows():
    opt = make_optimizer(Sphere(), settings())
    opt.ask()
    with pytest.raises(ValueError, match="fitness rows"):
        opt.tell(np.zeros((3, 1)))


def test_maximize_and_minimize_are_honoured():
    low = optimize(Sphere(sense="minimize"), settings()).best_genome
    high = optimize(Sphere(sense="maximize"), settings()).best_genome
    assert np.abs(low).max() < 1.0
    assert np.all(np.abs(high) > 4.0)  # pushed to the bounds


class Flaky(Sphere):
    """Half the rows fail with NaN; the failed ones would otherwise be the best."""

    def evaluate(self, genomes):
        f = super().evaluate(genomes)
        f[genomes[:, 0] < 0] = np.nan
        return f


def test_failed_evaluations_are_never_best_and_are_counted():
    result = optimize(Flaky(sense="maximize"), settings())
    assert result.best_genome[0] >= 0
    assert np.isfinite(result.best_fitness).all()
    assert result.failures == sum(result.logbook.select("failed")) > 0
    for ind in result.hall_of_fame:
        assert ind[0] >= 0


def test_hall_of_fame_is_sorted_and_matches_best():
    result = optimize(Sphere(), settings(hall_of_fame_size=4))
    values = [ind.fitness.values[0] for ind in result.hall_of_fame]
    assert values == sorted(values) and len(values) == 4
    assert values[0] == result.best_fitness[0] == min(result.logbook.select("min"))


def test_steady_state_is_the_tutorial_scheme():
    """Parents are the previous best rows, children mix a ring of parent pairs at the middle,
    and only gene 5 is mutated."""
    problem = Sphere(6, sense="maximize")
    s = settings(algorithm="steady_state", population_size=8, parents=4, selection="best",
                 crossover="midpoint", crossover_probability=1.0, mutation="uniform_one_gene",
                 mutation_gene=5, mutation_probability=1.0, mutation_width=1.0)
    opt = make_optimizer(problem, s)
    opt.tell(problem.evaluate(opt.ask()))
    before, scores = opt.genomes.copy(), opt.scores()
    opt.tell(problem.evaluate(opt.ask()))
    parents = before[np.argsort(-scores, kind="stable")[:4]]
    np.testing.assert_array_equal(opt.genomes[:4], parents)
    for k in range(4):
        child = opt.genomes[4 + k]
        a, b = parents[k % 4], parents[(k + 1) % 4]
        np.testing.assert_array_equal(child[:3], a[:3])
        np.testing.assert_array_equal(child[[3, 5]], b[[3, 5]])
        assert 0 < abs(child[4] - b[4]) <= 1.0


def test_mu_comma_lambda_requires_enough_offspring():
    with pytest.raises(ValueError, match="offspring_size"):
        AlgorithmSettings(algorithm="mu_comma_lambda", population_size=10, offspring_size=5)


def test_deap_toolbox_operators_replace_builtins():
    toolbox = base.Toolbox()
    toolbox.register("select", tools.selTournament, tournsize=3)
    toolbox.register("mate", tools.cxBlend, alpha=0.5)
    toolbox.register("mutate", tools.mutGaussian, mu=0, sigma=0.3, indpb=0.3)
    runs = [optimize(Sphere(), settings(), toolbox=toolbox) for _ in range(2)]
    np.testing.assert_array_equal(runs[0].best_genome, runs[1].best_genome)
    assert runs[0].best_fitness[0] < runs[0].logbook[0]["min"] / 5
    builtin = optimize(Sphere(), settings())
    assert not np.array_equal(builtin.best_genome, runs[0].best_genome)


def test_deap_select_with_failed_rows_ranks_them_last():
    toolbox = base.Toolbox()
    toolbox.register("select", tools.selBest)
    result = optimize(Flaky(sense="maximize"), settings(), toolbox=toolbox)
    assert result.best_genome[0] >= 0


class OneAtATime(Problem):
    """Only evaluate_one: the engine batches for it."""

    def __init__(self):
        super().__init__(Genome("real", 3, -1.0, 1.0), (Objective("f", "maximize"),))

    def evaluate_one(self, genome):
        return float(genome.sum())


def test_problem_with_only_evaluate_one():
    result = optimize(OneAtATime(), settings(generations=20))
    assert result.best_fitness[0] > 2.5


def test_multi_objective_problem_is_refused_by_single_objective_algorithms():
    problem = Sphere()
    problem.objectives = (Objective("a"), Objective("b"))
    from evoengine.errors import ConfigError

    with pytest.raises(ConfigError, match="one objective"):
        make_optimizer(problem, settings())
