"""Perft: how many move sequences of a given length a position has, counted with the very
move generation, make and unmake the search uses (:mod:`evoengine_minimax.rules`'s ``*_in``
forms). Published counts (Connect Four, tic-tac-toe, Othello) and a slow count over copies
test the rules and the search's make/unmake together.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from evoengine_minimax.rules import make_in, moves_in, unmake_in
from evoengine_minimax.state import CONNECT_FOUR, GAME, ISOLATION, OTHELLO, TICTACTOE


@njit(cache=True)
def perft_in(game, state, depth, max_moves):
    """Sequences of ``depth`` moves from ``state`` (a finished game ends a sequence early and
    counts once); ``state`` is left as it was. A loop over an explicit stack, as the search."""
    if depth == 0:
        return 1
    width = max_moves + 1
    moves = np.empty((depth + 1) * width, np.int64)
    saved = np.empty((depth + 1, state.shape[0]), np.int64)
    count = np.zeros(depth + 1, np.int64)  # moves listed at each ply
    index = np.zeros(depth + 1, np.int64)  # the move being searched at each ply
    undo = np.zeros(depth + 1, np.int64)
    s = state
    total = 0
    ply = 0
    count[0], _ = moves_in(game, s, moves, 0)
    if count[0] == 0:
        return 1
    while True:
        if index[ply] == count[ply]:  # every move of this ply searched: back up
            if ply == 0:
                return total
            ply -= 1
            unmake_in(game, s, moves[ply * width + index[ply]], undo[ply], saved, ply + 1)
            index[ply] += 1
            continue
        move = moves[ply * width + index[ply]]
        if ply + 1 == depth:
            total += 1
            index[ply] += 1
            continue
        undo[ply] = make_in(game, s, move, saved, ply + 1)
        n, _ = moves_in(game, s, moves, (ply + 1) * width)
        if n == 0:  # the game ended: a sequence of its own
            total += 1
            unmake_in(game, s, move, undo[ply], saved, ply + 1)
            index[ply] += 1
            continue
        ply += 1
        count[ply], index[ply] = n, 0


@njit(cache=True)
def _perft_tictactoe(state, depth, max_moves):
    return perft_in(TICTACTOE, state, depth, max_moves)


@njit(cache=True)
def _perft_connect_four(state, depth, max_moves):
    return perft_in(CONNECT_FOUR, state, depth, max_moves)


@njit(cache=True)
def _perft_isolation(state, depth, max_moves):
    return perft_in(ISOLATION, state, depth, max_moves)


@njit(cache=True)
def _perft_othello(state, depth, max_moves):
    return perft_in(OTHELLO, state, depth, max_moves)


_PERFT = {TICTACTOE: _perft_tictactoe, CONNECT_FOUR: _perft_connect_four,
          ISOLATION: _perft_isolation, OTHELLO: _perft_othello}


def perft(game, state: np.ndarray, depth: int) -> int:
    """Perft of ``state`` (of the :class:`~evoengine_minimax.games.CompiledGame` ``game``) to
    ``depth`` plies."""
    state = np.array(state, dtype=np.int64)
    return int(_PERFT[int(state[GAME])](state, depth, game.max_moves))
