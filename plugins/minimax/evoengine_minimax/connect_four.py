"""Connect Four on bitboards: column ``c``, row ``r`` is bit ``c * (rows + 1) + r``.

The spare top bit of each column keeps the shifts of the win test from wrapping between
columns (the classic layout of John Tromp's solver). Cells: one bitboard per player, and
the next free bit of each column.
"""

import numpy as np
from numba import njit

from evoengine_minimax.state import (BODY, COLS, DRAW, HASH, ONGOING, PLY, ROWS, SIDE, SIDE_KEY,
                                     ZOBRIST)

FEATURES = ("own_threes", "opp_threes", "own_twos", "opp_twos", "own_centre", "opp_centre")


@njit(cache=True)
def popcount(x):
    n = 0
    while x:
        x &= x - 1
        n += 1
    return n


@njit(cache=True)
def has_four(board, rows):
    h = rows + 1
    for shift in (1, h, h - 1, h + 1):  # vertical, horizontal, two diagonals
        pairs = board & (board >> shift)
        if pairs & (pairs >> (2 * shift)):
            return True
    return False


@njit(cache=True)
def moves_or_result(s, moves):
    rows, cols = s[ROWS], s[COLS]
    last = 1 - s[SIDE]
    if s[PLY] > 0 and has_four(s[BODY + last], rows):
        return 0, last
    n = 0
    # Centre columns first: a static order that alpha-beta likes.
    for k in range(cols):
        c = cols // 2 + (k + 1) // 2 * (1 if k % 2 else -1)
        if s[BODY + 2 + c] < c * (rows + 1) + rows:
            moves[n] = c
            n += 1
    return n, (ONGOING if n > 0 else DRAW)


@njit(cache=True)
def play(s, move):
    side = s[SIDE]
    bit = s[BODY + 2 + move]
    s[BODY + side] |= np.int64(1) << bit
    s[BODY + 2 + move] = bit + 1
    s[HASH] ^= ZOBRIST[side, bit] ^ SIDE_KEY
    s[SIDE] = 1 - side
    s[PLY] += 1


@njit(cache=True)
def windows(rows, cols):
    """Bit masks of every line of four cells."""
    out = np.zeros(4 * rows * cols, dtype=np.int64)
    h = rows + 1
    n = 0
    for c in range(cols):
        for r in range(rows):
            for dc, dr in ((1, 0), (0, 1), (1, 1), (1, -1)):
                ec, er = c + 3 * dc, r + 3 * dr
                if 0 <= ec < cols and 0 <= er < rows:
                    m = np.int64(0)
                    for k in range(4):
                        m |= np.int64(1) << ((c + k * dc) * h + r + k * dr)
                    out[n] = m
                    n += 1
    return out[:n]


WINDOWS_7X6 = windows(6, 7)


@njit(cache=True)
def features(s, player, out, needed):
    """Lines of four holding three (or two) of one player's discs and no opponent disc; discs
    in the centre column."""
    rows, cols = s[ROWS], s[COLS]
    mine, theirs = s[BODY + player], s[BODY + 1 - player]
    for k in range(6):
        out[k] = 0.0
    masks = WINDOWS_7X6 if rows == 6 and cols == 7 else windows(rows, cols)
    for m in masks:
        a, b = popcount(mine & m), popcount(theirs & m)
        if b == 0:
            out[0] += a == 3
            out[2] += a == 2
        if a == 0:
            out[1] += b == 3
            out[3] += b == 2
    centre = np.int64((1 << rows) - 1) << ((cols // 2) * (rows + 1))
    out[4] = popcount(mine & centre)
    out[5] = popcount(theirs & centre)
