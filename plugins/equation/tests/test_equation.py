"""The equation plugin: the tutorial, the test functions, expressions optimized."""

import math

import numpy as np
import pytest

from evoengine.errors import ConfigError
from evoengine.run import optimize, prepare
from evoengine.plugins import load_plugins
from evoengine_equation.functions import TEST_FUNCTIONS, evaluate_function

REFERENCE_FUNCTIONS = {
    "sphere": lambda x: sum(v * v for v in x),
    "rastrigin": lambda x: 10 * len(x) + sum(v * v - 10 * math.cos(2 * math.pi * v) for v in x),
    "rosenbrock": lambda x: sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2
                                for i in range(len(x) - 1)),
    "ackley": lambda x: (-20 * math.exp(-0.2 * math.sqrt(sum(v * v for v in x) / len(x)))
                         - math.exp(sum(math.cos(2 * math.pi * v) for v in x) / len(x))
                         + 20 + math.e),
    "griewank": lambda x: (sum(v * v for v in x) / 4000
                           - math.prod(math.cos(v / math.sqrt(i + 1)) for i, v in enumerate(x))
                           + 1),
    "schwefel": lambda x: 418.9828872724339 * len(x) - sum(v * math.sin(math.sqrt(abs(v)))
                                                           for v in x),
}


@pytest.mark.parametrize("name", sorted(TEST_FUNCTIONS))
def test_test_functions_match_reference_and_optimum(name):
    f = TEST_FUNCTIONS[name]
    x = np.random.default_rng(1).uniform(f.low, f.high, size=(20, 7))
    np.testing.assert_allclose(evaluate_function(name, x),
                               [REFERENCE_FUNCTIONS[name](row) for row in x], rtol=1e-9)
    at_optimum = evaluate_function(name, np.full((1, 7), f.optimum))[0]
    assert abs(at_optimum) < 1e-3


def _prepare(problem, **values):
    return prepare(load_plugins().registry.get(problem), values)


def test_tutorial_defaults_are_the_tutorials():
    run = _prepare("equation")
    s = run.settings
    assert (s.algorithm, s.population_size, s.parents, s.crossover, s.mutation,
            s.mutation_gene) == ("steady_state", 8, 4, "midpoint", "uniform_one_gene", 5)
    assert run.problem.notes and "unbounded" in run.problem.notes[0]
    assert run.problem.evaluate(np.ones((1, 6)))[0, 0] == pytest.approx(4 - 2 + 3.5 + 5 - 11
                                                                        - 4.7)


def test_tutorial_with_bounds_stays_inside_them():
    run = _prepare("equation", bounds=[-4, 4], generations=300, seed=1)
    assert not run.problem.notes
    result = optimize(run.problem, run.settings)
    assert result.best_fitness[0] <= 120.8 + 1e-9
    # The tutorial mutates only gene 5 (input -11): it is driven to its bound; the other
    # genes can only recombine what the first population had.
    assert result.best_genome[4] == -4.0
    assert result.best_fitness[0] > result.logbook[0]["max"]


def test_expression_reaches_120_8():
    run = _prepare("equation", expression="4*x1 - 2*x2 + 3.5*x3 + 5*x4 - 11*x5 - 4.7*x6",
                   bounds=[-4, 4], seed=1)
    result = optimize(run.problem, run.settings)
    assert result.best_fitness[0] == pytest.approx(120.8, abs=1e-9)
    np.testing.assert_array_equal(result.best_genome, [4, -4, 4, 4, -4, -4])


def test_minimize_an_expression():
    run = _prepare("equation", expression="(x1 - 1)^2 + (x2 + 2)^2", bounds=[-5, 5],
                   sense="minimize", seed=3)
    result = optimize(run.problem, run.settings)
    np.testing.assert_allclose(result.best_genome, [1, -2], atol=0.05)


def test_expression_needs_bounds():
    with pytest.raises(ConfigError, match="'bounds' is required"):
        _prepare("equation", expression="x1")


@pytest.mark.parametrize("name", ["sphere", "rastrigin"])
def test_test_functions_are_solved(name):
    run = _prepare(name, dimension=5, seed=0, generations=150)
    assert optimize(run.problem, run.settings).best_fitness[0] < 0.1
