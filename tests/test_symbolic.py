"""Equation discovery from a CSV file: ``evoengine run symbolic``."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from evoengine.cli import main
from evoengine.errors import ConfigError
from evoengine.testing import one_error_line
from evoengine_equation.symbolic import (SymbolicRegression, SymbolicSettings, read_table,
                                         simplified)


def write_csv(path, header, rows):
    path.write_text(",".join(header) + "\n" + "".join(",".join(map(str, r)) + "\n"
                                                      for r in rows))
    return path


def quartic_csv(tmp_path):
    x = np.linspace(-1, 1, 20)
    y = x**4 + x**3 + x**2 + x
    return write_csv(tmp_path / "quartic.csv", ["x", "y"],
                     [(repr(float(a)), repr(float(b))) for a, b in zip(x, y, strict=True)])


def run(tmp_path, *args):
    return CliRunner().invoke(main, ["run", "symbolic", *args, "-q", "--out",
                                     str(tmp_path / "runs")])


def test_the_koza_quartic_is_recovered_exactly_from_the_cli(tmp_path):
    data = quartic_csv(tmp_path)
    result = run(tmp_path, "--set", f"data={data}", "--set", "target=y", "--seed", "1")
    assert result.exit_code == 0, result.output
    assert "formula: y = x**4 + x**3 + x**2 + x\n" in result.output
    assert "front:" in result.output and "test_rmse" in result.output
    best = json.loads(next((tmp_path / "runs").glob("symbolic-*/best.json")).read_text())
    assert best["solution"]["formula"] == "y = x**4 + x**3 + x**2 + x"
    assert best["solution"]["train_rmse"] < 1e-12 and best["solution"]["test_rmse"] < 1e-12
    assert best["fitness"]["rmse"] < 1e-12


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "missing.csv", "setting 'data': file '.*missing.csv' does not exist"),
    (lambda p: write_csv(p / "a.csv", ["x", "z"], [(1, 2), (2, 3), (3, 4)]),
     "setting 'target': no column 'y' in .*; columns: x, z"),
    (lambda p: write_csv(p / "b.csv", ["x", "y"], [(1, 2), ("abc", 3), (3, 4)]),
     "setting 'data': line 3, column 'x' of .*: 'abc' is not a number"),
    (lambda p: write_csv(p / "c.csv", ["a", "b", "c", "y"], [(1, 2, 3, 4), (2, 3, 4, 5)]),
     "has 2 rows for 4 columns; give at least as many rows as columns"),
])
def test_bad_data_is_one_error_line_and_exit_code_2(tmp_path, make, message):
    result = run(tmp_path, "--set", f"data={make(tmp_path)}", "--set", "target=y")
    assert result.exit_code == 2
    one_error_line(result.output, message)  # and nothing else: no traceback, no progress
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())


def test_gp_settings_are_refused_for_vector_problems(tmp_path):
    result = CliRunner().invoke(main, ["run", "sphere", "--set", "max_depth=5", "-q", "--out",
                                       str(tmp_path)])
    assert result.exit_code == 2
    assert "setting 'max_depth' applies to genetic programming" in result.output


def test_table_reading_and_split(tmp_path):
    path = write_csv(tmp_path / "t.csv", ["u", "v", "w"],
                     [(i, 2 * i, 3 * i + 1) for i in range(8)])
    x, y, inputs, target = read_table(str(path), None)
    assert inputs == ["u", "v"] and target == "w"
    np.testing.assert_array_equal(y, 3 * np.arange(8) + 1)
    problem = SymbolicRegression(SymbolicSettings(data=str(path), test_fraction=0.25))
    assert len(problem.y_train) == 6 and len(problem.y_test) == 2
    assert sorted(np.concatenate([problem.y_train, problem.y_test])) == list(y)
    with pytest.raises(ConfigError, match="not a valid variable name"):
        read_table(str(write_csv(tmp_path / "n.csv", ["a b", "y"], [(1, 2), (2, 3)])), None)


def test_simplification_reads_like_algebra():
    from evoengine.gp.deap_io import parse_tree
    from evoengine.gp.primitives import PrimitiveSet

    ps = PrimitiveSet(["x"])
    ps.add_builtin("add", "sub", "mul", "pdiv", "neg", "sin")
    ps.add_ephemeral("c")
    tree = parse_tree(ps, "sub(mul(add(mul(x, add(mul(x, x), x)), x), x), neg(x))")
    assert simplified(ps, tree.tree(0)) == "x**4 + x**3 + x**2 + x"
    tree = parse_tree(ps, "add(pdiv(x, x), mul(0.25, sin(x)))")
    assert simplified(ps, tree.tree(0)) == "0.25*sin(x) + 1"


def test_constant_fitting_refines_trees_before_evaluation(tmp_path):
    x = np.linspace(-2, 2, 40)
    path = write_csv(tmp_path / "s.csv", ["x", "y"],
                     [(repr(float(a)), repr(float(b))) for a, b in
                      zip(x, 2.5 * np.sin(1.3 * x) - 0.7, strict=True)])
    problem = SymbolicRegression(SymbolicSettings(data=str(path), constant_fitting=10))
    from evoengine.gp.deap_io import parse_tree

    trees = parse_tree(problem.primitives, "add(mul(0.3, sin(mul(0.5, x))), 0.1)")
    before = problem.evaluate(trees)[0, 0]
    problem.refine(trees)
    after = problem.evaluate(trees)[0, 0]
    assert before > 1.0 and after < 1e-6
    assert simplified(problem.primitives, trees.tree(0)) == "2.5*sin(1.3*x) - 0.7"
