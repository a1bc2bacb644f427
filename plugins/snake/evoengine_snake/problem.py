"""Snake as an evoengine problem: a sequence of moves, maximize the score."""

from __future__ import annotations

import numpy as np

from evoengine import Genome, Objective, Problem
from evoengine_snake.game import MOVES, food_draws, play, score

# The categorical kind's own operators (two-point crossover; every child mutated, a move
# replaced by another at 1/length of the genes) and two elites kept: the best measured in
# benchmarks/test_bench_snake.py.
SNAKE_DEFAULTS = {
    "algorithm": "ea_simple",
    "population_size": 200,
    "generations": 200,
    "elitism": 2,
}


class Snake(Problem):
    """Play Snake with a fixed sequence of ``moves`` decisions on a ``width x height`` board.

    The genome is categorical (left, right, straight: symbols without order, as the article's
    "semantic code"). The food layout is drawn from ``layout_seed``: the same for every genome
    of a run, so evolution can learn it.
    """

    def __init__(self, width: int = 10, height: int = 10, moves: int = 200,
                 layout_seed: int = 0) -> None:
        self.width, self.height, self.layout_seed = width, height, layout_seed
        self.draws = food_draws(layout_seed, width, height)
        super().__init__(Genome("categorical", moves, symbols=MOVES),
                         (Objective("score", "maximize"),), defaults=dict(SNAKE_DEFAULTS),
                         notes=(f"{width} x {height} board, {moves} moves, food layout "
                                f"{layout_seed}; score = 100 per food + 1 per step survived",))

    def evaluate(self, genomes: np.ndarray) -> np.ndarray:
        food, steps = play(genomes, self.width, self.height, self.draws)
        return score(food, steps)[:, None].astype(float)

    def describe(self, genome: np.ndarray) -> dict:
        food, steps = play(np.asarray(genome)[None, :], self.width, self.height, self.draws)
        moves = [MOVES[g] for g in np.asarray(genome)[: int(steps[0]) + 1]]
        return {"food": int(food[0]), "steps": int(steps[0]), "score": int(score(food, steps)[0]),
                "moves": moves}
