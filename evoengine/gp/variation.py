"""Variation of trees as compiled kernels on prefix arrays, each the array twin of a DEAP
operator:

- subtree crossover (``cxOnePoint``): a random node of each parent (not the root), of a type
  both parents have, and the two subtrees are swapped;
- subtree mutation (``mutUniform``): a random subtree is replaced by a new grown one;
- point mutation (``mutNodeReplacement``): a node becomes another of the same arity and types;
- hoist mutation (gplearn): a subtree is replaced by one of its own subtrees of the same type;
- shrink mutation (``mutShrink``): a primitive (not the root) is replaced by one of its
  arguments of the same type;
- ephemeral mutation (``mutEphemeral``, mode "one"): one ephemeral constant is redrawn.

A child deeper than ``max_depth`` is replaced by its parent (DEAP's ``staticLimit``); size can
never pass the array width, which is the size limit. Every choice respects types, so no
operator builds an ill-typed tree. Rows draw from their own streams: same seed, same result,
whatever the thread count.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from evoengine.gp.generate import draw_const, grow_into, subtree_end, tree_depth
from evoengine.gp.primitives import EPHEMERAL
from evoengine.operators.streams import below, stream

SUBTREE, POINT, HOIST, SHRINK, EPHEMERAL_MUTATION = 0, 1, 2, 3, 4
MUTATIONS = {"subtree": SUBTREE, "point": POINT, "hoist": HOIST, "shrink": SHRINK,
             "ephemeral": EPHEMERAL_MUTATION}


def kernel_tables(primitives):
    """The primitive set's tables as the tuple the variation kernels take."""
    t = primitives.tables
    cached = primitives.__dict__.get("_kernel_tables")
    if cached is not None and cached[0] is t:
        return cached[1]
    c = len(t.arity)
    alts = np.full((c, c), -1, dtype=np.int64)
    nalts = np.zeros(c, dtype=np.int64)
    for i in range(c):
        for j in range(c):
            if (t.arity[i] == t.arity[j] and t.ret[i] == t.ret[j]
                    and np.array_equal(t.argtypes[i], t.argtypes[j])):
                alts[i, nalts[i]] = j
                nalts[i] += 1
    out = (t.arity, t.ret, t.argtypes, t.optab, t.value, t.high, t.integer, t.prims,
           t.nprims, t.terms, t.nterms, alts, nalts)
    primitives.__dict__["_kernel_tables"] = (t, out)
    return out


@njit(cache=True, nogil=True)
def _pick_of_type(codes, start, stop, ret, t, state):
    """A uniformly chosen position in ``[start, stop)`` whose node returns type ``t``."""
    count = 0
    for k in range(start, stop):
        if ret[codes[k]] == t:
            count += 1
    state, pick = below(state, count)
    for k in range(start, stop):
        if ret[codes[k]] == t:
            if pick == 0:
                return state, k
            pick -= 1
    return state, -1


@njit(cache=True, nogil=True)
def _splice(codes, consts, n, i, e, src_codes, src_consts, s, f, out_codes, out_consts):
    """``tree[:i] + src[s:f] + tree[e:n]`` into ``out``; returns the length."""
    m = 0
    for k in range(i):
        out_codes[m], out_consts[m] = codes[k], consts[k]
        m += 1
    for k in range(s, f):
        out_codes[m], out_consts[m] = src_codes[k], src_consts[k]
        m += 1
    for k in range(e, n):
        out_codes[m], out_consts[m] = codes[k], consts[k]
        m += 1
    return m


@njit(cache=True, nogil=True)
def crossover_points(ca, na, cb, nb, ret, ntypes, state):
    """DEAP's typed ``cxOnePoint`` choice: a type both parents have below the root, then a
    node of that type in each. Returns ``(state, i, j)``, ``i = -1`` when there is none."""
    if na < 2 or nb < 2:
        return state, -1, -1
    in_a = np.zeros(ntypes, dtype=np.bool_)
    in_b = np.zeros(ntypes, dtype=np.bool_)
    for k in range(1, na):
        in_a[ret[ca[k]]] = True
    for k in range(1, nb):
        in_b[ret[cb[k]]] = True
    common = 0
    for t in range(ntypes):
        common += in_a[t] and in_b[t]
    if common == 0:
        return state, -1, -1
    state, pick = below(state, common)
    chosen = -1
    for t in range(ntypes):
        if in_a[t] and in_b[t]:
            if pick == 0:
                chosen = t
                break
            pick -= 1
    state, i = _pick_of_type(ca, 1, na, ret, chosen, state)
    state, j = _pick_of_type(cb, 1, nb, ret, chosen, state)
    return state, i, j


@njit(cache=True, nogil=True)
def _crossover(codes, consts, lengths, pairs, seed, max_depth, ntypes, tb):
    arity, ret = tb[0], tb[1]
    width = codes.shape[1]
    for p in range(pairs.shape[0]):
        a, b = pairs[p, 0], pairs[p, 1]
        na, nb = lengths[a], lengths[b]
        state = stream(seed, p)
        state, i, j = crossover_points(codes[a], na, codes[b], nb, ret, ntypes, state)
        if i < 0:
            continue
        ei = subtree_end(codes[a], i, arity)
        ej = subtree_end(codes[b], j, arity)
        ca, ka = np.empty(2 * width, dtype=np.int64), np.empty(2 * width)
        cb, kb = np.empty(2 * width, dtype=np.int64), np.empty(2 * width)
        la = _splice(codes[a], consts[a], na, i, ei, codes[b], consts[b], j, ej, ca, ka)
        lb = _splice(codes[b], consts[b], nb, j, ej, codes[a], consts[a], i, ei, cb, kb)
        if la <= width and tree_depth(ca, la, arity) <= max_depth:
            codes[a, :la], consts[a, :la], lengths[a] = ca[:la], ka[:la], la
            codes[a, la:], consts[a, la:] = 0, 0.0
        if lb <= width and tree_depth(cb, lb, arity) <= max_depth:
            codes[b, :lb], consts[b, :lb], lengths[b] = cb[:lb], kb[:lb], lb
            codes[b, lb:], consts[b, lb:] = 0, 0.0


@njit(cache=True, nogil=True)
def mutate_one(codes, consts, n, kind, state, mutation_depth, tb, out_codes, out_consts):
    """One mutation of ``kind`` of a tree into ``out``; returns ``(state, length)``.
    The length is -1 when the tree offers nothing to mutate (it is then left as it is)."""
    (arity, ret, argtypes, optab, value, high, integer, prims, nprims, terms, nterms,
     alts, nalts) = tb
    width = out_codes.shape[0]
    if kind == SUBTREE:
        state, i = below(state, n)
        e = subtree_end(codes, i, arity)
        out_codes[:i], out_consts[:i] = codes[:i], consts[:i]
        m = i
        cap = width - (n - e)
        slot_type = np.empty(width + 1, dtype=np.int64)
        slot_depth = np.empty(width + 1, dtype=np.int64)
        state, h = below(state, mutation_depth + 1)
        state, end = grow_into(state, out_codes, out_consts, m, cap, ret[codes[i]], 0, h,
                               False, arity, argtypes, optab, value, high, integer, prims,
                               nprims, terms, nterms, slot_type, slot_depth)
        for k in range(e, n):
            out_codes[end], out_consts[end] = codes[k], consts[k]
            end += 1
        return state, end
    if kind == POINT:
        state, i = below(state, n)
        out_codes[:n], out_consts[:n] = codes[:n], consts[:n]
        c = codes[i]
        state, k = below(state, nalts[c])
        out_codes[i] = alts[c, k]
        if arity[alts[c, k]] == 0:
            state, v = draw_const(state, alts[c, k], optab, value, high, integer)
            out_consts[i] = v
        return state, n
    if kind == HOIST:
        state, i = below(state, n)
        e = subtree_end(codes, i, arity)
        state, j = _pick_of_type(codes, i, e, ret, ret[codes[i]], state)
        f = subtree_end(codes, j, arity)
        return state, _splice(codes, consts, n, i, e, codes, consts, j, f, out_codes,
                              out_consts)
    if kind == SHRINK:
        count = 0
        for k in range(1, n):
            for a in range(arity[codes[k]]):
                if argtypes[codes[k], a] == ret[codes[k]]:
                    count += 1
                    break
        if n < 3 or count == 0:
            return state, -1
        state, pick = below(state, count)
        i = -1
        for k in range(1, n):
            ok = False
            for a in range(arity[codes[k]]):
                ok = ok or argtypes[codes[k], a] == ret[codes[k]]
            if ok:
                if pick == 0:
                    i = k
                    break
                pick -= 1
        c = codes[i]
        matching = 0
        for a in range(arity[c]):
            matching += argtypes[c, a] == ret[c]
        state, pick = below(state, matching)
        start = i + 1
        for a in range(arity[c]):
            if argtypes[c, a] == ret[c]:
                if pick == 0:
                    break
                pick -= 1
            start = subtree_end(codes, start, arity)
        e = subtree_end(codes, i, arity)
        f = subtree_end(codes, start, arity)
        return state, _splice(codes, consts, n, i, e, codes, consts, start, f, out_codes,
                              out_consts)
    # ephemeral
    count = 0
    for k in range(n):
        count += optab[codes[k]] == EPHEMERAL
    if count == 0:
        return state, -1
    state, pick = below(state, count)
    out_codes[:n], out_consts[:n] = codes[:n], consts[:n]
    for k in range(n):
        if optab[codes[k]] == EPHEMERAL:
            if pick == 0:
                state, v = draw_const(state, codes[k], optab, value, high, integer)
                out_consts[k] = v
                break
            pick -= 1
    return state, n


@njit(cache=True, nogil=True)
def _mutate(codes, consts, lengths, rows, kinds, seed, max_depth, mutation_depth, tb):
    arity = tb[0]
    width = codes.shape[1]
    for r in range(rows.shape[0]):
        i = rows[r]
        out_codes = np.empty(width, dtype=np.int64)
        out_consts = np.empty(width)
        state = stream(seed, r)
        state, m = mutate_one(codes[i], consts[i], lengths[i], kinds[r], state,
                              mutation_depth, tb, out_codes, out_consts)
        if m > 0 and tree_depth(out_codes, m, arity) <= max_depth:
            codes[i, :m], consts[i, :m], lengths[i] = out_codes[:m], out_consts[:m], m
            codes[i, m:], consts[i, m:] = 0, 0.0


def crossover(trees, pairs: np.ndarray, seed: int, max_depth: int) -> None:
    """Subtree crossover of each row pair in ``pairs`` (K x 2, rows all distinct), in place."""
    pairs = np.ascontiguousarray(pairs, dtype=np.int64).reshape(-1, 2)
    _crossover(trees.codes, trees.consts, trees.lengths, pairs, seed, max_depth,
               len(trees.primitives.type_names), kernel_tables(trees.primitives))


def mutate(trees, rows: np.ndarray, kinds: np.ndarray, seed: int, max_depth: int,
           mutation_depth: int = 2) -> None:
    """Mutate each of ``rows`` (distinct) with its kind in ``kinds`` (see ``MUTATIONS``), in
    place; subtree mutation grows trees of height up to ``mutation_depth``."""
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    kinds = np.ascontiguousarray(kinds, dtype=np.int64)
    _mutate(trees.codes, trees.consts, trees.lengths, rows, kinds, seed, max_depth,
            mutation_depth, kernel_tables(trees.primitives))
