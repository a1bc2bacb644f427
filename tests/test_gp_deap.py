"""Trees to and from DEAP: PrimitiveSet(Typed) taken as is, PrimitiveTree and string forms."""

import math
import operator
import random
from functools import partial

import numpy as np
import pytest
from deap import gp

from evoengine.errors import ConfigError
from evoengine.gp.deap_io import from_deap, parse_tree, to_deap
from evoengine.gp.evaluator import evaluate_trees
from evoengine.gp.generate import initial_trees
from evoengine.gp.primitives import PrimitiveSet


def protectedDiv(left, right):  # noqa: N802 - the name DEAP's examples use
    try:
        return left / right
    except ZeroDivisionError:
        return 1


def deap_symbreg_set():
    pset = gp.PrimitiveSet("MAIN", 1)
    pset.addPrimitive(operator.add, 2)
    pset.addPrimitive(operator.sub, 2)
    pset.addPrimitive(operator.mul, 2)
    pset.addPrimitive(protectedDiv, 2)
    pset.addPrimitive(operator.neg, 1)
    pset.addPrimitive(math.cos, 1)
    pset.addPrimitive(math.sin, 1)
    pset.addEphemeralConstant("rand101_io", partial(random.randint, -1, 1))
    pset.renameArguments(ARG0="x")
    return pset


def test_deap_primitive_set_as_is():
    pset = deap_symbreg_set()
    ps = PrimitiveSet.from_deap(pset)
    names = [n.name for n in ps.nodes]
    assert names[0] == "x"
    assert {"add", "sub", "mul", "protectedDiv", "neg", "cos", "sin", "rand101_io"} <= set(names)
    eph = ps.nodes[ps.code("rand101_io")]
    assert (eph.value, eph.high, eph.integer) == (-1.0, 1.0, True)  # sampled from DEAP's func
    assert not ps.functions  # every primitive maps to a built-in, none needs compiling


def test_round_trip_through_deap_trees_and_strings():
    pset = deap_symbreg_set()
    ps = PrimitiveSet.from_deap(pset)
    trees = initial_trees(ps, 50, 64, seed=3, max_depth=5)
    for i in range(len(trees)):
        tree = to_deap(trees, i)
        assert str(tree) == trees.to_string(i)
        assert len(tree) == trees.lengths[i] and tree.height == trees.depths()[i]
        back = from_deap(ps, tree, 64)
        assert np.array_equal(back.tree(0), trees.tree(i))
        parsed = parse_tree(ps, str(tree), 64)
        assert np.array_equal(parsed.tree(0), trees.tree(i))
        # DEAP's own parser reads our string back to the same tree
        assert str(gp.PrimitiveTree.from_string(trees.to_string(i), pset)) == str(tree)


def test_deap_trees_evaluate_like_deap():
    pset = deap_symbreg_set()
    ps = PrimitiveSet.from_deap(pset)
    random.seed(4)
    deap_trees = [gp.PrimitiveTree(gp.genHalfAndHalf(pset, 1, 5)) for _ in range(30)]
    trees = from_deap(ps, deap_trees, 128)
    points = np.linspace(-1, 1, 9)
    out = evaluate_trees(trees, points[:, None])
    for i, tree in enumerate(deap_trees):
        func = gp.compile(tree, pset)
        np.testing.assert_allclose(out[i], [func(float(x)) for x in points], atol=1e-12)


def test_typed_deap_set_and_our_set_to_deap():
    pset = gp.PrimitiveSetTyped("typed", [float, float], float)
    pset.addPrimitive(operator.add, [float, float], float)
    pset.addPrimitive(operator.lt, [float, float], bool)
    pset.addPrimitive(lambda c, a, b: a if c else b, [bool, float, float], float,
                      name="if_then_else")
    pset.addTerminal(True, bool)
    pset.addTerminal(0.5, float, name="half")
    ps = PrimitiveSet.from_deap(pset)
    assert len(ps.functions) == 2  # lt and if_then_else are compiled by Numba
    trees = initial_trees(ps, 30, 64, seed=2, max_depth=4)
    data = np.random.default_rng(0).normal(size=(7, 2))
    out = evaluate_trees(trees, data)
    for i in range(len(trees)):
        func = gp.compile(to_deap(trees, i), pset)
        np.testing.assert_allclose(out[i], [float(func(*row)) for row in data])

    own = PrimitiveSet(["x"])
    own.add_builtin("add", "mul", "sin")
    own.add_ephemeral("c", -1, 1)
    trees = initial_trees(own, 20, 64, seed=5, max_depth=4)
    out = evaluate_trees(trees, np.linspace(-1, 1, 5)[:, None])
    for i in range(len(trees)):
        func = gp.compile(to_deap(trees, i), own.to_deap())
        np.testing.assert_allclose(out[i], func(np.linspace(-1, 1, 5)))
        assert np.array_equal(from_deap(own, to_deap(trees, i), 64).tree(0), trees.tree(i))


def test_parse_errors_say_what_is_wrong():
    ps = PrimitiveSet.from_deap(deap_symbreg_set())
    with pytest.raises(ConfigError, match="unknown name 'tan'"):
        parse_tree(ps, "tan(x)")
    with pytest.raises(ConfigError, match="add takes 2 arguments, got 1"):
        parse_tree(ps, "add(x)")
    with pytest.raises(ConfigError, match="not a primitive call"):
        parse_tree(ps, "x + 1")
