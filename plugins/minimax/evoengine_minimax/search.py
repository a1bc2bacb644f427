"""Negamax alpha-beta with iterative deepening and a transposition table, compiled.

The evaluation is a linear heuristic ``weights . features(position, root player)``, plus a GP
tree over the features when the agent's row holds one (:mod:`evoengine_minimax.expression`),
always from the side of the player who is searching (the article's players score a position for
themselves, whoever is to move there): a leaf is worth ``+v`` when the root player is to move
and ``-v`` otherwise, which keeps negamax exact for heuristics that are not antisymmetric.

Limits: a fixed depth; a node budget (iterative deepening stops inside the iteration that
exceeds it and keeps the last completed one: reproducible); or a time per move (the same, with
a clock: not reproducible, since the result depends on the machine's speed and load).
Wins score ``WIN - plies``, so a shorter win is preferred and a lost position resists longest.
"""

import time

import numpy as np
from numba import njit, objmode

from evoengine_minimax.expression import MAX_NODES, expression_value, load_expression
from evoengine_minimax.rules import features, moves_or_result, play
from evoengine_minimax.state import DRAW, HASH, SIDE

WIN = 1.0e6
MATE_ZONE = WIN - 10_000.0
EXACT, LOWER, UPPER = 0, 1, 2
# counters: nodes searched, node budget (0: none), deadline in ns (0: none), stop flag,
# whether the current iteration may be stopped, leaves cut by the depth limit.
NODES, BUDGET, DEADLINE, STOP, STOPPABLE, HORIZON = range(6)
CLOCK_EVERY = 1023  # nodes between clock reads in time mode (a mask)


@njit(cache=True)
def now_ns():
    with objmode(t="int64"):
        t = time.perf_counter_ns()
    return t


@njit(cache=True)
def new_scratch(state_size, n_features, max_depth, max_moves, tt_bits):
    """Stack of positions, move lists per ply, root scores, feature buffer, transposition
    table (key, value, packed depth/flag/move), counters, the search's frames, and the
    expression heuristic's codes, constants and stack."""
    plies = max_depth + 2
    return (np.zeros((plies, state_size), np.int64), np.zeros((plies, max_moves + 1), np.int64),
            np.zeros(max_moves + 1, np.float64), np.zeros(max(n_features, 1), np.float64),
            np.zeros(1 << tt_bits, np.int64), np.zeros(1 << tt_bits, np.float64),
            np.zeros(1 << tt_bits, np.int64), np.zeros(6, np.int64),
            np.zeros((4, plies), np.float64), np.zeros((5, plies), np.int64),
            np.zeros(MAX_NODES, np.int64), np.zeros(MAX_NODES, np.float64),
            np.zeros((MAX_NODES, 1), np.float64))


@njit(cache=True)
def evaluate(s, root, weights, feats, n_expr, expr_codes, expr_consts, expr_stack):
    """The heuristic from the root player's side, signed for the side to move at ``s``.

    ``weights`` is a linear heuristic (one weight per feature) or a full heuristic row (see
    :mod:`evoengine_minimax.expression`), whose tree (``n_expr`` nodes, loaded in the
    ``expr_*`` buffers) is added to its linear part."""
    if weights.shape[0] == feats.shape[0]:  # the plain linear heuristic
        features(s, root, feats, weights)
        v = 0.0
        for k in range(weights.shape[0]):
            v += weights[k] * feats[k]
    else:
        v = _row_value(s, root, weights, feats, n_expr, expr_codes, expr_consts, expr_stack)
    return v if s[SIDE] == root else -v


@njit(cache=True)
def _row_value(s, root, row, feats, n_expr, expr_codes, expr_consts, expr_stack):
    """A full heuristic row's value from ``root``'s side: its linear part plus its tree."""
    f = feats.shape[0]
    features(s, root, feats, row[f:2 * f])
    v = 0.0
    for k in range(f):
        v += row[k] * feats[k]
    if n_expr > 0:
        v += expression_value(expr_codes, expr_consts, n_expr, feats, expr_stack)
    return v


@njit(cache=True)
def _should_stop(counters):
    if counters[STOPPABLE] == 0:
        return False
    if counters[BUDGET] > 0 and counters[NODES] >= counters[BUDGET]:
        return True
    if counters[DEADLINE] > 0 and (counters[NODES] & CLOCK_EVERY) == 0:
        return now_ns() >= counters[DEADLINE]
    return False


@njit(cache=True)
def _probe(s, depth, ply, alpha, beta, tt_key, tt_val, tt_info):
    """Transposition-table look-up: ``(slot, hint move or -1, cut-off flag, value)``."""
    h = s[HASH]
    slot = h & (tt_key.shape[0] - 1)
    if tt_key[slot] != h:
        return slot, -1, False, 0.0
    info = tt_info[slot]
    hint = (info >> 16) - 1
    if (info & 255) < depth:
        return slot, hint, False, 0.0
    v = tt_val[slot]
    if v > MATE_ZONE:
        v -= ply
    elif v < -MATE_ZONE:
        v += ply
    flag = (info >> 8) & 3
    cut = flag == EXACT or (flag == LOWER and v >= beta) or (flag == UPPER and v <= alpha)
    return slot, hint, cut, v


@njit(cache=True)
def _store(s, slot, depth, ply, best, alpha0, beta, best_move, tt_key, tt_val, tt_info):
    flag = UPPER if best <= alpha0 else (LOWER if best >= beta else EXACT)
    stored = best + ply if best > MATE_ZONE else (best - ply if best < -MATE_ZONE else best)
    tt_key[slot] = s[HASH]
    tt_val[slot] = stored
    tt_info[slot] = min(depth, 255) | (flag << 8) | ((best_move + 1) << 16)


@njit(cache=True)
def negamax(stack, moves, base, depth, alpha, beta, root, weights, feats, tt_key, tt_val,
            tt_info, counters, fvals, fints, n_expr, expr_codes, expr_consts, expr_stack):
    """Value of ``stack[base]`` for its side to move, searching ``depth`` more plies.

    Written as a loop over an explicit stack of frames (Numba's on-disk cache does not cope
    with recursive functions). Per ply, ``fvals`` holds alpha, beta, alpha at entry and the
    best value; ``fints`` the move index, move count, depth, table slot and best move.
    """
    A, B, A0, BEST = 0, 1, 2, 3
    I, N, D, SLOT, BMOVE = 0, 1, 2, 3, 4
    ply = base
    fvals[A, ply], fvals[B, ply], fints[D, ply] = alpha, beta, depth
    entering = True
    ret = 0.0
    while True:
        if entering:
            entering = False
            counters[NODES] += 1
            if _should_stop(counters):
                counters[STOP] = 1
                return 0.0
            s = stack[ply]
            n, result = moves_or_result(s, moves[ply])
            if n == 0:
                if result == DRAW:
                    ret = 0.0
                else:
                    ret = WIN - ply if result == s[SIDE] else -(WIN - ply)
            elif fints[D, ply] <= 0:
                counters[HORIZON] += 1
                ret = evaluate(s, root, weights, feats, n_expr, expr_codes, expr_consts,
                               expr_stack)
            else:
                slot, hint, cut, v = _probe(s, fints[D, ply], ply, fvals[A, ply],
                                            fvals[B, ply], tt_key, tt_val, tt_info)
                if cut:
                    ret = v
                    if abs(v) <= MATE_ZONE:  # a stored heuristic value still rests on a horizon
                        counters[HORIZON] += 1
                else:
                    row = moves[ply]
                    if hint >= 0:  # the best move an earlier iteration found here goes first
                        for i in range(n):
                            if row[i] == hint:
                                row[0], row[i] = row[i], row[0]
                                break
                    fvals[A0, ply], fvals[BEST, ply] = fvals[A, ply], -np.inf
                    fints[I, ply], fints[N, ply], fints[SLOT, ply] = 0, n, slot
                    fints[BMOVE, ply] = row[0]
                    entering = True
        else:
            if ply == base:
                return ret
            ply -= 1
            v = -ret
            i = fints[I, ply]
            if v > fvals[BEST, ply]:
                fvals[BEST, ply] = v
                fints[BMOVE, ply] = moves[ply, i]
            if v > fvals[A, ply]:
                fvals[A, ply] = v
            if fvals[A, ply] >= fvals[B, ply] or i + 1 == fints[N, ply]:
                ret = fvals[BEST, ply]
                _store(stack[ply], fints[SLOT, ply], fints[D, ply], ply, ret, fvals[A0, ply],
                       fvals[B, ply], fints[BMOVE, ply], tt_key, tt_val, tt_info)
                continue
            fints[I, ply] = i + 1
            entering = True
        if entering:  # descend into child fints[I, ply] of the node at ply
            m = moves[ply, fints[I, ply]]
            stack[ply + 1, :] = stack[ply]
            play(stack[ply + 1], m)
            fvals[A, ply + 1], fvals[B, ply + 1] = -fvals[B, ply], -fvals[A, ply]
            fints[D, ply + 1] = fints[D, ply] - 1
            ply += 1


@njit(cache=True)
def search(state, weights, max_depth, node_budget, time_ns, stack, moves, scores, feats,
           tt_key, tt_val, tt_info, counters, fvals, fints, expr_codes, expr_consts,
           expr_stack):
    """Best move at ``state`` by iterative deepening to ``max_depth``.

    Stops early at a node budget (``node_budget > 0``) or a deadline (``time_ns > 0``), keeping
    the last completed iteration; depth 1 always completes, so a move is always found. Root
    moves are searched in the order of the previous iteration's scores.
    Returns ``(move, value, depth_completed, nodes)``; move is -1 when the game is over.
    """
    counters[:] = 0
    counters[BUDGET] = node_budget
    n_expr = load_expression(weights, feats.shape[0], expr_codes, expr_consts)
    if time_ns > 0:
        counters[DEADLINE] = now_ns() + time_ns
    stack[0, :] = state
    root = state[SIDE]
    n, _ = moves_or_result(stack[0], moves[0])
    if n == 0:
        return -1, 0.0, 0, 0
    root_moves = moves[0, :n].copy()
    if n == 1:
        return root_moves[0], 0.0, 0, 0
    best_move, best_value, completed = root_moves[0], 0.0, 0
    for depth in range(1, max_depth + 1):
        counters[STOPPABLE] = depth > 1
        counters[HORIZON] = 0
        alpha = -np.inf
        it_move, it_value = root_moves[0], -np.inf
        for i in range(n):
            stack[1, :] = stack[0]
            play(stack[1], root_moves[i])
            v = -negamax(stack, moves, 1, depth - 1, -np.inf, -alpha, root, weights, feats,
                         tt_key, tt_val, tt_info, counters, fvals, fints, n_expr, expr_codes,
                         expr_consts, expr_stack)
            if counters[STOP]:
                break
            scores[i] = v
            if v > it_value:
                it_move, it_value = root_moves[i], v
            if v > alpha:
                alpha = v
        if counters[STOP]:
            break
        best_move, best_value, completed = it_move, it_value, depth
        # Order for the next iteration: by this iteration's scores, best first (stable).
        for i in range(1, n):
            m, v, j = root_moves[i], scores[i], i - 1
            while j >= 0 and scores[j] < v:
                root_moves[j + 1], scores[j + 1] = root_moves[j], scores[j]
                j -= 1
            root_moves[j + 1], scores[j + 1] = m, v
        if abs(best_value) > MATE_ZONE or counters[HORIZON] == 0:
            break  # the result is proven: deeper search cannot change it
    return best_move, best_value, completed, counters[NODES]
