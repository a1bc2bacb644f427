"""The symbolic problem's exact pre-step (sums of monomials after a transform of the target):
formulas it must find, data it must not claim, and its trees as the first population."""

from fractions import Fraction

import numpy as np
import pytest
import sympy
from click.testing import CliRunner

from evoengine.cli import main
from evoengine.config import GPSettings
from evoengine.gp import NODE_DTYPE, PrimitiveSet, Trees, evaluate_trees
from evoengine.run import make_optimizer
from evoengine_equation.monomials import Monomials, as_prefix, find_monomials
from evoengine_equation.snap import one_signed_abs
from evoengine_equation.symbolic import SymbolicRegression, SymbolicSettings


def inputs(columns=3, rows=200, low=1.0, high=5.0, seed=0):
    return np.random.default_rng(seed).uniform(low, high, size=(rows, columns))


def exponents(*values):
    return tuple(Fraction(v) for v in values)


def test_a_product_of_powers_is_found_with_its_exponents():
    x = inputs()
    y = 6.674 * x[:, 0] * x[:, 1] / x[:, 2] ** 2  # G*m1*m2/r**2
    best = find_monomials(x, y)[0]
    assert best.transform == "y" and best.exponents == (exponents(1, 1, -2),)
    assert best.coefficients[0] == pytest.approx(6.674, rel=1e-12)
    assert best.predict(x) == pytest.approx(y, rel=1e-12)


def test_half_powers_of_a_product_are_snapped_to_halves():
    x = inputs(2)
    y = 2 * np.pi * x[:, 0] ** 1.5 / np.sqrt(x[:, 1])  # Kepler's period, r**(3/2)/sqrt(GM)
    best = find_monomials(x, y)[0]
    assert best.exponents == (exponents(Fraction(3, 2), Fraction(-1, 2)),)


def test_a_sum_of_monomials_is_found_term_by_term():
    x = inputs(4)
    m, v, u, w = x.T
    y = 0.5 * m * (v**2 + u**2 + w**2)
    best = find_monomials(x, y)[0]
    assert best.transform == "y" and len(best.coefficients) == 3
    assert set(best.exponents) == {exponents(1, 2, 0, 0), exponents(1, 0, 2, 0),
                                   exponents(1, 0, 0, 2)}
    assert best.coefficients == pytest.approx((0.5, 0.5, 0.5), rel=1e-9)


def test_the_relativistic_root_is_a_sum_after_inverting_the_square():
    x = inputs(3)
    x[:, 2] += 5  # c > v
    m0, v, c = x.T
    y = m0 / np.sqrt(1 - v**2 / c**2)
    best = find_monomials(x, y)[0]
    assert best.transform == "1/y**2"
    assert set(best.exponents) == {exponents(-2, 0, 0), exponents(-2, 2, -2)}
    assert best.predict(x) == pytest.approx(y, rel=1e-10)


def test_an_exponential_of_a_monomial_is_found_through_the_log():
    x = inputs(3, low=0.5, high=2.0)
    y = np.exp(-x[:, 0] * x[:, 1] / x[:, 2])
    best = find_monomials(x, y)[0]
    assert best.transform == "log" and best.exponents == (exponents(1, 1, -1),)
    assert best.predict(x) == pytest.approx(y, rel=1e-10)


def test_a_power_times_an_exponential_is_found_with_a_log_term():
    x = inputs(2)
    theta, sigma = x.T
    y = np.exp(-(theta / sigma) ** 2 / 2) / (np.sqrt(2 * np.pi) * sigma)  # a normal density
    best = find_monomials(x, y)[0]
    assert best.transform == "log" and best.exponents == (exponents(2, -2),)
    assert best.coefficients == pytest.approx((-0.5,)) and len(best.logs) == 1
    assert best.logs[0][1] == 1 and best.logs[0][0] == pytest.approx(-1.0)
    assert best.predict(x) == pytest.approx(y, rel=1e-10)


@pytest.mark.parametrize("formula", [
    lambda x: np.sin(x[:, 0]) + x[:, 1],            # a function outside the dictionary
    lambda x: x[:, 0] + 1 / (x[:, 1] + x[:, 2]),   # no transform makes it a short sum
    lambda x: x[:, 0] * x[:, 1] ** 0.37 + x[:, 2],  # an exponent that is no simple fraction
    lambda x: np.exp(x[:, 0]) + x[:, 1],
])
def test_formulas_outside_its_reach_are_not_claimed(formula):
    x = inputs()
    assert find_monomials(x, formula(x)) == []


def test_noisy_data_and_too_few_rows_are_not_claimed():
    x = inputs()
    y = x[:, 0] * x[:, 1]
    noisy = y * (1 + 1e-4 * np.random.default_rng(1).standard_normal(len(y)))
    assert find_monomials(x, noisy) == []
    assert find_monomials(x[:10], y[:10]) == []  # fewer rows than MIN_ROWS
    assert find_monomials(x, np.full(len(y), 3.0)) == []  # a constant is not a formula


def test_the_search_is_deterministic():
    x = inputs(4)
    y = x[:, 0] * x[:, 1] ** 2 + x[:, 2] / x[:, 3]
    assert find_monomials(x, y) == find_monomials(x, y)
    assert find_monomials(x, y)


def test_a_candidate_becomes_the_tree_that_computes_it():
    x = inputs(3)
    candidate = Monomials("1/y**2", 0.25, (1.5, -2.0),
                          (exponents(1, Fraction(1, 2), 0), exponents(0, -3, 2)))
    with_log = Monomials("log", 0.1, (-0.5,), (exponents(1, 0, -2),), ((-1.0, 1),))
    high_powers = Monomials("y**2", 0.0, (2.0, 1.0), (exponents(Fraction(9, 2), 0, -10),
                                                      exponents(0, 7, -5)))
    ps = PrimitiveSet(["a", "b", "c"])
    ps.add_builtin("add", "mul", "pdiv", "square", "cube", "psqrt", "exp")
    ps.add_ephemeral("const", -1, 1)
    ps.add_builtin("plog")
    for formula in (candidate, with_log, high_powers):
        prefix = as_prefix(formula, ps.variables)
        tree = np.array([(ps.code(name), value) for name, value in prefix], dtype=NODE_DTYPE)
        values = evaluate_trees(Trees.from_nodes(ps, [tree]), x)[0]
        assert values == pytest.approx(formula.predict(x), rel=1e-12)
    # a cube root has no tree over these functions
    assert as_prefix(Monomials("y", 0.0, (1.0,), (exponents(Fraction(1, 3), 0, 0),)),
                     ps.variables) is None


def write_data(path, names, columns):
    rows = np.column_stack(columns)
    path.write_text(",".join(names) + "\n" + "".join(",".join(repr(float(v)) for v in row) +
                                                     "\n" for row in rows))
    return path


def test_an_exact_pre_step_ends_the_run_in_its_first_generation(tmp_path):
    x = inputs(3, rows=120)
    x[:, 2] += 5
    data = write_data(tmp_path / "m.csv", ["m0", "v", "c", "m"],
                      [*x.T, x[:, 0] / np.sqrt(1 - x[:, 1] ** 2 / x[:, 2] ** 2)])
    problem = SymbolicRegression(SymbolicSettings(data=str(data), target="m"))
    optimizer = make_optimizer(problem, GPSettings(**{**problem.defaults, "seed": 3}))
    first = optimizer.ask()
    assert first.to_infix(0).startswith("1/psqrt(")  # the pre-step's tree, row 0
    optimizer.tell(problem.evaluate(first))
    assert any("target_fitness" in reason for reason in optimizer.stop())
    formula = problem.formula(optimizer.best[0])
    m0, v, c = (sympy.Symbol(n, real=True) for n in ("m0", "v", "c"))
    assert not formula.has(sympy.Abs)  # 1 - v**2/c**2 > 0 on the data: plain sqrt
    assert sympy.simplify(formula**2 - m0**2 / (1 - v**2 / c**2)) == 0


def test_without_the_pre_step_or_its_functions_the_first_population_is_random(tmp_path):
    x = inputs(2, rows=60)
    data = write_data(tmp_path / "p.csv", ["a", "b", "y"], [*x.T, x[:, 0] / x[:, 1] ** 2])
    off = SymbolicRegression(SymbolicSettings(data=str(data), monomials=False))
    assert off.seed_trees() == []
    no_square = SymbolicRegression(SymbolicSettings(data=str(data),
                                                    functions=["add", "mul", "pdiv"]))
    assert no_square.seed_trees() == []  # b**2 needs square
    on = SymbolicRegression(SymbolicSettings(data=str(data)))
    [tree] = on.seed_trees()
    train_rmse, _ = on.errors(Trees.from_nodes(on.primitives, [tree]))
    assert train_rmse[0] < 1e-12


def test_the_default_run_prints_the_formula_the_pre_step_found(tmp_path):
    x = inputs(3, rows=80, seed=4)
    data = write_data(tmp_path / "e.csv", ["q", "E", "m", "a"],
                      [*x.T, x[:, 0] * x[:, 1] / x[:, 2]])
    result = CliRunner().invoke(main, ["run", "symbolic", "--set", f"data={data}", "-q",
                                       "--seed", "1", "--out", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    assert "formula: a = E*q/m\n" in result.output
    assert "target_fitness" in result.output


def test_abs_of_a_one_signed_argument_is_dropped_and_a_mixed_one_kept():
    v, c, z = (sympy.Symbol(n, real=True) for n in ("v", "c", "z"))
    rng = np.random.default_rng(0)
    data = np.column_stack([rng.uniform(0, 1, 50), rng.uniform(2, 3, 50), rng.uniform(-1, 1, 50)])
    names = ["v", "c", "z"]
    assert one_signed_abs(sympy.sqrt(sympy.Abs(1 - v**2 / c**2)), data, names) == \
        sympy.sqrt(1 - v**2 / c**2)
    assert one_signed_abs(sympy.log(sympy.Abs(v**2 / c**2 - 1)), data, names) == \
        sympy.log(1 - v**2 / c**2)
    assert one_signed_abs(sympy.sqrt(sympy.Abs(z)), data, names) == sympy.sqrt(sympy.Abs(z))
