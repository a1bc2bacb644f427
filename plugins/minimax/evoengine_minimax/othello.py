"""Othello (Reversi) on an even n x n board, 8x8 or 6x6: cells hold 0, 1 (player 0, black) or
2 (player 1, white). A player without a legal move passes (move ``n*n``); the game ends when
neither can move, and the one with more discs wins. ``AUX0`` counts consecutive passes.
"""

import numpy as np
from numba import njit

from evoengine_minimax.state import (AUX0, BODY, COLS, DRAW, HASH, ONGOING, PLY, ROWS, SIDE,
                                     SIDE_KEY, ZOBRIST)

DIRECTIONS = np.array([[-1, -1], [-1, 0], [-1, 1], [0, -1], [0, 1], [1, -1], [1, 0], [1, 1]],
                      dtype=np.int64)
FEATURES = ("own_mobility", "opp_mobility", "own_corners", "opp_corners", "own_stable",
            "opp_stable", "parity", "disc_difference")


@njit(cache=True)
def _flips_in(s, cell, player, dr, dc):
    """How many opponent discs a disc of ``player`` on ``cell`` would flip along (dr, dc)."""
    n = s[ROWS]
    r = cell // n + dr
    c = cell % n + dc
    me = player + 1
    count = 0
    while r >= 0 and r < n and c >= 0 and c < n:
        v = s[BODY + r * n + c]
        if v == 0:
            return 0
        if v == me:
            return count
        count += 1
        r += dr
        c += dc
    return 0


@njit(cache=True)
def is_legal(s, cell, player):
    if s[BODY + cell] != 0:
        return False
    for k in range(8):
        if _flips_in(s, cell, player, DIRECTIONS[k, 0], DIRECTIONS[k, 1]) > 0:
            return True
    return False


@njit(cache=True)
def count_moves(s, player):
    n = 0
    for cell in range(s[ROWS] * s[COLS]):
        n += is_legal(s, cell, player)
    return n


@njit(cache=True)
def final_result(s):
    black = white = 0
    for cell in range(s[ROWS] * s[COLS]):
        black += s[BODY + cell] == 1
        white += s[BODY + cell] == 2
    if black == white:
        return DRAW
    return 0 if black > white else 1


@njit(cache=True)
def moves_or_result(s, moves, at):
    """Legal moves into ``moves[at:]``: ``(count, result)``; a pass is move ``n * n``."""
    side = s[SIDE]
    cells = s[ROWS] * s[COLS]
    n = 0
    for cell in range(cells):
        if is_legal(s, cell, side):
            moves[at + n] = cell
            n += 1
    if n > 0:
        return n, ONGOING
    if s[AUX0] == 0 and count_moves(s, 1 - side) > 0:
        moves[at] = cells  # pass
        return 1, ONGOING
    return 0, final_result(s)


@njit(cache=True)
def leaf_result(s):
    """What :func:`moves_or_result` says about the game, stopping at the first legal move."""
    side = s[SIDE]
    cells = s[ROWS] * s[COLS]
    for cell in range(cells):
        if is_legal(s, cell, side):
            return ONGOING
    if s[AUX0] == 0:
        for cell in range(cells):
            if is_legal(s, cell, 1 - side):
                return ONGOING  # the side to move passes
    return final_result(s)


@njit(cache=True)
def play(s, move):
    side = s[SIDE]
    n = s[ROWS]
    h = s[HASH] ^ SIDE_KEY
    if move == n * n:
        s[AUX0] += 1
    else:
        s[AUX0] = 0
        for k in range(8):
            dr, dc = DIRECTIONS[k, 0], DIRECTIONS[k, 1]
            count = _flips_in(s, move, side, dr, dc)
            r, c = move // n, move % n
            for _ in range(count):
                r += dr
                c += dc
                cell = r * n + c
                s[BODY + cell] = side + 1
                h ^= ZOBRIST[0, cell] ^ ZOBRIST[1, cell]
        s[BODY + move] = side + 1
        h ^= ZOBRIST[side, move]
    s[HASH] = h
    s[SIDE] = 1 - side
    s[PLY] += 1


@njit(cache=True)
def _stable_from_corners(s, player):
    """Discs that can never flip, found from the corners along the edges: a run of a player's
    discs that starts in a corner. A lower bound on true stability, cheap enough for leaves."""
    n = s[ROWS]
    me = player + 1
    seen = np.int64(0)  # a bit per cell (8 x 8 at most): the search allocates nothing
    count = 0
    for corner, steps in ((0, (1, n)), (n - 1, (-1, n)), (n * n - n, (1, -n)),
                          (n * n - 1, (-1, -n))):
        if s[BODY + corner] != me:
            continue
        for step in steps:
            cell = corner
            for _ in range(n):
                if s[BODY + cell] != me:
                    break
                bit = np.int64(1) << cell
                if not seen & bit:
                    seen |= bit
                    count += 1
                cell += step
    return count


@njit(cache=True)
def features(s, player, out, needed):
    """Mobility, corners, edge-anchored stable discs, parity (1 when ``player`` should get the
    last move of the board) and disc difference, from ``player``'s side."""
    n = s[ROWS]
    me, them = player + 1, 2 - player
    out[0] = count_moves(s, player)
    out[1] = count_moves(s, 1 - player)
    out[2] = out[3] = 0.0
    for corner in (0, n - 1, n * n - n, n * n - 1):
        out[2] += s[BODY + corner] == me
        out[3] += s[BODY + corner] == them
    out[4] = _stable_from_corners(s, player)
    out[5] = _stable_from_corners(s, 1 - player)
    empty = diff = 0
    for cell in range(n * n):
        v = s[BODY + cell]
        empty += v == 0
        diff += (v == me) - (v == them)
    to_move_last = (empty % 2 == 1) == (s[SIDE] == player)
    out[6] = 1.0 if to_move_last else -1.0
    out[7] = diff
