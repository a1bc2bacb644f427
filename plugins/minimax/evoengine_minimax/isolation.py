"""Isolation: one knight each on an n x n board (3 to 16).

A player's first move puts the knight on any blank cell; later moves are knight jumps to blank
cells. Every cell a knight has stood on stays blocked. A player with no legal move loses.
Cells hold 0 (blank) or 1 (blocked); ``AUX0``/``AUX1`` hold each knight's cell, -1 before it
is placed. On boards of up to 8 x 8 the slot after the cells also holds the blocked cells as a
bitboard, and the search reads only that word: moves are its set bits, in increasing cell
order (the order of :data:`JUMPS`, so the same as the cell scan of larger boards), mobility a
popcount, and the moves after each move eight shifts and popcounts. The cells are still
written (people, and larger boards, read them).
"""

import numpy as np
from numba import njit

from evoengine_minimax.bits import lowest_bit, popcount
from evoengine_minimax.state import (AUX0, BODY, COLS, HASH, ONGOING, PLY, ROWS, SIDE, SIDE_KEY,
                                     ZOBRIST)

JUMPS = np.array([[-2, -1], [-2, 1], [-1, -2], [-1, 2], [1, -2], [1, 2], [2, -1], [2, 1]],
                 dtype=np.int64)
MIN_SIZE, MAX_SIZE = 3, 16
BITBOARD_SIZE = 8  # the largest board whose cells fit one 64-bit word


def _knight_tables():
    """Look-ups instead of divisions and bounds tests at every leaf, for an n x n board
    (index ``n - MIN_SIZE``): ``KNIGHT[n, cell, k]``, the cells a knight on ``cell`` reaches,
    in the order of :data:`JUMPS`, off-board jumps left out (-1 after the last);
    ``TARGETS[n, cell]``, how many; ``CENTRE_DISTANCE[n, cell]``, the Manhattan distance to
    the board's centre. For boards of up to :data:`BITBOARD_SIZE` (cell ``r * n + c`` is bit
    ``r * n + c``): ``KNIGHT_BITS[n, cell]``, the reached cells as a bitboard;
    ``BOARD_BITS[n]``, every cell; ``JUMP_FROM[n, j]``, the cells from which jump ``j`` stays
    on the board, and ``JUMP_SHIFT[n, j]`` how far it moves a bit (right for ``j < 4``, left
    for the others; :data:`JUMPS` is in increasing order of the cell offset)."""
    sizes = MAX_SIZE - MIN_SIZE + 1
    knight = np.full((sizes, MAX_SIZE * MAX_SIZE, 8), -1, dtype=np.int64)
    targets = np.zeros((sizes, MAX_SIZE * MAX_SIZE), dtype=np.int64)
    distance = np.zeros((sizes, MAX_SIZE * MAX_SIZE))
    bit_sizes = BITBOARD_SIZE - MIN_SIZE + 1
    bits = np.zeros((bit_sizes, BITBOARD_SIZE ** 2), dtype=np.uint64)
    board = np.zeros(bit_sizes, dtype=np.uint64)
    jump_from = np.zeros((bit_sizes, 8), dtype=np.uint64)
    jump_shift = np.zeros((bit_sizes, 8), dtype=np.int64)
    for n in range(MIN_SIZE, MAX_SIZE + 1):
        for j, (dr, dc) in enumerate(JUMPS):
            if n <= BITBOARD_SIZE:
                jump_shift[n - MIN_SIZE, j] = abs(dr * n + dc)
        for cell in range(n * n):
            r, c = divmod(cell, n)
            distance[n - MIN_SIZE, cell] = abs(r - (n - 1) / 2.0) + abs(c - (n - 1) / 2.0)
            if n <= BITBOARD_SIZE:
                board[n - MIN_SIZE] |= np.uint64(1) << np.uint64(cell)
            for j, (dr, dc) in enumerate(JUMPS):
                if 0 <= r + dr < n and 0 <= c + dc < n:
                    k, t = targets[n - MIN_SIZE, cell], (r + dr) * n + c + dc
                    knight[n - MIN_SIZE, cell, k] = t
                    targets[n - MIN_SIZE, cell] += 1
                    if n <= BITBOARD_SIZE:
                        bits[n - MIN_SIZE, cell] |= np.uint64(1) << np.uint64(t)
                        jump_from[n - MIN_SIZE, j] |= np.uint64(1) << np.uint64(cell)
    return (knight, targets, distance, bits.view(np.int64), board.view(np.int64),
            jump_from.view(np.int64), jump_shift)


KNIGHT, TARGETS, CENTRE_DISTANCE, KNIGHT_BITS, BOARD_BITS, JUMP_FROM, JUMP_SHIFT = \
    _knight_tables()


@njit(cache=True, inline="always")
def blocked_bits_slot(s):
    """Where the bitboard of blocked cells is (boards of up to 8 x 8)."""
    return BODY + s[ROWS] * s[COLS]


@njit(cache=True, inline="always")
def on_bitboard(s):
    """Whether the board fits a 64-bit word: then moves, the leaves' test and the features
    read only the bitboard (one word), never the cells."""
    return s[ROWS] <= BITBOARD_SIZE


FEATURES = ("own_moves", "opp_moves", "own_centre_distance", "opp_centre_distance",
            "own_blocked_neighbours", "opp_blocked_neighbours", "own_second_moves",
            "opp_second_moves")


@njit(cache=True, inline="always")
def _list_bits(bits, moves, at):
    """The set bits of ``bits`` into ``moves[at:]``, lowest first; returns their count."""
    n = 0
    while bits != 0:
        t = lowest_bit(bits)
        moves[at + n] = t
        n += 1
        bits ^= np.int64(1) << t
    return n


@njit(cache=True, inline="always")
def knight_moves(s, cell, moves, at):
    """Blank cells a knight on ``cell`` can jump to, into ``moves[at:]`` in the order of
    :data:`JUMPS` (increasing cells); returns their count."""
    size = s[ROWS] - MIN_SIZE
    if on_bitboard(s):
        return _list_bits(KNIGHT_BITS[size, cell] & ~s[blocked_bits_slot(s)], moves, at)
    n = 0
    for k in range(TARGETS[size, cell]):
        t = KNIGHT[size, cell, k]
        if s[BODY + t] == 0:
            moves[at + n] = t
            n += 1
    return n


@njit(cache=True, inline="always")
def player_moves(s, player, moves, at):
    cell = s[AUX0 + player]
    if cell >= 0:
        return knight_moves(s, cell, moves, at)
    if on_bitboard(s):
        return _list_bits(BOARD_BITS[s[ROWS] - MIN_SIZE] & ~s[blocked_bits_slot(s)], moves, at)
    n = 0
    for c in range(s[ROWS] * s[COLS]):
        if s[BODY + c] == 0:
            moves[at + n] = c
            n += 1
    return n


@njit(cache=True, inline="always")
def moves_or_result(s, moves, at):
    """Legal moves into ``moves[at:]``: ``(count, result)``."""
    side = s[SIDE]
    n = player_moves(s, side, moves, at)
    return n, (ONGOING if n > 0 else 1 - side)


@njit(cache=True, inline="always")
def play(s, move):
    """Play ``move`` in place; returns the knight's cell before it (what :func:`unplay`
    needs)."""
    side = s[SIDE]
    s[BODY + move] = 1
    if s[ROWS] <= BITBOARD_SIZE:
        s[blocked_bits_slot(s)] |= np.int64(1) << move
    old = s[AUX0 + side]
    h = s[HASH] ^ SIDE_KEY ^ ZOBRIST[2 + side, move] ^ ZOBRIST[side, move]
    if old >= 0:
        h ^= ZOBRIST[2 + side, old]  # the old cell stays blocked: its piece key remains
    s[HASH] = h
    s[AUX0 + side] = move
    s[SIDE] = 1 - side
    s[PLY] += 1
    return old


@njit(cache=True, inline="always")
def unplay(s, move, old):
    """Take back ``move``, the last move played on ``s``; ``old`` is what :func:`play`
    returned."""
    side = 1 - s[SIDE]
    s[BODY + move] = 0
    if s[ROWS] <= BITBOARD_SIZE:
        s[blocked_bits_slot(s)] &= ~(np.int64(1) << move)
    h = s[HASH] ^ SIDE_KEY ^ ZOBRIST[2 + side, move] ^ ZOBRIST[side, move]
    if old >= 0:
        h ^= ZOBRIST[2 + side, old]
    s[HASH] = h
    s[AUX0 + side] = old
    s[SIDE] = side
    s[PLY] -= 1


@njit(cache=True, inline="always")
def leaf_result(s):
    """ONGOING while the side to move has a move, else the other player (who has won)."""
    side = s[SIDE]
    cell = s[AUX0 + side]
    size = s[ROWS] - MIN_SIZE
    if on_bitboard(s):
        reach = KNIGHT_BITS[size, cell] if cell >= 0 else BOARD_BITS[size]
        return ONGOING if reach & ~s[blocked_bits_slot(s)] != 0 else 1 - side
    if cell >= 0:
        for k in range(TARGETS[size, cell]):
            if s[BODY + KNIGHT[size, cell, k]] == 0:
                return ONGOING
        return 1 - side
    for c in range(s[ROWS] * s[COLS]):
        if s[BODY + c] == 0:
            return ONGOING
    return 1 - side


@njit(cache=True, inline="always")
def _second_moves(reached, free, size):
    """Sum over the cells of ``reached`` of the blank cells a knight there reaches, by
    shifting all of ``reached`` one jump at a time (eight popcounts, no loop over cells).
    Bits only move left, so the sign bit never spreads: jumps back shift ``free`` instead."""
    total = 0
    for j in range(4):
        total += popcount(reached & JUMP_FROM[size, j] & (free << JUMP_SHIFT[size, j]))
    for j in range(4, 8):
        total += popcount(((reached & JUMP_FROM[size, j]) << JUMP_SHIFT[size, j]) & free)
    return total


@njit(cache=True, inline="always")
def _one_side_bits(s, player, free, out, k, second_needed):
    """:func:`_one_side` on the bitboard ``free`` (the blank cells)."""
    cell = s[AUX0 + player]
    size = s[ROWS] - MIN_SIZE
    if cell < 0:  # not placed yet: it may go to any blank cell
        out[k] = popcount(BOARD_BITS[size] & free)
        return
    reached = KNIGHT_BITS[size, cell] & free
    mobility = popcount(reached)
    out[k] = mobility
    out[k + 2] = CENTRE_DISTANCE[size, cell]
    out[k + 4] = TARGETS[size, cell] - mobility  # knight targets on the board but blocked
    if second_needed:  # the costliest feature: skipped when its weight is 0
        out[k + 6] = _second_moves(reached, free, size)


@njit(cache=True, inline="always")
def _one_side(s, player, out, k, second_needed):
    cell = s[AUX0 + player]
    rows, cols = s[ROWS], s[COLS]
    if cell < 0:  # not placed yet: it may go to any blank cell
        blank = 0
        for c in range(rows * cols):
            blank += s[BODY + c] == 0
        out[k] = blank
        return
    size = rows - MIN_SIZE
    out[k + 2] = CENTRE_DISTANCE[size, cell]
    on_board = TARGETS[size, cell]
    mobility = second = 0
    for j in range(on_board):
        t = KNIGHT[size, cell, j]
        if s[BODY + t] == 0:
            mobility += 1
            if second_needed:
                for i in range(TARGETS[size, t]):
                    second += s[BODY + KNIGHT[size, t, i]] == 0
    out[k] = mobility
    out[k + 4] = on_board - mobility  # knight targets on the board but blocked
    out[k + 6] = second


@njit(cache=True, inline="always")
def features(s, player, out, needed):
    """Mobility, Manhattan distance to the centre, blocked knight targets and the moves after
    each move, for ``player`` (own_*) and the opponent (opp_*). Features whose ``needed``
    entry is 0 may be left at 0."""
    for k in range(8):
        out[k] = 0.0
    if on_bitboard(s):
        free = ~s[blocked_bits_slot(s)]
        _one_side_bits(s, player, free, out, 0, needed[6] != 0.0)
        _one_side_bits(s, 1 - player, free, out, 1, needed[7] != 0.0)
    else:
        _one_side(s, player, out, 0, needed[6] != 0.0)
        _one_side(s, 1 - player, out, 1, needed[7] != 0.0)
