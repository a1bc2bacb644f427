"""One entry point per rule for every compiled game.

Two forms: ``moves_or_result(s, moves)`` and friends read the game from the state's header, for
callers that hold any game's state (match set-up, the terminal, tests); the ``*_in(game, ...)``
forms take the game id as their first argument, and the search passes it as a compile-time
constant (see :func:`evoengine_minimax.search.search`), so Numba compiles one search per game
with every branch on the game folded away: no per-node dispatch, and each game's rules inlined.
"""

from numba import njit

from evoengine_minimax import connect_four, isolation, othello, tictactoe
from evoengine_minimax.state import CONNECT_FOUR, GAME, ISOLATION, TICTACTOE


@njit(cache=True, inline="always")
def moves_in(game, s, moves, at):
    """Legal moves of the side to move into ``moves[at:]``: returns ``(count, result)``; when
    count is 0 the game is over and result is the winner (0 or 1) or DRAW. (An offset, not a
    slice: a slice is a new array, and each new array costs a reference count.)"""
    if game == ISOLATION:
        return isolation.moves_or_result(s, moves, at)
    if game == CONNECT_FOUR:
        return connect_four.moves_or_result(s, moves, at)
    if game == TICTACTOE:
        return tictactoe.moves_or_result(s, moves, at)
    return othello.moves_or_result(s, moves, at)


@njit(cache=True, inline="always")
def result_in(game, s):
    """What :func:`moves_in` says about the game's end (ONGOING, a winner or DRAW), without
    listing the moves: the search's leaves need only this."""
    if game == ISOLATION:
        return isolation.leaf_result(s)
    if game == CONNECT_FOUR:
        return connect_four.leaf_result(s)
    if game == TICTACTOE:
        return tictactoe.leaf_result(s)
    return othello.leaf_result(s)


@njit(cache=True, inline="always")
def make_in(game, s, move, saved, row):
    """Play ``move`` on ``s`` in place, so that :func:`unmake_in` can take it back: returns
    what it needs besides ``saved[row]``, a spare state (Othello copies the state into it,
    since its flips are costlier to undo than to copy; the others undo in place)."""
    if game == ISOLATION:
        return isolation.play(s, move)
    if game == CONNECT_FOUR:
        connect_four.play(s, move)
    elif game == TICTACTOE:
        tictactoe.play(s, move)
    else:
        for k in range(s.shape[0]):
            saved[row, k] = s[k]
        othello.play(s, move)
    return 0


@njit(cache=True, inline="always")
def unmake_in(game, s, move, undo, saved, row):
    """Take back ``move`` played by :func:`make_in` (``undo``: what it returned)."""
    if game == ISOLATION:
        isolation.unplay(s, move, undo)
    elif game == CONNECT_FOUR:
        connect_four.unplay(s, move)
    elif game == TICTACTOE:
        tictactoe.unplay(s, move)
    else:
        for k in range(s.shape[0]):
            s[k] = saved[row, k]


@njit(cache=True, inline="always")
def features_in(game, s, player, out, needed):
    """The game's named features of ``s`` from ``player``'s side, into ``out``. A game may
    skip a costly feature whose entry in ``needed`` (the weights) is 0, leaving it 0."""
    if game == ISOLATION:
        isolation.features(s, player, out, needed)
    elif game == CONNECT_FOUR:
        connect_four.features(s, player, out, needed)
    elif game == TICTACTOE:
        tictactoe.features(s, player, out, needed)
    else:
        othello.features(s, player, out, needed)


@njit(cache=True)
def moves_or_result(s, moves):
    """:func:`moves_in` for the game named in ``s``'s header."""
    return moves_in(s[GAME], s, moves, 0)


@njit(cache=True)
def play(s, move):
    """Play ``move`` for the side to move, in place."""
    g = s[GAME]
    if g == ISOLATION:
        isolation.play(s, move)
    elif g == CONNECT_FOUR:
        connect_four.play(s, move)
    elif g == TICTACTOE:
        tictactoe.play(s, move)
    else:
        othello.play(s, move)


@njit(cache=True)
def features(s, player, out, needed):
    """:func:`features_in` for the game named in ``s``'s header."""
    features_in(s[GAME], s, player, out, needed)
