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

Speed: :func:`search` reads the game from the state once and calls a search compiled for that
game (the game id is a compile-time constant, so the rules are inlined without a branch per
node); moves are made and taken back on one working state; leaves ask only whether the game is
over (no move list), and the nodes just above them search them in a loop of their own; the
transposition table is one array of three-word entries (key, value, packed depth/bound/move)
in buckets of two, one slot depth-preferred and one always replaced, as in the Python
reference (:mod:`evoengine_minimax.reference`); node and horizon
counts stay in registers; the scratch buffers come from the caller, once per game.
"""

import time

import numpy as np
from numba import njit, objmode

from evoengine_minimax.expression import MAX_NODES, expression_value, load_expression
from evoengine_minimax.rules import features_in, make_in, moves_in, result_in, unmake_in
from evoengine_minimax.state import (CONNECT_FOUR, DRAW, GAME, HASH, ISOLATION, ONGOING, OTHELLO,
                                     SIDE, TICTACTOE)

WIN = 1.0e6
MATE_ZONE = WIN - 10_000.0
EXACT, LOWER, UPPER = 0, 1, 2
# counters: nodes searched, node budget (0: none), deadline in ns (0: none), stop flag,
# whether the current iteration may be stopped, leaves cut by the depth limit.
NODES, BUDGET, DEADLINE, STOP, STOPPABLE, HORIZON = range(6)
CLOCK_EVERY = 1023  # nodes between clock reads in time mode (a mask)
# transposition-table entry: the position's full hash, its value (float64 bits), and
# depth | bound << 8 | (best move + 1) << 16
TT_KEY, TT_VALUE, TT_INFO = range(3)


@njit(cache=True)
def now_ns():
    with objmode(t="int64"):
        t = time.perf_counter_ns()
    return t


@njit(cache=True)
def new_scratch(state_size, n_features, max_depth, max_moves, tt_bits):
    """Everything a search writes, allocated once and reused by every search of a game:
    the working state and a spare row per ply, the move lists of every ply (one flat array),
    the root's moves and scores, the feature buffer and which features are needed, the
    transposition table, counters, the search's frames, and the expression heuristic's codes,
    constants and stack."""
    plies = max_depth + 2
    return (np.zeros((plies, state_size), np.int64),
            np.zeros(plies * (max_moves + 1), np.int64),
            np.zeros(max_moves + 1, np.int64), np.zeros(max_moves + 1, np.float64),
            np.zeros(max(n_features, 1), np.float64), np.zeros(max(n_features, 1), np.float64),
            np.zeros((1 << max(tt_bits, 1), 3), np.int64), np.zeros(6, np.int64),
            np.zeros((4, plies), np.float64), np.zeros((6, plies), np.int64),
            np.zeros(MAX_NODES, np.int64), np.zeros(MAX_NODES, np.float64),
            np.zeros((MAX_NODES, 1), np.float64))


@njit(cache=True, inline="always")
def evaluate(game, s, root, weights, feats, needed, n_expr, expr_codes, expr_consts,
             expr_stack):
    """The heuristic from the root player's side, signed for the side to move at ``s``.

    ``weights`` is a linear heuristic (one weight per feature) or a full heuristic row (see
    :mod:`evoengine_minimax.expression`), whose tree (``n_expr`` nodes, loaded in the
    ``expr_*`` buffers) is added to its linear part; ``needed`` says which features it
    reads (:func:`_search` fills it once)."""
    features_in(game, s, root, feats, needed)
    v = 0.0
    for k in range(feats.shape[0]):
        v += weights[k] * feats[k]
    if n_expr > 0:
        v += expression_value(expr_codes, expr_consts, n_expr, feats, expr_stack)
    return v if s[SIDE] == root else -v


@njit(cache=True, inline="always")
def _leaf(game, s, ply, root, weights, feats, needed, n_expr, expr_codes, expr_consts,
          expr_stack):
    """A node the depth limit ends: ``(value for its side to move, 1 if the heuristic gave
    it, 0 if the game is over there)``; the leaves only ask whether the game is over, they
    list no moves."""
    result = result_in(game, s)
    if result == ONGOING:
        return evaluate(game, s, root, weights, feats, needed, n_expr, expr_codes, expr_consts,
                        expr_stack), 1
    return _terminal_value(result, s[SIDE], ply), 0


@njit(cache=True, inline="always")
def _terminal_value(result, side, ply):
    """A finished game's value for ``side`` to move, ``ply`` plies below the root."""
    if result == DRAW:
        return 0.0
    return WIN - ply if result == side else -(WIN - ply)


@njit(cache=True, inline="always")
def _probe(h, depth, ply, alpha, beta, tt, tt_val):
    """Transposition-table look-up in ``h``'s bucket, two slots (see :func:`_store`):
    ``(bucket, hint move or -1, cut-off flag, value)``."""
    bucket = h & (tt.shape[0] - 2)
    slot = bucket
    if tt[slot, TT_KEY] != h:
        slot += 1
        if tt[slot, TT_KEY] != h:
            return bucket, -1, False, 0.0
    info = tt[slot, TT_INFO]
    hint = (info >> 16) - 1
    if (info & 255) < depth:
        return bucket, hint, False, 0.0
    v = tt_val[slot, TT_VALUE]
    if v > MATE_ZONE:
        v -= ply
    elif v < -MATE_ZONE:
        v += ply
    flag = (info >> 8) & 3
    cut = flag == EXACT or (flag == LOWER and v >= beta) or (flag == UPPER and v <= alpha)
    return bucket, hint, cut, v


@njit(cache=True, inline="always")
def _store(h, bucket, depth, ply, best, alpha0, beta, best_move, tt, tt_val):
    """Two slots a bucket: the first keeps the deepest search (replaced by one at least as
    deep, or by the same position), the second takes every other result (always replaced),
    so a deep result survives the shallow ones that follow it into the same bucket."""
    flag = UPPER if best <= alpha0 else (LOWER if best >= beta else EXACT)
    stored = best + ply if best > MATE_ZONE else (best - ply if best < -MATE_ZONE else best)
    depth = min(depth, 255)
    slot = bucket
    if tt[bucket, TT_KEY] != h and depth < (tt[bucket, TT_INFO] & 255):
        slot += 1
    tt[slot, TT_KEY] = h
    tt_val[slot, TT_VALUE] = stored
    tt[slot, TT_INFO] = depth | (flag << 8) | ((best_move + 1) << 16)


# Without the runtime's reference counting: every array a helper receives would otherwise be
# counted in and out with atomic operations, at every node. Nothing it calls may allocate (the
# functions it compiles inherit the setting; tests search every game from a cold cache).
@njit(cache=True, _nrt=False)
def negamax(game, stack, moves, base, depth, alpha, beta, root, weights, feats, needed, tt,
            counters, fvals, fints, n_expr, expr_codes, expr_consts, expr_stack):
    """Value of the working state ``stack[0]``, ``base`` plies below the root, for its side to
    move, searching ``depth`` more plies; ``stack[0]`` is as it was on return (unless the
    search was stopped).

    Written as a loop over an explicit stack of frames (Numba's on-disk cache does not cope
    with recursive functions). Per ply, ``fvals`` holds alpha, beta, alpha at entry and the
    best value; ``fints`` the move index, move count, depth, table slot, best move and what
    undoes the move being searched. Ply ``p``'s moves are ``moves[p * width:]``. Nothing in
    the loop makes a new array (each would cost a reference count).
    """
    A, B, A0, BEST = 0, 1, 2, 3
    I, N, D, SLOT, BMOVE, UNDO = 0, 1, 2, 3, 4, 5
    s = stack[0]
    width = moves.shape[0] // stack.shape[0]
    tt_val = tt.view(np.float64)
    nodes, horizon = counters[NODES], counters[HORIZON]
    stoppable = counters[STOPPABLE] != 0
    budget, deadline = counters[BUDGET], counters[DEADLINE]
    ply = base
    fvals[A, ply], fvals[B, ply], fints[D, ply] = alpha, beta, depth
    entering = True
    ret = 0.0
    while True:
        if entering:
            entering = False
            nodes += 1
            if stoppable and ((budget > 0 and nodes >= budget) or (
                    deadline > 0 and (nodes & CLOCK_EVERY) == 0 and now_ns() >= deadline)):
                counters[STOP] = 1
                counters[NODES], counters[HORIZON] = nodes, horizon
                return 0.0
            if fints[D, ply] <= 0:  # a leaf (only at the top: deeper ones are searched below)
                ret, cut_by_depth = _leaf(game, s, ply, root, weights, feats, needed, n_expr,
                                          expr_codes, expr_consts, expr_stack)
                horizon += cut_by_depth
            else:
                at = ply * width
                n, result = moves_in(game, s, moves, at)
                if n == 0:
                    ret = _terminal_value(result, s[SIDE], ply)
                else:
                    slot, hint, cut, v = _probe(s[HASH], fints[D, ply], ply, fvals[A, ply],
                                                fvals[B, ply], tt, tt_val)
                    if cut:
                        ret = v
                        if abs(v) <= MATE_ZONE:  # a stored heuristic value rests on a horizon
                            horizon += 1
                    else:
                        if hint >= 0:  # the best move an earlier iteration found goes first
                            for i in range(at, at + n):
                                if moves[i] == hint:
                                    moves[at], moves[i] = moves[i], moves[at]
                                    break
                        if fints[D, ply] == 1:
                            # The children are leaves (most nodes): searched here, in a loop
                            # whose bounds stay in registers, instead of one frame each. The
                            # same nodes in the same order, counted and stopped the same way.
                            alpha, beta = fvals[A, ply], fvals[B, ply]
                            alpha0, best, best_move = alpha, -np.inf, moves[at]
                            for i in range(at, at + n):
                                nodes += 1
                                if stoppable and ((budget > 0 and nodes >= budget) or (
                                        deadline > 0 and (nodes & CLOCK_EVERY) == 0
                                        and now_ns() >= deadline)):
                                    counters[STOP] = 1
                                    counters[NODES], counters[HORIZON] = nodes, horizon
                                    return 0.0
                                move = moves[i]
                                undo = make_in(game, s, move, stack, ply + 1)
                                v, cut_by_depth = _leaf(game, s, ply + 1, root, weights, feats,
                                                        needed, n_expr, expr_codes,
                                                        expr_consts, expr_stack)
                                unmake_in(game, s, move, undo, stack, ply + 1)
                                horizon += cut_by_depth
                                v = -v
                                if v > best:
                                    best, best_move = v, move
                                if v > alpha:
                                    alpha = v
                                    if alpha >= beta:
                                        break
                            ret = best
                            _store(s[HASH], slot, 1, ply, best, alpha0, beta, best_move, tt,
                                   tt_val)
                            continue
                        fvals[A0, ply], fvals[BEST, ply] = fvals[A, ply], -np.inf
                        fints[I, ply], fints[N, ply], fints[SLOT, ply] = 0, n, slot
                        fints[BMOVE, ply] = moves[at]
                        entering = True
        else:
            if ply == base:
                counters[NODES], counters[HORIZON] = nodes, horizon
                return ret
            ply -= 1
            i = fints[I, ply]
            move = moves[ply * width + i]
            unmake_in(game, s, move, fints[UNDO, ply], stack, ply + 1)
            v = -ret
            if v > fvals[BEST, ply]:
                fvals[BEST, ply] = v
                fints[BMOVE, ply] = move
            if v > fvals[A, ply]:
                fvals[A, ply] = v
            if fvals[A, ply] >= fvals[B, ply] or i + 1 == fints[N, ply]:
                ret = fvals[BEST, ply]
                _store(s[HASH], fints[SLOT, ply], fints[D, ply], ply, ret, fvals[A0, ply],
                       fvals[B, ply], fints[BMOVE, ply], tt, tt_val)
                continue
            fints[I, ply] = i + 1
            entering = True
        if entering:  # descend into child fints[I, ply] of the node at ply
            move = moves[ply * width + fints[I, ply]]
            fints[UNDO, ply] = make_in(game, s, move, stack, ply + 1)
            fvals[A, ply + 1], fvals[B, ply + 1] = -fvals[B, ply], -fvals[A, ply]
            fints[D, ply + 1] = fints[D, ply] - 1
            ply += 1


def search(state, weights, max_depth, node_budget, time_ns, *scratch):
    """Best move at ``state`` by iterative deepening to ``max_depth``, with the scratch
    buffers of :func:`new_scratch`; from Python (compiled code calls :func:`search_in`).

    Stops early at a node budget (``node_budget > 0``) or a deadline (``time_ns > 0``), keeping
    the last completed iteration; depth 1 always completes, so a move is always found. Root
    moves are searched in the order of the previous iteration's scores.
    Returns ``(move, value, depth_completed, nodes)``; move is -1 when the game is over.
    """
    entry = _ENTRIES[int(state[GAME])]
    return entry(state, np.ascontiguousarray(weights, dtype=np.float64), max_depth, node_budget,
                 time_ns, *scratch)


@njit(cache=True)
def search_in(game, state, weights, max_depth, node_budget, time_ns, stack, moves, root_moves,
              scores, feats, needed, tt, counters, fvals, fints, expr_codes, expr_consts,
              expr_stack):
    """:func:`search` for ``game``, a compile-time constant (one compiled search per game)."""
    counters[:] = 0
    counters[BUDGET] = node_budget
    f = feats.shape[0]
    n_expr = load_expression(weights, f, expr_codes, expr_consts)
    for k in range(f):  # a full heuristic row says which features it reads; weights do too
        needed[k] = weights[k] if weights.shape[0] == f else weights[f + k]
    if time_ns > 0:
        counters[DEADLINE] = now_ns() + time_ns
    s = stack[0]
    s[:] = state
    root = s[SIDE]
    n, _ = moves_in(game, s, moves, 0)
    if n == 0:
        return -1, 0.0, 0, 0
    root_moves[:n] = moves[:n]
    if n == 1:
        return root_moves[0], 0.0, 0, 0
    best_move, best_value, completed = root_moves[0], 0.0, 0
    for depth in range(1, max_depth + 1):
        counters[STOPPABLE] = depth > 1
        counters[HORIZON] = 0
        alpha = -np.inf
        it_move, it_value = root_moves[0], -np.inf
        for i in range(n):
            undo = make_in(game, s, root_moves[i], stack, 1)
            v = -negamax(game, stack, moves, 1, depth - 1, -np.inf, -alpha, root, weights,
                         feats, needed, tt, counters, fvals, fints, n_expr, expr_codes,
                         expr_consts, expr_stack)
            if counters[STOP]:
                break
            unmake_in(game, s, root_moves[i], undo, stack, 1)
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


# One compiled entry per game, so that a process compiles only the games it plays (the
# arguments are spelled out: passed on as *args, the game would no longer be a constant).
@njit(cache=True)
def _search_tictactoe(state, weights, max_depth, node_budget, time_ns, stack, moves, root_moves,
                      scores, feats, needed, tt, counters, fvals, fints, expr_codes, expr_consts,
                      expr_stack):
    return search_in(TICTACTOE, state, weights, max_depth, node_budget, time_ns, stack, moves,
                     root_moves, scores, feats, needed, tt, counters, fvals, fints, expr_codes,
                     expr_consts, expr_stack)


@njit(cache=True)
def _search_connect_four(state, weights, max_depth, node_budget, time_ns, stack, moves, root_moves,
                         scores, feats, needed, tt, counters, fvals, fints, expr_codes,
                         expr_consts, expr_stack):
    return search_in(CONNECT_FOUR, state, weights, max_depth, node_budget, time_ns, stack, moves,
                     root_moves, scores, feats, needed, tt, counters, fvals, fints, expr_codes,
                     expr_consts, expr_stack)


@njit(cache=True)
def _search_isolation(state, weights, max_depth, node_budget, time_ns, stack, moves, root_moves,
                      scores, feats, needed, tt, counters, fvals, fints, expr_codes, expr_consts,
                      expr_stack):
    return search_in(ISOLATION, state, weights, max_depth, node_budget, time_ns, stack, moves,
                     root_moves, scores, feats, needed, tt, counters, fvals, fints, expr_codes,
                     expr_consts, expr_stack)


@njit(cache=True)
def _search_othello(state, weights, max_depth, node_budget, time_ns, stack, moves, root_moves,
                    scores, feats, needed, tt, counters, fvals, fints, expr_codes, expr_consts,
                    expr_stack):
    return search_in(OTHELLO, state, weights, max_depth, node_budget, time_ns, stack, moves,
                     root_moves, scores, feats, needed, tt, counters, fvals, fints, expr_codes,
                     expr_consts, expr_stack)


_ENTRIES = {TICTACTOE: _search_tictactoe, CONNECT_FOUR: _search_connect_four,
            ISOLATION: _search_isolation, OTHELLO: _search_othello}
