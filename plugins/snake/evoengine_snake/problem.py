"""Snake as an evoengine problem: a sequence of moves, maximize the score."""

from __future__ import annotations

import numpy as np

from evoengine import Evaluation, EvaluationContext, Genome, Objective, Problem
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
    "semantic code"). The food layout comes from the run's seed (``context.seed``): the same
    for every genome of a run, so evolution can learn it, and another for another seed.
    """

    def __init__(self, width: int = 10, height: int = 10, moves: int = 200) -> None:
        self.width, self.height = width, height
        super().__init__(Genome("categorical", moves, symbols=MOVES),
                         (Objective("score", "maximize"),), defaults=dict(SNAKE_DEFAULTS),
                         notes=(f"{width} x {height} board, {moves} moves, food layout from the "
                                "run's seed; score = 100 per food + 1 per step survived",))

    def evaluate(self, genomes: np.ndarray, context: EvaluationContext) -> Evaluation:
        food, steps = play(genomes, self.width, self.height,
                           food_draws(context.seed, self.width, self.height))
        info = [{"food": int(f), "steps": int(s)} for f, s in zip(food, steps, strict=True)]
        return Evaluation(score(food, steps)[:, None].astype(float), info)

    def describe(self, genome: np.ndarray, info: dict | None = None) -> dict:
        out: dict = dict(info or {})
        played = out.get("steps", len(genome) - 1) + 1  # the last move is the fatal one
        out["moves"] = [MOVES[g] for g in np.asarray(genome)[:played]]
        return out
