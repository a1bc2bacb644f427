"""One entry point per rule for every compiled game: the search calls these, and they branch
on the game id in the state header (a branch is far cheaper than a call through a pointer, and
it lets one cached search kernel serve every game)."""

from numba import njit

from evoengine_minimax import connect_four, isolation, othello, tictactoe
from evoengine_minimax.state import CONNECT_FOUR, GAME, ISOLATION, TICTACTOE


@njit(cache=True)
def moves_or_result(s, moves):
    """Legal moves of the side to move into ``moves``: returns ``(count, result)``; when count
    is 0 the game is over and result is the winner (0 or 1) or DRAW."""
    g = s[GAME]
    if g == ISOLATION:
        return isolation.moves_or_result(s, moves)
    if g == CONNECT_FOUR:
        return connect_four.moves_or_result(s, moves)
    if g == TICTACTOE:
        return tictactoe.moves_or_result(s, moves)
    return othello.moves_or_result(s, moves)


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
    """The game's named features of ``s`` from ``player``'s side, into ``out``. A game may
    skip a costly feature whose entry in ``needed`` (the weights) is 0, leaving it 0."""
    g = s[GAME]
    if g == ISOLATION:
        isolation.features(s, player, out, needed)
    elif g == CONNECT_FOUR:
        connect_four.features(s, player, out, needed)
    elif g == TICTACTOE:
        tictactoe.features(s, player, out, needed)
    else:
        othello.features(s, player, out, needed)
