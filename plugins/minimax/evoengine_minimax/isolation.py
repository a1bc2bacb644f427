"""Isolation: one knight each on an n x n board (3 to 16).

A player's first move puts the knight on any blank cell; later moves are knight jumps to blank
cells. Every cell a knight has stood on stays blocked. A player with no legal move loses.
Cells hold 0 (blank) or 1 (blocked); ``AUX0``/``AUX1`` hold each knight's cell, -1 before it
is placed.
"""

import numpy as np
from numba import njit

from evoengine_minimax.state import (AUX0, BODY, COLS, HASH, ONGOING, PLY, ROWS, SIDE, SIDE_KEY,
                                     ZOBRIST)

JUMPS = np.array([[-2, -1], [-2, 1], [-1, -2], [-1, 2], [1, -2], [1, 2], [2, -1], [2, 1]],
                 dtype=np.int64)
MIN_SIZE, MAX_SIZE = 3, 16


def _knight_table():
    """``TABLE[n - MIN_SIZE, cell, k]``: the cell jump ``k`` lands on from ``cell`` on an n x n
    board, or -1 off the board. A look-up instead of divisions and bounds tests at every leaf."""
    table = np.full((MAX_SIZE - MIN_SIZE + 1, MAX_SIZE * MAX_SIZE, 8), -1, dtype=np.int64)
    for n in range(MIN_SIZE, MAX_SIZE + 1):
        for cell in range(n * n):
            r, c = divmod(cell, n)
            for k, (dr, dc) in enumerate(JUMPS):
                if 0 <= r + dr < n and 0 <= c + dc < n:
                    table[n - MIN_SIZE, cell, k] = (r + dr) * n + c + dc
    return table


KNIGHT = _knight_table()
FEATURES = ("own_moves", "opp_moves", "own_centre_distance", "opp_centre_distance",
            "own_blocked_neighbours", "opp_blocked_neighbours", "own_second_moves",
            "opp_second_moves")


@njit(cache=True)
def knight_moves(s, cell, moves):
    """Blank cells a knight on ``cell`` can jump to; returns their count."""
    size = s[ROWS] - MIN_SIZE
    n = 0
    for k in range(8):
        t = KNIGHT[size, cell, k]
        if t >= 0 and s[BODY + t] == 0:
            moves[n] = t
            n += 1
    return n


@njit(cache=True)
def player_moves(s, player, moves):
    cell = s[AUX0 + player]
    if cell >= 0:
        return knight_moves(s, cell, moves)
    n = 0
    for c in range(s[ROWS] * s[COLS]):
        if s[BODY + c] == 0:
            moves[n] = c
            n += 1
    return n


@njit(cache=True)
def moves_or_result(s, moves):
    side = s[SIDE]
    n = player_moves(s, side, moves)
    return n, (ONGOING if n > 0 else 1 - side)


@njit(cache=True)
def play(s, move):
    side = s[SIDE]
    s[BODY + move] = 1
    old = s[AUX0 + side]
    h = s[HASH] ^ SIDE_KEY ^ ZOBRIST[2 + side, move] ^ ZOBRIST[side, move]
    if old >= 0:
        h ^= ZOBRIST[2 + side, old]  # the old cell stays blocked: its piece key remains
    s[HASH] = h
    s[AUX0 + side] = move
    s[SIDE] = 1 - side
    s[PLY] += 1


@njit(cache=True)
def count_knight_moves(s, cell):
    """How many blank cells a knight on ``cell`` can jump to (no buffer: leaves call this)."""
    size = s[ROWS] - MIN_SIZE
    n = 0
    for k in range(8):
        t = KNIGHT[size, cell, k]
        if t >= 0 and s[BODY + t] == 0:
            n += 1
    return n


@njit(cache=True)
def _one_side(s, player, out, k, second_needed):
    cell = s[AUX0 + player]
    rows, cols = s[ROWS], s[COLS]
    if cell < 0:  # not placed yet: it may go to any blank cell
        blank = 0
        for c in range(rows * cols):
            blank += s[BODY + c] == 0
        out[k] = blank
        return
    r, c = cell // cols, cell % cols
    out[k + 2] = abs(r - (rows - 1) / 2.0) + abs(c - (cols - 1) / 2.0)
    size = rows - MIN_SIZE
    on_board = mobility = second = 0
    for j in range(8):
        t = KNIGHT[size, cell, j]
        if t >= 0:
            on_board += 1
            if s[BODY + t] == 0:
                mobility += 1
                if second_needed:  # the costliest feature: skipped when its weight is 0
                    second += count_knight_moves(s, t)
    out[k] = mobility
    out[k + 4] = on_board - mobility  # knight targets on the board but blocked
    out[k + 6] = second


@njit(cache=True)
def features(s, player, out, needed):
    """Mobility, Manhattan distance to the centre, blocked knight targets and the moves after
    each move, for ``player`` (own_*) and the opponent (opp_*). Features whose ``needed``
    entry is 0 may be left at 0."""
    for k in range(8):
        out[k] = 0.0
    _one_side(s, player, out, 0, needed[6] != 0.0)
    _one_side(s, 1 - player, out, 1, needed[7] != 0.0)
