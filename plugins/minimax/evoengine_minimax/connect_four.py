"""Connect Four, 7 columns by 6 rows, on bitboards: column ``c``, row ``r`` is bit ``7c + r``.

The spare top bit of each column keeps the shifts of the win test from wrapping between
columns (the classic layout of John Tromp's solver). Cells: one bitboard per player, and
the next free bit of each column.
"""

import numpy as np
from numba import njit

from evoengine_minimax.bits import popcount
from evoengine_minimax.state import BODY, DRAW, HASH, ONGOING, PLY, SIDE, SIDE_KEY, ZOBRIST

FEATURES = ("own_threes", "opp_threes", "own_twos", "opp_twos", "own_centre", "opp_centre")
N_ROWS, N_COLS = 6, 7  # the only size (the state's header says so too)
HEIGHT = N_ROWS + 1    # bits per column, the spare one included
# Centre columns first: a static order that alpha-beta likes.
ORDER = np.array([3, 4, 2, 5, 1, 6, 0], np.int64)
# the bit above each column's top cell: a column is full when its next free bit reaches it
FULL = np.array([c * HEIGHT + N_ROWS for c in range(N_COLS)], np.int64)


@njit(cache=True, inline="always")
def has_four(board):
    """Whether ``board`` holds four in a line: vertical, horizontal, the two diagonals."""
    pairs = board & (board >> 1)
    if pairs & (pairs >> 2):
        return True
    pairs = board & (board >> HEIGHT)
    if pairs & (pairs >> 2 * HEIGHT):
        return True
    pairs = board & (board >> (HEIGHT - 1))
    if pairs & (pairs >> 2 * (HEIGHT - 1)):
        return True
    pairs = board & (board >> (HEIGHT + 1))
    return (pairs & (pairs >> 2 * (HEIGHT + 1))) != 0


@njit(cache=True, inline="always")
def moves_or_result(s, moves, at):
    """Legal moves into ``moves[at:]``: ``(count, result)`` (see :mod:`.rules`)."""
    last = 1 - s[SIDE]
    if s[PLY] > 0 and has_four(s[BODY + last]):
        return 0, last
    n = 0
    for k in range(N_COLS):
        c = ORDER[k]
        if s[BODY + 2 + c] < FULL[c]:
            moves[at + n] = c
            n += 1
    return n, (ONGOING if n > 0 else DRAW)


@njit(cache=True, inline="always")
def leaf_result(s):
    """The result at ``s`` without listing moves: the last mover's four, a full board, or
    ONGOING (what :func:`moves_or_result` says, for the search's leaves)."""
    last = 1 - s[SIDE]
    if s[PLY] > 0 and has_four(s[BODY + last]):
        return last
    for c in range(N_COLS):
        if s[BODY + 2 + c] < FULL[c]:
            return ONGOING
    return DRAW


@njit(cache=True, inline="always")
def play(s, move):
    side = s[SIDE]
    bit = s[BODY + 2 + move]
    s[BODY + side] |= np.int64(1) << bit
    s[BODY + 2 + move] = bit + 1
    s[HASH] ^= ZOBRIST[side, bit] ^ SIDE_KEY
    s[SIDE] = 1 - side
    s[PLY] += 1


@njit(cache=True, inline="always")
def unplay(s, move):
    """Take back ``move``, the last move played on ``s``."""
    side = 1 - s[SIDE]
    bit = s[BODY + 2 + move] - 1
    s[BODY + side] &= ~(np.int64(1) << bit)
    s[BODY + 2 + move] = bit
    s[HASH] ^= ZOBRIST[side, bit] ^ SIDE_KEY
    s[SIDE] = side
    s[PLY] -= 1


@njit(cache=True)
def windows(rows, cols):
    """Bit masks of every line of four cells, one by one (the tests' reference for the
    bit-parallel counts of :func:`features`)."""
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


def _board_cells(rows, cols):
    return sum(((1 << rows) - 1) << (c * (rows + 1)) for c in range(cols))


CELLS_7X6 = np.int64(_board_cells(6, 7))


def _line_starts(d):
    """The bits where a line of four in direction ``d`` (a bit shift) starts with all four
    cells on the board."""
    return CELLS_7X6 & (CELLS_7X6 >> d) & (CELLS_7X6 >> 2 * d) & (CELLS_7X6 >> 3 * d)


# The four directions as bit shifts: up, right, up-right, down-right; 21 + 24 + 12 + 12 lines.
UP, RIGHT, UP_RIGHT, DOWN_RIGHT = 1, HEIGHT, HEIGHT + 1, HEIGHT - 1
STARTS_UP, STARTS_RIGHT = _line_starts(UP), _line_starts(RIGHT)
STARTS_UP_RIGHT, STARTS_DOWN_RIGHT = _line_starts(UP_RIGHT), _line_starts(DOWN_RIGHT)
assert sum(bin(int(m)).count("1") for m in (STARTS_UP, STARTS_RIGHT, STARTS_UP_RIGHT,
                                            STARTS_DOWN_RIGHT)) == len(WINDOWS_7X6)


@njit(cache=True, inline="always")
def _lines_one_way(mine, free, d, starts):
    """Lines of four in direction ``d`` with exactly three and exactly two of ``mine``, all of
    whose cells are ``free``: bit ``p`` stands for the line starting at cell ``p``, and the
    four cells' bits are added as bit-sliced counters."""
    open_lines = starts & free & (free >> d) & (free >> 2 * d) & (free >> 3 * d)
    a, b, c, e = mine, mine >> d, mine >> 2 * d, mine >> 3 * d
    half1, carry1 = a ^ b, a & b
    half2, carry2 = c ^ e, c & e
    ones = half1 ^ half2
    pairs = carry1 ^ carry2 ^ (half1 & half2)  # the 2s bit of the sum (at most 4)
    return popcount(open_lines & ones & pairs), popcount(open_lines & pairs & ~ones)


@njit(cache=True, inline="always")
def _line_counts(mine, theirs):
    """Lines of four with exactly three and exactly two of ``mine`` and none of ``theirs``."""
    free = CELLS_7X6 & ~theirs
    t1, w1 = _lines_one_way(mine, free, UP, STARTS_UP)
    t2, w2 = _lines_one_way(mine, free, RIGHT, STARTS_RIGHT)
    t3, w3 = _lines_one_way(mine, free, UP_RIGHT, STARTS_UP_RIGHT)
    t4, w4 = _lines_one_way(mine, free, DOWN_RIGHT, STARTS_DOWN_RIGHT)
    return t1 + t2 + t3 + t4, w1 + w2 + w3 + w4


CENTRE_7X6 = np.int64((1 << N_ROWS) - 1) << (3 * HEIGHT)


@njit(cache=True, inline="always")
def features(s, player, out, needed):
    """Lines of four holding three (or two) of one player's discs and no opponent disc; discs
    in the centre column."""
    mine, theirs = s[BODY + player], s[BODY + 1 - player]
    out[0], out[2] = _line_counts(mine, theirs)
    out[1], out[3] = _line_counts(theirs, mine)
    out[4] = popcount(mine & CENTRE_7X6)
    out[5] = popcount(theirs & CENTRE_7X6)
