"""Where games are played: the compiled games, or a user's Python game class.

Both answer ``play(weights, first, second, openings, seed, limits)`` with the score of the
first mover of each game (1, 0.5 or 0), so the fitness schemes never know which they use.
"""

from __future__ import annotations

import numpy as np

from evoengine_minimax.games import CompiledGame
from evoengine_minimax.match import Limits, play_games
from evoengine_minimax.reference import PySearcher


class CompiledArena:
    """Games of the compiled rules, many at once in parallel."""

    def __init__(self, game: CompiledGame) -> None:
        self.game = game
        self.features = game.features
        self.name = game.name

    def play(self, weights, first, second, openings, seed: int, limits: Limits) -> np.ndarray:
        games = play_games(self.game, weights, first, second, openings, seed, limits)
        return games.score_of_first()


class PythonArena:
    """Games of a user's class following :mod:`evoengine_minimax.protocol`, one at a time."""

    def __init__(self, cls: type, opening_plies: int = 2) -> None:
        self.cls = cls
        self.features = tuple(cls.FEATURES)
        self.name = cls.__name__
        self.opening_plies = opening_plies

    def opening(self, seed: int, number: int):
        rng = np.random.default_rng([seed, number])
        position = self.cls()
        for _ in range(self.opening_plies):
            moves = list(position.legal_moves())
            if not moves or position.result() is not None:
                break
            position = position.play(moves[int(rng.integers(len(moves)))])
        return position

    def play(self, weights, first, second, openings, seed: int, limits: Limits) -> np.ndarray:
        out = np.empty(len(first))
        depth = limits.depth if limits.depth > 0 else 64
        for g, (a, b, number) in enumerate(zip(first, second, openings, strict=True)):
            players = (PySearcher(list(weights[a]), tt_bits=12),
                       PySearcher(list(weights[b]), tt_bits=12))
            position = self.opening(seed, int(number))
            while True:
                move, *_ = players[position.to_move].search(
                    position, depth, limits.nodes, limits.time_ms / 1000.0)
                if move is None:
                    break
                position = position.play(move)
            result = position.result()
            out[g] = 1.0 if result == 0 else (0.0 if result == 1 else 0.5)
        return out
