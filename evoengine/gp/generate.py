"""Making trees: full, grow and ramped half-and-half, as compiled kernels on prefix arrays.

A tree is written node by node in prefix order from a stack of open *slots* (a type and a
depth): each slot gets a primitive returning that type, whose argument slots are pushed, or a
terminal of that type, so a tree is well typed by construction. Room for every open slot is
kept in reserve, so a tree never outgrows the array (a slot that cannot afford a primitive gets
a terminal). Heights and the grow/full choice follow DEAP's ``genGrow``, ``genFull`` and
``genHalfAndHalf``; each row draws from its own counter-based stream (``operators.streams``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from evoengine.gp.primitives import EPHEMERAL
from evoengine.gp.program import CONST
from evoengine.operators.streams import below, stream, uniform

GROW, FULL, HALF_AND_HALF = 0, 1, 2
INIT_METHODS = {"grow": GROW, "full": FULL, "half_and_half": HALF_AND_HALF}


@njit(cache=True, nogil=True)
def subtree_end(codes, start, arity):
    """One past the last node of the subtree rooted at ``start``."""
    need = 1
    k = start
    while need > 0:
        need += arity[codes[k]] - 1
        k += 1
    return k


@njit(cache=True, nogil=True)
def tree_depth(codes, n, arity):
    """Depth of a prefix tree of ``n`` nodes (a lone terminal: 0)."""
    stack = np.empty(max(n, 1), dtype=np.int64)
    top = 0
    for k in range(n - 1, -1, -1):
        a = arity[codes[k]]
        deepest = -1
        for _ in range(a):
            top -= 1
            deepest = max(deepest, stack[top])
        stack[top] = deepest + 1
        top += 1
    return stack[0]


@njit(cache=True, nogil=True)
def draw_const(state, code, optab, value, high, integer):
    """The constant a new node ``code`` carries (its draw if ephemeral)."""
    op = optab[code]
    if op == EPHEMERAL:
        state, u = uniform(state)
        if integer[code]:
            span = high[code] - value[code] + 1.0
            return state, min(np.floor(value[code] + u * span), high[code])
        return state, value[code] + u * (high[code] - value[code])
    if op == CONST:
        return state, value[code]
    return state, 0.0


@njit(cache=True, nogil=True)
def grow_into(state, out_codes, out_consts, pos, cap, ret_type, min_depth, height, full,
              arity, argtypes, optab, value, high, integer, prims, nprims, terms, nterms,
              slot_type, slot_depth):
    """Write a random tree returning ``ret_type`` at ``out[pos:]``, ending at or before
    ``cap``; returns ``(state, end)``. ``slot_*`` are scratch arrays of at least ``cap``."""
    slot_type[0] = ret_type
    slot_depth[0] = 0
    top = 1
    while top > 0:
        top -= 1
        t, d = slot_type[top], slot_depth[top]
        room = cap - pos - top  # this node and its arguments, other open slots reserved
        terminal = nprims[t] == 0 or d >= height
        if not terminal and not full and d >= min_depth:
            state, u = uniform(state)
            terminal = u < nterms[t] / (nterms[t] + nprims[t])
        code = -1
        if not terminal:
            state, k = below(state, nprims[t])
            code = prims[t, k]
            if 1 + arity[code] > room:
                terminal = True
        if terminal:
            state, k = below(state, nterms[t])
            code = terms[t, k]
        out_codes[pos] = code
        state, v = draw_const(state, code, optab, value, high, integer)
        out_consts[pos] = v
        pos += 1
        for j in range(arity[code] - 1, -1, -1):  # first argument is popped first
            slot_type[top] = argtypes[code, j]
            slot_depth[top] = d + 1
            top += 1
    return state, pos


@njit(cache=True, nogil=True)
def _init_row(i, seed, codes, consts, lengths, method, min_depth, max_depth, root, arity,
              argtypes, optab, value, high, integer, prims, nprims, terms, nterms):
    cap = codes.shape[1]
    slot_type = np.empty(cap + 1, dtype=np.int64)
    slot_depth = np.empty(cap + 1, dtype=np.int64)
    state = stream(seed, i)
    state, h = below(state, max_depth - min_depth + 1)
    full = method == FULL
    if method == HALF_AND_HALF:
        state, u = uniform(state)
        full = u < 0.5
    state, end = grow_into(state, codes[i], consts[i], 0, cap, root, min_depth, min_depth + h,
                           full, arity, argtypes, optab, value, high, integer, prims, nprims,
                           terms, nterms, slot_type, slot_depth)
    lengths[i] = end
    codes[i, end:] = 0
    consts[i, end:] = 0.0


@njit(cache=True, nogil=True)
def _init_population(seed, codes, consts, lengths, method, min_depth, max_depth, root, arity,
                     argtypes, optab, value, high, integer, prims, nprims, terms, nterms):
    for i in range(codes.shape[0]):
        _init_row(i, seed, codes, consts, lengths, method, min_depth, max_depth, root, arity,
                  argtypes, optab, value, high, integer, prims, nprims, terms, nterms)


def initial_trees(primitives, count: int, max_size: int, seed: int, *,
                  method: str = "half_and_half", min_depth: int = 1, max_depth: int = 6):
    """``count`` random trees (see the module docstring); ``seed`` from the run's generator."""
    from evoengine.errors import ConfigError
    from evoengine.gp.trees import Trees

    if method not in INIT_METHODS:
        raise ConfigError(f"init method {method!r} is not one of {', '.join(INIT_METHODS)}")
    if not 0 <= min_depth <= max_depth:
        raise ConfigError(f"init depths: min {min_depth} must be between 0 and max {max_depth}")
    t = primitives.tables
    trees = Trees.empty(primitives, count, max_size)
    _init_population(seed, trees.codes, trees.consts, trees.lengths, INIT_METHODS[method],
                     min_depth, max_depth, t.root, t.arity, t.argtypes, t.optab, t.value, t.high,
                     t.integer, t.prims, t.nprims, t.terms, t.nterms)
    return trees
