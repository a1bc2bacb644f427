"""Peers of the minimax plugin's compiled search, as a user would write them without it.

* :func:`c4_plain` / :func:`isolation_plain`: a plain Numba negamax alpha-beta, recursive, on
  bitboards, with a one-term evaluation (centre discs for Connect Four, mobility difference for
  Isolation); no transposition table, no iterative deepening, no features. The practical limit
  of a compiled search on this machine.
* :class:`LeanConnectFour` / :class:`LeanIsolation`: the same searches in plain Python.

They search other trees than the plugin (other evaluations, no table), so they are compared by
nodes per second, not node for node. Not cached (recursive functions cannot be).
"""

from __future__ import annotations

import numpy as np
from numba import njit

WIN = 1_000_000

# --- Connect Four, 7 x 6, John Tromp's layout: column c, row r is bit 7c + r -------------------
C4_H = 7
C4_BOTTOM = np.array([np.int64(1) << (C4_H * c) for c in range(7)], np.int64)
C4_TOP = np.array([np.int64(1) << (C4_H * c + 5) for c in range(7)], np.int64)
C4_CENTRE = np.int64(0b111111) << (3 * C4_H)
C4_ORDER = np.array([3, 4, 2, 5, 1, 6, 0], np.int64)


@njit
def popcount(x):
    x = x - ((x >> 1) & 0x5555555555555555)
    x = (x & 0x3333333333333333) + ((x >> 2) & 0x3333333333333333)
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0F
    return (x * 0x0101010101010101) >> 56


@njit
def c4_won(b):
    for shift in (1, 7, 6, 8):
        m = b & (b >> shift)
        if m & (m >> (2 * shift)):
            return True
    return False


@njit
def c4_negamax(me, mask, depth, alpha, beta, nodes):
    """Value for the side to move; ``me`` its discs, ``mask`` all discs."""
    nodes[0] += 1
    them = me ^ mask
    if c4_won(them):
        return -WIN
    if depth == 0:
        return popcount(me & C4_CENTRE) - popcount(them & C4_CENTRE)
    best = -WIN - 1
    moved = False
    for k in range(7):
        c = C4_ORDER[k]
        if mask & C4_TOP[c]:
            continue
        moved = True
        child = mask | (mask + C4_BOTTOM[c])
        v = -c4_negamax(them, child, depth - 1, -beta, -alpha, nodes)
        if v > best:
            best = v
            if v > alpha:
                alpha = v
                if alpha >= beta:
                    break
    return best if moved else 0


def c4_plain(moves, depth):
    """Search the position after ``moves`` (columns 0-6): ``(value, nodes)``."""
    me = mask = np.int64(0)
    for c in moves:
        me ^= mask  # the side to move's discs: those of the side that did not just move
        mask |= mask + C4_BOTTOM[c]
    nodes = np.zeros(1, np.int64)
    return c4_negamax(me, mask, depth, -WIN - 1, WIN + 1, nodes), int(nodes[0])


# --- Isolation on 7 x 7: cell r*7 + c ------------------------------------------------------
def _knight_masks(n):
    out = np.zeros(n * n, np.int64)
    for cell in range(n * n):
        r, c = divmod(cell, n)
        for dr, dc in ((-2, -1), (-2, 1), (-1, -2), (-1, 2), (1, -2), (1, 2), (2, -1), (2, 1)):
            if 0 <= r + dr < n and 0 <= c + dc < n:
                out[cell] |= np.int64(1) << ((r + dr) * n + c + dc)
    return out


ISO_KNIGHT = _knight_masks(7)
# the index of an isolated bit, by de Bruijn multiplication
_DEBRUIJN = 0x03F79D71B4CB0A89
_DEBRUIJN_INDEX = np.zeros(64, np.int64)
for _i in range(64):
    _DEBRUIJN_INDEX[(((1 << _i) * _DEBRUIJN) & (2**64 - 1)) >> 58] = _i


@njit
def bit_index(b):
    return _DEBRUIJN_INDEX[np.int64((np.uint64(b) * np.uint64(_DEBRUIJN)) >> np.uint64(58))]


@njit
def iso_negamax(blocked, me, them, depth, alpha, beta, nodes):
    """Value for the side to move, whose knight is on ``me``; ``blocked`` every visited cell."""
    nodes[0] += 1
    free = ~blocked
    mine = ISO_KNIGHT[me] & free
    if mine == 0:
        return -WIN
    if depth == 0:
        return popcount(mine) - popcount(ISO_KNIGHT[them] & free)
    best = -WIN - 1
    while mine:
        bit = mine & -mine
        mine ^= bit
        v = -iso_negamax(blocked | bit, them, bit_index(bit), depth - 1, -beta, -alpha, nodes)
        if v > best:
            best = v
            if v > alpha:
                alpha = v
                if alpha >= beta:
                    break
    return best


def isolation_plain(moves, depth):
    """Search 7x7 Isolation after ``moves`` (cells; both knights placed): ``(value, nodes)``."""
    blocked, pos = np.int64(0), [-1, -1]
    for i, m in enumerate(moves):
        blocked |= np.int64(1) << m
        pos[i % 2] = m
    side = len(moves) % 2
    nodes = np.zeros(1, np.int64)
    v = iso_negamax(blocked, np.int64(pos[side]), np.int64(pos[1 - side]), depth, -WIN - 1,
                    WIN + 1, nodes)
    return v, int(nodes[0])


# --- the same in plain Python ---------------------------------------------------------------
class LeanConnectFour:
    """What a user writes in Python: the bitboard negamax above, on Python ints."""

    BOTTOM = [1 << (7 * c) for c in range(7)]
    TOP = [1 << (7 * c + 5) for c in range(7)]
    CENTRE = 0b111111 << 21
    ORDER = [3, 4, 2, 5, 1, 6, 0]

    def __init__(self):
        self.nodes = 0

    def negamax(self, me, mask, depth, alpha, beta):
        self.nodes += 1
        them = me ^ mask
        for shift in (1, 7, 6, 8):
            m = them & (them >> shift)
            if m & (m >> (2 * shift)):
                return -WIN
        if depth == 0:
            return (me & self.CENTRE).bit_count() - (them & self.CENTRE).bit_count()
        best, moved = -WIN - 1, False
        for c in self.ORDER:
            if mask & self.TOP[c]:
                continue
            moved = True
            v = -self.negamax(them, mask | (mask + self.BOTTOM[c]), depth - 1, -beta, -alpha)
            if v > best:
                best = v
                if v > alpha:
                    alpha = v
                    if alpha >= beta:
                        break
        return best if moved else 0

    def search(self, moves, depth):
        me = mask = 0
        for c in moves:
            me ^= mask
            mask |= mask + self.BOTTOM[c]
        self.nodes = 0
        return self.negamax(me, mask, depth, -WIN - 1, WIN + 1), self.nodes


class LeanIsolation:
    """What a user writes in Python: the bitboard Isolation negamax above, on Python ints."""

    KNIGHT = [int(m) for m in ISO_KNIGHT]

    def __init__(self):
        self.nodes = 0

    def negamax(self, blocked, me, them, depth, alpha, beta):
        self.nodes += 1
        knight = self.KNIGHT
        mine = knight[me] & ~blocked
        if not mine:
            return -WIN
        if depth == 0:
            return mine.bit_count() - (knight[them] & ~blocked).bit_count()
        best = -WIN - 1
        while mine:
            bit = mine & -mine
            mine ^= bit
            v = -self.negamax(blocked | bit, them, bit.bit_length() - 1, depth - 1, -beta,
                              -alpha)
            if v > best:
                best = v
                if v > alpha:
                    alpha = v
                    if alpha >= beta:
                        break
        return best

    def search(self, moves, depth):
        blocked, pos = 0, [-1, -1]
        for i, m in enumerate(moves):
            blocked |= 1 << m
            pos[i % 2] = m
        side = len(moves) % 2
        self.nodes = 0
        return self.negamax(blocked, pos[side], pos[1 - side], depth, -WIN - 1, WIN + 1), \
            self.nodes


# --- what one node of the plugin's search costs, part by part --------------------------------
def node_profile(game, state, weights, calls=2_000_000):
    """Nanoseconds per call of each part of a node of the plugin's search at ``state``, each
    in its own compiled loop (the game id a constant, as in the search): make and unmake a
    move, list the moves, the leaves' game-over test, the features, the whole evaluation, a
    transposition-table probe. Loops, so branch predictors and caches are warm: a floor."""
    import time

    from evoengine_minimax.expression import MAX_NODES

    if game.game_id not in _PROFILE_LOOPS:
        _PROFILE_LOOPS[game.game_id] = _profile_loops(game.game_id)
    loops = _PROFILE_LOOPS[game.game_id]
    moves = np.zeros(game.max_moves + 1, np.int64)
    saved = np.zeros((2, game.state_size), np.int64)
    feats = np.zeros(len(game.features))
    tt = np.zeros((1 << 16, 3), np.int64)
    codes, consts = np.zeros(MAX_NODES, np.int64), np.zeros(MAX_NODES)
    stack = np.zeros((MAX_NODES, 1))
    s = np.array(state, np.int64)
    args = {"make + unmake": (s, moves, saved), "list moves": (s, moves),
            "game over?": (s,), "features": (s, weights, feats),
            "evaluation": (s, weights, feats, codes, consts, stack), "table probe": (s, tt)}
    out = {}
    opaque = {"list moves", "game over?", "features", "evaluation"}  # take a 0 to hide reads
    for (label, loop) in zip(args, loops, strict=True):
        extra = (0,) if label in opaque else ()
        loop(*args[label], *extra, 10)  # compile
        start = time.process_time()  # CPU time: less disturbed by other load than wall time
        loop(*args[label], *extra, calls)
        out[label] = (time.process_time() - start) / calls * 1e9
    return out


def _profile_loops(game_id):
    from evoengine_minimax.rules import features_in, make_in, moves_in, result_in, unmake_in
    from evoengine_minimax.search import _probe, evaluate

    @njit(_nrt=False)
    def make_unmake(s, moves, saved, n):
        k = moves_in(game_id, s, moves, 0)[0]
        total = 0
        for i in range(n):
            m = moves[i % k]
            undo = make_in(game_id, s, m, saved, 1)
            total += s[3]
            unmake_in(game_id, s, m, undo, saved, 1)
        return total

    @njit(_nrt=False)
    def list_moves(s, moves, zero, n):
        total = 0
        for i in range(n):
            s[8] += i * zero  # a write to the cells the compiler cannot see through (zero is 0)
            total += moves_in(game_id, s, moves, 0)[0]
        return total

    @njit(_nrt=False)
    def game_over(s, zero, n):
        total = 0
        for i in range(n):
            s[8] += i * zero
            total += result_in(game_id, s)
        return total

    @njit(_nrt=False)
    def features(s, weights, feats, zero, n):
        total = 0.0
        for i in range(n):
            s[8] += i * zero
            features_in(game_id, s, i & 1, feats, weights)
            total += feats[0]
        return total

    @njit(_nrt=False)
    def evaluation(s, weights, feats, codes, consts, stack, zero, n):
        total = 0.0
        for i in range(n):
            s[8] += i * zero
            total += evaluate(game_id, s, i & 1, weights, feats, weights, 0, codes, consts,
                              stack)
        return total

    @njit(_nrt=False)
    def probe(s, tt, n):
        tt_val = tt.view(np.float64)
        total = 0
        for i in range(n):
            slot, hint, cut, v = _probe(s[3] + i * 0x2545F4914F6CDD1D, 3, 2, -1.0, 1.0, tt,
                                        tt_val)
            total += slot + hint
        return total

    return make_unmake, list_moves, game_over, features, evaluation, probe


_PROFILE_LOOPS = {}

