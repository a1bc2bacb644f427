"""Tree kernels (initialization, crossover, mutations, selection) against slow references:
the same choices written in plain Python from the same random streams, with subtree bounds
from DEAP's own ``PrimitiveTree.searchSubtree``."""

import numpy as np
import pytest

from evoengine.gp import variation
from evoengine.gp.deap_io import to_deap
from evoengine.gp.generate import initial_trees
from evoengine.gp.primitives import EPHEMERAL, PrimitiveSet
from evoengine.gp.selection import select
from helpers import below, stream, uniform


def typed_set():
    ps = PrimitiveSet(["x", "y"])
    ps.add_builtin("add", "mul", "neg", "sin")
    ps.add_function("if_then_else", lambda c, a, b: a if c > 0.5 else b,
                    in_types=["bool", "float", "float"])
    ps.add_function("lt", lambda a, b: 1.0 if a < b else 0.0, ret_type="bool")
    ps.add_function("both", lambda a, b: 1.0 if a > 0.5 and b > 0.5 else 0.0,
                    in_types=["bool", "bool"], ret_type="bool")
    ps.add_constant("true", 1.0, ret_type="bool")
    ps.add_ephemeral("c", -1.0, 1.0)
    ps.add_ephemeral("k", -3, 3, integer=True)
    return ps


def plain_set():
    ps = PrimitiveSet(["x"])
    ps.add_builtin("add", "sub", "mul", "pdiv", "neg", "sin", "cos")
    ps.add_ephemeral("c", -1.0, 1.0)
    return ps


def well_typed(ps, codes, n):
    """Slow check: a complete prefix tree whose every argument has the type asked for."""
    want = [ps.root_type]
    for k in range(n):
        if not want:
            return False
        node = ps.nodes[codes[k]]
        if node.ret != want.pop():
            return False
        want.extend(reversed(node.args))
    return not want


def subtree_slice(trees, i, k):
    return to_deap(trees, i).searchSubtree(k)


def nodes(trees, i):
    return list(zip(trees.codes[i, :trees.lengths[i]].tolist(),
                    trees.consts[i, :trees.lengths[i]].tolist(), strict=True))


# --- initialization -------------------------------------------------------------------------
def reference_grow(ps, state, ret_type, min_depth, height, full, cap):
    t = ps.tables
    out, slots = [], [(ret_type, 0)]
    while slots:
        ty, d = slots.pop()
        room = cap - len(out) - len(slots)
        prims = [c for c in range(len(ps.nodes)) if ps.nodes[c].arity and ps.nodes[c].ret == ty]
        terms = [c for c in range(len(ps.nodes)) if not ps.nodes[c].arity and
                 ps.nodes[c].ret == ty]
        terminal = not prims or d >= height
        if not terminal and not full and d >= min_depth:
            state, u = uniform(state)
            terminal = u < len(terms) / (len(terms) + len(prims))
        if not terminal:
            state, k = below(state, len(prims))
            code = prims[k]
            terminal = 1 + ps.nodes[code].arity > room
        if terminal:
            state, k = below(state, len(terms))
            code = terms[k]
        node = ps.nodes[code]
        value = 0.0
        if node.op == EPHEMERAL:
            state, u = uniform(state)
            value = (min(np.floor(node.value + u * (node.high - node.value + 1)), node.high)
                     if node.integer else node.value + u * (node.high - node.value))
        elif node.arity == 0 and node.op != 0:
            value = node.value
        out.append((code, value))
        slots.extend((a, d + 1) for a in reversed(node.args))
    assert t.arity is not None
    return out


@pytest.mark.parametrize("method", ["grow", "full", "half_and_half"])
@pytest.mark.parametrize("make", [plain_set, typed_set])
def test_initialization_matches_the_reference(method, make):
    ps = make()
    trees = initial_trees(ps, 60, 40, seed=7, method=method, min_depth=1, max_depth=4)
    heights = []
    for i in range(len(trees)):
        state = stream(7, i)
        state, h = below(state, 4)
        heights.append(1 + h)
        full = method == "full"
        if method == "half_and_half":
            state, u = uniform(state)
            full = u < 0.5
        expected = reference_grow(ps, state, ps.root_type, 1, 1 + h, full, 40)
        assert nodes(trees, i) == expected
        assert well_typed(ps, trees.codes[i], trees.lengths[i])
    depths = trees.depths()
    assert (depths <= np.array(heights)).all() and depths.max() <= 4
    if method == "full" and make is plain_set:  # full trees reach their drawn height
        assert depths.tolist() == heights


def test_initialization_never_outgrows_the_size_limit():
    ps = plain_set()
    trees = initial_trees(ps, 200, 9, seed=3, method="full", min_depth=6, max_depth=8)
    assert trees.lengths.max() <= 9
    assert all(well_typed(ps, trees.codes[i], trees.lengths[i]) for i in range(200))


# --- crossover ------------------------------------------------------------------------------
def reference_crossover(ps, a_nodes, b_nodes, seed, p, max_depth, width, trees_a, ia, ib):
    ret = ps.tables.ret
    ca, cb = [c for c, _ in a_nodes], [c for c, _ in b_nodes]
    state = stream(seed, p)
    if len(ca) < 2 or len(cb) < 2:
        return a_nodes, b_nodes
    common = sorted({ret[c] for c in ca[1:]} & {ret[c] for c in cb[1:]})
    if not common:
        return a_nodes, b_nodes
    state, pick = below(state, len(common))
    chosen = common[pick]
    in_a = [k for k in range(1, len(ca)) if ret[ca[k]] == chosen]
    in_b = [k for k in range(1, len(cb)) if ret[cb[k]] == chosen]
    state, pi = below(state, len(in_a))
    state, pj = below(state, len(in_b))
    i, j = in_a[pi], in_b[pj]
    si, sj = subtree_slice(trees_a, ia, i), subtree_slice(trees_a, ib, j)
    child_a = a_nodes[:i] + b_nodes[sj] + a_nodes[si.stop:]
    child_b = b_nodes[:j] + a_nodes[si] + b_nodes[sj.stop:]
    from evoengine.gp.trees import NODE_DTYPE, Trees

    def keep(child, parent):
        t = Trees.from_nodes(ps, [np.array(child, dtype=NODE_DTYPE)]) if len(child) <= width \
            else None
        return child if t is not None and t.depths()[0] <= max_depth else parent

    return keep(child_a, a_nodes), keep(child_b, b_nodes)


@pytest.mark.parametrize("make", [plain_set, typed_set])
def test_subtree_crossover_matches_the_reference(make):
    ps = make()
    parents = initial_trees(ps, 80, 48, seed=11, max_depth=5)
    children = parents[np.arange(80)]
    pairs = np.arange(80).reshape(-1, 2)
    variation.crossover(children, pairs, 21, max_depth=7)
    changed = 0
    for p, (a, b) in enumerate(pairs):
        ea, eb = reference_crossover(ps, nodes(parents, a), nodes(parents, b), 21, p, 7, 48,
                                     parents, a, b)
        assert nodes(children, a) == ea
        assert nodes(children, b) == eb
        changed += ea != nodes(parents, a)
        assert well_typed(ps, children.codes[a], children.lengths[a])
    assert changed > 10  # the reference is not trivially "nothing happened"
    assert children.depths().max() <= 7


# --- mutations ------------------------------------------------------------------------------
def mutate_all(ps, kind, seed=5, max_depth=8, width=48):
    parents = initial_trees(ps, 120, width, seed=13, max_depth=5)
    children = parents[np.arange(120)]
    variation.mutate(children, np.arange(120), np.full(120, variation.MUTATIONS[kind]), seed,
                     max_depth, mutation_depth=2)
    for i in range(120):
        assert well_typed(ps, children.codes[i], children.lengths[i]), (kind, i)
    assert children.depths().max() <= max_depth
    return parents, children


@pytest.mark.parametrize("make", [plain_set, typed_set])
def test_point_mutation_replaces_one_node_by_a_compatible_one(make):
    ps = make()
    parents, children = mutate_all(ps, "point")
    for i in range(len(parents)):
        state = stream(5, i)
        state, k = below(state, int(parents.lengths[i]))
        before, after = nodes(parents, i), nodes(children, i)
        assert len(before) == len(after)
        assert before[:k] == after[:k] and before[k + 1:] == after[k + 1:]
        old, new = ps.nodes[before[k][0]], ps.nodes[after[k][0]]
        assert (old.arity, old.ret, old.args) == (new.arity, new.ret, new.args)


@pytest.mark.parametrize("make", [plain_set, typed_set])
def test_hoist_mutation_replaces_a_subtree_by_one_of_its_own(make):
    ps = make()
    parents, children = mutate_all(ps, "hoist")
    ret = ps.tables.ret
    for i in range(len(parents)):
        before, after = nodes(parents, i), nodes(children, i)
        state = stream(5, i)
        state, k = below(state, len(before))
        outer = subtree_slice(parents, i, k)
        inner_roots = [j for j in range(k, outer.stop) if ret[before[j][0]] == ret[before[k][0]]]
        state, pick = below(state, len(inner_roots))
        inner = subtree_slice(parents, i, inner_roots[pick])
        assert after == before[:k] + before[inner] + before[outer.stop:]


@pytest.mark.parametrize("make", [plain_set, typed_set])
def test_shrink_mutation_replaces_a_primitive_by_one_of_its_arguments(make):
    ps = make()
    parents, children = mutate_all(ps, "shrink")
    shrunk = 0
    for i in range(len(parents)):
        before, after = nodes(parents, i), nodes(children, i)
        tree = to_deap(parents, i)
        candidates = [k for k in range(1, len(before)) if any(
            a == ps.nodes[before[k][0]].ret for a in ps.nodes[before[k][0]].args)]
        if len(before) < 3 or not candidates:
            assert after == before
            continue
        state = stream(5, i)
        state, pick = below(state, len(candidates))
        k = candidates[pick]
        node = ps.nodes[before[k][0]]
        matching = [a for a, t in enumerate(node.args) if t == node.ret]
        state, pick = below(state, len(matching))
        start = k + 1
        for _ in range(matching[pick]):
            start = tree.searchSubtree(start).stop
        expected = before[:k] + before[tree.searchSubtree(start)] + \
            before[tree.searchSubtree(k).stop:]
        assert after == expected
        shrunk += 1
    assert shrunk > 20


def test_ephemeral_mutation_redraws_one_constant_only():
    ps = plain_set()
    parents, children = mutate_all(ps, "ephemeral")
    redrawn = 0
    for i in range(len(parents)):
        before, after = nodes(parents, i), nodes(children, i)
        assert [c for c, _ in before] == [c for c, _ in after]
        diff = [k for k in range(len(before)) if before[k][1] != after[k][1]]
        assert len(diff) <= 1
        if diff:
            assert ps.nodes[before[diff[0]][0]].op == EPHEMERAL
            assert -1.0 <= after[diff[0]][1] <= 1.0
            redrawn += 1
    assert redrawn > 30


@pytest.mark.parametrize("make", [plain_set, typed_set])
def test_subtree_mutation_keeps_the_rest_of_the_tree(make):
    ps = make()
    parents, children = mutate_all(ps, "subtree", max_depth=30)
    for i in range(len(parents)):
        before, after = nodes(parents, i), nodes(children, i)
        state = stream(5, i)
        state, k = below(state, len(before))
        end = subtree_slice(parents, i, k).stop
        tail = before[end:]
        assert after[:k] == before[:k]
        assert after[len(after) - len(tail):] == tail if tail else True
        grown = after[k:len(after) - len(tail)]
        assert ps.nodes[grown[0][0]].ret == ps.nodes[before[k][0]].ret
        from evoengine.gp.trees import NODE_DTYPE, Trees

        sub = Trees.from_nodes(ps, [np.array(grown, dtype=NODE_DTYPE)])
        assert sub.depths()[0] <= 2


def test_a_too_deep_child_is_replaced_by_its_parent():
    ps = plain_set()
    parents = initial_trees(ps, 100, 64, seed=2, method="full", min_depth=4, max_depth=4)
    children = parents[np.arange(100)]
    variation.crossover(children, np.arange(100).reshape(-1, 2), 3, max_depth=4)
    variation.mutate(children, np.arange(100), np.zeros(100, dtype=int), 4, max_depth=4)
    assert children.depths().max() <= 4


# --- selection ------------------------------------------------------------------------------
def test_lexicographic_tournament_matches_the_reference():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, 50).astype(float)  # many ties, so size decides often
    scores[3] = -np.inf
    sizes = rng.integers(1, 30, 50)
    chosen = select(scores, sizes, 200, 4, seed=17)
    for r in range(200):
        state = stream(17, r)
        state, best = below(state, 50)
        for _ in range(3):
            state, c = below(state, 50)
            if (scores[c], -sizes[c]) > (scores[best], -sizes[best]):
                best = c
        assert chosen[r] == best


def test_double_tournament_matches_the_reference_and_favours_small_trees():
    rng = np.random.default_rng(1)
    scores = rng.normal(size=60)
    sizes = rng.integers(1, 100, 60)
    chosen = select(scores, sizes, 300, 3, seed=4, method="double_tournament",
                    parsimony_size=1.8)

    def contest(state):
        state, a = below(state, 60)
        state, b = below(state, 60)
        prob = 0.9
        if sizes[a] > sizes[b]:
            a, b = b, a
        elif sizes[a] == sizes[b]:
            prob = 0.5
        state, u = uniform(state)
        return state, a if u < prob else b

    for r in range(300):
        state = stream(4, r)
        state, best = contest(state)
        for _ in range(2):
            state, c = contest(state)
            if scores[c] > scores[best]:
                best = c
        assert chosen[r] == best
    plain = select(scores, sizes, 300, 3, seed=4, method="none")
    assert sizes[chosen].mean() < sizes[plain].mean()
