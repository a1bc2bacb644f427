"""From Python: the problem's defaults under the user's settings, and a registered problem run
by name exactly as the command line runs it."""

import json
import tomllib

import numpy as np
import pytest
from click.testing import CliRunner

import evoengine
from evoengine import ConfigError, Genome, Objective, Problem
from evoengine.cli import main
from evoengine.config import AlgorithmSettings, GPSettings
from evoengine.errors import ProblemLookupError
from evoengine.run import RunResult, make_optimizer, optimize


class Sphere37(Problem):
    """A problem whose own defaults differ from the engine's in size and operators."""

    def __init__(self):
        super().__init__(Genome("real", 4, -2.0, 2.0), (Objective("f", "minimize"),),
                         defaults={"population_size": 37, "generations": 3,
                                   "mutation": "uniform", "crossover": "blend"})

    def evaluate(self, genomes):
        return (genomes ** 2).sum(axis=1, keepdims=True)


def test_optimize_applies_the_problems_defaults_under_the_users_settings():
    result = optimize(Sphere37(), AlgorithmSettings(seed=1))
    assert result.logbook[0]["nevals"] == 37 and result.generations == 3
    mine = optimize(Sphere37(), AlgorithmSettings(population_size=20, seed=1))
    assert mine.logbook[0]["nevals"] == 20 and mine.generations == 3
    opt = make_optimizer(Sphere37(), AlgorithmSettings(mutation="gaussian", seed=1))
    assert (opt.settings.population_size, opt.settings.mutation,
            opt.settings.crossover) == (37, "gaussian", "blend")
    assert optimize(Sphere37()).generations == 3  # no settings at all: the problem's


def test_defaults_applied_twice_change_nothing():
    from evoengine.run import with_problem_defaults

    once = with_problem_defaults(Sphere37(), AlgorithmSettings(seed=4))
    assert with_problem_defaults(Sphere37(), once) == once


def test_a_tree_problem_gets_gp_settings_from_plain_algorithm_settings():
    from evoengine.gp import PrimitiveSet, TreeProblem, mean_squared_error

    x = np.linspace(-1, 1, 20)
    ps = PrimitiveSet(["x"])
    ps.add_builtin("add", "mul")
    problem = TreeProblem(ps, fitness=lambda trees: mean_squared_error(trees, x[:, None], x * x),
                          objectives=(Objective("mse", "minimize"),))
    opt = make_optimizer(problem, AlgorithmSettings(population_size=30, generations=2, seed=1))
    assert isinstance(opt.settings, GPSettings) and opt.settings.population_size == 30


def test_best_value_is_a_float_for_one_objective_and_a_tuple_for_several():
    def result(fitness):
        return RunResult(np.zeros(2), np.array(fitness), None, None, 0, 0, 0, [])

    value = result([1.5]).best_value
    assert type(value) is float and value == 1.5
    assert result([1.0, -2.0]).best_value == (1.0, -2.0)


def test_run_problem_by_name_matches_the_command_line_run_folder(tmp_path):
    run = evoengine.run_problem("rastrigin", dimension=3, generations=6, seed=5)
    assert type(run.best_value) is float
    assert run.settings["population_size"] == 200  # the problem's default
    assert run.settings["dimension"] == 3 and run.settings["seed"] == 5
    assert set(run.solution()) == {"genes"}
    mine = run.write_run_folder(out=tmp_path / "python")
    cli = CliRunner().invoke(main, ["run", "rastrigin", "--set", "dimension=3", "--set",
                                    "generations=6", "--seed", "5", "-q", "--out",
                                    str(tmp_path / "cli")], catch_exceptions=False)
    assert cli.exit_code == 0, cli.output
    (theirs,) = (tmp_path / "cli").iterdir()
    for name in ("config.toml", "logbook.csv", "best.json"):
        assert (mine / name).read_text() == (theirs / name).read_text(), name
    assert json.loads((mine / "best.json").read_text())["fitness"]["rastrigin"] == run.best_value
    assert json.loads((mine / "run.json").read_text())["status"] == "finished"
    assert (mine / "convergence.png").read_bytes().startswith(b"\x89PNG")


def test_run_problem_with_a_folder_checkpoints_and_takes_a_settings_file(tmp_path):
    settings = tmp_path / "s.toml"
    settings.write_text("[problem]\ndimension = 2\n[algorithm]\ngenerations = 4\n")
    run = evoengine.run_problem("sphere", config_file=settings, population_size=10,
                                out=tmp_path / "runs")
    assert run.folder.parent == tmp_path / "runs"
    used = tomllib.loads((run.folder / "config.toml").read_text())
    assert (used["dimension"], used["generations"], used["population_size"]) == (2, 4, 10)
    assert isinstance(used["seed"], int)  # drawn, recorded: the run repeats
    assert list((run.folder / "checkpoint").glob("gen-*.json"))
    again = evoengine.run_problem("sphere", config_file=settings, population_size=10,
                                  seed=used["seed"])
    assert again.best_value == run.best_value


def test_run_problem_mistakes_raise_the_command_lines_errors():
    with pytest.raises(ConfigError, match="'dimension'"):
        evoengine.run_problem("rastrigin", dimension=0)
    with pytest.raises(ConfigError, match="did you mean 'population_size'"):
        evoengine.run_problem("rastrigin", populaton_size=10)
    with pytest.raises(ProblemLookupError, match="did you mean 'rastrigin'"):
        evoengine.run_problem("rastrigni")
