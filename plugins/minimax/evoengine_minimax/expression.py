"""Evaluation expressions over a game's named features, evolved by GP, evaluated at each leaf.

The language is evoengine's GP (:mod:`evoengine.gp`): the game's features are the variables,
with ``add``, ``sub``, ``mul``, ``neg``, ``max``, ``min`` and an ephemeral constant. At a leaf
the search runs :func:`evoengine.gp.run_tree`, the GP's own stack machine, on one
point (the position's features), so a tree means in the search exactly what
:func:`evoengine.gp.evaluate_trees` computes.

Every agent of a match is one row of floats, so that linear and expression heuristics meet in
the same games::

    [weights (F) | needed (F) | n | codes (L) | consts (L)]

``weights`` is a linear part (zero for an expression), ``needed`` says which features the
heuristic reads (a game skips costly features it does not need), ``n`` the tree's node count
(0: none), then the tree's prefix codes and constants. A row of F values is the plain linear
heuristic. Codes are those of one fixed table (:data:`OPTAB`, the GP's opcodes, then
``const``, then one code per variable), so one compiled search serves every game.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from evoengine.errors import ConfigError
from evoengine.gp import ARITY, CONST, EPHEMERAL, OPS, VAR, PrimitiveSet, run_tree

MAX_NODES = 64      # nodes per tree: the search's buffers are this size
MAX_VARIABLES = 32
LIMIT = 1.0e5       # expression values are clipped here, far below the search's win scores
OPERATORS = ("add", "sub", "mul", "neg", "max", "min")

_N_OPS = len(OPS)
OPTAB = np.concatenate([np.arange(_N_OPS), np.full(MAX_VARIABLES, VAR)]).astype(np.int64)
ARGTAB = np.concatenate([np.zeros(_N_OPS), np.arange(MAX_VARIABLES)]).astype(np.int64)
ARITY_TABLE = np.concatenate([ARITY, np.zeros(MAX_VARIABLES)]).astype(np.int64)


def primitive_set(features: tuple[str, ...]) -> PrimitiveSet:
    """The GP language of a game's heuristics: its features, the operators, a constant."""
    if len(features) > MAX_VARIABLES:
        raise ConfigError(f"setting 'heuristic': expressions take at most {MAX_VARIABLES} "
                          f"features, this game has {len(features)}")
    ps = PrimitiveSet(list(features))
    ps.add_builtin(*OPERATORS)
    ps.add_ephemeral("c", -1.0, 1.0)
    return ps


def row_width(n_features: int) -> int:
    return 2 * n_features + 1 + 2 * MAX_NODES


def linear_rows(weights: np.ndarray) -> np.ndarray:
    """Linear heuristics (P x F weights) as full-width rows."""
    weights = np.atleast_2d(np.asarray(weights, float))
    f = weights.shape[1]
    out = np.zeros((len(weights), row_width(f)))
    out[:, :f] = weights
    out[:, f:2 * f] = weights
    return out


def expression_rows(trees, game_features: tuple[str, ...]) -> np.ndarray:
    """GP trees (:class:`evoengine.gp.Trees` over a :func:`primitive_set` of some of
    ``game_features``) as full-width rows over all the game's features."""
    ps = trees.primitives
    f = len(game_features)
    if int(trees.lengths.max(initial=0)) > MAX_NODES:
        raise ConfigError(f"setting 'max_size': expression heuristics have at most "
                          f"{MAX_NODES} nodes")
    code_of = np.empty(len(ps.nodes), np.int64)
    value_of = np.zeros(len(ps.nodes))
    is_ephemeral = np.zeros(len(ps.nodes), bool)
    column = np.zeros(len(ps.nodes), np.int64)
    for c, node in enumerate(ps.nodes):
        if node.op == VAR:
            column[c] = game_features.index(ps.variables[node.index])
            code_of[c] = _N_OPS + column[c]
        elif node.op == CONST or node.op == EPHEMERAL:
            code_of[c] = CONST
            value_of[c], is_ephemeral[c] = node.value, node.op == EPHEMERAL
        elif node.op >= 0:
            code_of[c] = node.op
        else:
            raise ConfigError(f"primitive {node.name!r}: the search evaluates built-in "
                              "operators only")
    out = np.zeros((len(trees), row_width(f)))
    for i in range(len(trees)):
        n = int(trees.lengths[i])
        codes = trees.codes[i, :n]
        out[i, 2 * f] = n
        out[i, 2 * f + 1:2 * f + 1 + n] = code_of[codes]
        consts = np.where(is_ephemeral[codes], trees.consts[i, :n], value_of[codes])
        out[i, 2 * f + 1 + MAX_NODES:2 * f + 1 + MAX_NODES + n] = consts
        used = codes[ps.tables.optab[codes] == VAR]
        out[i, f + column[used]] = 1.0
    return out


def heuristic_row(game_features: tuple[str, ...], weights: np.ndarray,
                  tree_text: str | None, variables: list[str] | None = None) -> np.ndarray:
    """One agent's row: linear ``weights`` plus the tree written ``tree_text`` (DEAP's string
    form over ``variables``, all the game's features by default), as a tuned JSON holds them."""
    row = linear_rows(weights)[0]
    if tree_text:
        from evoengine.gp import parse_tree

        variables = tuple(variables or game_features)
        unknown = [v for v in variables if v not in game_features]
        if unknown:
            raise ConfigError(f"unknown feature {unknown[0]!r} in the expression; this game's "
                              f"features: {', '.join(game_features)}")
        ps = primitive_set(variables)
        tree = expression_rows(parse_tree(ps, tree_text), game_features)[0]
        f = len(game_features)
        row[f:2 * f] = np.maximum(row[f:2 * f] != 0, tree[f:2 * f])
        row[2 * f:] = tree[2 * f:]
    return row


@njit(cache=True)
def load_expression(row, n_features, codes, consts):
    """Copy a row's tree into the search's buffers; returns its node count (0: none)."""
    f = n_features
    if row.shape[0] <= 2 * f:
        return 0
    n = int(row[2 * f])
    for k in range(n):
        codes[k] = int(row[2 * f + 1 + k])
        consts[k] = row[2 * f + 1 + MAX_NODES + k]
    return n


@njit(cache=True)
def expression_value(codes, consts, n, feats, stack):
    """The tree's value at one point (``feats``), clipped to ``[-LIMIT, LIMIT]``, NaN as 0."""
    xt = feats.reshape((feats.shape[0], 1))
    run_tree(codes, consts, n, OPTAB, ARGTAB, ARITY_TABLE, xt, 0, 1, stack)
    v = stack[0, 0]
    if np.isnan(v):
        return 0.0
    return min(max(v, -LIMIT), LIMIT)

