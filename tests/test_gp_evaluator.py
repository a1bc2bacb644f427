"""The compiled tree evaluator against slow references: DEAP's gp.compile, the Program
evaluator, and plain Python arithmetic."""

import math
import operator
import random

import numpy as np
import pytest
from deap import gp

from evoengine.errors import ConfigError
from evoengine.gp import evaluator
from evoengine.gp.deap_io import parse_tree, to_deap
from evoengine.gp.evaluator import evaluate_program
from evoengine.gp.evaluator import evaluate_trees, mean_squared_error
from evoengine.gp.generate import initial_trees
from evoengine.gp.primitives import PrimitiveSet
from evoengine.gp.trees import NODE_DTYPE, Trees, to_program

ALL_BUILTINS = ("add", "sub", "mul", "pdiv", "div", "neg", "sin", "cos", "tan", "exp", "plog",
                "log", "sqrt", "psqrt", "abs", "tanh", "min", "max", "pow", "square", "cube",
                "asin")


def builtin_set():
    ps = PrimitiveSet(["x", "y"])
    ps.add_builtin(*ALL_BUILTINS)
    ps.add_ephemeral("c", -2.0, 2.0)
    return ps


# --- every built-in against plain Python, written from IEEE 754 arithmetic ------------------
INF, NAN = math.inf, math.nan


def _div(a, b):
    if b == 0:  # IEEE: x/0 is an infinity of x's sign, 0/0 is NaN
        return NAN if a == 0 else math.copysign(INF, a)
    return a / b


def _log(a):
    return math.log(a) if a > 0 else (-INF if a == 0 else NAN)


def _pow(a, b):
    if a == 0 and b < 0:
        return INF
    if a < 0 and b != int(b):
        return NAN  # a real power of a negative number is not real
    try:
        return a**b
    except OverflowError:
        return -INF if a < 0 and int(b) % 2 else INF


def _exp(a):
    try:
        return math.exp(a)
    except OverflowError:
        return INF


REFERENCE = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "pdiv": lambda a, b: a / b if abs(b) > 1e-12 else 1.0,  # protected: 1 near zero
    "div": _div, "neg": lambda a: -a, "sin": math.sin, "cos": math.cos, "tan": math.tan,
    "exp": _exp, "plog": lambda a: math.log(abs(a)) if abs(a) > 1e-12 else 0.0,  # protected
    "log": _log, "sqrt": lambda a: math.sqrt(a) if a >= 0 else NAN,
    "psqrt": lambda a: math.sqrt(abs(a)), "abs": abs, "tanh": math.tanh,
    "min": min, "max": max, "pow": _pow, "square": lambda a: a * a,
    "cube": lambda a: a * a * a, "asin": lambda a: math.asin(a) if abs(a) <= 1 else NAN,
}
POINTS = [-3.0, -1.0, -0.5, -1e-13, 0.0, 1e-13, 0.5, 1.0, 2.0, math.pi / 2, 30.0, 710.0]


def test_every_builtin_matches_plain_python_with_nan_and_inf_kept_apart():
    assert set(REFERENCE) == set(ALL_BUILTINS)
    ps = PrimitiveSet(["x", "y"])
    ps.add_builtin(*ALL_BUILTINS)
    data = np.array([(a, b) for a in POINTS for b in POINTS])
    for name, reference in REFERENCE.items():
        binary = name in ("add", "sub", "mul", "pdiv", "div", "min", "max", "pow")
        tree = parse_tree(ps, f"{name}(x, y)" if binary else f"{name}(x)")
        with np.errstate(all="ignore"):
            out = evaluate_trees(tree, data)[0]
        for (a, b), got in zip(data.tolist(), out.tolist(), strict=True):
            want = reference(a, b) if binary else reference(a)
            where = f"{name}({a}, {b})" if binary else f"{name}({a})"
            if math.isnan(want):
                assert math.isnan(got), f"{where} = {got}, not NaN"
            elif math.isinf(want):
                assert got == want, f"{where} = {got}, not {want}"
            else:
                # sin and cos are Cephes' polynomials after a reduction by pi/4 in three
                # parts: an absolute error of a few ulps of the argument, not of the result
                slack = 4e-16 * max(1.0, abs(a)) if name in ("sin", "cos") else 1e-300
                assert got == pytest.approx(want, rel=1e-15, abs=slack), where


def test_every_builtin_matches_the_program_evaluator():
    ps = builtin_set()
    trees = initial_trees(ps, 400, 64, seed=5, max_depth=3)
    data = np.random.default_rng(0).uniform(-3, 3, size=(300, 2))
    with np.errstate(all="ignore"):
        out = evaluate_trees(trees, data)
        for i in range(len(trees)):
            ref = evaluate_program(to_program(ps, trees.tree(i)), data)
            bad = ~np.isfinite(ref)
            # NaN where NaN and infinite where infinite, as IEEE arithmetic says (the sign of
            # an infinity may differ: the compiled kernels ignore the sign of zero)
            assert np.array_equal(np.isnan(ref), np.isnan(out[i])), trees.to_string(i)
            assert np.array_equal(np.isinf(ref), np.isinf(out[i])), trees.to_string(i)
            # sin and cos are Cephes' polynomials (within 2e-16 of libm's); deep trees with
            # tan, exp and pow amplify that last bit, hence not 1e-12
            np.testing.assert_allclose(out[i][~bad], ref[~bad], rtol=1e-9, atol=1e-9)


def test_matches_deap_gp_compile():
    def protectedDiv(a, b):  # noqa: N802 - DEAP's own example name
        try:
            return a / b
        except ZeroDivisionError:
            return 1.0

    pset = gp.PrimitiveSet("MAIN", 1)
    pset.renameArguments(ARG0="x")
    for func, arity in [(operator.add, 2), (operator.sub, 2), (operator.mul, 2),
                        (protectedDiv, 2), (operator.neg, 1), (math.sin, 1), (math.cos, 1)]:
        pset.addPrimitive(func, arity)
    pset.addEphemeralConstant("erc_eval", random.random)
    ps = PrimitiveSet.from_deap(pset, ephemeral_ranges={"erc_eval": (-1.0, 1.0)})
    trees = initial_trees(ps, 100, 64, seed=1, max_depth=5)
    points = np.linspace(-1, 1, 21)
    out = evaluate_trees(trees, points[:, None])
    for i in range(len(trees)):
        func = gp.compile(to_deap(trees, i), pset)
        ref = [func(float(x)) for x in points]
        np.testing.assert_allclose(out[i], ref, rtol=1e-12, atol=1e-12)


def test_a_tree_1000_levels_deep():
    ps = PrimitiveSet(["x"])
    ps.add_builtin("add", "sin")
    ps.add_ephemeral("c")
    # add(x, add(x, ... add(x, sin(x)))): 1,000 levels, the stack 1,000 deep
    depth = 1000
    codes = [ps.code("add"), ps.code("x")] * depth + [ps.code("sin"), ps.code("x")]
    nodes = np.zeros(len(codes), dtype=NODE_DTYPE)
    nodes["code"] = codes
    trees = Trees.from_nodes(ps, [nodes])
    assert trees.depths()[0] == depth + 1
    x = np.array([0.3, -1.2])
    np.testing.assert_allclose(evaluate_trees(trees, x[:, None])[0], depth * x + np.sin(x))
    # and a chain of 1,000 unary nodes
    chain = np.zeros(1001, dtype=NODE_DTYPE)
    chain["code"] = [ps.code("sin")] * 1000 + [ps.code("x")]
    ref = x.copy()
    for _ in range(1000):
        ref = np.sin(ref)
    np.testing.assert_allclose(evaluate_trees(Trees.from_nodes(ps, [chain]), x[:, None])[0], ref)


def test_protected_operators_never_fail_and_unprotected_ones_mark_failure():
    ps = PrimitiveSet(["x"])
    ps.add_builtin("pdiv", "div", "plog", "log", "psqrt", "sqrt", "sub")
    ps.add_ephemeral("c")
    x = np.array([[0.0], [-4.0], [1e-13]])
    protected = evaluate_trees(parse_tree(ps, "pdiv(x, sub(x, x))"), x)[0]
    np.testing.assert_array_equal(protected, [1.0, 1.0, 1.0])
    np.testing.assert_allclose(evaluate_trees(parse_tree(ps, "plog(x)"), x)[0],
                               [0.0, math.log(4.0), 0.0])
    np.testing.assert_allclose(evaluate_trees(parse_tree(ps, "psqrt(x)"), x)[0],
                               [0.0, 2.0, math.sqrt(1e-13)])
    with np.errstate(all="ignore"):
        for text in ("div(x, sub(x, x))", "log(x)", "sqrt(x)"):
            trees = parse_tree(ps, text)
            assert not np.isfinite(evaluate_trees(trees, x)[0]).all()
            # a failed evaluation is a NaN error, the engine's "worst"
            assert np.isnan(mean_squared_error(trees, x, np.zeros(3))[0])


def test_mean_squared_error_equals_outputs_and_is_thread_count_independent():
    import numba

    ps = builtin_set()
    trees = initial_trees(ps, 400, 64, seed=9, max_depth=6)
    data = np.random.default_rng(1).uniform(-1, 1, size=(2000, 2))
    target = data[:, 0] ** 2 - data[:, 1]
    with np.errstate(all="ignore"):
        out = evaluate_trees(trees, data)
        expected = np.mean((out - target) ** 2, axis=1)
        expected[~np.isfinite(expected)] = np.nan
        threads = numba.get_num_threads()
        try:
            numba.set_num_threads(1)
            one = mean_squared_error(trees, data, target)
        finally:
            numba.set_num_threads(threads)
        many = mean_squared_error(trees, data, target)
    np.testing.assert_array_equal(one, many)
    np.testing.assert_allclose(many, expected, rtol=1e-10)


def test_user_functions_are_compiled_into_the_evaluator():
    ps = PrimitiveSet(["x", "y"])
    ps.add_builtin("add")
    ps.add_function("square", lambda a: a * a)
    ps.add_function("fma", lambda a, b, c: a * b + c)
    ps.add_function("bigger", lambda a, b: 1.0 if a > b else 0.0)
    trees = parse_tree(ps, "fma(square(x), add(x, y), bigger(x, y))")
    data = np.random.default_rng(2).normal(size=(300, 2))
    x, y = data.T
    np.testing.assert_allclose(evaluate_trees(trees, data)[0],
                               x * x * (x + y) + (x > y))


def test_a_function_numba_cannot_compile_is_rejected_with_the_reason():
    ps = PrimitiveSet(["x"])
    with pytest.raises(ConfigError, match=r"primitive 'reader' cannot be compiled by Numba: "
                                          r".*open"):
        ps.add_function("reader", lambda a: open(a))
    with pytest.raises(ConfigError, match="not a number"):
        ps.add_function("text", lambda a: "a")
    with pytest.raises(ConfigError, match="arity"):
        ps.add_function("four", lambda a, b, c, d: a)


def test_data_shape_is_checked():
    ps = builtin_set()
    trees = initial_trees(ps, 2, 16, seed=1, max_depth=2)
    with pytest.raises(ValueError, match="2 variables"):
        evaluator.evaluate_trees(trees, np.zeros((5, 3)))
