"""Equation discovery from a CSV file: ``evoengine run symbolic``."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from evoengine.cli import main
from evoengine.errors import ConfigError
from evoengine.testing import one_error_line
from evoengine_equation.snap import snap_constants
from evoengine_equation.symbolic import (SymbolicRegression, SymbolicSettings, formula_text,
                                         read_table, simplified)


def write_csv(path, header, rows):
    path.write_text(",".join(header) + "\n" + "".join(",".join(map(str, r)) + "\n"
                                                      for r in rows))
    return path


def quartic_csv(tmp_path):
    x = np.linspace(-1, 1, 20)
    y = x**4 + x**3 + x**2 + x
    return write_csv(tmp_path / "quartic.csv", ["x", "y"],
                     [(repr(float(a)), repr(float(b))) for a, b in zip(x, y, strict=True)])


# Runs kept short: 60 generations instead of the default 400,000 evaluations.
SHORT = ("--set", "generations=60")


def run(tmp_path, *args):
    return CliRunner().invoke(main, ["run", "symbolic", *args, "-q", "--out",
                                     str(tmp_path / "runs")])


def test_the_koza_quartic_is_recovered_exactly_from_the_cli(tmp_path):
    data = quartic_csv(tmp_path)
    result = run(tmp_path, "--set", f"data={data}", "--set", "target=y", "--seed", "1",
                 *SHORT)
    assert result.exit_code == 0, result.output
    assert "formula: y = x**4 + x**3 + x**2 + x\n" in result.output
    assert "front:" in result.output and "test_rmse" in result.output
    best = json.loads(next((tmp_path / "runs").glob("symbolic-*/best.json")).read_text())
    assert best["solution"]["formula"] == "y = x**4 + x**3 + x**2 + x"
    # exact up to rounding (the scale and offset of linear scaling are fitted floats)
    assert best["solution"]["train_rmse"] < 1e-10 and best["solution"]["test_rmse"] < 1e-10
    assert best["fitness"]["rmse"] < 1e-10


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
    problem = SymbolicRegression(SymbolicSettings(data=str(path), constant_fitting=10,
                                                  linear_scaling=False))
    from evoengine.gp.deap_io import parse_tree

    trees = parse_tree(problem.primitives, "add(mul(0.3, sin(mul(0.5, x))), 0.1)")
    before = problem.evaluate(trees)[0, 0]
    problem.refine(trees)
    after = problem.evaluate(trees)[0, 0]
    assert before > 1.0 and after < 1e-6
    assert simplified(problem.primitives, trees.tree(0)) == "2.5*sin(1.3*x) - 0.7"


def test_with_linear_scaling_constants_are_fitted_for_the_scaled_model(tmp_path):
    from evoengine.gp.deap_io import parse_tree

    x = np.linspace(0.5, 3, 50)
    path = write_csv(tmp_path / "e.csv", ["x", "y"],
                     [(repr(float(a)), repr(float(b))) for a, b in
                      zip(x, 3.0 * np.exp(-0.7 * x) + 2.0, strict=True)])
    problem = SymbolicRegression(SymbolicSettings(data=str(path), test_fraction=0.0))
    trees = parse_tree(problem.primitives, "exp(mul(0.2, x))")  # from the wrong side
    assert problem.evaluate(trees)[0, 0] > 0.01
    problem.refine(trees)
    assert problem.evaluate(trees)[0, 0] < 1e-9
    assert trees.consts[0, 2] == pytest.approx(-0.7, abs=1e-7)  # the exponent; a, b exact
    assert formula_text(problem.formula(trees.tree(0))) == "2 + 3*exp(-7*x/10)"


def test_linear_fit_matches_least_squares():
    from evoengine.gp.constants import linear_fit

    rng = np.random.default_rng(3)
    outputs, target = rng.normal(size=(5, 30)), rng.normal(size=30)
    outputs[3] = 2.0  # constant: the best fit is the target's mean
    outputs[4, 7] = np.inf
    a, b = linear_fit(outputs, target)
    for i in range(3):
        slope, intercept = np.polyfit(outputs[i], target, 1)
        assert b[i] == pytest.approx(slope) and a[i] == pytest.approx(intercept)
    assert b[3] == 0.0 and a[3] == pytest.approx(target.mean())
    assert np.isnan(a[4]) and np.isnan(b[4])


def test_linear_fit_of_a_row_does_not_depend_on_the_rows_beside_it():
    # Backends split a population into tasks of any size: each row's a, b must come out
    # bit for bit the same in a batch of 1 as in a batch of 300 (BLAS would not promise it).
    from evoengine.gp.constants import linear_fit

    rng = np.random.default_rng(5)
    outputs, target = rng.normal(size=(300, 257)), rng.normal(size=257)
    a, b = linear_fit(outputs, target)
    for i in (0, 1, 17, 299):
        a1, b1 = linear_fit(outputs[i:i + 1], target)
        assert (a1[0], b1[0]) == (a[i], b[i])
    a7, b7 = linear_fit(outputs[3:10], target)
    assert np.array_equal(a7, a[3:10]) and np.array_equal(b7, b[3:10])


def test_constants_snap_to_fractions_and_multiples_of_pi_when_the_error_does_not_grow():
    import sympy

    rng = np.random.default_rng(0)
    data = rng.uniform(1, 5, size=(100, 2))
    u, v = (sympy.Symbol(n, real=True) for n in ("k", "x"))
    half = data[:, 0] * data[:, 1] ** 2 / 2
    assert formula_text(snap_constants(sympy.Float(0.500003) * u * v**2, data, half,
                                       ["k", "x"])) == "k*x**2/2"
    h, omega = (sympy.Symbol(n, real=True) for n in ("h", "omega"))
    quantum = data[:, 0] * data[:, 1] / (2 * np.pi)
    assert formula_text(snap_constants(sympy.Float(0.159155) * h * omega + sympy.Float(3e-15),
                                       data, quantum, ["h", "omega"])) == "h*omega/(2*pi)"
    assert formula_text(snap_constants(sympy.Float(0.3989423) * sympy.exp(-h), data,
                                       np.exp(-data[:, 0]) / np.sqrt(2 * np.pi),
                                       ["h", "omega"])) == "sqrt(2)*exp(-h)/(2*sqrt(pi))"
    # 1/2 is near 0.5004 but the data say 0.5004: the constant stays
    near = 0.5004 * data[:, 0]
    assert formula_text(snap_constants(sympy.Float(0.5004) * h, data, near,
                                       ["h", "omega"])) == "0.5004*h"
    # a formula that only approximates the data keeps its floats
    rough = 0.5 * data[:, 0] + 0.1 * np.sin(data[:, 1])
    assert formula_text(snap_constants(sympy.Float(0.500003) * h, data, rough,
                                       ["h", "omega"])) == "0.500003*h"


def test_snapping_candidates_are_simplest_first():
    import sympy

    from evoengine_equation.snap import candidates

    assert candidates(0.5000001)[:2] == [0, sympy.Rational(1, 2)]
    assert sympy.Rational(1, 2) / sympy.pi in candidates(1 / (2 * np.pi))
    assert candidates(123456.7) == [0]  # nothing simple is near


def test_the_defaults_fit_constants_scale_and_say_their_budget(tmp_path):
    settings = SymbolicSettings(data="unused.csv")
    assert settings.constant_fitting > 0 and settings.linear_scaling
    assert settings.snap_constants
    assert {"psqrt", "exp", "plog", "square", "cube", "sin", "cos"} <= set(settings.functions)
    x = np.linspace(1, 3, 30)
    data = write_csv(tmp_path / "h.csv", ["h", "omega", "E"],
                     [(repr(float(a)), repr(float(b)), repr(float(a * b / (2 * np.pi))))
                      for a, b in zip(x, x[::-1] ** 2, strict=True)])
    result = run(tmp_path, "--set", f"data={data}", "--seed", "2", *SHORT)
    assert result.exit_code == 0, result.output
    assert "formula: E = h*omega/(2*pi)\n" in result.output
    config = next((tmp_path / "runs").glob("symbolic-*/config.toml")).read_text()
    assert "generations = 60" in config and "constant_fitting = 5" in config
    assert "max_evaluations = 400000" in config and "max_seconds" not in config
    assert "monomials = true" in config
    assert "budget: max_evaluations (default 400,000, about 60 s on one core" in result.output


def test_the_physicists_half_is_printed_as_a_fraction(tmp_path):
    rng = np.random.default_rng(1)
    k, x = rng.uniform(1, 5, 40), rng.uniform(1, 5, 40)
    data = write_csv(tmp_path / "spring.csv", ["k", "x", "U"],
                     [(repr(float(a)), repr(float(b)), repr(float(0.5 * a * b * b)))
                      for a, b in zip(k, x, strict=True)])
    # without the pre-step, so that the GP's fitted 0.500003 is what gets snapped
    result = run(tmp_path, "--set", f"data={data}", "--seed", "1", "--set", "monomials=false",
                 *SHORT)
    assert result.exit_code == 0, result.output
    assert "formula: U = k*x**2/2\n" in result.output


def test_a_quotient_sheds_its_common_float_factor_before_snapping():
    import sympy

    from evoengine_equation.symbolic import normalized, simplify

    alpha, n = (sympy.Symbol(s, real=True) for s in ("alpha", "n"))
    f = sympy.Float
    fitted = (-f(69271.6425322129) * alpha * n - f(103907.463798319)) / \
        (f(34635.8212661064) * alpha * n - f(103907.463798319))
    data = np.random.default_rng(0).uniform(0.1, 1, size=(200, 2))
    truth = 1 + data[:, 1] * data[:, 0] / (1 - data[:, 1] * data[:, 0] / 3)
    snapped = snap_constants(normalized(fitted, 9), data, truth, ["alpha", "n"])
    assert not snapped.atoms(sympy.Float)
    assert sympy.simplify(simplify(snapped, 9) - (1 + n * alpha / (1 - n * alpha / 3))) == 0
