"""Tic-tac-toe on 3x3: cells hold 0 (empty), 1 (player 0, X) or 2 (player 1, O)."""

import numpy as np
from numba import njit

from evoengine_minimax.state import BODY, DRAW, HASH, ONGOING, PLY, SIDE, SIDE_KEY, ZOBRIST

LINES = np.array([[0, 1, 2], [3, 4, 5], [6, 7, 8], [0, 3, 6], [1, 4, 7], [2, 5, 8],
                  [0, 4, 8], [2, 4, 6]], dtype=np.int64)
FEATURES = ("own_open_lines", "opp_open_lines", "own_twos", "opp_twos", "own_centre",
            "opp_centre", "own_corners", "opp_corners")


@njit(cache=True, inline="always")
def winner(s):
    """The player with three in a row, or ONGOING."""
    for i in range(8):
        a = s[BODY + LINES[i, 0]]
        if a != 0 and a == s[BODY + LINES[i, 1]] and a == s[BODY + LINES[i, 2]]:
            return a - 1
    return ONGOING


@njit(cache=True, inline="always")
def moves_or_result(s, moves, at):
    """Legal moves into ``moves[at:]``: (count, result), result ONGOING while count > 0."""
    w = winner(s)
    if w != ONGOING:
        return 0, w
    n = 0
    for c in range(9):
        if s[BODY + c] == 0:
            moves[at + n] = c
            n += 1
    return n, (ONGOING if n > 0 else DRAW)


@njit(cache=True, inline="always")
def play(s, move):
    side = s[SIDE]
    s[BODY + move] = side + 1
    s[HASH] ^= ZOBRIST[side, move] ^ SIDE_KEY
    s[SIDE] = 1 - side
    s[PLY] += 1


@njit(cache=True, inline="always")
def unplay(s, move):
    """Take back ``move``, the last move played on ``s``."""
    side = 1 - s[SIDE]
    s[BODY + move] = 0
    s[HASH] ^= ZOBRIST[side, move] ^ SIDE_KEY
    s[SIDE] = side
    s[PLY] -= 1


@njit(cache=True, inline="always")
def leaf_result(s):
    """What :func:`moves_or_result` says about the game, without listing the moves."""
    w = winner(s)
    if w != ONGOING:
        return w
    for c in range(9):
        if s[BODY + c] == 0:
            return ONGOING
    return DRAW


@njit(cache=True, inline="always")
def features(s, player, out, needed):
    """Counts from ``player``'s side: lines still open to each player, lines with two and an
    empty cell, the centre, the corners."""
    me, them = player + 1, 2 - player
    for k in range(8):
        out[k] = 0.0
    for i in range(8):
        mine = theirs = 0
        for j in range(3):
            v = s[BODY + LINES[i, j]]
            mine += v == me
            theirs += v == them
        if theirs == 0:
            out[0] += 1.0
            out[2] += mine == 2
        if mine == 0:
            out[1] += 1.0
            out[3] += theirs == 2
    out[4] = s[BODY + 4] == me
    out[5] = s[BODY + 4] == them
    for c in (0, 2, 6, 8):
        out[6] += s[BODY + c] == me
        out[7] += s[BODY + c] == them
