"""The article's algorithm, as described ("Genetic Programming for AI Heuristic Optimization").

Each cycle every agent's fitness is its tally over ``len(pop) * games_factor`` games between
random pairs of the population, +1 for a win and -1 for a loss (draws count 0). The top
``retain`` are kept, plus ``random_select`` of the population drawn from the others; children
of two different parents are drawn uniformly in ``[0.95 * min, 1.05 * max]`` of the parents'
weights and clipped to [0, 1]; then each agent is mutated with probability ``mutate`` toward
the other end of [0, 1]: ``(1 - w) + U(-0.5, 0.1)`` below 0.5, ``(1 - w) + U(-0.1, 0.5)``
otherwise, clipped. Population 100, 12 cycles, games factor 10 in the article.
"""

from __future__ import annotations

import numpy as np

from evoengine.algorithms import Evolution, Offspring


class ArticleEvolution(Evolution):
    """The article's cycle as an ask/tell optimizer over a genome of one weight in [0, 1]."""

    name = "article"

    def __init__(self, problem, settings, *, toolbox=None, retain: float = 0.2,
                 random_select: float = 0.05, mutate: float = 0.05) -> None:
        super().__init__(problem, settings, toolbox=toolbox)
        self.retain, self.random_select, self.mutate = retain, random_select, mutate

    def _offspring(self) -> Offspring:
        weights, score = self.genomes[:, 0], self.fitness[:, 0]
        n, rng = len(weights), self.rng
        order = np.argsort(-score, kind="stable")
        keep = int(self.retain * n)
        extra = rng.choice(order[keep:], size=min(int(self.random_select * n), n - keep),
                           replace=False)
        parents = np.concatenate([order[:keep], extra])
        rng.shuffle(parents)
        children = np.empty(n - len(parents))
        for i in range(len(children)):
            a, b = weights[rng.choice(parents, size=2, replace=False)]
            children[i] = rng.uniform(min(a, b) * 0.95, max(a, b) * 1.05)
        new = np.clip(np.concatenate([weights[parents], children]), 0.0, 1.0)
        for i in range(n):
            if rng.random() < self.mutate:
                shift = rng.uniform(-0.5, 0.1) if new[i] < 0.5 else rng.uniform(-0.1, 0.5)
                new[i] = min(max(1.0 - new[i] + shift, 0.0), 1.0)
        genomes = new.reshape(n, 1)
        return Offspring(genomes, np.full((n, 1), np.nan), np.ones(n, dtype=bool))

    def _replace(self, offspring: Offspring) -> tuple[np.ndarray, np.ndarray]:
        return offspring.genomes, offspring.fitness


def article_population_games(n: int, games_factor: int, rng: np.random.Generator):
    """``n * games_factor`` games between two different agents drawn at random, and which of
    the two moves first (random too): ``(first, second)`` index arrays."""
    count = n * games_factor
    first = rng.integers(0, n, size=count)
    second = (first + rng.integers(1, n, size=count)) % n
    return first, second


def article_tally(first: np.ndarray, second: np.ndarray, first_scores: np.ndarray,
                  n: int) -> np.ndarray:
    """+1 per win, -1 per loss for each of ``n`` agents."""
    won = np.sign(first_scores - 0.5)
    tally = np.zeros(n)
    np.add.at(tally, first, won)
    np.add.at(tally, second, -won)
    return tally
