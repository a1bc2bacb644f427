"""The GP ask/tell algorithm: dispatch from optimize, reproducibility, elitism, typed runs,
checkpoint state, and constant fitting against SciPy's least squares."""

import numpy as np
import pytest

from evoengine import Objective
from evoengine.config import GPSettings
from evoengine.errors import ConfigError
from evoengine.gp import PrimitiveSet, TreeProblem, mean_squared_error
from evoengine.gp.algorithm import GeneticProgramming
from evoengine.gp.constants import fit_constants
from evoengine.gp.deap_io import parse_tree
from evoengine.gp.evaluator import evaluate_trees
from evoengine.gp.trees import NODE_DTYPE
from evoengine.run import optimize

X = np.linspace(-1, 1, 20)[:, None]
QUARTIC = X[:, 0] ** 4 + X[:, 0] ** 3 + X[:, 0] ** 2 + X[:, 0]


def quartic_problem():
    ps = PrimitiveSet(["x"])
    ps.add_builtin("add", "sub", "mul", "pdiv", "neg", "sin", "cos")
    ps.add_ephemeral("c", -1.0, 1.0)
    return TreeProblem(ps, fitness=lambda trees: mean_squared_error(trees, X, QUARTIC))


def small(**extra):
    return GPSettings(**{"population_size": 200, "generations": 12, "seed": 3, **extra})


def test_optimize_dispatches_trees_to_gp_and_repeats_with_a_seed():
    problem = quartic_problem()
    first = optimize(problem, small())
    second = optimize(problem, small())
    assert np.array_equal(first.best_genome, second.best_genome)
    assert first.best_genome.dtype == NODE_DTYPE
    assert [r["min"] for r in first.logbook] == [r["min"] for r in second.logbook]
    # the best fitness is the best tree's own error, and never gets worse with elitism
    trees = problem.trees_of(first.best_genome)
    assert mean_squared_error(trees, X, QUARTIC)[0] == pytest.approx(first.best_fitness[0])
    mins = [r["min"] for r in first.logbook]
    assert all(b <= a for a, b in zip(mins, mins[1:], strict=False))
    assert first.logbook[0]["min"] > first.best_fitness[0]  # it learnt something
    assert "size" in first.logbook[-1]


def test_ask_tell_by_hand_and_failed_evaluations():
    problem = quartic_problem()
    gp = GeneticProgramming(problem, small(elitism=0))
    trees = gp.ask()
    assert len(trees) == 200
    with pytest.raises(RuntimeError):
        gp.ask()
    fitness = problem.evaluate(trees)
    fitness[:10] = np.nan  # failed evaluations rank worst, never best
    gp.tell(fitness)
    assert gp.failures == 10
    assert np.isfinite(gp.best[1]).all()
    offspring = gp.ask()
    assert 0 < len(offspring) <= 200


def test_typed_gp_run_builds_only_well_typed_trees():
    ps = PrimitiveSet(["x"])
    ps.add_builtin("add", "mul")
    ps.add_function("if_then_else", lambda c, a, b: a if c > 0.5 else b,
                    in_types=["bool", "float", "float"])
    ps.add_function("lt", lambda a, b: 1.0 if a < b else 0.0, ret_type="bool")
    ps.add_constant("true", 1.0, ret_type="bool")
    ps.add_ephemeral("c", -1.0, 1.0)
    target = np.abs(X[:, 0])
    problem = TreeProblem(ps, fitness=lambda t: mean_squared_error(t, X, target))
    gp = GeneticProgramming(problem, GPSettings(population_size=60, generations=5, seed=1))
    while not gp.stop():
        gp.tell(problem.evaluate(gp.ask()))
    for i in range(len(gp.genomes)):
        want = [ps.root_type]
        for code in gp.genomes.codes[i, :gp.genomes.lengths[i]]:
            node = ps.nodes[code]
            assert node.ret == want.pop()
            want.extend(reversed(node.args))
        assert not want


def test_checkpoint_state_round_trip_continues_the_same_run():
    problem = quartic_problem()
    settings = small(generations=6)
    straight = GeneticProgramming(problem, settings)
    for _ in range(3):
        straight.tell(problem.evaluate(straight.ask()))
    values, arrays = straight.export_state()
    restored = GeneticProgramming(problem, settings)
    restored.restore_state(values, arrays)
    for gp in (straight, restored):
        while not gp.stop():
            gp.tell(problem.evaluate(gp.ask()))
    assert np.array_equal(straight.best[0], restored.best[0])
    assert np.array_equal(straight.genomes.codes, restored.genomes.codes)


def test_settings_are_checked():
    with pytest.raises(ValueError, match="init_min_depth"):
        GPSettings(init_min_depth=5, init_max_depth=2)
    assert GPSettings.model_validate({"mutation": "hoist"}).mutation == ["hoist"]
    with pytest.raises(ValueError):
        GPSettings(mutation=["teleport"])
    ps = PrimitiveSet(["x"], variable_types=["bool"])
    ps.add_builtin("add")  # float arguments, but nothing float to end a branch with
    with pytest.raises(ConfigError, match="no terminal"):
        TreeProblem(ps, objectives=(Objective("f", "maximize"),))


def test_constant_fitting_finds_the_constants_that_made_the_data():
    ps = PrimitiveSet(["x"])
    ps.add_builtin("add", "mul", "sin", "exp", "neg")
    ps.add_ephemeral("c", -1.0, 1.0)
    x = np.linspace(-2, 2, 40)
    y = 1.7 * np.sin(1.3 * x) - 0.4 * np.exp(-0.5 * x)
    text = "add(mul(0.5, sin(mul(1.0, x))), mul(-0.1, exp(mul(-0.2, x))))"
    trees = parse_tree(ps, text)
    start = trees.consts[0, trees.codes[0] == ps.code("c")].copy()
    before = mean_squared_error(trees, x[:, None], y)[0]
    fit_constants(trees, x[:, None], y, steps=30)
    after = mean_squared_error(trees, x[:, None], y)[0]
    fitted = trees.consts[0, trees.codes[0] == ps.code("c")]

    # The data came from these constants: the fit's exact optimum, with zero error.
    assert after < before
    np.testing.assert_allclose(fitted, [1.7, 1.3, -0.4, -0.5], rtol=1e-4)
    assert after < 1e-10
    assert start.tolist() == [0.5, 1.0, -0.1, -0.2]  # from far enough to need the fit
    # a tree without constants is left as it is
    plain = parse_tree(ps, "sin(x)")
    fit_constants(plain, x[:, None], y, steps=3)
    np.testing.assert_allclose(evaluate_trees(plain, x[:, None])[0], np.sin(x))


def test_max_seconds_stops_a_gp_run():
    result = optimize(quartic_problem(), small(generations=10_000, max_seconds=0.5,
                                               target_fitness=-1.0))
    assert any(r.startswith("max_seconds") for r in result.stop_reasons)
    assert result.generations < 10_000


def test_the_size_front_is_run_state_handed_to_describe_not_kept_on_the_problem():
    problem = quartic_problem()
    result = optimize(problem, small())
    assert not hasattr(problem, "front")  # the contract: a problem keeps no run state
    front = problem.trees_of(result.best_info["size_front"])
    sizes = front.lengths.tolist()
    assert sizes == sorted(set(sizes)) and len(sizes) > 1
    errors = mean_squared_error(front, X, QUARTIC)
    assert np.all(np.diff(errors) < 0)  # each larger tree on the front is strictly better
    # the same run again: the same front (nothing carried over on the problem)
    again = optimize(problem, small())
    assert [t.tobytes() for t in again.best_info["size_front"]] == \
        [t.tobytes() for t in result.best_info["size_front"]]
