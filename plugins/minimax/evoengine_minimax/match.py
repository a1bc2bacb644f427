"""Many games between weight vectors at once: compiled, one game per row, in parallel.

Game ``g`` is played by agent ``first[g]`` (player 0) against agent ``second[g]`` (player 1)
from a random opening of ``opening_plies`` plies drawn from stream ``(seed, opening[g])``: two
games that share an opening number start from the same position, which is how colours are
swapped on paired openings. Each agent keeps its own transposition table through the game.
A game's moves depend only on its row, so results never depend on the number of threads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import get_num_threads, literally, njit, prange, set_parallel_chunksize

from evoengine.kernels import below, stream
from evoengine_minimax.games import CompiledGame
from evoengine_minimax.rules import moves_or_result, play
from evoengine_minimax.search import new_scratch, search_in
from evoengine_minimax.state import CONNECT_FOUR, ISOLATION, OTHELLO, SIDE, TICTACTOE


@dataclass(frozen=True)
class Limits:
    """How far each move is searched. ``nodes`` and ``depth`` are reproducible; ``time_ms``
    is not (it depends on the machine's speed and load), and runs games one at a time."""

    depth: int = 5
    nodes: int = 0
    time_ms: float = 0.0

    @property
    def reproducible(self) -> bool:
        return self.time_ms <= 0


@njit(cache=True)
def random_opening(s, seed, opening, plies, buf):
    """Play ``plies`` uniformly random legal moves on ``s`` from stream ``(seed, opening)``."""
    st = stream(seed, opening)
    for _ in range(plies):
        n, _r = moves_or_result(s, buf)
        if n == 0:
            return
        st, k = below(st, n)
        play(s, buf[k])


@njit(cache=True)
def play_one(game, template, weights, a, b, opening, seed, plies, depth, budget, time_ns,
             tt_bits, n_features, max_moves):
    """One game, agent ``a`` as player 0 against ``b``: ``(result, plies played, nodes)``;
    ``game`` is the compile-time game id (see :func:`evoengine_minimax.search.search_in`)."""
    s = template.copy()
    buf = np.empty(max_moves + 1, np.int64)
    random_opening(s, seed, opening, plies, buf)
    sc0 = new_scratch(s.shape[0], n_features, depth, max_moves, tt_bits)
    sc1 = new_scratch(s.shape[0], n_features, depth, max_moves, tt_bits)
    nodes = 0
    while True:
        if s[SIDE] == 0:
            move, _v, _d, nn = search_in(game, s, weights[a], depth, budget, time_ns, *sc0)
        else:
            move, _v, _d, nn = search_in(game, s, weights[b], depth, budget, time_ns, *sc1)
        nodes += nn
        if move < 0:
            break
        play(s, move)
    _n, result = moves_or_result(s, buf)
    return result, s[2], nodes


def _play_games(game, template, weights, games, seed, settings, out):
    """Game ``g`` between agents ``games[0, g]`` (first) and ``games[1, g]`` from opening
    ``games[2, g]``; ``settings`` holds the opening plies, depth, node budget, time in ns,
    table bits, feature count and most moves; result, plies and nodes go to ``out[:, g]``."""
    literally(game)  # compiled for one game: only the games a process plays are compiled
    plies, depth, budget, time_ns = settings[0], settings[1], settings[2], settings[3]
    tt_bits, n_features, max_moves = settings[4], settings[5], settings[6]
    for g in prange(games.shape[1]):
        r, n, k = play_one(game, template, weights, games[0, g], games[1, g], games[2, g], seed,
                           plies, depth, budget, time_ns, tt_bits, n_features, max_moves)
        out[0, g], out[1, g], out[2, g] = r, n, k


_serial = njit(cache=True)(_play_games)
_parallel = njit(parallel=True)(_play_games)  # not cached: see evoengine.operators.compile


# One entry per game and kernel, the game a constant in it. Called from Python with the game
# as an argument, a ``literally`` kernel retypes its arguments and looks up the specialisation
# on every call: about 7 ms each, as long as 100 games of the article at depth 5 take.
@njit(cache=True)
def _serial_tictactoe(template, weights, games, seed, settings, out):
    _serial(TICTACTOE, template, weights, games, seed, settings, out)


@njit(cache=True)
def _serial_connect_four(template, weights, games, seed, settings, out):
    _serial(CONNECT_FOUR, template, weights, games, seed, settings, out)


@njit(cache=True)
def _serial_isolation(template, weights, games, seed, settings, out):
    _serial(ISOLATION, template, weights, games, seed, settings, out)


@njit(cache=True)
def _serial_othello(template, weights, games, seed, settings, out):
    _serial(OTHELLO, template, weights, games, seed, settings, out)


@njit
def _parallel_tictactoe(template, weights, games, seed, settings, out):
    _parallel(TICTACTOE, template, weights, games, seed, settings, out)


@njit
def _parallel_connect_four(template, weights, games, seed, settings, out):
    _parallel(CONNECT_FOUR, template, weights, games, seed, settings, out)


@njit
def _parallel_isolation(template, weights, games, seed, settings, out):
    _parallel(ISOLATION, template, weights, games, seed, settings, out)


@njit
def _parallel_othello(template, weights, games, seed, settings, out):
    _parallel(OTHELLO, template, weights, games, seed, settings, out)


_SERIAL = {TICTACTOE: _serial_tictactoe, CONNECT_FOUR: _serial_connect_four,
           ISOLATION: _serial_isolation, OTHELLO: _serial_othello}
_PARALLEL = {TICTACTOE: _parallel_tictactoe, CONNECT_FOUR: _parallel_connect_four,
             ISOLATION: _parallel_isolation, OTHELLO: _parallel_othello}


@dataclass
class GameResults:
    """Per game: the result (winner 0 or 1, or 2 for a draw), plies played, nodes searched."""

    results: np.ndarray
    lengths: np.ndarray
    nodes: np.ndarray

    def score_of_first(self) -> np.ndarray:
        """1, 0.5 or 0 per game for the agent that played first (player 0)."""
        return np.where(self.results == 0, 1.0, np.where(self.results == 1, 0.0, 0.5))


def play_games(game: CompiledGame, weights: np.ndarray, first, second, openings, seed: int,
               limits: Limits, *, parallel: bool = True, tt_bits: int = 12,
               opening_plies: int | None = None) -> GameResults:
    """Play ``len(first)`` games; agents are rows of ``weights``: ``P x features`` linear
    heuristics, or full heuristic rows (:mod:`evoengine_minimax.expression`)."""
    weights = np.ascontiguousarray(weights, dtype=np.float64)
    games = np.array([first, second, openings], dtype=np.int64).reshape(3, -1)
    count = games.shape[1]
    out = np.empty((3, count), np.int64)
    plies = game.opening_plies if opening_plies is None else opening_plies
    depth = limits.depth if limits.depth > 0 else 64
    time_ns = int(limits.time_ms * 1e6)
    settings = np.array([plies, depth, limits.nodes, time_ns, tt_bits, len(game.features),
                         game.max_moves], np.int64)
    # Threads pay off only for more than a handful of games, and only with more than one
    # thread (a processes-backend worker has one): the parallel kernel is compiled on first
    # use in each process, the serial one is cached.
    threaded = parallel and count >= 64 and limits.reproducible and get_num_threads() > 1
    args = (game.new_state(), weights, games, np.uint64(seed), settings, out)
    if threaded:
        # Games take from a few to hundreds of searches: threads take them one at a time
        # (Numba's default gives each thread one equal share, and the first to finish waits).
        previous = set_parallel_chunksize(1)
        try:
            _PARALLEL[game.game_id](*args)
        finally:
            set_parallel_chunksize(previous)
    else:
        _SERIAL[game.game_id](*args)
    results, lengths, nodes = out
    return GameResults(results, lengths, nodes)
